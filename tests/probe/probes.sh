#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# vm_probe against the loopback responder: every probe kind, targets that
# stop answering, answer slowly, refuse, return the wrong status or body;
# rise/fall thresholds; the initial delay; exec checks; reload on SIGHUP
# keeping the state; --status, --once and the metrics file.
. "$(dirname "$0")/common.sh"

A=127.70.0.1
responder_start "$A:25001-25012"
rctl set "$A:25010" hang # hung before vm_probe starts
cat >"$T/check.sh" <<SH
#!/bin/bash
[ "\$VMH_PROBE_ADDRESS" = "$A" ] || { echo "no address"; exit 2; }
[ -f "$T/flag" ] || { echo "flag missing"; exit 1; }
exit 0
SH
chmod 700 "$T/check.sh"
touch "$T/flag"
targets() {
	cat <<CONF
    { name = "tcp_ok"; address = "$A"; probe = "tcp:25001 period=${1:-200ms}"; },
    { name = "tcp_hang"; address = "$A"; probe = "tcp:25002 period=300ms timeout=150ms rise=2"; },
    { name = "tcp_refuse"; address = "$A"; probe = "tcp:25003"; },
    { name = "http_ok"; address = "$A"; probe = "http://:25004/h expect=200 match=ok"; },
    { name = "http_slow"; address = "$A"; probe = "http://:25005/ period=500ms timeout=300ms"; },
    { name = "http_status"; address = "$A"; probe = "http://:25006/"; },
    { name = "http_500"; address = "$A"; probe = "http://:25007/ expect=500"; },
    { name = "http_body"; address = "$A"; probe = "http://:25008/ match='all healthy'"; },
    { name = "icmp"; address = "127.70.0.99"; probe = "icmp"; },
    { name = "thresholds"; address = "$A"; probe = "tcp:25009 period=1s timeout=300ms fall=3 rise=2"; },
    { name = "exec"; address = "$A"; probe = "exec:flag"; },
    { name = "delayed"; address = "$A"; probe = "tcp:25010 period=200ms timeout=100ms fall=1 initial_delay=2s"; }
CONF
}
write_conf() { # [tcp_ok period] [extra targets]
	cat >"$T/vmheal.conf" <<CONF
state_dir = "$T/state";
vm_probe = {
  cloud_targets = false;
  period = "250ms"; timeout = "200ms"; initial_delay = 0; fall = 2; rise = 1;
  exec = { flag = [ "$T/check.sh" ]; };
  metrics_file = "$T/metrics.prom"; metrics_interval = 1;
  targets = (
$(targets "${1:-}")${2:-}
  );
};
CONF
}
write_conf

check "configuration check" sh -c "'$VM_PROBE' -c '$T/vmheal.conf' -n | grep -qx 'configuration OK'"
vp_start
sleep 1
s=$(tstate delayed)
check "initial delay: not judged yet ($s)" test "${s%% *}" = unknown
for n in tcp_ok tcp_hang tcp_refuse http_ok http_slow http_status icmp \
	thresholds exec; do
	check "$n comes up" wait_for 4 is_state "$n" up
done
check "wrong expected status: down" wait_for 3 is_state http_500 down
check "body without the match text: down" wait_for 3 is_state http_body down
check "initial delay over: down" wait_for 3 is_state delayed down

# Stops answering (SYNs dropped): only that target goes down.
rctl set "$A:25002" hang
check "hung TCP service: down" wait_for 3 is_state tcp_hang down
check "  with a timeout" sh -c "'$VM_PROBE' -c '$T/vmheal.conf' --status | grep -q 'tcp_hang .*connect timed out'"
check "  others stay up" is_state tcp_ok up
rctl set "$A:25003" refuse
check "refused TCP: down" wait_for 3 is_state tcp_refuse down
check "  connection refused" sh -c "'$VM_PROBE' -c '$T/vmheal.conf' --status | grep -q 'tcp_refuse .*connection refused'"

# Slow, then fast again.
rctl set "$A:25005" slow 600
check "slow HTTP answer: down" wait_for 3 is_state http_slow down
rctl set "$A:25005" slow 0
check "fast again: up" wait_for 3 is_state http_slow up

