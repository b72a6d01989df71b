# SPDX-License-Identifier: GPL-2.0-or-later
# Shell helpers for integration tests against onesim (sourced).
#   onesim_start SCENARIO   start onesim on a free loopback port; exports
#                           ONE_XMLRPC, ONE_AUTH, ONESIM_DIR
#   onesim_ctl ARGS...      run `onesim ctl` against it (compact JSON)
#   onesim_stop             stop it and remove its directory
#   jq_py EXPR              evaluate a Python expression on the JSON read
#                           from stdin (bound to `d`); prints the result
# Tests using it exit 77 (skipped) when python3 is missing.

top_srcdir=${top_srcdir:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
top_builddir=${top_builddir:-$top_srcdir}
PYTHON3=${PYTHON3:-$(command -v python3)}
if [ -z "$PYTHON3" ]; then
	echo "SKIP: python3 is not installed (apt-get install python3)"
	exit 77
fi
ONESIM=$top_srcdir/tests/sim/onesim

onesim_start() {
	local i
	ONESIM_DIR=$(mktemp -d "${TMPDIR:-/tmp}/onesim.XXXXXX")
	"$PYTHON3" "$ONESIM" serve --scenario "$1" --state-dir "$ONESIM_DIR" \
		>"$ONESIM_DIR/serve.out" 2>"$ONESIM_DIR/serve.err" &
	ONESIM_PID=$!
	for i in $(seq 1 100); do
		[ -s "$ONESIM_DIR/port" ] && break
		if ! kill -0 "$ONESIM_PID" 2>/dev/null; then
			cat "$ONESIM_DIR/serve.err" >&2
			return 1
		fi
		sleep 0.1
	done
	[ -s "$ONESIM_DIR/port" ] || { echo "onesim did not start" >&2; return 1; }
	ONE_XMLRPC="http://127.0.0.1:$(cat "$ONESIM_DIR/port")/RPC2"
	ONE_AUTH=$ONESIM_DIR/one_auth
	export ONE_XMLRPC ONE_AUTH ONESIM_DIR
}

onesim_ctl() {
	"$PYTHON3" "$ONESIM" ctl --state-dir "$ONESIM_DIR" --compact "$@"
}

onesim_stop() {
	if [ -n "${ONESIM_PID:-}" ]; then
		kill "$ONESIM_PID" 2>/dev/null
		wait "$ONESIM_PID" 2>/dev/null
		ONESIM_PID=
	fi
	[ -n "${ONESIM_DIR:-}" ] && rm -rf "$ONESIM_DIR"
	ONESIM_DIR=
}

jq_py() {
	"$PYTHON3" -c 'import json,sys
d = json.load(sys.stdin)
r = eval(sys.argv[1])
print(json.dumps(r) if isinstance(r, (dict, list)) else r)' "$1"
}
