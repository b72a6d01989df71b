#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# A fence agent (fence-agents stdin interface) for the loopback cloud: a
# "host" is one fake nova-compute process, and powering it off is killing
# that process. action=off: SIGKILL it (idempotent); action=status: exit 0
# while it runs (ON), 2 once it is gone (OFF); monitor/list: exit 0.
# The state dir comes from an rn_dir=PATH line (the fence level's options),
# else RN_DIR, else the default.
action= node= dir=
while IFS= read -r line; do
	case $line in
	action=*) action=${line#action=} ;;
	nodename=* | port=* | plug=*) node=${line#*=} ;;
	rn_dir=*) dir=${line#rn_dir=} ;;
	esac
done
[ -n "$dir" ] && RN_DIR=$dir
. "$(dirname "$0")/env.sh"
case $node in
'' | *[!A-Za-z0-9._-]*) echo "fence_agent: bad or missing nodename" >&2; exit 1 ;;
esac
case $action in
off | reboot) rn_stop "nova-compute-$node" KILL ;;
status) if rn_running "nova-compute-$node"; then exit 0; else exit 2; fi ;;
on) "$RN_HERE/compute.sh" start "$node" >/dev/null ;;
monitor | list | metadata) exit 0 ;;
*) echo "fence_agent: unknown action '$action'" >&2; exit 1 ;;
esac
