#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# vm_probe healing through onesim: VMs found by their HA_PROBE attribute and
# NIC addresses; a VM whose probe fails is rebooted, then recreated, with a
# growing backoff, then given up on (HA_GAVE_UP) — each call exactly once,
# as the onesim ledger shows; a VM whose host is in ERROR, a VM with HA=no
# and healthy VMs are never touched; --dry-run heals nothing.
. "$(dirname "$0")/common.sh"

P='tcp:26000 period=200ms timeout=100ms fall=2'
nic() { echo "\"template\":{\"NIC\":{\"NETWORK\":\"n\",\"IP\":\"127.71.0.$1\"}}"; }
cat >"$T/scenario.json" <<JSON
{"version":"6.10","users":{"oneadmin":"secret"},
 "timing":{"sched_interval_ms":50,"monitor_interval_ms":50},
 "hosts":[{"name":"host1","max_cpu":3200,"max_mem":67108864},
          {"name":"host2","max_cpu":3200,"max_mem":67108864},
          {"name":"host3","max_cpu":3200,"max_mem":67108864}],
 "vms":[
  {"id":0,"host":"host1","cpu":1,"memory":512,"name":"a","user_template":{"HA_PROBE":"$P"},$(nic 1)},
  {"id":1,"host":"host1","cpu":1,"memory":512,"name":"b","user_template":{"HA_PROBE":"$P"},$(nic 2)},
  {"id":2,"host":"host2","cpu":1,"memory":512,"name":"c","user_template":{"HA_PROBE":"$P"},$(nic 3)},
  {"id":3,"host":"host1","cpu":1,"memory":512,"name":"d","user_template":{"HA_PROBE":"$P","HA":"no"},$(nic 4)},
  {"id":4,"host":"host3","cpu":1,"memory":512,"name":"e",$(nic 5)},
  {"id":5,"host":"host3","cpu":1,"memory":512,"name":"f","user_template":{"HA_PROBE":"udp:53"},$(nic 6)},
  {"id":6,"host":"host3","cpu":1,"memory":512,"name":"g","user_template":{"HA_PROBE":"tcp:26000 ip=10.9.9.9"},$(nic 7)},
  {"id":7,"host":"host3","cpu":1,"memory":512,"name":"h","user_template":{"HA_PROBE":"tcp:26000 fall=1 initial_delay=1m"},$(nic 8)}]}
JSON
onesim_start "$T/scenario.json" || exit 1
responder_start 127.71.0.1:26000 127.71.0.2:26000 127.71.0.3:26000 \
	127.71.0.4:26000 127.71.0.5:26000
cat >"$T/vmheal.conf" <<CONF
state_dir = "$T/state";
vm_failure = { verify_interval_ms = 100; verify_timeout = 20; settle_ms = 300;
  max_recoveries = 3; window = 3600; backoff = 1; backoff_factor = 2;
  backoff_max = 60; };
vm_probe = { refresh_interval = 5; min_period = "100ms"; initial_delay = 0;
  heal_grace = "500ms"; heal_retry = 1; };
CONF

# Accepted mutating calls for VM $1: "method:arg method:arg ...".
calls() {
	onesim_ctl ledger | pyj '" ".join("%s:%s" % (r["method"].split(".")[-1],
	    r["params"][0] if r["method"] == "one.vm.action" else r["params"][1] if r["method"] == "one.vm.recover" else "HA_GAVE_UP" if "HA_GAVE_UP" in str(r["params"]) else "?")
	    for r in d if r.get("ok") and str(r["params"][1] if r["method"] == "one.vm.action" else r["params"][0]) == a[0])' "$1"
}
# Seconds between the accepted calls for VM $1, as "g1 g2 ...".
gaps() {
	onesim_ctl ledger | pyj '" ".join("%.2f" % (y - x) for x, y in zip(*(lambda t: (t, t[1:]))([r["time"] for r in d if r.get("ok") and str(r["params"][1] if r["method"] == "one.vm.action" else r["params"][0]) == a[0]])))' "$1"
}
vm_calls_are() { [ "$(calls "$1")" = "$2" ]; }
heal_field() { # target, field
	vp_status | pyj 'next(e["heal"][a[1]] for e in d["list"] if e["name"] == a[0])' "$1" "$2"
}

