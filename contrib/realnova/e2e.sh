#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# The real-Nova stage of contrib/check.sh: install Debian 12's OpenStack
# Zed packages if missing, start the loopback cloud (up.sh), run
# tests/e2e/test_realnova.sh against host_error from the build tree given
# as $1 (or VMH_BUILD), and always stop what was started (down.sh --purge).
#
# Skipped only when VMH_SKIP_REALNOVA=1 (and it says so). Needs root (it
# installs packages and runs the daemons). Ports: RN_PORT_BASE (default
# 20100) .. +8 on 127.0.0.1. A few minutes: ~80 s install the first time,
# ~35 s up, ~30 s test, ~5 s down.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/../.." && pwd)

if [ "${VMH_SKIP_REALNOVA:-0}" = 1 ]; then
	echo "SKIP: real-Nova end-to-end test (VMH_SKIP_REALNOVA=1)"
	exit 0
fi
build=${1:-${VMH_BUILD:-}}
[ -n "$build" ] && [ -x "$build/hooks/host_error" ] || {
	echo "realnova e2e: usage: e2e.sh BUILD_DIR (with hooks/host_error built)"
	exit 1
}
build=$(cd "$build" && pwd)
if [ "$(id -u)" != 0 ]; then
	echo "realnova e2e: must run as root (set VMH_SKIP_REALNOVA=1 to skip it)"
	exit 1
fi
export RN_PORT_BASE=${RN_PORT_BASE:-20100}
export RN_DIR=${RN_DIR:-/tmp/vmheal-realnova-e2e}
t0=$(date +%s)
cleanup() { "$here/down.sh" --purge >/dev/null 2>&1 || true; }
# leftovers of an interrupted earlier run (same RN_DIR: only its processes)
cleanup
trap cleanup EXIT
if ! "$here/up.sh" 2>"$RN_DIR.up.log"; then
	cat "$RN_DIR.up.log"
	echo "realnova e2e: the cloud did not start"
	exit 1
fi
grep -E 'installed in|ready in' "$RN_DIR.up.log" | sed 's/^/  /'
rm -f "$RN_DIR.up.log"
VMH_BUILD=$build bash "$src/tests/e2e/test_realnova.sh"
rc=$?
echo "realnova e2e: $(($(date +%s) - t0)) s in all"
exit $rc
