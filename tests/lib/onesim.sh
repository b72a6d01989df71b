# SPDX-License-Identifier: GPL-2.0-or-later
# Shell helpers for integration tests against onesim (sourced).
#   onesim_start SCENARIO   start onesim on a free loopback port; exports
#                           ONE_XMLRPC, ONE_AUTH, ONESIM_DIR
#   onesim_ctl ARGS...      run `onesim ctl` against it (compact JSON)
#   onesim_stop             stop it and remove its directory
#   jq_py EXPR              evaluate a Python expression on the JSON read
#                           from stdin (bound to `d`); prints the result
# Tests using it exit 77 (skipped) when python3 is missing.

. "$(dirname "${BASH_SOURCE[0]}")/simproc.sh"
ONESIM=$top_srcdir/tests/sim/onesim

onesim_start() {
	ONESIM_DIR=$(mktemp -d "${TMPDIR:-/tmp}/onesim.XXXXXX")
	sim_serve "$ONESIM" "$ONESIM_DIR" "$1" || return 1
	ONESIM_PID=$SIM_PID
	ONE_XMLRPC="http://127.0.0.1:$(cat "$ONESIM_DIR/port")/RPC2"
	ONE_AUTH=$ONESIM_DIR/one_auth
	export ONE_XMLRPC ONE_AUTH ONESIM_DIR
}

onesim_ctl() {
	"$PYTHON3" "$ONESIM" ctl --state-dir "$ONESIM_DIR" --compact "$@"
}

onesim_stop() {
	sim_stop "${ONESIM_PID:-}" "${ONESIM_DIR:-}"
	ONESIM_PID=
	ONESIM_DIR=
}
