#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Benchmark of one net_fence round: 3 networks x 4 targets, every target
# probed with ICMP echo and TCP connect (probe = "both": 24 probes a round),
# in network namespaces built here (198.18.0.0/15 and fd00::/8 exist only
# inside them). For each case it runs ROUNDS rounds in cron mode (one
# net_fence --once per round) and prints:
#   probes wall        the probes alone (median)
#   round wall / CPU   measured inside net_fence around the round (probes,
#                      verdict, fsynced state file, action): what a
#                      --daemon round costs (wall: median and max)
#   process wall / CPU the whole --once process (start, configuration,
#                      lock, round, exit): what a cron or timer run costs
# Usage: bench/net_fence.sh [BUILDDIR] (default: the source tree);
# ROUNDS=N (default 20). Needs root.
set -u
srcdir=$(cd "$(dirname "$0")/.." && pwd)
builddir=${1:-${top_builddir:-$srcdir}}
prog=$builddir/hooks/net_fence
rounds=${ROUNDS:-20}
py=${PYTHON3:-python3}

[ -x "$prog" ] || { echo "bench: $prog not built" >&2; exit 1; }
[ "$(id -u)" = 0 ] || { echo "bench: needs root (network namespaces)" >&2; exit 77; }

ns=vmhnfb-$$
tmp=$(mktemp -d /tmp/vmhnf-bench.XXXXXX)
cleanup() {
	for n in host n1 n2 n3; do ip netns del "$ns-$n" 2>/dev/null; done
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

ip netns add "$ns-host" || { echo "bench: cannot create namespaces" >&2; exit 77; }
ip -n "$ns-host" link set lo up
for i in 1 2 3; do
	ip netns add "$ns-n$i"
	ip -n "$ns-n$i" link set lo up
	ip link add "nfb$i" netns "$ns-host" type veth peer name t0 netns "$ns-n$i"
	ip -n "$ns-host" addr add "198.18.$i.2/24" dev "nfb$i"
	ip -n "$ns-host" link set "nfb$i" up
	ip -n "$ns-n$i" link set t0 up
done
# Network 3 is IPv6: one third of the probes are ICMPv6 and TCP over IPv6.
ip -n "$ns-host" addr add fd00:4e46:b3::2/64 dev nfb3 nodad
for t in 1 2 3 4; do
	ip -n "$ns-n1" addr add "198.18.1.1$t/24" dev t0
	ip -n "$ns-n2" addr add "198.18.2.1$t/24" dev t0
	ip -n "$ns-n3" addr add "fd00:4e46:b3::1$t/64" dev t0 nodad
done

targets() { # prefix: four targets, ICMP and TCP each
	local t out=""
	for t in 1 2 3 4; do
		out="$out{ address = \"$1$t\"; port = 22; probe = \"both\"; },"
	done
	echo "${out%,}"
}
write_conf() { # name icmp_socket
	cat >"$tmp/$1.conf" <<EOF
state_dir = "$tmp/state-$1";
net_fence = {
  round_timeout = 200;
  icmp_count = 1;
  icmp_socket = "$2";
  networks = (
    { name = "management"; targets = ( $(targets 198.18.1.1) ); },
    { name = "storage"; targets = ( $(targets 198.18.2.1) ); },
    { name = "tenant"; targets = ( $(targets fd00:4e46:b3::1) ); }
  );
  actions = { fence_self = [ "/bin/true" ]; alert = [ "/bin/true" ]; };
};
EOF
}
write_conf raw raw
write_conf ping ping
ip netns exec "$ns-host" sysctl -qw net.ipv4.ping_group_range="0 0"

# run_case LABEL CONF: ROUNDS rounds, then one result line.
run_case() {
	local label=$1 conf=$2
	rm -rf "$tmp/state-$conf"
	# The loop runs inside the namespace so that `times` counts
	# net_fence alone, not ip(8).
	ip netns exec "$ns-host" bash -c '
		prog=$1 conf=$2 n=$3 out=$4
		times >"$out.c0"
		t0=$(date +%s%N)
		for i in $(seq "$n"); do
			"$prog" -c "$conf" --once --json --no-syslog \
				2>/dev/null | tr -d "\n"
			echo
		done >"$out"
		t1=$(date +%s%N)
		times >"$out.c1"
		echo "$t0 $t1" >"$out.times"
	' _ "$prog" "$tmp/$conf.conf" "$rounds" "$tmp/$conf.jsonl"
	"$py" - "$label" "$tmp/$conf.jsonl" "$rounds" <<'EOF'
import json, re, statistics, sys
label, path, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
rows = [json.loads(l) for l in open(path) if l.strip()]
t0, t1 = open(path + ".times").read().split()
# `times`: the shell's own user/sys, then its children's (net_fence).
cu0, cs0 = open(path + ".c0").read().split()[2:4]
cu1, cs1 = open(path + ".c1").read().split()[2:4]
def sec(t):  # bash `times`: 0m0.012s
    m = re.match(r"(\d+)m([\d.]+)s", t)
    return int(m.group(1)) * 60 + float(m.group(2))
wall = [r["wall_us"] / 1000 for r in rows]
probe = [r["probe_us"] / 1000 for r in rows]
cpu = [r["cpu_us"] / 1000 for r in rows]
pwall = (int(t1) - int(t0)) / 1e6 / n
pcpu = (sec(cu1) + sec(cs1) - sec(cu0) - sec(cs0)) * 1000 / n
verdicts = sorted(set(r["verdict"] for r in rows))
print(f"{label:<24} {statistics.median(probe):8.2f} "
      f"{statistics.median(wall):8.2f} {max(wall):8.2f} "
      f"{statistics.mean(cpu):8.3f} {max(cpu):8.3f} {pwall:9.2f} {pcpu:9.2f}"
      f"   {','.join(verdicts)}")
EOF
}

echo "net_fence benchmark: 3 networks x 4 targets, ICMP echo + TCP connect"
echo "each (24 probes a round), round_timeout 200 ms, $rounds rounds a case;"
echo "times in ms per round, CPU = user + system ($(nproc) CPUs, $(uname -r));"
echo "state_dir on $(df -T "$tmp" | awk 'NR == 2 { print $2 }') (the round fsyncs its state file)"
printf '%-24s %8s %8s %8s %8s %8s %9s %9s\n' "" "probes" "round" "" \
	"round" "" "process" "process"
printf '%-24s %8s %8s %8s %8s %8s %9s %9s   %s\n' "case" "wall" "wall" \
	"max" "CPU" "max" "wall" "CPU" "verdicts"
run_case "all up, raw sockets" raw
run_case "all up, ping sockets" ping
ip -n "$ns-n2" link set t0 down
run_case "storage cut" raw
ip -n "$ns-n1" link set t0 down
ip -n "$ns-n3" link set t0 down
run_case "every link cut" raw
