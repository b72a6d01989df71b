#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Every test of vmheal, as CI runs it, on a fresh Debian 12 machine:
#   1. install the missing Debian packages (as root; otherwise print the
#      apt-get line to run and stop),
#   2. autoreconf, configure --enable-werror, make, make check, format check,
#   3. a second build with --enable-sanitizers (ASan + UBSan) and its check,
#   4. the CLI tests and the integration tests under valgrind (no leaks),
#   5. make distcheck.
# Prints the Check summaries and one closing line; exits non-zero on any
# failure. Build trees live in $VMH_BUILD_ROOT (default: _build/ in the
# source tree). VMH_SKIP_DISTCHECK=1 skips step 5 (for quick local runs
# only; CI never sets it).
set -euo pipefail

srcdir=$(cd "$(dirname "$0")/.." && pwd)
build_root=${VMH_BUILD_ROOT:-$srcdir/_build}
jobs=$(nproc 2>/dev/null || echo 2)
t_start=$(date +%s)

# Debian packages the build and the tests need.
packages=(
	build-essential autoconf automake pkg-config
	libxml2-dev libcurl4-openssl-dev libjansson-dev libconfig-dev check
	libyaml-dev
	valgrind clang-format libxml2-utils python3 openssl
	openipmi ipmitool fence-agents
	iproute2 iputils-ping procps
)

missing=()
for p in "${packages[@]}"; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null |
		grep -q 'install ok installed'; then
		missing+=("$p")
	fi
