#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# 1,000 targets (TCP, HTTP, ICMP) at a 1 s period in one vm_probe: all come
# up; when one address of the responder stops answering exactly its targets
# go down and come back; every target is probed about once a second.
. "$(dirname "$0")/common.sh"

N=1000
listen=()
for a in $(seq 1 10); do listen+=("127.72.0.$a:27000-27049"); done
responder_start "${listen[@]}"
"$PYTHON3" - "$T" "$N" <<'PY'
import sys
t, n = sys.argv[1], int(sys.argv[2])
out = ['state_dir = "%s/state";' % t,
       'vm_probe = {',
       '  cloud_targets = false; period = 1; timeout = "500ms";',
       '  initial_delay = 0; fall = 2; rise = 1; http_connections = 512;',
       '  targets = (']
rows, hung = [], 0
for i in range(n):
    addr = "127.72.0.%d" % (i % 10 + 1)
    port = 27000 + (i // 10) % 50
    k = i % 20
    if k < 12:
        probe = "tcp:%d" % port
    elif k < 17:
        probe = "http://:%d/ expect=200 match=ok" % port
    else:
        addr, probe = "127.72.1.%d" % (i % 250 + 1), "icmp"
    if addr == "127.72.0.3":
        hung += 1
    rows.append('    { name = "t%d"; address = "%s"; probe = "%s"; }'
                % (i, addr, probe))
out += [",\n".join(rows), "  );", "};"]
open(t + "/vmheal.conf", "w").write("\n".join(out) + "\n")
open(t + "/hung", "w").write("%d\n" % hung)
PY
H=$(cat "$T/hung")

# "up down unknown" counts, and the targets down on 127.72.0.3 and off it.
counts() {
	vp_status | pyj '"%d %d %d %d %d" % (d["targets"]["up"], d["targets"]["down"], d["targets"]["unknown"],
	    sum(1 for e in d["list"] if e["state"] == "down" and e["address"] == "127.72.0.3"),
	    sum(1 for e in d["list"] if e["state"] == "down" and e["address"] != "127.72.0.3"))'
}
all_up() { [ "$(counts)" = "$N 0 0 0 0" ]; }
only_hung_down() { [ "$(counts)" = "$((N - H)) $H 0 $H 0" ]; }

start=$(date +%s)
vp_start
check "$N targets come up" wait_for 10 all_up
rctl set "127.72.0.3:27000-27049" hang
check "an address stops answering: exactly its $H targets down" \
	wait_for 6 only_hung_down
rctl set "127.72.0.3:27000-27049" ok
check "it answers again: all up" wait_for 6 all_up
vp_status >"$T/status.json"
elapsed=$(($(date +%s) - start))
read -r probes p99 < <(pyj '"%d %.1f" % (d["probes"]["total"], d["schedule_delay"]["since_start"]["p99_ms"])' <"$T/status.json")
echo "  $probes probes in ${elapsed} s, schedule delay p99 ${p99} ms"
check "about one probe per target and second" \
	test "$probes" -ge $((N * (elapsed - 2) * 8 / 10))
check "no probe errors" test "$(pyj 'd["probes"]["errors"]' <"$T/status.json")" = 0
vp_stop
finish scale
