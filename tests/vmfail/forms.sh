#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# vm_failure_recreate against onesim, with onesim's hook manager firing the
# shipped hook registrations the way oned/onehem do: one onehook per
# failure LCM state and UNKNOWN (stdin and argv forms), the oned.conf
# VM_HOOK forms of 4.x (FAILED, $ID) and 5.8 (CUSTOM), UNKNOWN on a host in
# ERROR, the per-state decisions and per-VM policy, and bad input.
. "$(dirname "$0")/common.sh"
REGISTER=$top_srcdir/etc/opennebula/register-vm-hooks.sh
TEMPLATES=$top_srcdir/etc/opennebula/vm_failure_recreate

# Every failure state at once, each through its own registered onehook
# (ARGUMENTS_STDIN=yes), and what each should end as.
states=(BOOT_FAILURE BOOT_MIGRATE_FAILURE PROLOG_MIGRATE_FAILURE
	PROLOG_FAILURE EPILOG_FAILURE EPILOG_STOP_FAILURE
	EPILOG_UNDEPLOY_FAILURE PROLOG_MIGRATE_POWEROFF_FAILURE
	PROLOG_MIGRATE_SUSPEND_FAILURE BOOT_UNDEPLOY_FAILURE
	BOOT_STOPPED_FAILURE PROLOG_RESUME_FAILURE PROLOG_UNDEPLOY_FAILURE
	PROLOG_MIGRATE_UNKNOWN_FAILURE UNKNOWN)
declare -A expect=([EPILOG_FAILURE]=DONE/LCM_INIT [EPILOG_STOP_FAILURE]=STOPPED/LCM_INIT
	[EPILOG_UNDEPLOY_FAILURE]=UNDEPLOYED/LCM_INIT
	[PROLOG_MIGRATE_POWEROFF_FAILURE]=POWEROFF/LCM_INIT
	[PROLOG_MIGRATE_SUSPEND_FAILURE]=SUSPENDED/LCM_INIT)
new_case every-state 16
"$REGISTER" --command "$T/hook" --dir "$TEMPLATES" >"$T/reg.out"
check "register-vm-hooks.sh: 15 hooks registered" \
	test "$(grep -c ': registered' "$T/reg.out")" = 15
"$REGISTER" --command "$T/hook" --dir "$TEMPLATES" >"$T/reg.out"
check "register-vm-hooks.sh: a second run keeps them" \
	test "$(grep -c 'already registered' "$T/reg.out")" = 15
for i in "${!states[@]}"; do
	onesim_ctl crash-vm "$i" --lcm-state "${states[$i]}" >/dev/null
done
onesim_ctl wait-hooks --timeout 60 >/dev/null
check "every state: 15 hook runs, all exit 0" \
	test "$(hook_codes)" = "$(printf '0 %.0s' {1..15} | sed 's/ $//')"
onesim_ctl wait-idle --timeout 20 >/dev/null
calls=$(recover_calls)
mapfile -t now < <(onesim_ctl vms | jq_py '"\n".join("%s/%s@%s" % (v["state"], v["lcm"], v["host"]) for v in sorted(d, key=lambda v: v["id"]))')
for i in "${!states[@]}"; do
	st=${states[$i]}
	want=${expect[$st]:-ACTIVE/RUNNING}
	how=op2
	[ "$st" = UNKNOWN ] && how=resume
	check "$st: $how once, now $want" \
		test "${now[$i]}" = "$want@host1" -a \
		"$(echo " $calls " | grep -o " $i:[a-z0-9-]*" | tr -d ' ')" = "$i:$how"
done
check "every state: the VM the hook did not name was left alone" \
	test "${now[15]}" = "ACTIVE/RUNNING@host1"
check "every state: notified per VM" test "$(grep -c '^vm_recovered' "$T/notify.log")" = 15
check "every state: no journal left open" \
	test -z "$(ls "$T"/state/vms/*.journal 2>/dev/null | grep -v '\.prev\.journal')"

# A retry that fails again escalates to delete-recreate (op 4).
onesim_ctl faults '{"driver": {"boot": {"fail_next": 1}}}' >/dev/null
onesim_ctl crash-vm 15 --lcm-state BOOT_FAILURE >/dev/null
onesim_ctl wait-hooks --timeout 60 >/dev/null
wait_running 15
check "retry fails again: then recreated, RUNNING" \
	test "$(recover_calls | grep -o ' 15:op[0-9]' | tr -d ' ' | tr '\n' ' ')" = "15:op2 15:op4 "
