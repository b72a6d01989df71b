#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# host_error against onesim, with onesim's hook manager firing the hook the
# way oned/onehem do: every invocation form, the host_error.rb options, and
# the refusals (fence failed, storm, bad input).
. "$(dirname "$0")/common.sh"
IDS6="0,1,2,3,4,5"

hook_case() { # name, registration kind, arguments
	local name=$1 kind=$2 args=$3 reg
	new_case "$name"
	case $kind in
	stdin | argv)
		reg="NAME = he
TYPE = state
RESOURCE = HOST
STATE = ERROR
COMMAND = \"$T/hook\"
ARGUMENTS = \"$args\""
		[ "$kind" = stdin ] && reg+="
ARGUMENTS_STDIN = yes"
		;;
	oned) reg="HOST_HOOK = [ NAME=\"error\", ON=\"ERROR\", COMMAND=\"$T/hook\", ARGUMENTS=\"$args\", REMOTE=\"no\" ]" ;;
	esac
	if [ "$kind" = oned ]; then
		onesim_ctl register-hook --oned-conf "$reg" >/dev/null
	else
		onesim_ctl register-hook --template "$reg" >/dev/null
	fi
	onesim_ctl fail-host host1 --mode crash >/dev/null
	onesim_ctl wait-hooks --timeout 60 >/dev/null
	local log
	log=$(onesim_ctl hooks-log)
	check "$name: the hook ran once and exited 0" \
		test "$(echo "$log" | jq_py '[r["exit_code"] for r in d["runs"]]')" = "[0]"
	[ "$(echo "$log" | jq_py '[r["exit_code"] for r in d["runs"]]')" = "[0]" ] ||
		echo "$log" | jq_py 'd["runs"][-1]["stderr"] if d["runs"] else "no hook run"' >&2
	check "$name: every VM runs on another host" all_running_elsewhere host1 0 1 2 3 4 5
	check "$name: every VM recovered exactly once" exactly_once 0 1 2 3 4 5
	check "$name: the host was fenced once" test "$(wc -l <"$T/fence.log")" = 1
	check "$name: no VM ever ran twice" no_duplicates
}

hook_case onehook-stdin stdin '$TEMPLATE -r -p 0'
hook_case onehook-argv argv '$TEMPLATE -r'
hook_case oned-conf oned '$ID -r'

# By hand, -d: every VM deleted.
new_case by-hand-delete
onesim_ctl fail-host host1 --mode crash >/dev/null
"$T/hook" --host host1 -d >"$T/out" 2>"$T/err"
check "delete: exit 0" test $? = 0
check "delete: every VM DONE" test "$(onesim_ctl vms | jq_py 'all(v["state"] == "DONE" for v in d)')" = True
check "delete: one call each" exactly_once 0 1 2 3 4 5

# -m on a shared system datastore: resched, once each.
new_case migrate-shared
onesim_ctl fail-host host1 --mode crash >/dev/null
"$T/hook" --host host1 -m >"$T/out" 2>"$T/err"
check "migrate: exit 0" test $? = 0
check "migrate: running elsewhere" all_running_elsewhere host1 0 1 2 3 4 5
check "migrate: one resched each" test "$(onesim_ctl ledger --method one.vm.action | jq_py 'sorted(r["params"][1] for r in d if r["params"][0] == "resched" and r["ok"])')" = "[0, 1, 2, 3, 4, 5]"

# -m on a local system datastore falls back to recreate (issue #6099).
VMX=',"ds_id":100' new_case migrate-local
onesim_ctl fail-host host1 --mode crash >/dev/null
"$T/hook" --host host1 -m >"$T/out" 2>"$T/err"
check "migrate on local DS: exit 0" test $? = 0
check "migrate on local DS: recreated, not rescheduled" test "$(onesim_ctl ledger | jq_py 'sorted(set((r["method"], r["params"][1] if r["method"] == "one.vm.recover" else r["params"][0]) for r in d))')" = '[["one.vm.recover", 4]]'

