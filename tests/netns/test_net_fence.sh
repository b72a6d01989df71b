#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# net_fence in real network namespaces. A "host" namespace has one veth link
# per network to a namespace standing for that network's targets:
#
#   vmhnf-PID-host  nf-m 198.18.1.2/24  <->  t0 198.18.1.1  vmhnf-PID-mgmt
#                   nf-s 198.18.2.2/24  <->  t0 198.18.2.1  vmhnf-PID-stor
#                   nf-t fd00:4e46:3::2 <->  t0 fd00:4e46:3::1  vmhnf-PID-ten
#
# (198.18.0.0/15 is the benchmarking range and fd00::/8 unique-local; both
# exist only inside these namespaces, so no packet ever leaves them.) Links
# are cut with `ip link set t0 down` in a target namespace and restored.
# net_fence runs inside the host namespace, one --once per round (cron mode,
# state persisted between runs), and once as --daemon. The actions are a
# recorder script that stands for poweroff and virsh; the test asserts the
# --json verdicts, exit statuses and exactly what the recorder saw.
#
# Needs root (namespaces); exits 77 (automake SKIP) with the reason when it
# cannot create them. Every namespace is removed on exit, even on failure.
# VMH_VALGRIND=1 also runs rounds under valgrind and fails on any leak.
set -u

here=$(cd "$(dirname "$0")" && pwd)
srcdir=${top_srcdir:-$(cd "$here/../.." && pwd)}
builddir=${top_builddir:-$srcdir}
prog=$builddir/hooks/net_fence
py=${PYTHON3:-python3}
t_start=$(date +%s%N)

skip() {
	echo "SKIP: test_net_fence: $*"
	exit 77
}

[ -x "$prog" ] || { echo "ERROR: $prog not built"; exit 99; }
[ "$(id -u)" = 0 ] || skip "needs root to create network namespaces"
command -v ip >/dev/null 2>&1 || skip "ip (iproute2) is not installed"
command -v "$py" >/dev/null 2>&1 || skip "python3 is needed to read --json"

ns=vmhnf-$$
H=$ns-host
tmp=$(mktemp -d /tmp/vmhnf-test.XXXXXX)
chmod 711 "$tmp" # the unprivileged round needs to reach its directory
daemon_pid=
holder_pid=

