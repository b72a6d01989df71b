#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# vm_failure_recreate on OpenStack, against novasim: a server in ERROR is
# hard-rebooted, then rebuilt when the reboot fails; a server whose guest
# went down by itself (Nova's power-state sync stopped it) is brought back,
# one a user stopped is left alone; a server on a compute that is down is
# host_error's; HA_Enabled=False is honoured; flap limits and the give-up
# mark (which Nova refuses on an ERROR server) work as on OpenNebula; an
# outage of the API leaves the episode open and never sends a step twice.
set -u
if [ -z "${PYTHON3:-}" ] && [ -x /usr/bin/python3 ]; then
	PYTHON3=/usr/bin/python3
fi
. "$(dirname "$0")/../lib/novasim.sh"
. "$(dirname "$0")/../lib/harness.sh"
VMFAIL=$top_builddir/hooks/vm_failure_recreate

cleanup_all() {
	novasim_stop
	harness_cleanup
}
trap cleanup_all EXIT

# new_case NAME [extra vm_failure config]: novasim with 4 servers on cmp1
# (HA_Enabled=True but the last), and a configuration for it.
new_case() {
	local name=$1 extra=${2:-}
	novasim_stop
	new_case_dir "vfn-$name"
	mkdir -m 700 "$T/state"
	cat >"$T/scenario.json" <<'JSON'
{"settings": {"action_delay_s": 0.3},
 "nova": {"hosts": [{"name": "cmp1"}, {"name": "cmp2"}],
          "servers": [{"count": 3, "host": "cmp1", "name": "vm-%d",
                       "metadata": {"HA_Enabled": "True"}},
                      {"count": 1, "host": "cmp1", "name": "off-%d",
                       "metadata": {"HA_Enabled": "False"}}]}}
JSON
	novasim_start "$T/scenario.json" || exit 1
	ids=($(novasim_ctl state | jq_py '" ".join(s["id"] for s in d["servers"])'))
	cat >"$T/notify.sh" <<SH
#!/bin/bash
echo "\$VMHEAL_EVENT \$VMHEAL_VM_ID \$VMHEAL_DETAIL" >>"$T/notify.log"
SH
	cat >"$T/vmheal.conf" <<CONF
cloud = "openstack";
state_dir = "$T/state";
vm_failure = { verify_interval_ms = 100; verify_timeout = 10; settle_ms = 400;
  backoff = 0; notify_command = [ "$T/notify.sh" ]; $extra };
CONF
	chmod 600 "$T/vmheal.conf"
	local wrap=""
	[ "${VMH_VALGRIND:-0}" = 1 ] &&
		wrap="${VALGRIND:-valgrind} -q --leak-check=full --show-leak-kinds=all --errors-for-leak-kinds=all --error-exitcode=99 --log-file=$T/vg.%p"
	cat >"$T/run" <<SH
#!/bin/bash
exec $wrap "$VMFAIL" -c "$T/vmheal.conf" --no-syslog "\$@"
SH
	chmod 700 "$T/notify.sh" "$T/run"
}

# run ARGS...: vm_failure_recreate; its exit code in $rc, output in
# $T/out and $T/err.
run() {
	"$T/run" "$@" >"$T/out" 2>"$T/err"
	rc=$?
}

# The compute-side actions Nova accepted for server $1: "reboot rebuild".
actions_of() {
	novasim_ctl ledger | jq_py '" ".join(r.get("action") or r["route"].split(".")[-1] for r in d["ledger"] if r.get("server") == "'"$1"'" and r["route"].startswith("compute.server.") and r["status"] < 300 and r["method"] == "POST")'
}

# The server's "vm_state/task_state@host".
server_at() {
	novasim_ctl state | jq_py '[ "%s/%s@%s" % (s["vm_state"], s["task_state"], s["host"]) for s in d["servers"] if s["id"] == "'"$1"'"][0]'
}

