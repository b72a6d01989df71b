#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Fencing end to end: the real fence_ipmilan (Debian package fence-agents),
# run by vmheal_fence through lib/fence, against real IPMI BMCs (ipmi_sim
# from openipmi, see ipmibed.sh) whose power-off ends the process that
# stands for the host. The slow cases run in parallel.
#
#   fence-ok          off + status OFF; the host process is gone
#   wrong-password    the BMC refuses the login: not fenced, host runs
#   bmc-silent        the BMC does not answer: killed at the level's
#                     timeout, not fenced
#   second-level      level 1 (wrong password) fails, level 2 fences
#   on-after-off      the agent's off succeeds, the host is powered on
#                     again: verification reads ON, not fenced
#   ignores-off       the host ignores the power-off: the agent's off fails
#   agent-hangs       an agent that ignores SIGTERM is killed at the timeout
#                     with everything it started
#   dry-run, status   nothing changes; no secret in any output
#
# Exit 77 (skipped) when ipmi_sim, ipmitool, fence_ipmilan or python3 is
# missing: apt-get install openipmi ipmitool fence-agents python3.
set -u

here=$(cd "$(dirname "$0")" && pwd)
srcdir=${top_srcdir:-$(cd "$here/../.." && pwd)}
builddir=${top_builddir:-$srcdir}
prog=$builddir/hooks/vmheal_fence
bed=$srcdir/tests/fence/ipmibed.sh
PATH=$PATH:/usr/sbin:/sbin
export PATH

skip() {
	echo "SKIP: test_ipmi: $*"
	exit 77
}
for t in ipmi_sim ipmitool fence_ipmilan python3; do
	command -v "$t" >/dev/null 2>&1 ||
		skip "$t not found (apt-get install openipmi ipmitool fence-agents python3)"
done
[ -x "$prog" ] || { echo "FAIL: $prog not built"; exit 1; }
agent=$(command -v fence_ipmilan)

