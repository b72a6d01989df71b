#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Benchmark of the vm_probe daemon: N targets (10,000) at a 1 s period on
# loopback, served by the test responder (tests/probe/responder, two
# processes so that every HTTP target keeps its own connection within the
# open-files limit). Every target is a distinct address and port; ICMP
# targets are distinct 127.x addresses, answered by the kernel.
#
# For each mix it starts vm_probe, lets it settle (WARMUP s), then over
# DURATION s measures, from /proc/PID/stat, the CPU time of the daemon
# (user + system, children excluded: there are none without heals or exec
# checks) as a share of one core, its resident set (VmRSS at the end,
# VmHWM = peak), and takes the schedule delay (probe start - due time)
# p50/p99/max over exactly that window from the daemon's own histogram
# (SIGUSR1 at the start of the window resets it, the status at the end
# reads it). It also prints the load of the machine during the run.
#
# Usage: bench/vm_probe.sh [BUILDDIR] (default: the source tree)
#   N=10000 DURATION=30 WARMUP=10
#   MIXES="tcp=5000,icmp=3000,http=2000 tcp=10000 icmp=10000 http=10000"
set -u
srcdir=$(cd "$(dirname "$0")/.." && pwd)
builddir=${1:-${top_builddir:-$srcdir}}
prog=$builddir/hooks/vm_probe
resp=$builddir/tests/probe/responder
n=${N:-10000}
duration=${DURATION:-30}
warmup=${WARMUP:-10}
mixes=${MIXES:-"tcp=5000,icmp=3000,http=2000 tcp=10000 icmp=10000 http=10000"}
py=${PYTHON3:-python3}
hz=$(getconf CLK_TCK)

for f in "$prog" "$resp"; do
	[ -x "$f" ] || { echo "bench: $f not built (make check builds the responder)" >&2; exit 1; }
done
tmp=$(mktemp -d /tmp/vmh-vp-bench.XXXXXX)
pids=()
cleanup() {
	local p
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
	wait 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

# Two responders, 20 addresses x 500 ports each side: 10,000 distinct
# listeners (targets beyond that share them).
for r in 0 1; do
	args=()
	for a in $(seq 1 10); do
		args+=(--listen "127.53.$r.$a:28000-28499")
	done
	"$resp" --control-file "$tmp/ctl$r" "${args[@]}" >"$tmp/resp$r.log" 2>&1 &
	pids+=($!)
done
for r in 0 1; do
	for i in $(seq 1 50); do [ -s "$tmp/ctl$r" ] && break; sleep 0.1; done
done

write_conf() { # mix
	"$py" - "$tmp" "$n" "$1" <<'PY'
import sys
tmp, n, mix = sys.argv[1], int(sys.argv[2]), sys.argv[3]
kinds = []
for part in mix.split(","):
    k, c = part.split("=")
    kinds += [k] * int(c)
kinds = (kinds * (n // max(len(kinds), 1) + 1))[:n]
# Interleave the kinds so that every part of the schedule sees all of them.
order = sorted(range(n), key=lambda i: (i * 7919) % n)
rows, http = [], 0
for j, i in enumerate(order):
    k = kinds[i]
    side, addr, port = j % 2, (j // 2) % 10 + 1, 28000 + (j // 20) % 500
    a = "127.53.%d.%d" % (side, addr)
    if k == "tcp":
        p = "tcp:%d" % port
    elif k == "http":
        p = "http://:%d/health expect=200 match=ok" % port
        http += 1
    else:
        a, p = "127.54.%d.%d" % (j // 250, j % 250 + 1), "icmp"
    rows.append('    { name = "t%d"; address = "%s"; probe = "%s"; }' % (j, a, p))
print("\n".join([
    'state_dir = "%s/state";' % tmp,
    "vm_probe = {",
    '  cloud_targets = false; period = 1; timeout = "500ms";',
    "  initial_delay = 0; jitter = 10; fall = 3;",
    "  http_connections = %d;" % max(http + 256, 256),
    "  targets = (",
    ",\n".join(rows),
    "  );",
    "};"]), file=open(tmp + "/bench.conf", "w"))
PY
}

ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
status_json() { "$prog" -c "$tmp/bench.conf" --status --json; }

printf '%-28s %8s %9s %9s %9s %9s %9s %8s\n' mix cpu% rss_MB peak_MB \
	p50_ms p99_ms max_ms down
for mix in $mixes; do
	write_conf "$mix"
	rm -rf "$tmp/state"
	"$prog" -c "$tmp/bench.conf" --no-syslog >"$tmp/vp.out" 2>"$tmp/vp.log" &
	vp=$!
	pids+=("$vp")
	sleep "$warmup"
	status_json >/dev/null # resets the window histogram
	load0=$(cut -d' ' -f1 /proc/loadavg)
	t0=$(ticks "$vp")
	s0=$(date +%s.%N)
	sleep "$duration"
	t1=$(ticks "$vp")
	s1=$(date +%s.%N)
	status_json >"$tmp/status.json"
	rss=$(awk '/VmRSS/ {print $2}' "/proc/$vp/status")
	hwm=$(awk '/VmHWM/ {print $2}' "/proc/$vp/status")
	load1=$(cut -d' ' -f1 /proc/loadavg)
	kill "$vp"
	wait "$vp" 2>/dev/null
	"$py" - "$tmp/status.json" "$mix" "$t0" "$t1" "$s0" "$s1" "$hz" "$rss" "$hwm" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))
mix = sys.argv[2]
t0, t1, s0, s1, hz = map(float, sys.argv[3:8])
rss, hwm = int(sys.argv[8]), int(sys.argv[9])
w = s["schedule_delay"]["since_last_status"]
cpu = (t1 - t0) / hz / (s1 - s0) * 100
print("%-28s %8.1f %9.1f %9.1f %9.2f %9.2f %9.2f %8d" % (
    mix, cpu, rss / 1024, hwm / 1024, w["p50_ms"], w["p99_ms"], w["max_ms"],
    s["targets"]["down"] + s["targets"]["unknown"]))
PY
	echo "  (load average ${load0} -> ${load1}; $(grep -c 'down:' "$tmp/vp.log") down transitions logged)"
done
echo "machine: $(nproc) CPUs, $(uname -r); window ${duration} s after ${warmup} s"