cleanup() {
	[ -n "$daemon_pid" ] && kill "$daemon_pid" 2>/dev/null
	[ -n "$holder_pid" ] && kill "$holder_pid" 2>/dev/null
	wait 2>/dev/null
	for n in host mgmt stor ten; do
		ip netns del "$ns-$n" 2>/dev/null
	done
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP

ip netns add "$H" 2>"$tmp/err" ||
	skip "cannot create network namespaces: $(cat "$tmp/err")"
ip netns exec "$H" true 2>"$tmp/err" ||
	skip "cannot enter network namespaces: $(cat "$tmp/err")"

# ---- topology ----------------------------------------------------------
setup_ns() {
	local n
	for n in mgmt stor ten; do
		ip netns add "$ns-$n" || return 1
	done
	for n in host mgmt stor ten; do
		ip -n "$ns-$n" link set lo up || return 1
		# Keep IPv6 addresses across a cut link, as a real switch
		# port going dark would.
		ip netns exec "$ns-$n" sysctl -qw \
			net.ipv6.conf.all.keep_addr_on_down=1 || return 1
	done
	ip link add nf-m netns "$H" type veth peer name t0 netns "$ns-mgmt" &&
	ip link add nf-s netns "$H" type veth peer name t0 netns "$ns-stor" &&
	ip link add nf-t netns "$H" type veth peer name t0 netns "$ns-ten" ||
		return 1
	ip -n "$H" addr add 198.18.1.2/24 dev nf-m &&
	ip -n "$ns-mgmt" addr add 198.18.1.1/24 dev t0 &&
	ip -n "$H" addr add 198.18.2.2/24 dev nf-s &&
	ip -n "$ns-stor" addr add 198.18.2.1/24 dev t0 &&
	ip -n "$H" addr add fd00:4e46:3::2/64 dev nf-t nodad &&
	ip -n "$ns-ten" addr add fd00:4e46:3::1/64 dev t0 nodad || return 1
	for n in nf-m nf-s nf-t; do
		ip -n "$H" link set "$n" up || return 1
	done
	for n in mgmt stor ten; do
		ip -n "$ns-$n" link set t0 up || return 1
	done
}
setup_ns 2>"$tmp/err" || {
	echo "ERROR: building the namespaces failed: $(cat "$tmp/err")"
	exit 99
}

cut() { ip -n "$ns-$1" link set t0 down; }
# A packet to a neighbour still being resolved waits for the next ARP/ND
# retransmit, up to a second after the link is back: flush the host's
# entry so the next round re-resolves at once and rounds stay exact.
restore() {
	ip -n "$ns-$1" link set t0 up
	ip -n "$H" neigh flush dev "nf-${1:0:1}" 2>/dev/null
	true
}

# ---- the recorder and the configurations -----------------------------------
cat >"$tmp/recorder" <<EOF
#!/bin/sh
# Stands for poweroff and virsh: records its arguments and what net_fence
# told it through the environment.
echo "\$* [\$VMHEAL_NET_FENCE_ACTION \$VMHEAL_NET_FENCE_DOWN\${VMHEAL_VM:+ \$VMHEAL_VM}]" >>"$tmp/record"
[ "\$1" = list ] && printf 'vm-a\n\nvm-b\n'
exit 0
EOF
chmod 755 "$tmp/recorder"

recorder_actions="alert = [ \"$tmp/recorder\", \"alert\" ];
    list_vms = [ \"$tmp/recorder\", \"list\" ];
    stop_vm = [ \"$tmp/recorder\", \"destroy\", \"%{vm}\" ];
    fence_self = [ \"$tmp/recorder\", \"poweroff\", \"--force\" ];"

# write_conf NAME STATE_DIR EXTRA_SECTION_LINES [ACTIONS_LINES]
write_conf() {
	local actions=${4:-$recorder_actions}
	cat >"$tmp/$1.conf" <<EOF
state_dir = "$2";
net_fence = {
  round_timeout = 200;
  icmp_count = 2;
  fail_rounds = 3;
  recover_rounds = 2;
  networks = (
    { name = "management"; interface = "nf-m";
      targets = ( "198.18.1.1",
                  { address = "198.18.1.1"; port = 22; probe = "tcp"; } ); },
    { name = "storage"; targets = ( "198.18.2.1" ); },
    { name = "tenant"; targets = ( { address = "fd00:4e46:3::1"; port = 80; probe = "both"; } ); }
  );
  $3
  actions = {
    timeout = 5;
    sysrq_trigger = "$tmp/sysrq";
    $actions
  };
};
EOF
}
# The built-in matrix: storage lost -> fence-self, anything else -> alert.
write_conf default "$tmp/state" ""
# An explicit matrix with stop-vms for management + tenant.
write_conf matrix "$tmp/state-matrix" \
	'matrix = ( { down = [ "storage" ]; action = "fence-self"; },
	            { down = [ "management", "tenant" ]; up = [ "storage" ];
	              action = "stop-vms"; } );'
# A failing fence command, with and without the SysRq fallback.
write_conf sysrq "$tmp/state-sysrq" "" \
	'fence_self = [ "/bin/false" ]; sysrq_fallback = "o";'
write_conf nofallback "$tmp/state-nofb" "" 'fence_self = [ "/bin/false" ];'
# Ping sockets only, for the unprivileged round.
mkdir -m 755 "$tmp/nobody"
mkdir -m 700 "$tmp/nobody/state"
chown 65534:65534 "$tmp/nobody/state"
write_conf ping "$tmp/nobody/state" 'icmp_socket = "ping";' \
	'fence_self = [ "poweroff" ];'
mv "$tmp/ping.conf" "$tmp/nobody/ping.conf"
chmod 644 "$tmp/nobody/ping.conf"

# ---- helpers -----------------------------------------------------------
cat >"$tmp/j.py" <<'EOF'
import json, sys
d = json.load(open(sys.argv[1]))
for q in sys.argv[2:]:
    if q.startswith("net:"):
        name, key = q[4:].split(".")
        v = [n for n in d["networks"] if n["name"] == name][0][key]
    elif q.startswith("sock:"):
        name = q[5:]
        net = [n for n in d["networks"] if n["name"] == name][0]
        v = net["targets"][0]["icmp"]["socket"]
    elif q == "action":
        v = d["action"]["name"] if d["action"] else "-"
    elif q == "down":
        v = ",".join(d["down"]) or "-"
    else:
        v = d[q]
    print(str(v).lower() if isinstance(v, bool) else v)
EOF

pass=0 fail=0 rounds=0
ok() {
	pass=$((pass + 1))
	echo "ok $((pass + fail)) - $*"
}
not_ok() {
	fail=$((fail + 1))
	echo "not ok $((pass + fail)) - $*"
}
# expect WHAT EXPECTED ACTUAL
expect() {
	if [ "$2" = "$3" ]; then
		ok "$1"
	else
		not_ok "$1: expected '$2', got '$3'"
	fi
}

# round CONF [extra options]: one cron-mode round; sets rc, out.
round() {
	local conf=$1
	shift
	ip netns exec "$H" "$prog" -c "$tmp/$conf.conf" --once --json \
		--no-syslog "$@" >"$tmp/out.json" 2>"$tmp/stderr"
	rc=$?
	rounds=$((rounds + 1))
	case $rc in
	0 | 80 | 82 | 85) ;;
	*)
		echo "# round $rounds ($conf $*): exit $rc:"
		sed 's/^/#   /' "$tmp/stderr"
		;;
	esac
}
j() { "$py" "$tmp/j.py" "$tmp/out.json" "$@" 2>/dev/null | paste -sd' '; }
recorded() { grep -c -- "$1" "$tmp/record" 2>/dev/null || true; }

: >"$tmp/record"

# ---- 1. healthy --------------------------------------------------------
round default
expect "healthy: verdict" "none 0" "$(j verdict) $rc"
expect "healthy: every network up" "up up up" \
	"$(j net:management.state net:storage.state net:tenant.state)"
expect "healthy: IPv6 target answered ICMP and TCP" "true" \
	"$("$py" -c 'import json,sys; t=json.load(open(sys.argv[1]))["networks"][2]["targets"][0]; print(str(t["icmp"]["status"]=="ok" and t["tcp"]["status"] in ("ok","refused")).lower())' "$tmp/out.json")"
expect "healthy: root uses a raw socket where ping sockets are off" \
	"raw" "$(j sock:storage)"

# ---- 2. a flap shorter than the hysteresis never fences -----------------
for cycle in 1 2 3; do
	cut stor
	round default
	a=$(j net:storage.state verdict)
	round default
	b=$(j net:storage.state net:storage.fail_streak verdict)
	restore stor
	round default
	c=$(j net:storage.state verdict)
	expect "flap $cycle: 2 failed rounds of 3 are only 'failing'" \
		"failing none|failing 2 none|up none" "$a|$b|$c"
done
expect "flap: no fence, no action at all" "0" \
	"$(wc -l <"$tmp/record" | tr -d ' ')"

# ---- 3. management alone: alert only -------------------------------------
cut mgmt
round default
round default
expect "management cut, round 2: still none" "none 0" "$(j verdict) $rc"
round default
expect "management cut, round 3: alert (exit 85)" \
	"alert management alert 85" "$(j verdict down action) $rc"
round default
expect "management cut, round 4: alert not repeated" "alert - 85" \
	"$(j verdict action) $rc"
expect "management cut: recorder ran alert exactly once" "1 0" \
	"$(recorded '^alert ') $(recorded poweroff)"
grep -q '^alert \[alert management\]' "$tmp/record" &&
	ok "alert saw VMHEAL_NET_FENCE_ACTION and _DOWN" ||
	not_ok "alert environment: $(cat "$tmp/record")"
restore mgmt
round default
expect "management restored, round 1: recovering" "recovering alert 85" \
	"$(j net:management.state verdict) $rc"
round default
expect "management restored, round 2: healthy" "up none 0" \
	"$(j net:management.state verdict) $rc"

# ---- 4. tenant (IPv6) alone: alert only ------------------------------------
cut ten
round default
round default
round default
expect "tenant cut: alert after 3 rounds" "alert tenant 85" \
	"$(j verdict down) $rc"
expect "tenant cut: both probes of the IPv6 target failed" "timeout" \
	"$("$py" -c 'import json,sys; t=json.load(open(sys.argv[1]))["networks"][2]["targets"][0]; print(t["icmp"]["status"] if t["icmp"]["status"]==t["tcp"]["status"] else "mixed")' "$tmp/out.json")"
restore ten
round default
round default
expect "tenant restored" "none 0" "$(j verdict) $rc"
expect "no fence so far" "0" "$(recorded poweroff)"

# ---- 5. storage: fence-self after exactly 3 rounds, once -------------------
cut stor
round default
expect "storage cut, round 1: failing" "failing none 0" \
	"$(j net:storage.state verdict) $rc"
round default
expect "storage cut, round 2: no fence yet" "0" "$(recorded poweroff)"
round default
expect "storage cut, round 3: fence-self ran (exit 82)" \
	"fence-self fence-self true 82" "$(j verdict action) $("$py" -c 'import json,sys; print(str(json.load(open(sys.argv[1]))["action"]["ok"]).lower())' "$tmp/out.json") $rc"
expect "storage cut: poweroff recorded once, logged first" "1" \
	"$(recorded 'poweroff --force \[fence-self storage\]')"
grep -q 'fence-self: running .*recorder poweroff --force' "$tmp/stderr" &&
	ok "fence-self logged before it ran" ||
	not_ok "no 'running' log line: $(cat "$tmp/stderr")"
round default
expect "storage cut, round 4: not fenced twice" \
	"fence-self - true 82 1" \
	"$(j verdict action action_done_earlier) $rc $(recorded poweroff)"
restore stor
round default
round default
expect "storage restored: healthy again" "none 0" "$(j verdict) $rc"

# ---- 6. every link cut: fence-self ---------------------------------------
: >"$tmp/record"
cut mgmt
cut stor
cut ten
round default
round default
expect "all cut, round 2: nothing yet" "none 0" "$(j verdict) $rc"
round default
expect "all cut, round 3: fence-self with all three down" \
	"fence-self management,storage,tenant 82" "$(j verdict down) $rc"
expect "all cut: poweroff once, and no alert before it" "1 0" \
	"$(recorded poweroff) $(recorded '^alert')"
# Storage comes back first: the verdict drops to alert, which is new.
restore stor
round default
round default
expect "storage back, others down: alert (exit 85)" "alert alert 85" \
	"$(j verdict action) $rc"
restore mgmt
restore ten
round default
round default
expect "all restored" "none 0" "$(j verdict) $rc"

# ---- 7. explicit matrix: management + tenant -> stop-vms, every round ------
: >"$tmp/record"
cut mgmt
cut ten
round matrix
round matrix
round matrix
expect "mgmt+tenant cut: stop-vms (exit 82)" "stop-vms stop-vms 82" \
	"$(j verdict action) $rc"
expect "stop-vms listed once and destroyed both VMs" "1 1 1" \
	"$(recorded '^list') $(recorded 'destroy vm-a') $(recorded 'destroy vm-b')"
expect "stop_vm got the name as argument and in VMHEAL_VM" "1" \
	"$(recorded '^destroy vm-b \[stop-vms management,tenant vm-b\]$')"
round matrix
expect "stop-vms runs again while isolated" "2 2 0" \
	"$(recorded '^list') $(recorded 'destroy vm-b') $(recorded poweroff)"
restore mgmt
restore ten
round matrix
round matrix
expect "matrix: restored" "none 0" "$(j verdict) $rc"

# ---- 8. fence command fails: SysRq fallback, or exit 80 and retry ----------
: >"$tmp/record"
: >"$tmp/sysrq" # never /proc/sysrq-trigger: net_fence does not create it
cut stor
round sysrq
round sysrq
round sysrq
expect "failing fence command + sysrq_fallback: 'o' written, exit 82" \
	"o 82" "$(cat "$tmp/sysrq" 2>/dev/null) $rc"
round nofallback
round nofallback
round nofallback
expect "failing fence command, no fallback: exit 80" "80 false" \
	"$rc $("$py" -c 'import json,sys; print(str(json.load(open(sys.argv[1]))["action"]["ok"]).lower())' "$tmp/out.json")"
round nofallback
expect "a failed fence is retried next round" "fence-self 80" \
	"$(j action) $rc"

# ---- 9. --dry-run: verdict and action printed, nothing run ------------------
: >"$tmp/record"
real_before=$(cat "$tmp/state/net_fence.state")
round default --dry-run
round default --dry-run
round default --dry-run
expect "dry run: fence-self would run (exit 82)" "fence-self fence-self true 82" \
	"$(j verdict action dry_run) $rc"
grep -q '"result": "would run: .*recorder poweroff --force"' "$tmp/out.json" &&
	ok "dry run names the command" || not_ok "dry run result: $(cat "$tmp/out.json")"
expect "dry run: nothing recorded" "0" "$(wc -l <"$tmp/record" | tr -d ' ')"
[ "$real_before" = "$(cat "$tmp/state/net_fence.state")" ] &&
	ok "dry run left the real state alone" ||
	not_ok "dry run changed net_fence.state"
ip netns exec "$H" "$prog" -c "$tmp/default.conf" --once --dry-run \
	--no-syslog >"$tmp/text" 2>&1
grep -q '^action: fence-self: done in an earlier round' "$tmp/text" &&
	ok "dry run text report" || not_ok "dry run text: $(cat "$tmp/text")"
restore stor

# ---- 10. --status, corrupt state, lock contention ----------------------------
round default
round default
ip netns exec "$H" "$prog" -c "$tmp/default.conf" --status --json \
	--no-syslog >"$tmp/out.json" 2>"$tmp/stderr"
rc=$?
expect "--status reads the saved state" "none 0" "$(j verdict) $rc"
printf 'garbage\n' >"$tmp/state/net_fence.state"
round default
expect "corrupt state: fresh start, warning, kept aside" "none 0 yes" \
	"$(j verdict) $rc $([ -f "$tmp/state/net_fence.state.corrupt" ] && echo yes)"
grep -q 'starting from a fresh state' "$tmp/stderr" &&
	ok "corrupt state: logged" || not_ok "corrupt state: $(cat "$tmp/stderr")"
touch "$tmp/state/net_fence.lock"
"$py" -c '
import fcntl, sys, time
f = open(sys.argv[1], "a")
fcntl.lockf(f, fcntl.LOCK_EX)
print("locked", flush=True)
time.sleep(30)' "$tmp/state/net_fence.lock" >"$tmp/holder" &
holder_pid=$!
for _ in $(seq 50); do grep -q locked "$tmp/holder" && break; sleep 0.1; done
round default
expect "lock held by another run: exit 75" "75" "$rc"
grep -q 'held by another process' "$tmp/stderr" &&
	ok "lock contention message" || not_ok "lock: $(cat "$tmp/stderr")"
kill "$holder_pid" 2>/dev/null
wait "$holder_pid" 2>/dev/null
holder_pid=

# ---- 11. unprivileged ICMP through ping sockets -----------------------------
run_nobody() {
	ip netns exec "$H" setpriv --reuid=65534 --regid=65534 --clear-groups \
		"$prog" -c "$tmp/nobody/ping.conf" --once --json --no-syslog \
		>"$tmp/out.json" 2>"$tmp/stderr"
	rc=$?
}
if command -v setpriv >/dev/null 2>&1; then
	ip netns exec "$H" sysctl -qw net.ipv4.ping_group_range="1 0"
	run_nobody
	expect "no ping socket, no CAP_NET_RAW: configuration error" "78" "$rc"
	grep -q 'ping_group_range' "$tmp/stderr" &&
		ok "the error names net.ipv4.ping_group_range" ||
		not_ok "ICMP error text: $(cat "$tmp/stderr")"
	ip netns exec "$H" sysctl -qw net.ipv4.ping_group_range="0 65534"
	run_nobody
	expect "unprivileged round via ping sockets (IPv4 and IPv6)" \
		"none 0 ping ping" "$(j verdict) $rc $(j sock:storage sock:tenant)"
else
	echo "# setpriv missing: unprivileged ICMP not tested"
fi

# ---- 12. daemon mode: --interval 1, watchdog, SIGHUP, SIGTERM ---------------
: >"$tmp/record"
rm -rf "$tmp/state-daemon"
sed -e "s#$tmp/state\"#$tmp/state-daemon\"#" \
	-e "s#round_timeout = 200;#round_timeout = 200; watchdog_device = \"$tmp/watchdog\";#" \
	"$tmp/default.conf" >"$tmp/daemon.conf"
: >"$tmp/watchdog"
# wait_for PATTERN FILE SECONDS [last]: PATTERN in FILE (its last line).
wait_for() {
	local i
	for i in $(seq $(($3 * 10))); do
		if [ "${4:-}" = last ]; then
			tail -n 1 "$2" | grep -q -- "$1" && return 0
		else
			grep -q -- "$1" "$2" 2>/dev/null && return 0
		fi
		sleep 0.1
	done
	return 1
}
# Signals are blocked before the daemon logs "started": only then is it
# safe to send one (SIGHUP would otherwise kill it).
start_daemon() {
	: >"$tmp/daemon.out"
	: >"$tmp/daemon.err"
	ip netns exec "$H" "$prog" -c "$tmp/daemon.conf" --daemon \
		--interval 1 --json --no-syslog >>"$tmp/daemon.out" \
		2>>"$tmp/daemon.err" &
	daemon_pid=$!
	wait_for 'started: ' "$tmp/daemon.err" 20 ||
		not_ok "daemon did not start: $(cat "$tmp/daemon.err")"
}
stop_daemon() {
	kill -TERM "$daemon_pid"
	wait "$daemon_pid"
	rc=$?
	daemon_pid=
}
start_daemon
wait_for '"round":2,' "$tmp/daemon.out" 10
cut stor
wait_for '"verdict":"fence-self"' "$tmp/daemon.out" 10 &&
	ok "daemon: storage cut -> fence-self" ||
	not_ok "daemon never fenced: $(tail -n 3 "$tmp/daemon.out")"
wait_for '"action_done_earlier":true' "$tmp/daemon.out" 10 last
expect "daemon: poweroff exactly once over several isolated rounds" "1" \
	"$(recorded poweroff)"
stop_daemon
expect "daemon: SIGTERM ends it with 0" "0" "$rc"
"$py" -c 'import json,sys; [json.loads(l) for l in open(sys.argv[1])]' \
	"$tmp/daemon.out" && ok "daemon: one JSON object per line" ||
	not_ok "daemon output is not JSON lines"
w=$(cat "$tmp/watchdog")
case $w in
*.*) ok "daemon: watchdog petted (${#w} keepalives)" ;;
*) not_ok "daemon: watchdog never petted" ;;
esac
case $w in
*V) not_ok "daemon: watchdog disarmed although this host fenced itself" ;;
*) ok "daemon: stopped after fence-self, the watchdog stays armed" ;;
esac
restore stor
# A healthy daemon: SIGHUP reloads, SIGTERM disarms with the magic 'V'.
rm -rf "$tmp/state-daemon"
: >"$tmp/watchdog"
start_daemon
wait_for '"round":1,' "$tmp/daemon.out" 10
kill -HUP "$daemon_pid"
wait_for 'configuration reloaded' "$tmp/daemon.err" 10 &&
	ok "daemon: SIGHUP reloads" || not_ok "no reload: $(cat "$tmp/daemon.err")"