tmp=$(mktemp -d "${TMPDIR:-/tmp}/vmheal-ipmi.XXXXXX")
cleanup() {
	bash "$bed" stop "$tmp/bed" >/dev/null 2>&1
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

export IPMIBED_PASSWORD=bmc-Pass-1
t_start=$(date +%s)
if ! bash "$bed" start "$tmp/bed" ok badpw silent second restored:restore=3 \
	stubborn:stubborn >"$tmp/bed.log" 2>&1; then
	cat "$tmp/bed.log"
	if grep -q 'did not come up' "$tmp/bed.log"; then
		skip "ipmi_sim cannot run here"
	fi
	echo "FAIL: test_ipmi: the test bed did not start"
	exit 1
fi
sed 's/^/  /' "$tmp/bed.log"

# The secrets file is private; "old" is a password the BMCs refuse.
(umask 077 && cat >"$tmp/secrets.conf" <<EOF
ipmi = "$IPMIBED_PASSWORD";
old = "old-Pass-0";
EOF
)

# An IPMI level: name, secret, then extra settings.
ipmi_level() {
	cat <<EOF
    { name = "$1"; command = "$agent"; timeout = ${3:-20};
      options = { lanplus = true; cipher = 3; power_wait = 1;
                  power_timeout = 4; };
      host_options = { ip = "FENCE_IP"; ipport = "FENCE_IPPORT";
                       username = "FENCE_USER"; };
      password_secret = "$2"; verify_retries = 3; verify_interval = 1;
      ${4:-} }
EOF
}

# conf NAME LEVEL...: write $tmp/NAME.conf with these levels.
conf() {
	local name=$1 sep=
	shift
	{
		echo "state_dir = \"$tmp\";"
		echo "secrets_file = \"$tmp/secrets.conf\";"
		echo "fence = { levels = ("
		for l in "$@"; do
			printf '%s%s\n' "$sep" "$l"
			sep=,
		done
		echo "); };"
	} >"$tmp/$name.conf"
}

# fence RUN CONF HOST [vmheal_fence options...]: run with $tmp/CONF.conf
# against HOST's BMC; stdout (JSON) in $tmp/RUN.json, stderr in
# $tmp/RUN.err, exit status in $tmp/RUN.rc.
fence() {
	local c=$1 cf=$2 host=$3 wrap=()
	shift 3
	if [ "${VMH_VALGRIND:-0}" = 1 ]; then
		wrap=("${VALGRIND:-valgrind}" -q --leak-check=full
			--errors-for-leak-kinds=all --error-exitcode=99)
	fi
	"${wrap[@]}" "$prog" -c "$tmp/$cf.conf" --no-syslog --json -vv \
		--host "$host" --attr FENCE_IP=127.0.0.1 \
		--attr "FENCE_IPPORT=$(bash "$bed" port "$tmp/bed" "$host")" \
		--attr FENCE_USER=admin "$@" \
		>"$tmp/$c.json" 2>"$tmp/$c.err" </dev/null
	echo $? >"$tmp/$c.rc"
}

# json CASE EXPR: evaluate a Python expression over the report `r`.
json() {
	python3 -c 'import json, sys
r = json.load(open(sys.argv[1]))
print(eval(sys.argv[2]))' "$tmp/$1.json" "$2" 2>/dev/null
}

# Checks append to $tmp/CASE.fail; a case passes when it stays empty.
check() { # CASE DESCRIPTION COMMAND...
	local c=$1 what=$2
	shift 2
	"$@" || echo "$what" >>"$tmp/$c.fail"
}
eq() { [ "$1" = "$2" ] || { echo "    got '$1', want '$2'" >&2; return 1; }; }
alive() { bash "$bed" alive "$tmp/bed" "$1"; }
gone() { ! alive "$1"; }
between() { [ "$1" -ge "$2" ] && [ "$1" -le "$3" ]; }
# A process that no longer exists, or a zombie its new parent will reap.
proc_gone() {
	[ -n "$1" ] || return 1
	[ ! -e "/proc/$1/stat" ] ||
		sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | grep -q '^[ZX]'
}

# No secret on stdout, stderr or the report, at any verbosity.
no_secrets() { # CASE
	! grep -q -e "$IPMIBED_PASSWORD" -e old-Pass-0 "$tmp/$1.json" \
		"$tmp/$1.err"
}

# Every case ends with the report's basic shape and the secret check.
common() { # CASE RC FENCED
	check "$1" "exit status $2" eq "$(cat "$tmp/$1.rc")" "$2"
	check "$1" "fenced=$3" eq "$(json "$1" 'r["fenced"]')" "$3"
	check "$1" "no secret in the output" no_secrets "$1"
}

case_fence_ok() {
	local c=fence-ok
	conf $c "$(ipmi_level ipmi ipmi)"
	fence $c-status-on $c ok --action status
	check $c "status before: on" \
		eq "$(json $c-status-on 'r["power"]')" on
	fence $c-dry $c ok --dry-run
	check $c "dry run exits 0" eq "$(cat "$tmp/$c-dry.rc")" 0
	check $c "dry run shows a masked password" \
		eq "$(json $c-dry '"password=****" in r["steps"][0]["stdin"]')" \
		True
	check $c "dry run left the host running" alive ok
	check $c "no secret in the dry run" no_secrets $c-dry
	fence $c $c ok
	common $c 0 True
	check $c "fenced by level ipmi" eq "$(json $c 'r["level"]')" ipmi
	check $c "steps off, status" \
		eq "$(json $c '[s["action"] + ":" + s["outcome"] for s in r["steps"]]')" \
		"['off:done', 'status:off']"
	check $c "status exit 2" eq "$(json $c 'r["steps"][1]["exit"]')" 2
	check $c "the host process is gone" gone ok
	fence $c-status-off $c ok --action status
	check $c "status after: off" \
		eq "$(json $c-status-off 'r["power"]')" off
}

case_wrong_password() {
	local c=wrong-password
	conf $c "$(ipmi_level ipmi old)"
	fence $c $c badpw
	common $c 80 False
	check $c "off failed with exit 1" \
		eq "$(json $c 'r["steps"][0]["outcome"], r["steps"][0]["exit"]')" \
		"('failed', 1)"
	check $c "no verification after a failed off" \
		eq "$(json $c 'len(r["steps"])')" 1
	check $c "the host still runs" alive badpw
}

case_bmc_silent() {
	local c=bmc-silent d
	conf $c "$(ipmi_level ipmi ipmi 3)"
	bash "$bed" freeze "$tmp/bed" silent
	fence $c $c silent
	bash "$bed" thaw "$tmp/bed" silent
	common $c 80 False
	check $c "off timed out" \
		eq "$(json $c 'r["steps"][0]["outcome"]')" timeout
	d=$(json $c 'r["steps"][0]["duration_ms"]')
	check $c "killed at the 3 s timeout (took $d ms)" \
		between "${d:-0}" 3000 6000
	check $c "the host still runs" alive silent
}

case_second_level() {
	local c=second-level
	conf $c "$(ipmi_level stale-password old)" "$(ipmi_level ipmi ipmi)"
	fence $c $c second
	common $c 0 True
	check $c "fenced by the second level" \
		eq "$(json $c 'r["level"]')" ipmi
	check $c "the first level failed" \
		eq "$(json $c '[l["verdict"] for l in r["levels"]]')" \
		"['failed', 'ok']"
	check $c "the host process is gone" gone second
}

case_on_after_off() {
	local c=on-after-off
	# The BMC powers the host on 3 s after it stopped; the agent's own
	# check (1 s after the off) sees OFF, ours (after 6 s) sees ON.
	conf $c "$(ipmi_level ipmi ipmi 20 'verify_delay = 6;')"
	fence $c $c restored
	common $c 80 False
	check $c "the agent's off succeeded" \
		eq "$(json $c 'r["steps"][0]["outcome"]')" 'done'
	check $c "three status queries read ON" \
		eq "$(json $c '[s["outcome"] for s in r["steps"][1:]]')" \
		"['on', 'on', 'on']"
	check $c "the reason says still ON" \
		eq "$(json $c '"still ON" in r["levels"][0]["reason"]')" True
	check $c "the host runs again" alive restored
}

case_ignores_off() {
	local c=ignores-off
	conf $c "$(ipmi_level ipmi ipmi)"
	fence $c $c stubborn
	common $c 80 False
	check $c "the agent's off failed (power stayed ON)" \
		eq "$(json $c 'r["steps"][0]["outcome"]')" failed
	check $c "the host still runs" alive stubborn
}

case_agent_hangs() {
	local c=agent-hangs d pid
	mkdir -m 700 "$tmp/hang"
	install -m 755 "$srcdir/tests/fence/stub_agent.sh" "$tmp/hang/agent"
	conf $c "{ name = \"hangs\"; command = \"$tmp/hang/agent\";
	    timeout = 2; options = { state = \"$tmp/hang\";
	    mode = \"hang_hard\"; }; }"
	fence $c $c ok
	common $c 80 False
	check $c "outcome timeout" \
		eq "$(json $c 'r["steps"][0]["outcome"]')" timeout
	d=$(json $c 'r["steps"][0]["duration_ms"]')
	# SIGTERM is ignored: SIGKILL 2 s later.
	check $c "killed after timeout + grace (took $d ms)" \
		between "${d:-0}" 2000 6000
	for f in pid child; do
		pid=$(cat "$tmp/hang/$f" 2>/dev/null)
		check $c "the agent's $f is gone" proc_gone "$pid"
	done
}

cases=(fence_ok wrong_password bmc_silent second_level on_after_off
	ignores_off agent_hangs)
pids=()
for c in "${cases[@]}"; do
	"case_$c" &
	pids+=($!)
done
wait "${pids[@]}"

pass=0 fail=0
for c in "${cases[@]}"; do
	name=${c//_/-}
	if [ -s "$tmp/$name.fail" ]; then
		echo "FAIL: test_ipmi: $name"
		sed 's/^/    /' "$tmp/$name.fail"
		for f in "$tmp/$name".*; do
			case $f in *.conf | *.fail) continue ;; esac
			echo "  --- ${f##*/}"
			sed 's/^/    /' "$f"
		done
		fail=$((fail + 1))
	else
		echo "PASS: test_ipmi: $name"
		pass=$((pass + 1))
	fi
done
echo "test_ipmi: $(($(date +%s) - t_start)) s"
echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
