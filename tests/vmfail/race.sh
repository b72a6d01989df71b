#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Exactly once for vm_failure_recreate: two runs for one VM at once, racing
# host_error on the same host and VM (both directions), runs killed with
# SIGKILL at random points and started again (VMH_CRASH_RUNS, default 10),
# and faults on the API (latency, lost answers, HTTP 503). onesim's ledger
# must show each recovery call accepted at most once per VM and failure,
# and its safety report no VM running twice.
. "$(dirname "$0")/common.sh"
TEMPLATES=$top_srcdir/etc/opennebula/vm_failure_recreate
runs=${VMH_CRASH_RUNS:-10}

# Accepted calls of one kind for a VM: op2, op4, resume...
calls_of() { # id what
	recover_calls | tr ' ' '\n' | grep -c "^$1:$2\$"
}

# Two runs for one VM at once: the second leaves it to the first.
new_case twice 2
onesim_ctl timing '{"boot_ms": 600}' >/dev/null
onesim_ctl crash-vm 0 --lcm-state BOOT_FAILURE >/dev/null
"$T/hook" --vm 0 >"$T/out1" 2>"$T/err1" &
p1=$!
"$T/hook" --vm 0 >"$T/out2" 2>"$T/err2" &
p2=$!
wait $p1
r1=$?
wait $p2
r2=$?
check "twice: both exit 0 ($r1, $r2)" test "$r1$r2" = 00
check "twice: one left the VM to the other" \
	grep -q "another vm_failure_recreate run is handling it" "$T/err1" "$T/err2"
check "twice: one retry, RUNNING" \
	test "$(recover_calls)" = 0:op2 -a "$(vm_at 0)" = ACTIVE/RUNNING@host1

# host_error starts while vm_failure_recreate heals a VM of the same host:
# it waits for the shared lock; vm_failure_recreate sees the incident and
# stops before its next step; host_error then recovers every VM once.
new_case he-during-vf 4
onesim_ctl timing '{"boot_ms": 1500}' >/dev/null
onesim_ctl crash-vm 0 --lcm-state BOOT_FAILURE >/dev/null
"$T/hook" --vm 0 >"$T/vf.out" 2>"$T/vf.err" &
pvf=$!
sleep 0.4
onesim_ctl fail-host host1 --mode crash >/dev/null
"$T/he-hook" --host host1 -r >"$T/he.out" 2>"$T/he.err"
rhe=$?
wait $pvf
rvf=$?
onesim_ctl timing '{"boot_ms": 50}' >/dev/null
onesim_ctl wait-vms --ids 0,1,2,3 --state ACTIVE --lcm RUNNING --not-host host1 \
	--timeout 20 >/dev/null
check "he-during-vf: both exit 0 (vm $rvf, host $rhe)" test "$rvf$rhe" = 00
check "he-during-vf: vm_failure_recreate stopped for host_error" \
	grep -q "host_error owns it" "$T/vf.out"
check "he-during-vf: VM 0 retried once by vm_failure_recreate, recreated once by host_error" \
	test "$(calls_of 0 op2)$(calls_of 0 op4)" = 11
check "he-during-vf: VMs 1-3 recreated once each" \
	test "$(calls_of 1 op4)$(calls_of 2 op4)$(calls_of 3 op4)" = 111
check "he-during-vf: nothing else sent" test "$(recover_calls | wc -w)" = 5
check "he-during-vf: no VM ran twice" no_duplicates

# The host fails: host_error's host hook and the UNKNOWN VM hooks fire
# together. The VM hooks leave every VM to host_error.
new_case host-fails 4
mkdir "$T/tpl" && cp "$TEMPLATES/unknown.hook" "$T/tpl/"
"$top_srcdir/etc/opennebula/register-vm-hooks.sh" --command "$T/hook" \
	--dir "$T/tpl" >/dev/null
onesim_ctl register-hook --template "NAME = he
TYPE = state
RESOURCE = HOST
STATE = ERROR
COMMAND = \"$T/he-hook\"
ARGUMENTS = \"\$TEMPLATE -r\"
ARGUMENTS_STDIN = yes" >/dev/null
onesim_ctl fail-host host1 --mode crash >/dev/null
onesim_ctl wait-hooks --timeout 60 >/dev/null
onesim_ctl wait-vms --ids 0,1,2,3 --state ACTIVE --lcm RUNNING --not-host host1 \
	--timeout 20 >/dev/null
check "host-fails: host hook and 4 VM hooks, all exit 0" \
	test "$(hook_codes | tr ' ' '\n' | sort | uniq -c | tr -s ' ')" = " 5 0"
