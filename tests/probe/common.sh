# SPDX-License-Identifier: GPL-2.0-or-later
# Shared set-up of the vm_probe integration tests (sourced): a case
# directory, the loopback responder (tests/probe/responder.c) and helpers to
# drive it, start vm_probe, and read its status.
#   responder_start ADDR:PORTS...   listeners; ctl file in $T
#   rctl CMD...                     one control command ("set A:P hang")
#   vp_start [ARGS...]              vm_probe -c $T/vmheal.conf in the
#                                   background, log in $T/vp.log
#   vp_status                       the status document (JSON) on stdout
#   tstate NAME                     "state ok_run fail_run probes" of a target
#   wait_for SECONDS CMD...         retry CMD every 0.1 s until it succeeds
set -u
if [ -z "${PYTHON3:-}" ] && [ -x /usr/bin/python3 ]; then
	PYTHON3=/usr/bin/python3
fi
. "$(dirname "${BASH_SOURCE[0]}")/../lib/onesim.sh"
VM_PROBE=$top_builddir/hooks/vm_probe
RESPONDER=$top_builddir/tests/probe/responder
pass=0
fail=0
T=$(mktemp -d "${TMPDIR:-/tmp}/vmh-probe.XXXXXX")
mkdir -p "$T/state"
RESP_PID=
VP_PID=

cleanup_all() {
	vp_stop
	if [ -n "$RESP_PID" ]; then
		kill "$RESP_PID" 2>/dev/null
		wait "$RESP_PID" 2>/dev/null
	fi
	onesim_stop
	rm -rf "$T"
}
trap cleanup_all EXIT
# A killed test (^C, a closed pipe) still stops what it started.
trap 'exit 1' INT TERM HUP PIPE

ok() { echo "PASS: $*"; pass=$((pass + 1)); }
ko() {
	echo "FAIL: $*"
	fail=$((fail + 1))
	[ -f "$T/vp.log" ] && tail -n 30 "$T/vp.log" | sed 's/^/  log: /'
}
check() { # description, then a command that must succeed
	local what=$1
	shift
	if "$@"; then ok "$what"; else ko "$what"; fi
}
finish() {
	echo "$1: $pass passed, $fail failed"
	[ "$fail" = 0 ]
	exit $?
}

wait_for() { # seconds, command...
	local n=$(($1 * 10))
	shift
	while [ "$n" -gt 0 ]; do
		"$@" && return 0
		sleep 0.1
		n=$((n - 1))
	done
	return 1
}

responder_start() {
	local a args=()
	for a in "$@"; do args+=(--listen "$a"); done
	"$RESPONDER" --control-file "$T/rctl" "${args[@]}" \
		>"$T/responder.log" 2>&1 &
	RESP_PID=$!
	if ! wait_for 10 test -s "$T/rctl" || ! kill -0 "$RESP_PID" 2>/dev/null
	then
		echo "FAIL: the responder did not start:"
		sed 's/^/  /' "$T/responder.log"
		exit 1
	fi
}

rctl() {
	local reply
	exec 3<>"/dev/tcp/127.0.0.1/$(cat "$T/rctl")" || return 1
	echo "$*" >&3
	read -r reply <&3
	exec 3>&-
	case $reply in ok*|accepts*|bye) return 0 ;; *) echo "rctl: $reply" >&2; return 1 ;; esac
}

vp_start() {
	"$VM_PROBE" -c "$T/vmheal.conf" --no-syslog "$@" >"$T/vp.out" \
		2>"$T/vp.log" &
	VP_PID=$!
	if ! wait_for 10 test -s "$T/state/vm_probe.lock" ||
		! kill -0 "$VP_PID" 2>/dev/null; then
		echo "FAIL: vm_probe did not start:"
		sed 's/^/  /' "$T/vp.log"
		exit 1
	fi
}

vp_stop() {
	if [ -n "$VP_PID" ]; then
		kill "$VP_PID" 2>/dev/null
		wait "$VP_PID" 2>/dev/null
		VP_PID=
	fi
}

vp_status() {
	"$VM_PROBE" -c "$T/vmheal.conf" --status --json
}

# pyj EXPR [ARGS...]: evaluate EXPR on the JSON from stdin (d), with the
# extra arguments in a; print the result.
pyj() {
	"$PYTHON3" -c 'import json,sys
d = json.load(sys.stdin)
a = sys.argv[2:]
r = eval(sys.argv[1])
print(json.dumps(r) if isinstance(r, (dict, list)) else r)' "$@"
}

# "state ok_run fail_run probes failures" of the target called $1.
tstate() {
	vp_status | pyj '" ".join(str(x) for x in next(([e["state"], e["ok_run"], e["fail_run"], e["probes"], e["failures"]] for e in d["list"] if e["name"] == a[0]), ["missing"]))' "$1"
}

# True when target $1 is in state $2.
is_state() {
	local s
	s=$(tstate "$1")
	[ "${s%% *}" = "$2" ]
}