wait_for '"round":3,' "$tmp/daemon.out" 10 &&
	ok "daemon: rounds go on after the reload" ||
	not_ok "daemon stalled: $(tail -n 1 "$tmp/daemon.out")"
stop_daemon
expect "daemon: healthy stop exits 0" "0" "$rc"
case $(cat "$tmp/watchdog") in
*V) ok "daemon: clean stop disarms the watchdog" ;;
*) not_ok "daemon: no magic close: $(cat "$tmp/watchdog")" ;;
esac

# ---- 13. valgrind (VMH_VALGRIND=1) ----------------------------------------
if [ "${VMH_VALGRIND:-0}" = 1 ]; then
	vg=${VALGRIND:-valgrind}
	: >"$tmp/record"
	rm -rf "$tmp/state"
	cut stor
	for i in 1 2 3; do
		ip netns exec "$H" "$vg" -q --leak-check=full \
			--show-leak-kinds=all --errors-for-leak-kinds=all \
			--error-exitcode=99 --log-file="$tmp/vg.$i" \
			"$prog" -c "$tmp/default.conf" --once --json \
			--no-syslog >"$tmp/out.json" 2>/dev/null
		rc=$?
		if [ -s "$tmp/vg.$i" ] || [ "$rc" = 99 ]; then
			not_ok "valgrind round $i: $(cat "$tmp/vg.$i")"
		else
			ok "valgrind round $i: no leak, no error (exit $rc)"
		fi
	done
	expect "valgrind: the third round fenced" "1" "$(recorded poweroff)"
	restore stor
fi

elapsed=$((($(date +%s%N) - t_start) / 1000000))
echo "# $rounds cron rounds; $pass passed, $fail failed in ${elapsed} ms"
[ "$fail" = 0 ]
