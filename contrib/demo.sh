#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# The main job on a fresh machine: build vmheal and show it at work.
# (The full story, with the bundled cloud simulator, a failed host, fencing
# and the VMs coming back, arrives with host_error; for now it builds and
# shows host_error's interface.)
set -euo pipefail
srcdir=$(cd "$(dirname "$0")/.." && pwd)
packages=(build-essential autoconf automake pkg-config libxml2-dev
	libcurl4-openssl-dev libjansson-dev libconfig-dev check python3)
missing=()
for p in "${packages[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null |
		grep -q 'install ok installed' || missing+=("$p")
done
if ((${#missing[@]})); then
	if [ "$(id -u)" = 0 ]; then
		DEBIAN_FRONTEND=noninteractive apt-get update -qq
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
			--no-install-recommends "${missing[@]}" >/dev/null
	else
		echo "demo.sh: run as root: apt-get install -y ${missing[*]}"
		exit 1
	fi
fi
build=${VMH_DEMO_BUILD:-$srcdir/_build/demo}
mkdir -p "$build"
[ -x "$srcdir/configure" ] || (cd "$srcdir" && autoreconf -fi >/dev/null)
[ -f "$build/Makefile" ] || (cd "$build" && "$srcdir/configure" -q)
make -C "$build" -s -j"$(nproc)" >/dev/null
"$build/hooks/host_error" --help
