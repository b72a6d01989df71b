#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# A stand-in OpenNebula fence_host.sh for the unit tests: base64 of the
# <HOST> XML on stdin, exit 0 only when "fenced". It works in the directory
# it lives in:
#   host.xml     the decoded stdin of the last run
#   script.log   "$VMHEAL_ACTION $VMHEAL_HOST $VMHEAL_HOST_ID" per run
#   mode         "ok" (default) or "fail"
#   power        the power it reports as a status_command ("on"/"off")
set -u
dir=$(dirname "$0")
base64 -d >"$dir/host.xml" || exit 1
printf '%s %s %s\n' "${VMHEAL_ACTION-}" "${VMHEAL_HOST-}" \
	"${VMHEAL_HOST_ID-}" >>"$dir/script.log"
mode=$(cat "$dir/mode" 2>/dev/null || echo ok)
if [ "${VMHEAL_ACTION-}" = status ]; then
	if [ "$(cat "$dir/power" 2>/dev/null)" = off ]; then
		echo "Status: OFF"
		exit 2
	fi
	echo "Status: ON"
	exit 0
fi
if [ "$mode" = fail ]; then
	echo "fence_host: fencing failed" >&2
	exit 1
fi
echo off >"$dir/power"
echo "fence_host: fenced"
exit 0
