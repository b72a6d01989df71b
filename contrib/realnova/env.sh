# SPDX-License-Identifier: GPL-2.0-or-later
# shellcheck shell=bash disable=SC2034
# Settings and helpers of the loopback OpenStack (contrib/realnova/*.sh).
# Sourced, never run. Every daemon binds 127.0.0.1 only.
#
# Knobs (environment):
#   RN_DIR        state, configs, logs, pid files (default /tmp/vmheal-realnova)
#   RN_COMPUTES   fake nova-compute hosts (default "cmp1 cmp2")
#   RN_PORT_BASE  if set, every port is RN_PORT_BASE + a fixed offset, so a
#                 second cloud can run beside a first one
#   RN_DOWN_TIME  nova service_down_time (default 60)

RN_DIR=${RN_DIR:-/tmp/vmheal-realnova}
RN_COMPUTES=${RN_COMPUTES:-"cmp1 cmp2"}
RN_DOWN_TIME=${RN_DOWN_TIME:-60}
RN_HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

if [ -n "${RN_PORT_BASE:-}" ]; then
	RN_KEYSTONE_PORT=$((RN_PORT_BASE + 0))
	RN_NOVA_PORT=$((RN_PORT_BASE + 1))
	RN_PLACEMENT_PORT=$((RN_PORT_BASE + 2))
	RN_GLANCE_PORT=$((RN_PORT_BASE + 3))
	RN_NEUTRON_PORT=$((RN_PORT_BASE + 4))
	RN_MYSQL_PORT=$((RN_PORT_BASE + 5))
	RN_AMQP_PORT=$((RN_PORT_BASE + 6))
	RN_EPMD_PORT=$((RN_PORT_BASE + 7))
	RN_ERLDIST_PORT=$((RN_PORT_BASE + 8))
else
	RN_KEYSTONE_PORT=5000 RN_NOVA_PORT=8774 RN_PLACEMENT_PORT=8778
	RN_GLANCE_PORT=9292 RN_NEUTRON_PORT=9696 RN_MYSQL_PORT=3306
	RN_AMQP_PORT=5672 RN_EPMD_PORT=4369 RN_ERLDIST_PORT=25672
fi
RN_PORTS="$RN_KEYSTONE_PORT $RN_NOVA_PORT $RN_PLACEMENT_PORT $RN_GLANCE_PORT
$RN_NEUTRON_PORT $RN_MYSQL_PORT $RN_AMQP_PORT $RN_EPMD_PORT $RN_ERLDIST_PORT"

RN_KEYSTONE_URL=http://127.0.0.1:$RN_KEYSTONE_PORT/v3
RN_NOVA_URL=http://127.0.0.1:$RN_NOVA_PORT/v2.1
RN_PLACEMENT_URL=http://127.0.0.1:$RN_PLACEMENT_PORT
RN_GLANCE_URL=http://127.0.0.1:$RN_GLANCE_PORT
RN_NEUTRON_URL=http://127.0.0.1:$RN_NEUTRON_PORT
RN_DB=mysql+pymysql://rn:rn-db-pass@127.0.0.1:$RN_MYSQL_PORT
# The cloud's admin; only ever on loopback, inside a throw-away state dir.
RN_ADMIN_PASS=${RN_ADMIN_PASS:-rn-admin-pass}

# Debian installs the OpenStack code for its own interpreter; a pyenv or
# venv python3 earlier in PATH would not find it.
RN_PY=/usr/bin/python3

RN_PACKAGES="python3-nova python3-keystone python3-placement python3-glance
mariadb-server rabbitmq-server uwsgi-core uwsgi-plugin-python3 curl iproute2"

# Every process we start carries this marker in its environment: stop.sh
# signals a pid only if /proc/PID/environ still has it, so a pid that was
# recycled by an unrelated process is never hit.
export VMH_REALNOVA="$RN_DIR"

rn_now() { date +%s.%N; }
rn_since() { awk -v a="$1" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }'; }
rn_log() { printf 'realnova %s %s\n' "$(date +%T)" "$*" >&2; }
rn_die() { rn_log "error: $*"; exit 1; }
rn_need_root() { [ "$(id -u)" = 0 ] || rn_die "must run as root (apt-get, daemons)"; }

rn_missing_packages() {
	local p out=""
	for p in $RN_PACKAGES; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null |
			grep -q 'install ok installed' || out="$out $p"
	done
	printf '%s' "$out"
}

# rn_is_ours PID: alive and started by these scripts for this RN_DIR.
rn_is_ours() {
	local pid=$1
	[ -n "$pid" ] && [ -r "/proc/$pid/environ" ] || return 1
	{ tr '\0' '\n' <"/proc/$pid/environ"; } 2>/dev/null |
		grep -qxF "VMH_REALNOVA=$RN_DIR"
}

# rn_tree PID: PID and every descendant, one a line.
rn_tree() {
	local c
	echo "$1"
	for c in $(cat /proc/"$1"/task/*/children 2>/dev/null); do rn_tree "$c"; done
}

# rn_spawn NAME CMD...: run CMD detached; output in log/NAME.log, pid in
# run/NAME.pid.
rn_spawn() {
	local name=$1 pidf=$RN_DIR/run/$1.pid
	shift
	if [ -f "$pidf" ] && rn_is_ours "$(cat "$pidf")"; then
		rn_die "$name is already running (pid $(cat "$pidf"))"
	fi
	setsid "$@" >"$RN_DIR/log/$name.log" 2>&1 </dev/null &
	echo $! >"$pidf"
}

# rn_stop NAME [SIGNAL]: signal the process of run/NAME.pid and its
# descendants, wait up to 20 s, then SIGKILL what is left of them.
rn_stop() {
	local pidf=$RN_DIR/run/$1.pid sig=${2:-TERM} pid procs left q i
	[ -f "$pidf" ] || return 0
	pid=$(cat "$pidf")
	if ! rn_is_ours "$pid"; then
		rm -f "$pidf"
		return 0
	fi
	procs=$(rn_tree "$pid" | tr '\n' ' ')
	# shellcheck disable=SC2086
	kill -"$sig" $procs 2>/dev/null || true
	for i in $(seq 1 80); do
		left=""
		for q in $procs; do rn_is_ours "$q" && left="$left $q"; done
		[ -z "$left" ] && break
		sleep 0.25
	done
	# shellcheck disable=SC2086
	[ -n "$left" ] && kill -KILL $left 2>/dev/null
	rm -f "$pidf"
	return 0
}

rn_running() { [ -f "$RN_DIR/run/$1.pid" ] && rn_is_ours "$(cat "$RN_DIR/run/$1.pid")"; }

rn_port_busy() { ss -ltnH "sport = :$1" 2>/dev/null | grep -q .; }

# rn_wait_url URL SECONDS
rn_wait_url() {
	local deadline=$(($(date +%s) + $2))
	while [ "$(date +%s)" -lt "$deadline" ]; do
		curl -s -o /dev/null --max-time 5 "$1" && return 0
		sleep 0.25
	done
	return 1
}

# The REST helper (stdlib Python): rn_api SUBCOMMAND ARGS...
rn_api() { "$RN_PY" "$RN_HERE/rnapi.py" "$@"; }

rn_nova_entry() { # MODULE ARGS...: a nova console entry point
	local mod=$1
	shift
	"$RN_PY" -c "import sys
from nova.cmd.$mod import main
sys.exit(main())" "$@"
}
