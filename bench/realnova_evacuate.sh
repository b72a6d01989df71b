#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Benchmark: evacuating a failed compute host of a real Nova (Zed, fake
# virt driver, contrib/realnova) with host_error, against the plain serial
# flow (force-down + disable, then one evacuate at a time, each waited for
# until ACTIVE elsewhere), in the same run, for 5, 20 and 50 servers.
#
#   bench/realnova_evacuate.sh [BUILD_DIR]     (default: _build/werror)
#
# Starts the cloud itself (up.sh) unless RN_KEEP_UP=1 and it is running;
# always stops what it started. Root only (like contrib/realnova). Each
# round: boot N servers on cmp1, SIGKILL cmp1's compute, time the
# recovery, start cmp1 again and bring it back, delete the servers.
# host_error runs with fencing (the loopback fence agent), concurrency
# HE_CONCURRENCY (default 8) and a 250 ms verify poll. MODES="host_error
# serial" (default both) and SIZES="5 20 50" select the runs.
#
# Output: one "bench: N=.. mode=.. wall_s=.." line per run and a table.
set -uo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
rn=$top/contrib/realnova
build=${1:-$top/_build/werror}
build=$(cd "$build" && pwd)
[ -x "$build/hooks/host_error" ] || { echo "bench: build host_error first" >&2; exit 1; }
[ "$(id -u)" = 0 ] || { echo "bench: must run as root" >&2; exit 1; }
export RN_PORT_BASE=${RN_PORT_BASE:-20100}
export RN_DIR=${RN_DIR:-/tmp/vmheal-realnova-bench}
SIZES=${SIZES:-"5 20 50"}
CONC=${HE_CONCURRENCY:-8}
MODES=${MODES:-"host_error serial"}
work=$(mktemp -d "${TMPDIR:-/tmp}/vmheal-bench.XXXXXX")
started=0
cleanup() {
	[ "$started" = 1 ] && "$rn/down.sh" --purge >/dev/null 2>&1
	rm -rf "$work"
}
trap cleanup EXIT

if [ -f "$RN_DIR/openrc" ] && [ "${RN_KEEP_UP:-0}" = 1 ]; then
	echo "bench: using the running cloud at $RN_DIR"
else
	"$rn/up.sh" 2>"$work/up.log" || { cat "$work/up.log"; exit 1; }
	started=1
	grep 'ready in' "$work/up.log"
fi
set -a
# shellcheck disable=SC1091
. "$RN_DIR/openrc"
set +a
api() { /usr/bin/python3 "$rn/rnapi.py" "$@"; }
now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }'; }

cat >"$work/vmheal.conf" <<EOF
cloud = "openstack";
state_dir = "$work/state";
openstack = { timeout = 120; enable_wait = 120; };
fence = { levels = ( { name = "kill-compute"; type = "agent";
  command = "$rn/fence_agent.sh"; options = { rn_dir = "$RN_DIR"; };
  timeout = 60; verify_retries = 10; verify_interval = 1; } ); };
host_error = { default_action = "recreate"; disable_host = "offline";
  require_down = false; concurrency = $CONC; verify_timeout = 1800;
  verify_interval_ms = 250; };
EOF
chmod 600 "$work/vmheal.conf"
mkdir -m 700 "$work/state"

# restore cmp1 after a round: start its compute, wait for the cleanup,
# force it up and enable it (the --restore mode does exactly that)
restore() {
	"$rn/compute.sh" start cmp1 >/dev/null
	for _ in $(seq 1 90); do
		"$build/hooks/host_error" -c "$work/vmheal.conf" --restore --host cmp1 \
			--no-syslog >/dev/null 2>&1 && return 0
		sleep 2
	done
	echo "bench: cmp1 did not come back" >&2
	return 1
}

results=()
for n in $SIZES; do
	for mode in $MODES; do
		ids=$(api boot "$n" cmp1 "b$n$mode") || exit 1
		"$rn/compute.sh" kill cmp1
		t=$(now)
		if [ "$mode" = host_error ]; then
			"$build/hooks/host_error" -c "$work/vmheal.conf" --host cmp1 \
				--no-syslog --json >"$work/r.json" 2>"$work/he.log" ||
				{ echo "bench: host_error exit $?" >&2; tail -5 "$work/he.log" >&2; }
		else
			# shellcheck disable=SC2086
			api serial-evacuate cmp1 $ids >/dev/null || echo "bench: serial flow failed" >&2
		fi
		wall=$(since "$t")
		# shellcheck disable=SC2086
		if api verify-evacuated cmp1 $ids >"$work/v.out" 2>&1; then v=ok; else v=FAILED; tail -3 "$work/v.out"; fi
		echo "bench: N=$n mode=$mode wall_s=$wall verified=$v"
		results+=("$n $mode $wall $v")
		restore || exit 1
		# shellcheck disable=SC2086
		api delete $ids >/dev/null || true
	done
done
echo
printf '%-8s %-12s %10s %s\n' servers mode wall_s verified
for r in "${results[@]}"; do
	# shellcheck disable=SC2086
	printf '%-8s %-12s %10s %s\n' $r
done
