#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Install the Debian 12 packages the loopback OpenStack needs (Zed: nova
# 26.2.2, keystone 22, placement 8, glance 25), without letting their
# maintainer scripts start system-wide daemons. Idempotent: installs only
# what is missing. Root only. Prints the time it took.
set -euo pipefail
. "$(dirname "$0")/env.sh"

rn_need_root
missing=$(rn_missing_packages)
if [ -z "$missing" ]; then
	rn_log "packages: all present"
	exit 0
fi
t0=$(rn_now)
rn_log "packages: installing$missing"
mkdir -p "$RN_DIR/log"
# Debian's invoke-rc.d asks policy-rc.d whether it may start a service;
# 101 means "no". Provide one only for the duration of the install, and
# only if the machine has none of its own.
own_policy=0
if [ ! -e /usr/sbin/policy-rc.d ]; then
	printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
	chmod 755 /usr/sbin/policy-rc.d
	own_policy=1
fi
cleanup() { [ "$own_policy" = 1 ] && rm -f /usr/sbin/policy-rc.d; return 0; }
trap cleanup EXIT
export DEBIAN_FRONTEND=noninteractive
if ! apt-cache show python3-nova >/dev/null 2>&1; then
	apt-get -o DPkg::Lock::Timeout=1200 update -qq
fi
# shellcheck disable=SC2086 # word splitting of the package list is wanted
if ! apt-get -o DPkg::Lock::Timeout=1200 install -y -q \
	--no-install-recommends $missing >"$RN_DIR/log/apt.log" 2>&1; then
	tail -n 30 "$RN_DIR/log/apt.log"
	rn_die "apt-get install failed (whole log: $RN_DIR/log/apt.log)"
fi
rn_log "packages: installed in $(rn_since "$t0")s"
