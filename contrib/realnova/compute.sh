#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# compute.sh start|stop|kill|status NAME: one fake-driver nova-compute of
# the loopback cloud. kill = SIGKILL, the nearest thing to a host losing
# power (its fake guests, kept in process memory, die with it). A new NAME
# registers a new host; the scheduler maps it within ~10 s.
set -euo pipefail
. "$(dirname "$0")/env.sh"

[ $# = 2 ] || rn_die "usage: compute.sh start|stop|kill|status NAME"
name=$2
case $1 in
start)
	conf=$RN_DIR/etc/nova/compute-$name.conf
	printf '[DEFAULT]\nhost = %s\nlog_file = %s/log/nova-compute-%s.log\n' \
		"$name" "$RN_DIR" "$name" >"$conf"
	rn_spawn "nova-compute-$name" "$RN_PY" -c "import sys
from nova.cmd.compute import main
sys.exit(main())" --config-file "$RN_DIR/etc/nova/nova.conf" --config-file "$conf"
	echo "nova-compute-$name pid $(cat "$RN_DIR/run/nova-compute-$name.pid")"
	;;
stop) rn_stop "nova-compute-$name" TERM ;;
kill) rn_stop "nova-compute-$name" KILL ;;
status)
	if rn_running "nova-compute-$name"; then
		echo "running"
	else
		echo "stopped"
		exit 1
	fi
	;;
*) rn_die "usage: compute.sh start|stop|kill|status NAME" ;;
esac
