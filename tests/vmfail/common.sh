# SPDX-License-Identifier: GPL-2.0-or-later
# Shared set-up of the vm_failure_recreate integration tests (sourced): a
# case directory with a scenario for onesim, a vmheal.conf with fast
# timings, and the hook command onesim's hook manager runs.
set -u
# Debian's python3 is onesim's reference; a version manager's shim in PATH
# costs a tenth of a second per onesim ctl call, and these tests make many.
if [ -z "${PYTHON3:-}" ] && [ -x /usr/bin/python3 ]; then
	PYTHON3=/usr/bin/python3
fi
. "$(dirname "${BASH_SOURCE[0]}")/../lib/onesim.sh"
. "$(dirname "${BASH_SOURCE[0]}")/../lib/harness.sh"
VMFAIL=$top_builddir/hooks/vm_failure_recreate
HOST_ERROR=$top_builddir/hooks/host_error

cleanup_all() {
	onesim_stop
	harness_cleanup
}
trap cleanup_all EXIT

finish() {
	valgrind_logs
	echo "vm_failure_recreate: $pass passed, $fail failed"
	[ "$fail" = 0 ]
	exit $?
}

# scenario NVMS [version] [extra VM JSON fields] -> $T/scenario.json
scenario() {
	local nvms=$1 version=${2:-6.10} extra=${3:-}
	cat >"$T/scenario.json" <<JSON
{"version":"$version","users":{"oneadmin":"secret"},
 "timing":{"sched_interval_ms":50,"monitor_interval_ms":50},
 "hosts":[{"name":"host1","max_cpu":3200,"max_mem":67108864},
          {"name":"host2","max_cpu":3200,"max_mem":67108864},
          {"name":"host3","max_cpu":3200,"max_mem":67108864}],
 "vms":[{"count":$nvms,"host":"host1","cpu":1,"memory":1024,"name":"vm-{id}"$extra}]}
JSON
}

# new_case NAME [NVMS] [extra vm_failure config] [version]
new_case() {
	local name=$1 nvms=${2:-4} extra=${3:-} version=${4:-6.10}
	local backoff="backoff = 0;" # no waiting unless a case asks for it
	case $extra in *"backoff ="*) backoff= ;; esac
	onesim_stop
	new_case_dir "vf-$name"
	mkdir -p "$T/state"
	scenario "$nvms" "$version"
	onesim_start "$T/scenario.json"
	cat >"$T/fence.sh" <<SH
#!/bin/bash
host=\$("$PYTHON3" -c 'import base64,sys,re
x = base64.b64decode(sys.stdin.read()).decode()
print(re.search(r"<NAME>(?:<!\[CDATA\[)?([^<\]]*)", x).group(1))')
"$PYTHON3" "$ONESIM" ctl --state-dir "$ONESIM_DIR" fence-host "\$host" >/dev/null
SH
	chmod 700 "$T/fence.sh"
	cat >"$T/notify.sh" <<SH
#!/bin/bash
echo "\$VMHEAL_EVENT \$VMHEAL_VM_ID \$VMHEAL_DETAIL" >>"$T/notify.log"
SH
	chmod 700 "$T/notify.sh"
	cat >"$T/vmheal.conf" <<CONF
state_dir = "$T/state";
fence = { levels = ( { name = "onesim"; type = "script"; command = "$T/fence.sh"; timeout = 30; } ); };
host_error = { verify_interval_ms = 100; verify_timeout = 30; retry_backoff_ms = 100; };
vm_failure = { verify_interval_ms = 100; verify_timeout = 20; settle_ms = 400;
  $backoff notify_command = [ "$T/notify.sh" ]; $extra };
CONF
	# What the cloud runs. VMH_VALGRIND=1: every vm_failure_recreate run
	# under valgrind; a leak or memory error fails the run (exit 99) and
	# leaves its log in $T/vg.*.
	local wrap=""
	[ "${VMH_VALGRIND:-0}" = 1 ] &&
		wrap="${VALGRIND:-valgrind} -q --leak-check=full --show-leak-kinds=all --errors-for-leak-kinds=all --error-exitcode=99 --log-file=$T/vg.%p"
	cat >"$T/hook" <<SH
#!/bin/bash
exec $wrap "$VMFAIL" -c "$T/vmheal.conf" --no-syslog "\$@"
SH
	cat >"$T/he-hook" <<SH
#!/bin/bash
exec "$HOST_ERROR" -c "$T/vmheal.conf" --no-syslog "\$@"
SH
	export ONEHOOK=$top_srcdir/tests/vmfail/onehook-onesim
	export ONEHOOK_LIST=$T/onehook.list ONESIM PYTHON3
	chmod 700 "$T/hook" "$T/he-hook"
}

# The VM's "STATE/LCM@host".
vm_at() {
	onesim_ctl vm "$1" | jq_py 'd["state"] + "/" + d["lcm"] + "@" + str(d["host"])'
}

# Accepted recovery calls per VM: "id:what ..." (what = recover op or action).
recover_calls() {
	onesim_ctl ledger | jq_py '" ".join("%s:%s" % ((r["params"][0], "op%d" % r["params"][1]) if r["method"] == "one.vm.recover" else (r["params"][1], r["params"][0]))
	    for r in d if r["method"] in ("one.vm.recover", "one.vm.action") and r.get("ok"))'
}

# How many accepted recover/action calls VM $1 got.
calls_for() {
	onesim_ctl ledger | jq_py 'len([r for r in d if r.get("ok") and ((r["method"] == "one.vm.recover" and r["params"][0] == '"$1"') or (r["method"] == "one.vm.action" and r["params"][1] == '"$1"'))])'
}

# True when onesim saw no VM run in two places at once.
no_duplicates() {
	local s
	s=$(onesim_ctl safety)
	echo "$s" | jq_py 'd["duplicates"] == [] and d["current_duplicates"] == {} and d["unsafe_recoveries"] == []' | grep -qx True ||
		{ echo "  safety: $s" >&2; return 1; }
}

# wait_running ID...: every VM ACTIVE/RUNNING within 20 s.
wait_running() {
	onesim_ctl wait-vms --ids "$(IFS=,; echo "$*")" --state ACTIVE --lcm RUNNING \
		--timeout 20 >/dev/null
}

# Exit codes of the hook runs so far, in order: "0 0 84".
hook_codes() {
	onesim_ctl hooks-log | jq_py '" ".join(str(r["exit_code"]) for r in d["runs"])'
}

# The last hook run's stderr (for failure messages).
last_hook_err() {
	onesim_ctl hooks-log | jq_py 'd["runs"][-1]["stderr"] if d["runs"] else "no hook run"' >&2
}
