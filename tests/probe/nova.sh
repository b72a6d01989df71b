#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# vm_probe on OpenStack (novasim): servers found by their HA_PROBE metadata
# are probed at the addresses Nova lists for them (fixed before floating;
# ip= picks a floating one); a server without addresses is shown, not
# probed.
. "$(dirname "$0")/common.sh"
. "$(dirname "$0")/../lib/novasim.sh"
trap 'novasim_stop; cleanup_all' EXIT

P='tcp:28000 period=200ms timeout=100ms fall=2'
S1=bbbbbbbb-0000-4000-8000-000000000001
S2=bbbbbbbb-0000-4000-8000-000000000002
S3=bbbbbbbb-0000-4000-8000-000000000003
S4=bbbbbbbb-0000-4000-8000-000000000004
cat >"$T/scenario.json" <<JSON
{"nova": {"hosts": [{"name": "cmp1"}, {"name": "cmp2"}],
 "servers": [
  {"id": "$S1", "name": "fixed", "host": "cmp1",
   "metadata": {"HA_PROBE": "$P"},
   "addresses": {"tenant": [
     {"addr": "127.73.0.9", "version": 4, "OS-EXT-IPS:type": "floating"},
     {"addr": "127.73.0.1", "version": 4, "OS-EXT-IPS:type": "fixed"}]}},
  {"id": "$S2", "name": "floating", "host": "cmp1",
   "metadata": {"HA_PROBE": "$P ip=127.73.0.8"},
   "ips": ["127.73.0.2", "floating:127.73.0.8"]},
  {"id": "$S3", "name": "bare", "host": "cmp2",
   "metadata": {"HA_PROBE": "$P"}},
  {"id": "$S4", "name": "unprobed", "host": "cmp2",
   "ips": ["127.73.0.4"]}]}}
JSON
novasim_start "$T/scenario.json" || exit 1
responder_start 127.73.0.1:28000 127.73.0.8:28000
cat >"$T/vmheal.conf" <<CONF
state_dir = "$T/state";
cloud = "openstack";
vm_probe = { refresh_interval = 5; min_period = "100ms"; initial_delay = 0;
  heal_grace = "500ms"; heal_retry = 1; storm_percent = 50; storm_min_down = 2;
  actions = [ "reboot", "rebuild" ]; };
CONF

addr_of() { # target name: its address in the status
	vp_status | pyj 'next((e["address"] for e in d["list"] if e["name"] == a[0]), "missing")' "$1"
}

vp_start
check "a server found by its HA_PROBE metadata comes up" \
	wait_for 6 is_state "vm-$S1/fixed" up
check "  probed at its fixed address" test "$(addr_of "vm-$S1/fixed")" = 127.73.0.1
check "ip= picks a floating address" wait_for 6 is_state "vm-$S2/floating" up
check "  127.73.0.8" test "$(addr_of "vm-$S2/floating")" = 127.73.0.8
"$VM_PROBE" -c "$T/vmheal.conf" --status -v >"$T/status.txt"
check "a server without addresses is shown, not probed" \
	grep -q "vm-$S3/bare .*the VM has no NIC address" "$T/status.txt"
check "a server without HA_PROBE is not a target" \
	sh -c "! grep -q '$S4' '$T/status.txt'"
rctl set 127.73.0.1:28000 refuse
check "its service stops: down" wait_for 4 is_state "vm-$S1/fixed" down
server_reboots() { # server: its accepted reboots
	novasim_ctl ledger | pyj 'len([r for r in d["ledger"] if r.get("server") == a[0] and r.get("action") == "reboot" and r["status"] < 300])' "$1"
}
rebooted() { [ "$(server_reboots "$1")" -ge 1 ]; }
check "healed: a hard reboot through Nova" wait_for 6 rebooted "$S1"
# The storm brake: both servers up again, then a stricter brake on SIGHUP
# (one of two down is over 40 %): a server that goes down is not healed.
rctl set 127.73.0.1:28000 ok
check "storm: the first server answers again" wait_for 8 is_state "vm-$S1/fixed" up
sed -i 's/storm_percent = 50; storm_min_down = 2;/storm_percent = 40; storm_min_down = 1;/' "$T/vmheal.conf"
kill -HUP "$VP_PID"
sleep 0.5
rctl set 127.73.0.8:28000 refuse
check "storm: the second server is down" wait_for 4 is_state "vm-$S2/floating" down
check "storm: the brake is logged" \
	wait_for 4 grep -q "more than 40% of the targets are down: no heals" "$T/vp.log"
sleep 1
check "storm: the second server is not healed ($(server_reboots "$S2") reboots)" \
	test "$(server_reboots "$S2")" = 0

# Its compute dies and Nova sees the service down: host_error's, whatever
# the probe says (the server is matched to its compute by name).
server_posts() { # Nova calls that act on servers, so far
	novasim_ctl ledger | pyj 'len([r for r in d["ledger"] if r["route"].startswith("compute.server.") and r["method"] == "POST"])'
}
novasim_ctl fail-host cmp1 >/dev/null
novasim_ctl age-host cmp1 120 >/dev/null
check "a server on a compute that is down is not probed" \
	wait_for 8 sh -c "'$VM_PROBE' -c '$T/vmheal.conf' --status | grep -q 'vm-$S1/fixed .*not-probed.*host cmp1'"
posts=$(server_posts)
sleep 1.5
check "  and not healed from then on ($posts calls, then $(server_posts))" \
	test "$(server_posts)" = "$posts"
finish "vm_probe on OpenStack"