check "host-fails: every VM recreated once, nothing else" \
	test "$(recover_calls | tr ' ' '\n' | sort | tr '\n' ' ')" = "0:op4 1:op4 2:op4 3:op4 "
check "host-fails: the VM hooks said host_error owns them" \
	test "$(onesim_ctl hooks-log | jq_py 'sum("host_error" in r["stdout"] for r in d["runs"] if r["resource"] == "VM")')" = 4
check "host-fails: no VM ran twice" no_duplicates

# Killed at random points, then run again: the failure gets each call at
# most once, and one episode is counted. A retry in flight when the run was
# killed, with no sign of it on the VM, is not sent again: the next run
# recreates instead. Each round uses its own VM of one onesim.
new_case crash "$runs"
onesim_ctl faults '{"latency_ms": 30}' >/dev/null
onesim_ctl timing '{"boot_ms": 200}' >/dev/null
RANDOM=${VMH_CRASH_SEED:-7}
bad=0
declare -A landed
for i in $(seq 0 $((runs - 1))); do
	onesim_ctl crash-vm "$i" --lcm-state BOOT_FAILURE >/dev/null
	"$T/hook" --vm "$i" >>"$T/out" 2>>"$T/err" &
	pid=$!
	sleep "0.$(printf '%03d' $((RANDOM % 700)))"
	kill -9 $pid 2>/dev/null
	wait $pid 2>/dev/null
	# Where the kill landed: the last journal record (none: before begin).
	last=$(tail -n 1 "$T/state/vms/vm-$i.journal" 2>/dev/null |
		sed -n 's/.*"ev":"\([a-z_]*\)".*/\1/p')
	[ -z "$last" ] && [ -f "$T/state/vms/vm-$i.prev.journal" ] && last=finished
	landed[${last:-none}]=$((${landed[${last:-none}]:-0} + 1))
	"$T/hook" --vm "$i" >>"$T/out" 2>>"$T/err"
	rc=$?
	wait_running "$i"
	mine=$(recover_calls | tr ' ' '\n' | grep "^$i:" | sort | tr '\n' ' ')
	case $mine in
	"$i:op2 " | "$i:op4 " | "$i:op2 $i:op4 ") good=1 ;;
	*) good=0 ;;
	esac
	if [ $rc != 0 ] || [ $good = 0 ] || [ "$(vm_at "$i" | cut -d@ -f1)" != ACTIVE/RUNNING ] ||
		[ "$(grep -o '"ep":' "$T/state/vms/vm-$i.json" | wc -l)" != 1 ]; then
		bad=$((bad + 1))
		echo "  round $i: rc $rc, calls: $mine" >&2
		tail -n 15 "$T/err" >&2
	fi
done
echo "kills landed after these journal records: $(for k in "${!landed[@]}"; do printf '%s=%s ' "$k" "${landed[$k]}"; done)"
check "crash loop: $runs killed runs, each failure got each call at most once, one episode counted ($bad bad)" \
	test $bad = 0
check "crash loop: no VM ran twice" no_duplicates

# Faults on the API: latency, answers lost after the call ran, HTTP 503.
new_case faults 8
onesim_ctl faults '{"seed": 11, "latency_ms": 20, "methods": {"one.vm.recover": {"drop_after_rate": 0.3, "http_rate": 0.3}, "one.vm.action": {"drop_after_rate": 0.3, "http_rate": 0.3}}}' >/dev/null
for i in 0 1 2 3; do onesim_ctl crash-vm $i --lcm-state BOOT_FAILURE >/dev/null; done
for i in 4 5 6 7; do onesim_ctl crash-vm $i --lcm-state UNKNOWN >/dev/null; done
codes=
pids=()
for i in 0 1 2 3 4 5 6 7; do
	"$T/hook" --vm $i >>"$T/out" 2>>"$T/err" &
	pids+=($!)
done
for p in "${pids[@]}"; do
	wait "$p"
	codes+="$?"
done
onesim_ctl faults --clear >/dev/null
check "faults: every run exits 0 ($codes)" test "$codes" = 00000000
check "faults: every VM RUNNING" wait_running 0 1 2 3 4 5 6 7
check "faults: no call accepted twice for a VM" \
	test -z "$(recover_calls | tr ' ' '\n' | sort | uniq -d)"
check "faults: lost answers were learnt from the VM's state" \
	grep -q "took effect" "$T/err"
check "faults: no VM ran twice" no_duplicates

finish
