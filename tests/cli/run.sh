#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# CLI golden tests (after Pacemaker's cts/cli): each case in cases/ runs one
# program and compares its stdout, stderr and exit status with the files
# checked in beside it.
#
#   cases/NAME.args    the command line: program name, then arguments, one
#                      per line (no shell parsing); @SRCDIR@ is the source
#                      root
#   cases/NAME.stdin   optional standard input
#   cases/NAME.rc      expected exit status
#   cases/NAME.out     expected stdout        cases/NAME.err  expected stderr
#
# VMH_VALGRIND=1 runs every program under valgrind and fails on any leak or
# memory error. VMH_CLI_REGEN=1 rewrites the expected files (review the diff!).
set -u
here=$(cd "$(dirname "$0")" && pwd)
srcdir=${top_srcdir:-$(cd "$here/../.." && pwd)}
builddir=${top_builddir:-$srcdir}
cases=$here/cases
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
pass=0 fail=0

# Normalise what legitimately differs between builds (install prefix).
normalise() {
	sed -e 's#(default [^)]*/vmheal/vmheal\.conf)#(default @CONF@)#' \
	    -e "s#$srcdir#@SRCDIR@#g"
}

for args_file in "$cases"/*.args; do
	name=$(basename "$args_file" .args)
	mapfile -t argv < <(sed "s#@SRCDIR@#$srcdir#g" "$args_file")
	prog=$builddir/hooks/${argv[0]}
	stdin=/dev/null
	[ -f "$cases/$name.stdin" ] && stdin=$cases/$name.stdin
	wrap=()
	if [ "${VMH_VALGRIND:-0}" = 1 ]; then
		wrap=("${VALGRIND:-valgrind}" -q --leak-check=full
		      --show-leak-kinds=all --errors-for-leak-kinds=all
		      --error-exitcode=99 --log-file="$tmp/$name.vg")
	fi
	(cd "$srcdir" && "${wrap[@]}" "$prog" "${argv[@]:1}") \
		<"$stdin" >"$tmp/$name.out.raw" 2>"$tmp/$name.err.raw"
	rc=$?
	normalise <"$tmp/$name.out.raw" >"$tmp/$name.out"
	normalise <"$tmp/$name.err.raw" >"$tmp/$name.err"
	echo "$rc" >"$tmp/$name.rc"
	if [ "${VMH_CLI_REGEN:-0}" = 1 ]; then
		cp "$tmp/$name.out" "$tmp/$name.err" "$tmp/$name.rc" "$cases/"
	fi
	ok=1
	for part in rc out err; do
		if ! diff -u "$cases/$name.$part" "$tmp/$name.$part" \
			>"$tmp/$name.$part.diff"; then
			echo "FAIL: $name: $part differs:"
			cat "$tmp/$name.$part.diff"
			ok=0
		fi
	done
	if [ -s "$tmp/$name.vg" ]; then
		echo "FAIL: $name: valgrind:"
		cat "$tmp/$name.vg"
		ok=0
	fi
	if [ $ok = 1 ]; then
		echo "PASS: $name"
		pass=$((pass + 1))
	else
		fail=$((fail + 1))
	fi
done
echo "cli: $pass passed, $fail failed"
[ "$fail" = 0 ] && [ "$pass" -gt 0 ]
