#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Flap limits of vm_failure_recreate against onesim: a VM that keeps
# failing is recovered at most max_recoveries times per window, with a
# growing backoff between recoveries, then given up (marked with
# HA_GAVE_UP, alerted, exit 84) and left alone until an operator removes the
# mark; damaged counters are set aside, not fatal.
. "$(dirname "$0")/common.sh"
TEMPLATES=$top_srcdir/etc/opennebula/vm_failure_recreate

# USER_TEMPLATE attribute of a VM ("" when unset).
vm_attr() { # id key
	onesim_ctl vm "$1" | jq_py 'd["user_template"].get("'"$2"'", "")'
}

# An operator replaces the user template, dropping the gave-up mark.
clear_mark() { # id
	"$PYTHON3" - "$ONE_XMLRPC" "$(cat "$ONE_AUTH")" "$1" <<'PY'
import sys, xmlrpc.client
r = xmlrpc.client.ServerProxy(sys.argv[1]).one.vm.update(
    sys.argv[2], int(sys.argv[3]), 'HA="yes"', 0)
assert r[0], r
PY
}

# Through the registered hook: two recoveries, then the third failure in
# the window gives up.
new_case limit 2 'max_recoveries = 2;'
mkdir "$T/tpl" && cp "$TEMPLATES/boot-failure.hook" "$T/tpl/"
"$top_srcdir/etc/opennebula/register-vm-hooks.sh" --command "$T/hook" \
	--dir "$T/tpl" >/dev/null
for n in 1 2 3; do
	onesim_ctl crash-vm 0 --lcm-state BOOT_FAILURE >/dev/null
	onesim_ctl wait-hooks --timeout 30 >/dev/null
	[ $n -lt 3 ] && wait_running 0
done
check "limit: hook exits 0, 0, then 84" test "$(hook_codes)" = "0 0 84"
check "limit: two recoveries sent, none after" test "$(calls_for 0)" = 2
check "limit: the VM is marked HA_GAVE_UP" \
	grep -q '2 recoveries in 3600 s' <<<"$(vm_attr 0 HA_GAVE_UP)"
check "limit: the VM is left failed" test "$(vm_at 0)" = ACTIVE/BOOT_FAILURE@host1
check "limit: alerted" test "$(grep -c '^vm_gave_up 0 ' "$T/notify.log")" = 1
"$T/hook" --vm 0 >"$T/out" 2>"$T/err"
check "limit: a marked VM is left alone: exit 84, nothing sent" \
	test $? = 84 -a "$(calls_for 0)" = 2
check "limit: says so" grep -q 'gave up earlier' "$T/err"
clear_mark 0
"$T/hook" --vm 0 >"$T/out" 2>"$T/err"
check "limit: the operator removed the mark: counters reset, recovered" \
	test $? = 0 -a "$(calls_for 0)" = 3
check "limit: says the counters were reset" grep -q 'counters reset' "$T/err"

# Backoff: 4 s before the second recovery, 12 s before the third, and no
# wait longer than max_wait (6 s): then exit 75. (Seconds are the unit;
# the gaps are wide enough that a loaded machine's slowness between two
# runs never uses the whole backoff up.)
new_case backoff 1 'backoff = 4; backoff_factor = 3; max_wait = 6;'
onesim_ctl crash-vm 0 --lcm-state BOOT_FAILURE >/dev/null
"$T/hook" --vm 0 >"$T/out" 2>"$T/err"
check "backoff: first recovery at once" test $? = 0 -a "$(calls_for 0)" = 1
wait_running 0
onesim_ctl crash-vm 0 --lcm-state BOOT_FAILURE >/dev/null
"$T/hook" --vm 0 --no-wait --json >"$T/out" 2>"$T/err"
check "backoff: --no-wait: exit 75, nothing sent, next_allowed given" \
	test $? = 75 -a "$(calls_for 0)" = 1 -a \
	"$(jq_py 'd["outcome"] == "deferred" and d["next_allowed"] > 0' <"$T/out")" = True
t0=$EPOCHREALTIME
"$T/hook" --vm 0 >"$T/out" 2>"$T/err"
rc=$?
waited=$(awk "BEGIN { print ($EPOCHREALTIME - $t0 >= 0.5) }")
check "backoff: second recovery after waiting out the backoff" \
	test $rc = 0 -a "$waited" = 1 -a "$(calls_for 0)" = 2
check "backoff: says it waited" grep -q 'flap backoff: waiting' "$T/err"
wait_running 0
onesim_ctl crash-vm 0 --lcm-state BOOT_FAILURE >/dev/null
"$T/hook" --vm 0 >"$T/out" 2>"$T/err"
check "backoff: 12 s is more than max_wait: exit 75, nothing sent" \
	test $? = 75 -a "$(calls_for 0)" = 2
check "backoff: the report says deferred" grep -q '^  deferred: ' "$T/out"

# The window: episodes older than it no longer count.
new_case window 1 'max_recoveries = 1; window = 5;'
onesim_ctl crash-vm 0 --lcm-state BOOT_FAILURE >/dev/null
"$T/hook" --vm 0 >/dev/null 2>&1
wait_running 0
sleep 5.1
onesim_ctl crash-vm 0 --lcm-state BOOT_FAILURE >/dev/null
"$T/hook" --vm 0 >"$T/out" 2>"$T/err"
check "window: a recovery a window later is allowed" \
	test $? = 0 -a "$(calls_for 0)" = 2
wait_running 0
onesim_ctl crash-vm 0 --lcm-state BOOT_FAILURE >/dev/null
"$T/hook" --vm 0 >"$T/out" 2>"$T/err"
check "window: within the window: gave up (84)" test $? = 84 -a "$(calls_for 0)" = 2

# Damaged counters: set aside with a warning, recovery goes on.
new_case corrupt 1
onesim_ctl crash-vm 0 --lcm-state BOOT_FAILURE >/dev/null
"$T/hook" --vm 0 >/dev/null 2>&1
wait_running 0
echo '{"episodes": [{"t": "yesterday"}' >"$T/state/vms/vm-0.json"
onesim_ctl crash-vm 0 --lcm-state BOOT_FAILURE >/dev/null
"$T/hook" --vm 0 >"$T/out" 2>"$T/err"
check "corrupt counters: exit 0, recovered" test $? = 0 -a "$(calls_for 0)" = 2
check "corrupt counters: warned and kept aside" \
	test -f "$T/state/vms/vm-0.json.corrupt" -a "$(grep -c 'moved to' "$T/err")" = 1
check "corrupt counters: rewritten whole" \
	test "$(jq_py 'len(d["episodes"])' <"$T/state/vms/vm-0.json")" = 1

finish
