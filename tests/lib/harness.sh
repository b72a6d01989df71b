# SPDX-License-Identifier: GPL-2.0-or-later
# The integration tests' bookkeeping (sourced):
#   ok TEXT / ko TEXT        count and print "PASS: TEXT" / "FAIL: TEXT"
#   check TEXT COMMAND...    ok when COMMAND succeeds, else ko
#   new_case_dir NAME        T=a fresh directory, removed at exit
#   valgrind_logs            ko for every non-empty $CASE_DIR/vg.* (the
#                            logs VMH_VALGRIND=1 runs leave), printed
#   harness_cleanup          remove the case directories (call it from
#                            the test's EXIT trap)
pass=0
fail=0
CASE_DIRS=()

ok() { echo "PASS: $*"; pass=$((pass + 1)); }
ko() { echo "FAIL: $*"; fail=$((fail + 1)); }
check() { # description, then a command that must succeed
	local what=$1
	shift
	if "$@"; then ok "$what"; else ko "$what"; fi
}

new_case_dir() {
	T=$(mktemp -d "${TMPDIR:-/tmp}/vmh-$1.XXXXXX")
	CASE_DIRS+=("$T")
}

valgrind_logs() {
	local d f
	for d in "${CASE_DIRS[@]}"; do
		for f in "$d"/vg.*; do
			[ -s "$f" ] || continue
			ko "valgrind: $f"
			cat "$f"
		done
	done
}

harness_cleanup() {
	local d
	for d in "${CASE_DIRS[@]}"; do rm -rf "$d"; done
}