check "retry fails again: the second hook for the new BOOT_FAILURE left it to the first" \
	test "$(hook_codes | wc -w)" = 17

# OpenNebula 5.10 - 5.12: $TEMPLATE on argv, empty stdin.
new_case argv 2
mkdir "$T/tpl" && cp "$TEMPLATES/prolog-failure.hook" "$T/tpl/"
"$REGISTER" --argv --command "$T/hook" --dir "$T/tpl" >/dev/null
onesim_ctl crash-vm 0 --lcm-state PROLOG_FAILURE >/dev/null
onesim_ctl wait-hooks --timeout 30 >/dev/null
log=$(onesim_ctl hooks-log)
check "argv form: the VM came on argv, stdin empty" \
	test "$(echo "$log" | jq_py 'len(d["runs"][0]["argv"]) == 2 and not d["runs"][0]["stdin_given"]')" = True
check "argv form: exit 0, RUNNING after one retry" \
	test "$(hook_codes)" = 0 -a "$(vm_at 0)" = ACTIVE/RUNNING@host1 -a "$(recover_calls)" = "0:op2"

# OpenNebula 4.4: oned.conf VM_HOOK ON=FAILED with $ID; delete-recreate is
# one.vm.action there, and an UNKNOWN VM is booted with "boot".
new_case oned-4.4 2 "" 4.4
sed "s#/usr/sbin/vm_failure_recreate#$T/hook#" "$TEMPLATES/oned.conf.vm_hooks" >"$T/oned.conf"
onesim_ctl register-hook --oned-conf-file "$T/oned.conf" >/dev/null
onesim_ctl crash-vm 0 --lcm-state FAILED >/dev/null
onesim_ctl crash-vm 1 --lcm-state UNKNOWN >/dev/null
onesim_ctl wait-hooks --timeout 30 >/dev/null
wait_running 0 1
check "4.4 FAILED: the hook got \$ID, exit 0" \
	test "$(onesim_ctl hooks-log | jq_py '[(r["argv"][-1], r["exit_code"]) for r in d["runs"] if r["object_id"] == 0]')" = '[["0", 0]]'
check "4.4 FAILED: recreated with one.vm.action delete-recreate, RUNNING" \
	test "$(recover_calls)" = "0:delete-recreate 1:boot" -o "$(recover_calls)" = "1:boot 0:delete-recreate"
check "4.4 UNKNOWN: booted with \"boot\", RUNNING" test "$(vm_at 1)" = ACTIVE/RUNNING@host1

# OpenNebula 4.14 - 5.8: oned.conf VM_HOOK ON=CUSTOM per failure state.
new_case oned-5.8 2 "" 5.8
sed "s#/usr/sbin/vm_failure_recreate#$T/hook#" "$TEMPLATES/oned.conf.vm_hooks" >"$T/oned.conf"
onesim_ctl register-hook --oned-conf-file "$T/oned.conf" >/dev/null
onesim_ctl crash-vm 0 --lcm-state BOOT_STOPPED_FAILURE >/dev/null
onesim_ctl wait-hooks --timeout 30 >/dev/null
wait_running 0
check "5.8 CUSTOM BOOT_STOPPED_FAILURE: \$ID, exit 0, retried once" \
	test "$(hook_codes)" = 0 -a "$(recover_calls)" = "0:op2"

# UNKNOWN because the host is in ERROR: host_error's, not ours.
new_case host-in-error 4
mkdir "$T/tpl" && cp "$TEMPLATES/unknown.hook" "$T/tpl/"
"$REGISTER" --command "$T/hook" --dir "$T/tpl" >/dev/null
onesim_ctl fail-host host1 --mode partition >/dev/null
onesim_ctl wait-hooks --timeout 30 >/dev/null
check "host in ERROR: 4 UNKNOWN hooks, all exit 0" test "$(hook_codes)" = "0 0 0 0"
check "host in ERROR: nothing sent" test -z "$(recover_calls)"
check "host in ERROR: each says host_error owns it" \
	test "$(onesim_ctl hooks-log | jq_py 'sum("host_error owns it" in r["stdout"] + r["stderr"] for r in d["runs"])')" = 4