metadata_of() { # server key
	novasim_ctl state | jq_py '[s["metadata"].get("'"$2"'", "") for s in d["servers"] if s["id"] == "'"$1"'"][0]'
}

set_error() {
	novasim_ctl server "{\"id\": \"$1\", \"vm_state\": \"error\"}" >/dev/null
}

explain() { # what went wrong, for the log
	echo "  rc=$rc; stderr:" >&2
	sed 's/^/  | /' "$T/err" >&2
}

# --- ERROR: a hard reboot heals it --------------------------------------
new_case error
set_error "${ids[0]}"
run --vm "${ids[0]}"
check "ERROR: exit 0 ($rc)" test "$rc" = 0 || explain
check "ERROR: one hard reboot, nothing else ($(actions_of "${ids[0]}"))" \
	test "$(actions_of "${ids[0]}")" = reboot
check "ERROR: the reboot was HARD" test "$(novasim_ctl ledger | jq_py '[r["body"]["reboot"]["type"] for r in d["ledger"] if r.get("action") == "reboot"]')" = '["HARD"]'
check "ERROR: server active on its host ($(server_at "${ids[0]}"))" \
	test "$(server_at "${ids[0]}")" = "active/None@cmp1"
check "ERROR: the report says so" grep -q "recovered by reboot-hard" "$T/out"

# --- ERROR, and the reboot fails: rebuild --------------------------------
set_error "${ids[1]}"
novasim_ctl fail-action "{\"server\": \"${ids[1]}\", \"action\": \"reboot\"}" >/dev/null
run --vm "${ids[1]}" --json
check "ERROR, reboot fails: exit 0 ($rc)" test "$rc" = 0 || explain
check "ERROR, reboot fails: reboot then rebuild ($(actions_of "${ids[1]}"))" \
	test "$(actions_of "${ids[1]}")" = "reboot rebuild"
check "ERROR, reboot fails: active ($(server_at "${ids[1]}"))" \
	test "$(server_at "${ids[1]}")" = "active/None@cmp1"
json_is() { # python expression on the --json report in $T/out
	jq_py "$1" <"$T/out" | grep -qx True
}
check "ERROR, reboot fails: --json tells both steps" \
	json_is 'd["outcome"] == "recovered" and [s["action"] for s in d["steps"]] == ["reboot-hard", "rebuild"] and not d["steps"][0]["verified"] and d["steps"][1]["verified"]'

# --- the guest went down by itself: Nova stopped it; bring it back -----
novasim_ctl guest-stop "${ids[2]}" >/dev/null
run --vm "${ids[2]}"
check "guest down: exit 0 ($rc)" test "$rc" = 0 || explain
check "guest down: the log says why it counts as a failure" \
	grep -q "power-state sync" "$T/err"
check "guest down: hard reboot ($(actions_of "${ids[2]}"))" \
	test "$(actions_of "${ids[2]}")" = reboot
check "guest down: active ($(server_at "${ids[2]}"))" \
	test "$(server_at "${ids[2]}")" = "active/None@cmp1"

# --- a user stopped it: left alone --------------------------------------
nova_api POST "/servers/${ids[2]}/action" '{"os-stop": null}' >/dev/null
for _ in $(seq 1 50); do
	[ "$(server_at "${ids[2]}")" = "stopped/None@cmp1" ] && break
	sleep 0.1
done
before=$(actions_of "${ids[2]}")
run --vm "${ids[2]}"
check "user stop: exit 0 ($rc)" test "$rc" = 0 || explain
check "user stop: nothing sent ($(actions_of "${ids[2]}"))" \
	test "$(actions_of "${ids[2]}")" = "$before"
check "user stop: says who stopped it" grep -q "stop by user" "$T/err"
check "user stop: still stopped" test "$(server_at "${ids[2]}")" = "stopped/None@cmp1"