# -f: a POWEROFF VM is recreated only with -f.
new_case force-poweroff
onesim_ctl add-vms --count 1 --host host1 --state POWEROFF >/dev/null
onesim_ctl fail-host host1 --mode crash >/dev/null
"$T/hook" --host host1 -r >"$T/out" 2>"$T/err"
check "-r without -f: POWEROFF VM 6 untouched" test "$(recover_counts | grep -c '6=')" = 0
new_case force-poweroff-f
onesim_ctl add-vms --count 1 --host host1 --state POWEROFF >/dev/null
onesim_ctl fail-host host1 --mode crash >/dev/null
"$T/hook" --host host1 -r -f >"$T/out" 2>"$T/err"
check "-r -f: exit 81: oned refuses to delete-recreate a POWEROFF VM" test $? = 81
check "-r -f: the report gives oned's reason" grep -q "VM 6 .*failed.*Resume it first" "$T/out"
check "-r -f: the others recovered once" exactly_once 0 1 2 3 4 5
new_case migrate-poweroff
onesim_ctl add-vms --count 1 --host host1 --state POWEROFF >/dev/null
onesim_ctl fail-host host1 --mode crash >/dev/null
"$T/hook" --host host1 -m >"$T/out" 2>"$T/err"
check "-m: exit 0 with a POWEROFF VM" test $? = 0
check "-m: the POWEROFF VM moved, still POWEROFF" test "$(onesim_ctl vm 6 | jq_py 'd["state"] + "@" + d["host"]')" != "POWEROFF@host1"

# -p: the host comes back during the grace: nothing is done.
new_case grace
sed -i 's/^host_error = {/opennebula = { monitoring_interval = 1; };\nhost_error = {/' "$T/vmheal.conf"
onesim_ctl fail-host host1 --mode partition >/dev/null
"$T/hook" --host host1 -r -p 2 >"$T/out" 2>"$T/err" &
pid=$!
sleep 0.7
onesim_ctl restore-host host1 >/dev/null
wait $pid
check "grace: exit 0 when the host came back" test $? = 0
check "grace: nothing recovered" test -z "$(recover_counts)"
check "grace: not fenced" test ! -e "$T/fence.log"
check "grace: says so" grep -q "came back" "$T/err"

# -u: no fencing, by explicit choice.
new_case no-fencing none
onesim_ctl fail-host host1 --mode crash >/dev/null
"$T/hook" --host host1 -r -u >"$T/out" 2>"$T/err"
check "-u: exit 0" test $? = 0
check "-u: recovered" exactly_once 0 1 2 3 4 5
check "-u: warned" grep -q "fencing disabled" "$T/err"

# No fence method and no -u: refuse, exit 80, nothing touched.
new_case no-fence-configured none
onesim_ctl fail-host host1 --mode crash >/dev/null
"$T/hook" --host host1 -r >"$T/out" 2>"$T/err"
check "no fence configured: exit 80" test $? = 80
check "no fence configured: nothing recovered" test -z "$(recover_counts)"
check "no fence configured: says how to configure" grep -q "no fence method configured" "$T/err"

# The fence fails: exit 80, nothing recovered, the host is not fenced.
new_case fence-fails fail
onesim_ctl fail-host host1 --mode crash >/dev/null
"$T/hook" --host host1 -r >"$T/out" 2>"$T/err"
check "fence fails: exit 80" test $? = 80
check "fence fails: nothing recovered" test -z "$(recover_counts)"
check "fence fails: incident closed" test ! -e "$T/state/incidents/host-0.journal"

# Storm brake: 2 of 3 hosts in error.
new_case storm
onesim_ctl fail-host host1 --mode crash >/dev/null
onesim_ctl fail-host host2 --mode crash >/dev/null
"$T/hook" --host host1 -r >"$T/out" 2>"$T/err"
check "storm: exit 83" test $? = 83
check "storm: nothing recovered, not fenced" test -z "$(recover_counts)" -a ! -e "$T/fence.log"
"$T/hook" --host host1 -r --ignore-storm >"$T/out" 2>"$T/err"
check "storm overridden: exit 0" test $? = 0

# Second opinion: the host answers on its storage network -> isolated.
new_case isolated ok "second_opinion = { attributes = [ \"STORAGE_IP\" ]; port = $(cat "$ONESIM_DIR/port" 2>/dev/null || echo 1); };"
sed -i "s/port = [0-9]*;/port = $(cat "$ONESIM_DIR/port");/" "$T/vmheal.conf"
onesim_ctl fail-host host1 --mode partition >/dev/null
"$T/hook" --host host1 -r >"$T/out" 2>"$T/err"
check "isolated: exit 82" test $? = 82
check "isolated: nothing recovered, not fenced" test -z "$(recover_counts)" -a ! -e "$T/fence.log"
check "isolated: a fence script without a status command is not asked for the power state" \
	sh -c "! grep -q 'BMC' '$T/err'"