# Wrong status, then right.
rctl set "$A:25006" status 503
check "HTTP 503: down" wait_for 3 is_state http_status down
rctl set "$A:25006" status 200
check "HTTP 200 again: up" wait_for 3 is_state http_status up
rctl set "$A:25007" status 500
check "expect=500 and 500: up" wait_for 3 is_state http_500 up
rctl set "$A:25008" body "all healthy"
check "body matches: up" wait_for 3 is_state http_body up

# fall=3, rise=2 on a 1 s period: never down before 3 failures in a row,
# never up again before 2 successes.
rctl set "$A:25009" hang
seen_early=0 bad=0
for i in $(seq 1 60); do
	read -r st okr fr _ < <(tstate thresholds)
	[ "$st" = up ] && [ "$fr" -ge 1 ] && [ "$fr" -lt 3 ] && seen_early=1
	[ "$st" = down ] && [ "$fr" -lt 3 ] && bad=1
	[ "$st" = down ] && break
	sleep 0.1
done
check "fall=3: up through failures 1 and 2" test "$seen_early" = 1
check "fall=3: down at 3, not before" test "$bad" = 0 -a "$st" = down
rctl set "$A:25009" ok
seen_rise=0 bad=0
for i in $(seq 1 60); do
	read -r st okr fr _ < <(tstate thresholds)
	[ "$st" = down ] && [ "$okr" = 1 ] && seen_rise=1
	[ "$st" = up ] && [ "$okr" -lt 2 ] && bad=1
	[ "$st" = up ] && break
	sleep 0.1
done
check "rise=2: still down after 1 success" test "$seen_rise" = 1
check "rise=2: up at 2" test "$bad" = 0 -a "$st" = up

# Exec check: exit status decides; the output says why.
rm -f "$T/flag"
check "exec check failing: down" wait_for 3 is_state exec down
check "  its output in the status" sh -c "'$VM_PROBE' -c '$T/vmheal.conf' --status | grep -q 'exec .*exit 1: flag missing'"
touch "$T/flag"
check "exec check passing: up" wait_for 3 is_state exec up

rctl set "$A:25002" ok
check "hung service back: up (rise 2)" wait_for 3 is_state tcp_hang up

# SIGHUP: a new target, a changed period; the others keep their state.
before=$(tstate tcp_ok | cut -d' ' -f4)
write_conf 300ms ",
    { name = \"added\"; address = \"$A\"; probe = \"tcp:25011\"; }"
kill -HUP "$VP_PID"
check "reload: the new target comes up" wait_for 3 is_state added up
after=$(tstate tcp_ok)
check "reload: probe counts kept ($before -> ${after})" \
	test "$(echo "$after" | cut -d' ' -f4)" -ge "$before" -a "${after%% *}" = up
check "reload: down targets stay down" is_state tcp_refuse down
echo "vm_probe = { period = ; };" >"$T/vmheal.conf"
kill -HUP "$VP_PID"
check "bad reload refused" wait_for 3 grep -q "reload refused" "$T/vp.log"
write_conf 300ms ",
    { name = \"added\"; address = \"$A\"; probe = \"tcp:25011\"; }"
check "  still running with its targets" is_state added up
write_conf 300ms

# Status text, metrics, --once.
"$VM_PROBE" -c "$T/vmheal.conf" --status >"$T/status.txt"
check "--status summary" grep -q '^targets: 13 (.* up, 2 down' "$T/status.txt"
check "--status -v lists every target" sh -c "'$VM_PROBE' -c '$T/vmheal.conf' --status -v | grep -c '^  ' | grep -qx 13"
check "metrics file" wait_for 3 grep -qs '^vmheal_probe_probes_total{type="tcp"} [1-9]' "$T/metrics.prom"
check "metrics: targets down" grep -q 'vmheal_probe_target_down{target="tcp_refuse",vm=""} 1' "$T/metrics.prom"
"$VM_PROBE" -c "$T/vmheal.conf" --once >"$T/once.txt" 2>&1
rc=$?
check "--once: exit 1 when a target fails (rc $rc)" test "$rc" = 1
check "--once: every target reported" test "$(grep -c . "$T/once.txt")" = 12
check "--once: results" grep -q '^tcp_refuse .* fail .*connection refused' "$T/once.txt"
vp_stop
check "clean stop" grep -q "stopping" "$T/vp.log"
check "not running: --status says so (69)" sh -c "'$VM_PROBE' -c '$T/vmheal.conf' --status 2>'$T/st.err'; test \$? = 69 && grep -q 'not running' '$T/st.err'"
finish probes
