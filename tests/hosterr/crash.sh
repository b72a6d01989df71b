#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Exactly once under races and crashes: two hooks at once for one host, and
# host_error killed with SIGKILL at random points then started again, in a
# loop (VMH_CRASH_RUNS, default 50). After each incident the onesim ledger
# must show one accepted recover call per VM, no VM may ever have run in two
# places, and a proven fence is never repeated.
. "$(dirname "$0")/common.sh"
runs=${VMH_CRASH_RUNS:-50}
NVMS=8
ids=(0 1 2 3 4 5 6 7)

# Wait until no fence script of this case runs any more: one that a killed
# run left behind finishes, as a real agent would, before the next run is
# judged (a slow machine must not turn its late log line into a "second"
# fence).
wait_orphans() {
	local n=0
	while pgrep -f "$T/fence.sh" >/dev/null && [ $n -lt 200 ]; do
		sleep 0.05
		n=$((n + 1))
	done
}

# Two hooks at once. The fence takes half a second so that the second run
# starts while the first holds the incident, however slow the machine.
new_case race
echo 0.5 >"$T/fence.sleep"
onesim_ctl fail-host host1 --mode crash >/dev/null
"$T/hook" --host host1 -r >"$T/out1" 2>"$T/err1" &
p1=$!
"$T/hook" --host host1 -r >"$T/out2" 2>"$T/err2" &
p2=$!
wait $p1
r1=$?
wait $p2
r2=$?
check "race: both runs exit 0 ($r1, $r2)" test "$r1$r2" = 00
check "race: one of them left the incident to the other" \
	grep -q "another host_error run is handling" "$T/err1" "$T/err2"
check "race: exactly once" exactly_once "${ids[@]}"
check "race: fenced once" test "$(wc -l <"$T/fence.log")" = 1
check "race: no duplicates" no_duplicates

# Kill -9 at random points, then run again until the incident is done.
RANDOM=${VMH_CRASH_SEED:-42}
bad=0
refenced=0
declare -A landed
for i in $(seq 1 "$runs"); do
	# Two requests in flight and 30 ms per call stretch the recover
	# phase so that the kills land in every stage.
	new_case "crash$i" ok "concurrency = 2;"
	onesim_ctl faults '{"latency_ms": 30}' >/dev/null
	echo 0.0$((RANDOM % 10)) >"$T/fence.sleep"
	onesim_ctl fail-host host1 --mode crash >/dev/null
	kills=$((1 + RANDOM % 2))
	for k in $(seq 1 $kills); do
		"$T/hook" --host host1 -r >>"$T/out" 2>>"$T/err" &
		pid=$!
		sleep "0.$(printf '%03d' $((RANDOM % 1000)))"
		kill -9 $pid 2>/dev/null
		wait $pid 2>/dev/null
	done
	wait_orphans
	# Where the kill landed: the last journal record (none: before begin).
	last=$(tail -n 1 "$T"/state/incidents/host-0.journal 2>/dev/null |
		sed -n 's/.*"ev":"\([a-z_]*\)".*/\1/p')
	[ -z "$last" ] && ls "$T"/state/incidents/host-0.*.journal \
		>/dev/null 2>&1 && last=finished
	landed[${last:-none}]=$((${landed[${last:-none}]:-0} + 1))
	fenced_before=0
	grep -q '"ev":"fenced"' "$T"/state/incidents/host-0.journal 2>/dev/null &&
		fenced_before=$(wc -l <"$T/fence.log")
	"$T/hook" --host host1 -r >>"$T/out" 2>>"$T/err"
	rc=$?
	if [ "$fenced_before" != 0 ] &&
		[ "$(wc -l <"$T/fence.log")" != "$fenced_before" ]; then
		refenced=$((refenced + 1))
		echo "  run $i: fenced again after a proven fence" >&2
	fi
	if [ $rc != 0 ] || ! all_running_elsewhere host1 "${ids[@]}" ||
		! exactly_once "${ids[@]}" || ! no_duplicates; then
		bad=$((bad + 1))
		echo "  run $i: rc $rc" >&2
		tail -n 20 "$T/err" >&2
	fi
done
echo "kills landed after these journal records: $(for k in "${!landed[@]}"; do printf '%s=%s ' "$k" "${landed[$k]}"; done)"
check "crash loop: $runs incidents, each VM recovered exactly once ($bad bad)" test $bad = 0
check "crash loop: a proven fence was never repeated ($refenced)" test $refenced = 0

finish
