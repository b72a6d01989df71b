#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# A stand-in fence agent for the unit tests. It speaks the fence-agents
# interface (key=value lines on stdin, action=off|on|status, exit 0 = done,
# status: 0 = ON, 2 = OFF, 1 = failure) and keeps the "power" of its host in
# a directory given as the option state=DIR, where it also records what it
# was given:
#   DIR/stdin.log   every stdin it read, each followed by "--"
#   DIR/argv.log    its argument vector, one run per line
#   DIR/calls.log   "<name> <action>" per run (name= option, default "stub")
#   DIR/power       "on" or "off"
#   DIR/pid         the pid of the last run
# The option mode= picks a behaviour:
#   ok         off/on change the power, status reports it (default)
#   fail       every action fails with exit 1
#   hang       every action sleeps (killed at the caller's timeout)
#   hang_hard  like hang, but ignores SIGTERM (needs SIGKILL)
#   stay_on    off answers success but the power stays on
#   unknown    status exits 1 ("unknown"), off/on work
#   status_hang off works, status hangs
#   off_after=N status reports ON N times after an off, then OFF
#   fail_off   off powers off but exits 1 (as on a timeout); status works
#   leak       prints its password on stderr, then fails
set -u
input=$(cat)
action='' state='' mode=ok name=stub password=''
# Parse the lines without eval: values are data.
while IFS= read -r line; do
	key=${line%%=*}
	value=${line#*=}
	case $key in
	action) action=$value ;;
	state) state=$value ;;
	mode) mode=$value ;;
	name) name=$value ;;
	password) password=$value ;;
	esac
done <<INPUT
$input
INPUT
if [ -z "$state" ] || [ ! -d "$state" ]; then
	echo "stub_agent: no state=DIR directory given" >&2
	exit 1
fi
printf '%s\n--\n' "$input" >>"$state/stdin.log"
printf '%s\n' "$0 $*" >>"$state/argv.log"
printf '%s %s\n' "$name" "$action" >>"$state/calls.log"
echo $$ >"$state/pid"
[ -f "$state/power" ] || echo on >"$state/power"

hang() {
	sleep 1000 &
	echo $! >"$state/child"
	wait
	exit 1
}

case $mode in
fail)
	echo "Failed: Unable to connect to fence device" >&2
	exit 1
	;;
hang) hang ;;
hang_hard)
	trap '' TERM
	hang
	;;
leak)
	echo "debug: logging in with password $password" >&2
	exit 1
	;;
esac

case $action in
off)
	[ "$mode" = stay_on ] || echo off >"$state/power"
	echo 0 >"$state/status_count"
	if [ "$mode" = fail_off ]; then
		echo "Failed: Timed out waiting to power OFF" >&2
		exit 1
	fi
	echo "Success: Powered OFF"
	exit 0
	;;
on)
	echo on >"$state/power"
	echo "Success: Powered ON"
	exit 0
	;;
status | monitor)
	case $mode in
	unknown)
		echo "Failed: Unable to obtain correct plug status" >&2
		exit 1
		;;
	status_hang) hang ;;
	off_after=*)
		n=$(cat "$state/status_count" 2>/dev/null || echo 0)
		echo $((n + 1)) >"$state/status_count"
		if [ "$n" -lt "${mode#off_after=}" ]; then
			echo "Status: ON"
			exit 0
		fi
		;;
	esac
	if [ "$(cat "$state/power")" = off ]; then
		echo "Status: OFF"
		exit 2
	fi
	echo "Status: ON"
	exit 0
	;;
*)
	echo "Failed: Unrecognised action '$action'" >&2
	exit 1
	;;
esac