done
if ((${#missing[@]})); then
	if [ "$(id -u)" = 0 ]; then
		echo "check.sh: installing ${missing[*]}"
		export DEBIAN_FRONTEND=noninteractive
		apt-get update -qq
		apt-get install -y -qq --no-install-recommends "${missing[@]}" \
			>/dev/null
	else
		echo "check.sh: missing Debian packages; run as root:"
		echo "  apt-get install -y ${missing[*]}"
		exit 1
	fi
fi

stage() { printf '\n=== %s (%ds)\n' "$*" $(($(date +%s) - t_start)); }
total_pass=0 total_fail=0 total_skip=0
failed_stages=()

# Add one test-suite.log's counts to the totals; show failed test logs.
collect() {
	local dir=$1 log=$1/test-suite.log n
	[ -f "$log" ] || return 0
	n=$(sed -n 's/^# PASS: *//p' "$log"); total_pass=$((total_pass + ${n:-0}))
	n=$(sed -n 's/^# FAIL: *//p' "$log"); total_fail=$((total_fail + ${n:-0}))
	n=$(sed -n 's/^# ERROR: *//p' "$log"); total_fail=$((total_fail + ${n:-0}))
	n=$(sed -n 's/^# SKIP: *//p' "$log"); total_skip=$((total_skip + ${n:-0}))
	grep -h -E '^[0-9]+%: Checks: ' $(find "$dir" -name '*.log' \
		! -name test-suite.log) 2>/dev/null | sed 's/^/  check: /' || true
	grep -h '^SKIP: ' "$dir"/*.log "$dir"/*/*.log 2>/dev/null | sort -u |
		sed 's/^/  /' || true
}

run_build() { # name, configure flags...
	local name=$1 dir=$build_root/$1
	shift
	stage "$name: configure $*"
	rm -rf "$dir"
	mkdir -p "$dir"
	(cd "$dir" && "$srcdir/configure" -q "$@")
	stage "$name: make"
	make -C "$dir" -j"$jobs" >"$dir/make.out" 2>&1 ||
		{ cat "$dir/make.out"; return 1; }
	if grep -q 'warning:' "$dir/make.out"; then
		grep 'warning:' "$dir/make.out"
		echo "check.sh: compiler warnings in $name"
		return 1
	fi
	stage "$name: make check"
	if ! make -C "$dir" -j"$jobs" check >"$dir/check.out" 2>&1; then
		cat "$dir/check.out"
		find "$dir" -name '*.log' ! -name test-suite.log \
			-exec grep -l -E '^(FAIL|ERROR)' {} + 2>/dev/null |
			while read -r f; do echo "--- $f"; cat "$f"; done
		collect "$dir"
		return 1
	fi
	grep -E '^(PASS|SKIP|XFAIL)' "$dir/check.out" | sed 's/^/  /'
	collect "$dir"
}

stage "autoreconf"
(cd "$srcdir" && autoreconf -fi >/dev/null 2>&1) ||
	(cd "$srcdir" && autoreconf -fi)

run_build werror --enable-werror || failed_stages+=(werror)

if [ -d "$build_root/werror" ]; then
	stage "format check"
	make -C "$build_root/werror" -s format-check || failed_stages+=(format)

	stage "valgrind: the programs in the CLI and integration tests"
	# Each script runs every program under valgrind when VMH_VALGRIND=1
	# and fails on any leak or memory error.
	for t in tests/cli/run.sh tests/hosterr/forms.sh tests/vmfail/forms.sh \
		tests/vmfail/nova.sh tests/fence/test_ipmi.sh \
		tests/netns/test_net_fence.sh; do
		log=$build_root/valgrind.$(basename "$t" .sh).out
		rc=0
		(cd "$build_root/werror" &&
			top_srcdir=$srcdir top_builddir=$build_root/werror \
			VMH_VALGRIND=1 bash "$srcdir/$t" >"$log" 2>&1) || rc=$?
		if [ $rc = 0 ]; then
			echo "  valgrind $t: $(grep -E 'passed|^ok|PASS' "$log" | tail -n 1)"
		elif [ $rc = 77 ]; then
			echo "  valgrind $t: SKIP: $(grep -m1 SKIP "$log")"
		else
			cat "$log"
			failed_stages+=("valgrind:$t")
		fi
	done
fi

# host_error against a real OpenStack Nova (Debian's Zed packages on
# loopback, fake virt driver): installs and starts it, kills a compute,
# recovers, stops only what it started. VMH_SKIP_REALNOVA=1 skips it, and
# then this says so.
if [ -d "$build_root/werror" ]; then
	stage "real Nova end-to-end"
	if [ "${VMH_SKIP_REALNOVA:-0}" = 1 ]; then
		echo "  SKIP: real Nova end-to-end (VMH_SKIP_REALNOVA=1)"
		total_skip=$((total_skip + 1))
	else
		rc=0
		bash "$srcdir/contrib/realnova/e2e.sh" "$build_root/werror" \
			>"$build_root/realnova.out" 2>&1 || rc=$?
		tail -n 15 "$build_root/realnova.out" | sed 's/^/  /'
		if [ $rc = 0 ]; then
			total_pass=$((total_pass + 1))
		else
			[ $rc = 77 ] || { cat "$build_root/realnova.out"; failed_stages+=(realnova); }
		fi
	fi
fi

run_build sanitizers --enable-sanitizers || failed_stages+=(sanitizers)

if [ "${VMH_SKIP_DISTCHECK:-0}" != 1 ] && [ -d "$build_root/werror" ]; then
	stage "make distcheck"
	if make -C "$build_root/werror" -j"$jobs" distcheck \
		>"$build_root/distcheck.out" 2>&1; then
		grep -E 'archives ready|\.tar\.gz' "$build_root/distcheck.out" |
			head -n 2
	else
		tail -n 60 "$build_root/distcheck.out"
		# The tests' own logs, which distcheck leaves in its tree when
		# it fails, say what went wrong; count those tests as failed.
		for f in $(find "$build_root/werror" -path '*/_build/sub/*' \
			-name '*.log' ! -name test-suite.log \
			-exec grep -l -E '^(FAIL|ERROR)' {} + 2>/dev/null); do
			echo "--- $f"
			cat "$f"
			total_fail=$((total_fail + 1))
		done
		failed_stages+=(distcheck)
	fi
fi

stage "done"
if ((${#failed_stages[@]})); then
	echo "check.sh: FAILED stages: ${failed_stages[*]}"
fi
echo "check: $total_pass passed, $total_fail failed, $total_skip skipped"
((${#failed_stages[@]} == 0 && total_fail == 0))