vp_start
for i in 0 1 2 3; do
	n=$(printf 'vm-%d/%s' "$i" "$(echo abcd | cut -c$((i + 1)))")
	check "VM $i found through HA_PROBE and its NIC, comes up" \
		wait_for 6 is_state "$n" up
done
"$VM_PROBE" -c "$T/vmheal.conf" --status -v >"$T/status.txt"
check "VM 4 (no HA_PROBE) is not a target" sh -c "! grep -q vm-4 '$T/status.txt'"
check "VM 5: a bad HA_PROBE is shown, not probed" \
	grep -q "vm-5/f .*bad-probe.*'udp:53' is not a probe" "$T/status.txt"
check "  and logged" grep -q "vm-5/f: HA_PROBE \"udp:53\": .*not probed" "$T/vp.log"
check "VM 6: ip= must be one of its addresses" \
	grep -q "vm-6/g .*ip=10.9.9.9 is not one of the VM's addresses" "$T/status.txt"

# host2 fails (partition): host_error owns VM 2, whatever its probe says.
onesim_ctl fail-host host2 >/dev/null
rctl set 127.71.0.3:26000 hang
# VM 3 has HA=no; VM 0's guest hangs.
rctl set 127.71.0.4:26000 hang
rctl set 127.71.0.1:26000 hang
check "VM 0: rebooted first" wait_for 10 vm_calls_are 0 "action:reboot-hard"
check "  then recreated (recover op 4)" \
	wait_for 10 vm_calls_are 0 "action:reboot-hard recover:4"
check "  recreated again" \
	wait_for 10 vm_calls_are 0 "action:reboot-hard recover:4 recover:4"
check "  then given up on: HA_GAVE_UP set" \
	wait_for 15 vm_calls_are 0 "action:reboot-hard recover:4 recover:4 update:HA_GAVE_UP"
g=$(gaps 0)
check "backoff grows between heals ($g s)" \
	"$PYTHON3" -c "import sys; g=[float(x) for x in sys.argv[1:]]; sys.exit(not (g[0] >= 0.9 and g[1] >= 1.8 and g[1] > g[0]))" $g
check "status: VM 0 gave up" test "$(heal_field vm-0/a gave_up)" = True
check "status: 3 heals for VM 0, as many as calls" test "$(heal_field vm-0/a heals)" = 3
sleep 2
check "nothing more after giving up" \
	vm_calls_are 0 "action:reboot-hard recover:4 recover:4 update:HA_GAVE_UP"
check "VM 1 (healthy): never touched" vm_calls_are 1 ""
check "VM 7 (created less than its initial delay ago): not judged" \
	is_state vm-7/h unknown
check "  not touched" vm_calls_are 7 ""
check "VM 2 (host in ERROR): never touched" vm_calls_are 2 ""
check "VM 3 (HA=no): never touched" vm_calls_are 3 ""
check "VM 2: not probed while its host is in ERROR" \
	wait_for 6 sh -c "'$VM_PROBE' -c '$T/vmheal.conf' --status | grep -q 'vm-2/c .*not-probed.*host host2 is in ERROR'"
check "VM 3: the refusal is reported" \
	sh -c "'$VM_PROBE' -c '$T/vmheal.conf' --status -v --json | grep -q 'HA'"
check "the journal of the heals" test -s "$T/state/vms/vm-0.journal" -o -d "$T/state/vms"
vp_stop

# Dry run: decides, heals nothing.
rctl set 127.71.0.2:26000 hang
vp_start --dry-run
check "dry run: would heal VM 1" wait_for 8 grep -q "would heal VM 1" "$T/vp.log"
check "dry run: no call" vm_calls_are 1 ""
check "dry run: counted as planned" sh -c "'$VM_PROBE' -c '$T/vmheal.conf' --status --json | grep -q '\"planned\": [1-9]'"
vp_stop
check "onesim: no duplicate, no unsafe recovery" sh -c "
	'$PYTHON3' '$ONESIM' ctl --state-dir '$ONESIM_DIR' --compact safety |
	grep -q '\"duplicates\": \[\]'"
finish heal