# --- HA_Enabled=False ----------------------------------------------------
set_error "${ids[3]}"
run --vm "${ids[3]}"
check "HA_Enabled=False: exit 0, nothing sent ($rc, $(actions_of "${ids[3]}"))" \
	test "$rc:$(actions_of "${ids[3]}")" = "0:"

# --- dry run -------------------------------------------------------------
set_error "${ids[0]}"
run --vm "${ids[0]}" --dry-run
check "dry run: exit 0 and the plan ($rc)" grep -q "would reboot-hard, then rebuild" "$T/out"
check "dry run: nothing more sent" test "$(actions_of "${ids[0]}")" = reboot

# --- the compute is down: host_error's ------------------------------------
new_case hostdown
set_error "${ids[0]}"
novasim_ctl fail-host cmp1 >/dev/null
novasim_ctl age-host cmp1 120 >/dev/null
run --vm "${ids[0]}"
check "compute down: exit 0 ($rc)" test "$rc" = 0 || explain
check "compute down: left to host_error" grep -qi "host_error owns it" "$T/out"
check "compute down: nothing sent ($(actions_of "${ids[0]}"))" \
	test -z "$(actions_of "${ids[0]}")"

# --- the API fails while the reboot's answer is on its way ----------------
new_case outage
set_error "${ids[0]}"
novasim_ctl faults '{"fail_next": [{"route": "compute.server.action", "kind": "drop_after"}]}' >/dev/null
run --vm "${ids[0]}"
novasim_ctl clear-faults >/dev/null
check "answer lost: the reboot was sent once ($(actions_of "${ids[0]}"))" \
	test "$(actions_of "${ids[0]}")" = reboot
check "answer lost: learnt from the server that it took effect, exit 0 ($rc)" \
	test "$rc" = 0 || explain
check "answer lost: active ($(server_at "${ids[0]}"))" \
	test "$(server_at "${ids[0]}")" = "active/None@cmp1"

# --- flap limits and the give-up mark ------------------------------------
new_case flap "max_recoveries = 2;"
for i in 1 2; do
	set_error "${ids[0]}"
	run --vm "${ids[0]}"
	check "flap: recovery $i exit 0 ($rc)" test "$rc" = 0 || explain
done
set_error "${ids[0]}"
run --vm "${ids[0]}"
check "flap: the third failure in the window gives up (exit 84: $rc)" test "$rc" = 84
check "flap: no third reboot ($(actions_of "${ids[0]}"))" \
	test "$(actions_of "${ids[0]}")" = "reboot reboot"
check "flap: Nova refuses metadata on an ERROR server, said so" \
	grep -q "could not set HA_GAVE_UP" "$T/err"
check "flap: alerted" grep -q "^vm_gave_up ${ids[0]}" "$T/notify.log"
run --vm "${ids[0]}"
check "flap: still given up (84: $rc), nothing sent" \
	test "$rc:$(actions_of "${ids[0]}")" = "84:reboot reboot"
# An operator repairs it; the mark gets there now.
novasim_ctl server "{\"id\": \"${ids[0]}\", \"vm_state\": \"active\"}" >/dev/null
run --vm "${ids[0]}"
check "flap: mark set once the server takes metadata (84: $rc)" \
	test "$rc" = 84 && test -n "$(metadata_of "${ids[0]}" HA_GAVE_UP)"
# ... then removes it: recovery is enabled again.
nova_api DELETE "/servers/${ids[0]}/metadata/HA_GAVE_UP" >/dev/null
set_error "${ids[0]}"
run --vm "${ids[0]}"
check "flap: mark removed, healed again (0: $rc)" test "$rc" = 0 || explain
check "flap: a third reboot now ($(actions_of "${ids[0]}"))" \
	test "$(actions_of "${ids[0]}")" = "reboot reboot reboot"

valgrind_logs
echo "vm_failure_recreate on OpenStack: $pass passed, $fail failed"
[ "$fail" = 0 ]
