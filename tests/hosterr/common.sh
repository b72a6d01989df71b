# SPDX-License-Identifier: GPL-2.0-or-later
# Shared set-up of the host_error integration tests (sourced): a case
# directory with a scenario for onesim, a vmheal.conf whose fence level is a
# script that powers the simulated host off through onesim, and the hook
# command onesim runs.
set -u
. "$(dirname "${BASH_SOURCE[0]}")/../lib/onesim.sh"
. "$(dirname "${BASH_SOURCE[0]}")/../lib/harness.sh"
HOST_ERROR=$top_builddir/hooks/host_error

cleanup_all() {
	onesim_stop
	harness_cleanup
}
trap cleanup_all EXIT

finish() {
	valgrind_logs
	echo "host_error: $pass passed, $fail failed"
	[ "$fail" = 0 ]
	exit $?
}

# scenario NHOSTS NVMS [extra VM JSON fields] -> $T/scenario.json
scenario() {
	local nhosts=$1 nvms=$2 extra=${3:-} i hosts=""
	for i in $(seq 1 "$nhosts"); do
		hosts+="${hosts:+,}{\"name\":\"host$i\",\"max_cpu\":800,\"max_mem\":16777216,\"template\":{\"STORAGE_IP\":\"127.0.0.1\"}}"
	done
	cat >"$T/scenario.json" <<JSON
{"version":"6.10","users":{"oneadmin":"secret"},
 "timing":{"sched_interval_ms":50,"monitor_interval_ms":50},
 "datastores":[{"id":0,"name":"system","type":"SYSTEM","shared":true},
   {"id":1,"name":"default","type":"IMAGE","shared":true},
   {"id":100,"name":"local","type":"SYSTEM","shared":false}],
 "hosts":[$hosts],
 "vms":[{"count":$nvms,"host":"host1","cpu":1,"memory":1024,"name":"vm-{id}"$extra}]}
JSON
}

# new_case NAME [FENCE=ok|fail|none] [extra host_error config lines]
new_case() {
	local name=$1 fence=${2:-ok} extra=${3:-}
	onesim_stop
	new_case_dir "he-$name"
	mkdir -p "$T/state"
	scenario "${NHOSTS:-3}" "${NVMS:-6}" "${VMX:-}"
	onesim_start "$T/scenario.json"
	# The fence "agent": powers the simulated host off via onesim. It
	# gets the base64 <HOST> document on stdin like fence_host.sh.
	cat >"$T/fence.sh" <<SH
#!/bin/bash
host=\$("$PYTHON3" -c 'import base64,sys,re
x = base64.b64decode(sys.stdin.read()).decode()
print(re.search(r"<NAME>(?:<!\[CDATA\[)?([^<\]]*)", x).group(1))')
echo "\$(date +%s%N) \$host" >> "$T/fence.log"
[ -f "$T/fence.fail" ] && exit 1
[ -f "$T/fence.sleep" ] && sleep "\$(cat "$T/fence.sleep")"
"$PYTHON3" "$ONESIM" ctl --state-dir "$ONESIM_DIR" fence-host "\$host" >/dev/null
SH
	chmod 700 "$T/fence.sh"
	[ "$fence" = fail ] && touch "$T/fence.fail"
	{
		echo "state_dir = \"$T/state\";"
		if [ "$fence" != none ]; then
			echo "fence = { levels = ( { name = \"onesim\"; type = \"script\"; command = \"$T/fence.sh\"; timeout = 30; } ); };"
		fi
		echo "host_error = { verify_interval_ms = 100; verify_timeout = 30; retry_backoff_ms = 100; $extra };"
	} >"$T/vmheal.conf"
	# What the cloud runs: host_error with this case's configuration.
	# VMH_VALGRIND=1: every run under valgrind; a leak or memory error
	# fails the run (exit 99) and leaves its log in $T/vg.*.
	local wrap=""
	[ "${VMH_VALGRIND:-0}" = 1 ] &&
		wrap="${VALGRIND:-valgrind} -q --leak-check=full --show-leak-kinds=all --errors-for-leak-kinds=all --error-exitcode=99 --log-file=$T/vg.%p"
	cat >"$T/hook" <<SH
#!/bin/bash
exec $wrap "$HOST_ERROR" -c "$T/vmheal.conf" --no-syslog "\$@"
SH
	chmod 700 "$T/hook"
}

# VMs of the scenario by state summary: "id:state/lcm@host ..."
vm_summary() {
	onesim_ctl vms | jq_py '" ".join("%s:%s/%s@%s" % (v["id"], v["state"], v["lcm"], v["host"]) for v in d)'
}

# How many accepted recover/resched calls each VM got: "id=n ..."
recover_counts() {
	onesim_ctl ledger | jq_py '" ".join("%s=%d" % kv for kv in sorted(__import__("collections").Counter(
	    str(r["params"][1] if r["method"] == "one.vm.action" else r["params"][0])
	    for r in d if r["method"] in ("one.vm.recover", "one.vm.action") and r.get("ok")).items()))'
}

# True when every VM of ids got exactly one accepted recovery call.
exactly_once() { # ids...
	local counts
	counts=$(recover_counts)
	local id
	for id in "$@"; do
		case " $counts " in
		*" $id=1 "*) ;;
		*) echo "  VM $id: recover calls: $counts" >&2; return 1 ;;
		esac
	done
}

# True when onesim saw no VM run in two places at once.
no_duplicates() {
	local s
	s=$(onesim_ctl safety)
	echo "$s" | jq_py 'd["duplicates"] == [] and d["current_duplicates"] == {} and d["unsafe_recoveries"] == []' | grep -qx True ||
		{ echo "  safety: $s" >&2; return 1; }
}

all_running_elsewhere() { # failed host, ids...
	local host=$1
	shift
	onesim_ctl wait-vms --ids "$(IFS=,; echo "$*")" --state ACTIVE --lcm RUNNING \
		--not-host "$host" --timeout 20 >/dev/null
}