# The BMC is asked first (the fence level's status command, which stands
# for it: ON until the fence script ran, then OFF).
bmc_status_level() { # the status command's script body
	printf '#!/bin/bash\ncat >/dev/null\n%s\n' "$1" >"$T/status.sh"
	chmod 700 "$T/status.sh"
	sed -i "s|timeout = 30; }|timeout = 30; status_command = \"$T/status.sh\"; }|" "$T/vmheal.conf"
}
new_case bmc
bmc_status_level "[ -e '$T/fence.log' ] && exit 2; exit 0"
onesim_ctl fail-host host1 --mode crash >/dev/null
"$T/hook" --host host1 -r --json >"$T/out" 2>"$T/err"
check "BMC on: exit 0" test $? = 0
check "BMC on: asked before the fence, said so" grep -q "the BMC reports power ON" "$T/err"
check "BMC on: in the report" grep -q '"bmc_power": "on"' "$T/out"
check "BMC on: recovered" exactly_once 0 1 2 3 4 5

# The BMC says OFF, yet the host answers on its storage network: the fence
# configuration names another machine. Nothing is fenced or recovered, even
# with on_alive = "proceed".
new_case bmc-wrong ok "second_opinion = { attributes = [ \"STORAGE_IP\" ]; port = 1; on_alive = \"proceed\"; };"
sed -i "s/port = [0-9]*;/port = $(cat "$ONESIM_DIR/port");/" "$T/vmheal.conf"
bmc_status_level "exit 2"
onesim_ctl fail-host host1 --mode partition >/dev/null
"$T/hook" --host host1 -r >"$T/out" 2>"$T/err"
check "BMC off but host answers: exit 80" test $? = 80
check "BMC off but host answers: says why" grep -q "another machine" "$T/err"
check "BMC off but host answers: nothing recovered, not fenced" test -z "$(recover_counts)" -a ! -e "$T/fence.log"

# --restore: refused while down or while the incident is open; then the
# host disabled after its fence comes back into scheduling.
new_case restore ok 'disable_host = "disable";'
onesim_ctl fail-host host1 --mode crash >/dev/null
"$T/hook" --host host1 --restore >"$T/out" 2>"$T/err"
check "restore: refused while the host is in ERROR (75)" test $? = 75
"$T/hook" --host host1 -r >"$T/out" 2>"$T/err"
check "restore: the incident recovered the VMs" exactly_once 0 1 2 3 4 5
check "restore: the fenced host was disabled" test "$(onesim_ctl hosts | jq_py '[h["state"] for h in d if h["name"] == "host1"][0]')" = DISABLED
echo '{"ev":"begin"}' >"$T/state/incidents/host-0.journal"
"$T/hook" --host host1 --restore >"$T/out" 2>"$T/err"
check "restore: refused while an incident is open (75)" test $? = 75
rm "$T/state/incidents/host-0.journal"
onesim_ctl power-on-host host1 >/dev/null
"$T/hook" --host host1 --restore >"$T/out" 2>"$T/err"
check "restore: exit 0" test $? = 0
check "restore: host1 enabled" test "$(onesim_ctl hosts | jq_py '[h["state"] for h in d if h["name"] == "host1"][0]')" != DISABLED

# Bad input: nothing touched, documented exit codes.
new_case bad-input
onesim_ctl fail-host host1 --mode crash >/dev/null
"$T/hook" 'not*base64' -r >"$T/out" 2>"$T/err"
check "bad base64: exit 65" test $? = 65
echo -n '<HOST><ID>0</ID>' | base64 -w0 >"$T/b64"
"$T/hook" "$(cat "$T/b64")" -r >"$T/out" 2>"$T/err"
check "malformed XML: exit 65" test $? = 65
"$T/hook" 999 -r >"$T/out" 2>"$T/err"
check "unknown host ID: exit 66" test $? = 66
"$T/hook" -r </dev/null >"$T/out" 2>"$T/err"
check "nothing on stdin: exit 64" test $? = 64
check "bad input: nothing recovered" test -z "$(recover_counts)"

# Latency and transient errors on the recover calls: still exactly once.
new_case faults
onesim_ctl faults '{"seed": 3, "latency_ms": 20, "methods": {"one.vm.recover": {"http_rate": 0.2, "drop_after_rate": 0.2, "error_rate": 0.1, "error_code": 8192, "error_message": "Cannot process request, oned cluster in election mode"}}}' >/dev/null
onesim_ctl fail-host host1 --mode crash >/dev/null
"$T/hook" --host host1 -r >"$T/out" 2>"$T/err"
rc=$?
onesim_ctl faults --clear >/dev/null
check "faults: exit 0 (rc $rc)" test $rc = 0
check "faults: running elsewhere" all_running_elsewhere host1 0 1 2 3 4 5
check "faults: exactly once despite lost answers" exactly_once 0 1 2 3 4 5
check "faults: no duplicates" no_duplicates

finish
