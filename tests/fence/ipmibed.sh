#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# A test bed of simulated compute hosts, each behind a real IPMI BMC:
# OpenIPMI's ipmi_sim (Debian package openipmi) on a free UDP port of
# 127.0.0.1. A host is a process (a sleep whose pid is in DIR/NAME/host.pid)
# that the BMC starts on power-on and kills on power-off, so a test can see
# that fencing really ended it.
#
#   ipmibed.sh start DIR NAME[:OPT,...]...   start one BMC per NAME
#   ipmibed.sh stop DIR                      stop everything started in DIR
#   ipmibed.sh status DIR                    one line per host
#   ipmibed.sh port DIR NAME                 print the BMC's UDP port
#   ipmibed.sh alive DIR NAME                exit 0 if the host process runs
#   ipmibed.sh freeze|thaw DIR NAME          stop/continue the BMC process
#                                            (a BMC that does not answer)
# Options of a host:
#   stubborn     the host ignores the BMC's power-off (SIGTERM) and the BMC
#                waits 600 s before SIGKILL: it stays ON
#   restore=S    S seconds after the host stops, power it on again (a BMC
#                power-restore policy or a second operator)
# The BMC user is "admin" with the password in $IPMIBED_PASSWORD (default
# "bmc-Pass-1"). Every BMC answers lanplus with cipher suite 3; ipmi_sim
# does not answer "Get Channel Cipher Suites", so clients that must discover
# the suite (ipmitool -I lanplus without -C) spend 10 s per call on it.
#
# Why the lan.conf looks as it does (measured, Debian 12, openipmi 2.0.33):
# without a `serial 15 ... codec VM` line ipmi_sim answers every chassis
# power control with "Invalid data field in request"; with it, power off
# sends SIGTERM to the startcmd process (SIGKILL after kill_wait) and the
# power status reads ON until that process has exited.
set -u

password=${IPMIBED_PASSWORD:-bmc-Pass-1}
ipmitool=${IPMITOOL:-ipmitool}
ipmi_sim=${IPMI_SIM:-ipmi_sim}

die() {
	echo "ipmibed: $*" >&2
	exit 1
}

# 0 if UDP port $1 and TCP port $2 on 127.0.0.1 can be bound now.
ports_free() {
	python3 - "$1" "$2" <<'PY' 2>/dev/null
import socket, sys
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
u.bind(("127.0.0.1", int(sys.argv[1])))
t = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
t.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
t.bind(("127.0.0.1", int(sys.argv[2])))
PY
}

ipmi() { # DIR/NAME, ipmitool arguments...
	local h=$1
	shift
	"$ipmitool" -I lanplus -C 3 -H 127.0.0.1 -p "$(cat "$h/port")" \
		-U admin -f "$h/password" -N 1 -R 1 "$@"
}

# A zombie is not alive: a process whose parent is gone may wait long for
# a busy (or absent) init to reap it.
running() { # pid
	[ -n "$1" ] && kill -0 "$1" 2>/dev/null &&
		! sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | grep -q '^[ZX]'
}

pid_alive() { # pidfile
	local pid
	pid=$(cat "$1" 2>/dev/null) || return 1
	running "$pid"
}

write_files() { # hostdir name udp tcp stubborn
	local h=$1 name=$2 udp=$3 tcp=$4 stubborn=$5 kill_wait=1 trap=
	if [ "$stubborn" = 1 ]; then
		kill_wait=600
		trap="trap '' TERM"
	fi
	# The host: record the pid, then become a long sleep (exec keeps the
	# pid, and an ignored SIGTERM survives the exec).
	cat >"$h/host.sh" <<EOF
#!/bin/sh
echo \$\$ >"$h/host.pid"
$trap
exec sleep 100000
EOF
	chmod 700 "$h/host.sh"
	(umask 077 && printf '%s\n' "$password" >"$h/password")
	cat >"$h/lan.conf" <<EOF
name "$name"
set_working_mc 0x20
  startlan 1
    addr 127.0.0.1 $udp
    priv_limit admin
    allowed_auths_callback none md2 md5 straight
    allowed_auths_user none md2 md5 straight
    allowed_auths_operator none md2 md5 straight
    allowed_auths_admin none md2 md5 straight
    guid a123456789abcdefa123456789abcdef
  endlan
  serial 15 127.0.0.1 $tcp codec VM
  poweroff_wait 1
  kill_wait $kill_wait
  startcmd "$h/host.sh"
  startnow true
  user 1 true  ""      "test"      user  10 none md2 md5 straight
  user 2 true  "admin" "$password" admin 10 none md2 md5 straight
EOF
	cat >"$h/emu.cmd" <<'EOF'
mc_setbmc 0x20
mc_add 0x20 0 no-device-sdrs 0x23 9 8 0x9f 0x1291 0xf02 persist_sdr
mc_enable 0x20
EOF
	echo "$udp" >"$h/port"
}