check "host in ERROR: the VMs are still UNKNOWN" \
	test "$(vm_at 0)" = ACTIVE/UNKNOWN@host1

# Per-state configuration and per-VM policy, by hand (--vm).
new_case policy 6 'states = { BOOT_FAILURE = [ "recreate" ]; PROLOG_FAILURE = [ "none" ]; };'
onesim_ctl crash-vm 0 --lcm-state BOOT_FAILURE >/dev/null
"$T/hook" --vm 0 >"$T/out" 2>"$T/err"
check "states.BOOT_FAILURE = recreate: exit 0, op 4 only" \
	test $? = 0 -a "$(recover_calls)" = "0:op4"
onesim_ctl crash-vm 1 --lcm-state PROLOG_FAILURE >/dev/null
"$T/hook" --vm 1 >"$T/out" 2>"$T/err"
check "states.PROLOG_FAILURE = none: exit 0, nothing sent, alert" \
	test $? = 0 -a "$(calls_for 1)" = 0 -a "$(grep -c vm_not_handled "$T/notify.log")" = 1
onesim_ctl add-vms --count 1 --host host1 --user-template HA=no >/dev/null
onesim_ctl crash-vm 6 --lcm-state UNKNOWN >/dev/null
"$T/hook" --vm 6 >"$T/out" 2>"$T/err"
check "HA=no: exit 0, nothing sent" test $? = 0 -a "$(calls_for 6)" = 0
onesim_ctl add-vms --count 1 --host host1 --user-template HA_ACTION=delete >/dev/null
onesim_ctl faults '{"driver": {"boot": {"fail_next": 1}}}' >/dev/null
onesim_ctl crash-vm 7 --lcm-state BOOT_UNDEPLOY_FAILURE >/dev/null
"$T/hook" --vm 7 >"$T/out" 2>"$T/err"
check "HA_ACTION=delete: retry, then delete instead of recreate" \
	test $? = 0 -a "$(recover_calls | grep -o ' 7:op[0-9]' | tr -d ' ' | tr '\n' ' ')" = "7:op2 7:op3 " -a "$(vm_at 7 | cut -d/ -f1)" = DONE
onesim_ctl crash-vm 2 --lcm-state BOOT_FAILURE >/dev/null
"$T/hook" --vm 2 --dry-run --json >"$T/out" 2>"$T/err"
check "--dry-run: exit 0, nothing sent, plan in the JSON report" \
	test $? = 0 -a "$(calls_for 2)" = 0 -a \
	"$(jq_py 'd["outcome"] + " " + ",".join(s["action"] for s in d["steps"])' <"$T/out")" = "planned recreate"
"$T/hook" --vm 2 --action retry --json >"$T/out" 2>"$T/err"
check "--action retry: that step only, JSON says recovered" \
	test $? = 0 -a "$(calls_for 2)" = 1 -a "$(jq_py 'd["outcome"]' <"$T/out")" = recovered
"$T/hook" --vm 3 >"$T/out" 2>"$T/err"
check "a RUNNING VM: exit 0, nothing to heal" \
	test $? = 0 -a "$(calls_for 3)" = 0 -a "$(grep -c 'nothing to heal' "$T/out")" = 1

# Bad input: nothing touched, documented exit codes.
"$T/hook" 'not*base64' >"$T/out" 2>"$T/err"
check "bad base64: exit 65" test $? = 65
echo -n '<VM><ID>0</ID>' | base64 -w0 >"$T/b64"
"$T/hook" "$(cat "$T/b64")" >"$T/out" 2>"$T/err"
check "malformed XML: exit 65" test $? = 65
echo -n '<HOST><ID>0</ID></HOST>' | base64 -w0 >"$T/b64"
"$T/hook" <"$T/b64" >"$T/out" 2>"$T/err"
check "a <HOST> document on stdin: exit 65" test $? = 65
"$T/hook" 999 >"$T/out" 2>"$T/err"
check "unknown VM ID: exit 66" test $? = 66
"$T/hook" </dev/null >"$T/out" 2>"$T/err"
check "nothing on stdin: exit 64" test $? = 64
"$T/hook" --action reboot,recreate --vm 0 >"$T/out" 2>"$T/err"
check "unknown --action: exit 64" test $? = 64

finish
