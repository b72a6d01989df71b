# SPDX-License-Identifier: GPL-2.0-or-later
# What tests/lib/onesim.sh and tests/lib/novasim.sh share (sourced): the
# Python interpreter (the test is skipped, exit 77, without one), starting
# a simulator and waiting for its port, stopping it, and jq_py.
#   sim_serve SCRIPT DIR SCENARIO [ARGS...]
#                    `SCRIPT serve` with its state in DIR; SIM_PID is its
#                    pid; returns once DIR/port exists (1 if it died)
#   sim_stop PID DIR stop it and remove DIR
#   jq_py EXPR       evaluate a Python expression on the JSON read from
#                    stdin (bound to `d`); prints the result

top_srcdir=${top_srcdir:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
top_builddir=${top_builddir:-$top_srcdir}
PYTHON3=${PYTHON3:-$(command -v python3)}
if [ -z "$PYTHON3" ]; then
	echo "SKIP: python3 is not installed (apt-get install python3)"
	exit 77
fi

sim_serve() {
	local script=$1 dir=$2 scenario=$3 i
	shift 3
	"$PYTHON3" "$script" serve --scenario "$scenario" --state-dir "$dir" \
		"$@" >"$dir/serve.out" 2>"$dir/serve.err" &
	SIM_PID=$!
	for i in $(seq 1 100); do
		[ -s "$dir/port" ] && return 0
		if ! kill -0 "$SIM_PID" 2>/dev/null; then
			cat "$dir/serve.err" >&2
			return 1
		fi
		sleep 0.1
	done
	echo "$(basename "$script") did not start" >&2
	return 1
}

sim_stop() {
	if [ -n "$1" ]; then
		kill "$1" 2>/dev/null
		wait "$1" 2>/dev/null
	fi
	[ -n "$2" ] && rm -rf "$2"
	return 0
}

jq_py() {
	"$PYTHON3" -c 'import json,sys
d = json.load(sys.stdin)
r = eval(sys.argv[1])
print(json.dumps(r) if isinstance(r, (dict, list)) else r)' "$1"
}
