#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Benchmark of host_error's recovery: a failed host with 10, 100 and 1,000
# VMs behind 20 ms of simulated API latency (onesim), recovered with the
# default concurrency and, in the same run, with concurrency 1 as the
# baseline. Prints wall time, recover+verify time, API calls and peak RSS.
#
#   bench/host_error.sh [BUILD_DIR]      (default: _build/werror, then .)
#
# Fencing is skipped (-u) so that the figures are the recovery path alone;
# the fence's own cost is the fence agent's (see tests/fence). VMs are
# polled every 100 ms while verifying.
set -euo pipefail
top_srcdir=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-}
if [ -z "$build" ]; then
	for b in "$top_srcdir/_build/werror" "$top_srcdir"; do
		[ -x "$b/hooks/host_error" ] && build=$b && break
	done
fi
[ -x "${build:-}/hooks/host_error" ] || {
	echo "bench: build first (contrib/check.sh or make)" >&2
	exit 1
}
export top_srcdir top_builddir=$build
. "$top_srcdir/tests/lib/onesim.sh"
LATENCY_MS=${LATENCY_MS:-20}
SIZES=${SIZES:-"10 100 1000"}
work=$(mktemp -d)
trap 'onesim_stop; rm -rf "$work"' EXIT

run() { # nvms concurrency
	local n=$1 conc=$2 t
	onesim_stop
	rm -rf "$work/state"
	cat >"$work/scenario.json" <<JSON
{"version":"6.10","users":{"oneadmin":"secret"},
 "timing":{"sched_interval_ms":50,"monitor_interval_ms":100,"prolog_ms":20,
           "boot_ms":20,"cleanup_ms":20},
 "hosts":[{"name":"host1","max_cpu":100000,"max_mem":1000000000},
          {"name":"host2","max_cpu":100000,"max_mem":1000000000},
          {"name":"host3","max_cpu":100000,"max_mem":1000000000}],
 "vms":[{"count":$n,"host":"host1","cpu":0.1,"memory":64,"name":"b-{id}"}]}
JSON
	cat >"$work/vmheal.conf" <<CONF
state_dir = "$work/state";
host_error = { concurrency = $conc; verify_interval_ms = 100;
               verify_timeout = 600; retry_backoff_ms = 100; };
CONF
	onesim_start "$work/scenario.json"
	onesim_ctl fail-host host1 --mode crash >/dev/null
	onesim_ctl faults "{\"latency_ms\": $LATENCY_MS}" >/dev/null
	onesim_ctl reset-counters >/dev/null
	# Peak RSS and wall time of the host_error process itself.
	"$PYTHON3" - "$build/hooks/host_error" "$work" <<'PY'
import json, resource, subprocess, sys, time
prog, work = sys.argv[1], sys.argv[2]
t0 = time.monotonic()
p = subprocess.run([prog, "-c", work + "/vmheal.conf", "--no-syslog",
                    "--json", "-r", "-u", "--host", "host1"],
                   capture_output=True, text=True)
wall = time.monotonic() - t0
rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
try:
    rep = json.loads(p.stdout)
except ValueError:
    print(p.stderr, file=sys.stderr)
    raise SystemExit("host_error gave no JSON report (exit %d)" % p.returncode)
ok = sum(1 for v in rep["vms"] if v["outcome"] == "recovered")
json.dump({"rc": p.returncode, "wall": wall, "recover_ms": rep["recover_ms"],
           "api_calls": rep["api_calls"], "rss_kb": rss, "recovered": ok,
           "vms": len(rep["vms"])}, open(work + "/result.json", "w"))
PY
	"$PYTHON3" - "$work/result.json" "$n" "$conc" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
print("%6s VMs  concurrency %-3s  wall %6.2f s  recover+verify %6.2f s  "
      "API calls %5d  peak RSS %6.1f MB  recovered %d/%d  exit %d" % (
      sys.argv[2], sys.argv[3], r["wall"], r["recover_ms"] / 1000.0,
      r["api_calls"], r["rss_kb"] / 1024.0, r["recovered"], r["vms"], r["rc"]))
PY
}

echo "host_error recovery, ${LATENCY_MS} ms API latency, onesim on loopback, $(nproc) cores"
for n in $SIZES; do
	run "$n" 32
	run "$n" 1
done