# Power the host on again $2 seconds after its process ended; once.
start_restorer() { # hostdir seconds
	local h=$1 secs=$2
	(
		while pid_alive "$h/host.pid"; do sleep 0.1; done
		sleep "$secs"
		ipmi "$h" chassis power on >>"$h/restorer.log" 2>&1
	) </dev/null >/dev/null 2>&1 &
	echo $! >"$h/restorer.pid"
}

start_one() { # dir spec
	local dir=$1 spec=$2 name opts h try udp tcp stubborn=0 restore=
	name=${spec%%:*}
	opts=
	[ "$spec" != "$name" ] && opts=${spec#*:}
	case $name in
	'' | *[!A-Za-z0-9_-]*) die "bad host name '$name'" ;;
	esac
	for o in ${opts//,/ }; do
		case $o in
		stubborn) stubborn=1 ;;
		restore=*) restore=${o#restore=} ;;
		*) die "$name: unknown option '$o'" ;;
		esac
	done
	h=$dir/$name
	mkdir -p "$h"
	for try in 1 2 3 4 5; do
		udp=$((20000 + RANDOM % 40000))
		tcp=$((udp + 1))
		ports_free "$udp" "$tcp" || continue
		write_files "$h" "$name" "$udp" "$tcp" "$stubborn"
		rm -rf "$h/state" "$h/host.pid"
		mkdir "$h/state"
		"$ipmi_sim" -c "$h/lan.conf" -f "$h/emu.cmd" -s "$h/state" -n \
			</dev/null >"$h/sim.log" 2>&1 &
		echo $! >"$h/sim.pid"
		# Ready when the BMC answers and the host runs.
		for _ in $(seq 1 50); do
			if ! pid_alive "$h/sim.pid"; then
				break
			fi
			if pid_alive "$h/host.pid" &&
				ipmi "$h" chassis power status 2>/dev/null |
				grep -q 'is on'; then
				[ -n "$restore" ] && start_restorer "$h" "$restore"
				echo "ipmibed: $name: BMC on 127.0.0.1:$udp," \
					"host pid $(cat "$h/host.pid")"
				return 0
			fi
			sleep 0.2
		done
		stop_one "$h"
		echo "ipmibed: $name: try $try on port $udp failed:" \
			"$(tail -n 3 "$h/sim.log" 2>/dev/null)" >&2
	done
	die "$name: ipmi_sim did not come up"
}

kill_pidfile() { # pidfile: TERM, then KILL after 2 s
	local pid
	pid=$(cat "$1" 2>/dev/null) || return 0
	[ -n "$pid" ] || return 0
	kill -CONT "$pid" 2>/dev/null
	kill -TERM "$pid" 2>/dev/null || { rm -f "$1"; return 0; }
	for _ in $(seq 1 20); do
		running "$pid" || break
		sleep 0.1
	done
	kill -KILL "$pid" 2>/dev/null
	rm -f "$1"
}

stop_one() { # hostdir
	local h=$1
	kill_pidfile "$h/restorer.pid"
	kill_pidfile "$h/sim.pid"
	kill_pidfile "$h/host.pid"
}

cmd=${1:-}
dir=${2:-}
if [ -z "$cmd" ] || [ -z "$dir" ]; then
	die "usage: ipmibed.sh start|stop|status|port|alive|freeze|thaw DIR" \
		"[NAME...]"
fi
shift 2
case $cmd in
start)
	mkdir -p "$dir" || die "cannot create $dir"
	for spec in "$@"; do
		start_one "$dir" "$spec" || exit 1
	done
	;;
stop)
	for h in "$dir"/*/; do
		[ -f "$h/lan.conf" ] && stop_one "${h%/}"
	done
	exit 0
	;;
status)
	for h in "$dir"/*/; do
		h=${h%/}
		[ -f "$h/lan.conf" ] || continue
		printf '%s port %s bmc %s host %s power %s\n' "${h##*/}" \
			"$(cat "$h/port")" \
			"$(pid_alive "$h/sim.pid" && echo up || echo down)" \
			"$(pid_alive "$h/host.pid" && echo running ||
				echo gone)" \
			"$(ipmi "$h" chassis power status 2>/dev/null |
				sed -n 's/Chassis Power is //p')"
	done
	;;
port) cat "$dir/$1/port" ;;
alive) pid_alive "$dir/$1/host.pid" ;;
freeze) kill -STOP "$(cat "$dir/$1/sim.pid")" ;;
thaw) kill -CONT "$(cat "$dir/$1/sim.pid")" ;;
*) die "unknown command '$cmd'" ;;
esac
