#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Stop every process up.sh and compute.sh started for $RN_DIR, and nothing
# else: each pid comes from a pid file and is signalled only while its
# environment still carries VMH_REALNOVA=$RN_DIR. --purge also removes
# $RN_DIR.
set -uo pipefail
. "$(dirname "$0")/env.sh"

T=$(rn_now)
stop_all() { local n; for n in "$@"; do rn_stop "$n" & done; wait; }
computes=()
for f in "$RN_DIR"/run/nova-compute-*.pid; do
	[ -f "$f" ] && computes+=("$(basename "$f" .pid)")
done
((${#computes[@]})) && stop_all "${computes[@]}"
stop_all nova-api nova-scheduler nova-conductor neutron-stub glance placement keystone
rn_stop rabbit
rn_stop epmd
rn_stop mysqld
left=""
for f in "$RN_DIR"/run/*.pid; do
	[ -f "$f" ] && rn_is_ours "$(cat "$f")" && left="$left $(basename "$f" .pid)"
done
[ -n "$left" ] && rn_log "still running:$left"
rn_log "stopped in $(rn_since "$T")s"
if [ "${1:-}" = --purge ]; then
	rm -rf "$RN_DIR"
	rn_log "removed $RN_DIR"
fi
[ -z "$left" ]
