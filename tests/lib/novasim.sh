# SPDX-License-Identifier: GPL-2.0-or-later
# Shell helpers for integration tests against novasim (sourced).
#   novasim_start SCENARIO  start novasim on a free loopback port; exports
#                           the OS_* variables of its admin user and
#                           NOVASIM_DIR
#   novasim_ctl ARGS...     run `novasim ctl` against it (JSON)
#   novasim_stop            stop it and remove its directory
#   nova_api METHOD PATH [BODY]
#                           one Nova call as the admin user (what an
#                           operator's `openstack server stop` does);
#                           prints the HTTP status, then the body
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
NOVASIM=$top_srcdir/tests/sim/novasim

novasim_start() {
	local i
	NOVASIM_DIR=$(mktemp -d "${TMPDIR:-/tmp}/novasim.XXXXXX")
	"$PYTHON3" "$NOVASIM" serve --scenario "$1" --state-dir "$NOVASIM_DIR" \
		--exit-with-parent >"$NOVASIM_DIR/serve.out" \
		2>"$NOVASIM_DIR/serve.err" &
	NOVASIM_PID=$!
	for i in $(seq 1 100); do
		[ -s "$NOVASIM_DIR/port" ] && break
		if ! kill -0 "$NOVASIM_PID" 2>/dev/null; then
			cat "$NOVASIM_DIR/serve.err" >&2
			return 1
		fi
		sleep 0.1
	done
	[ -s "$NOVASIM_DIR/port" ] || { echo "novasim did not start" >&2; return 1; }
	OS_AUTH_URL="$(cat "$NOVASIM_DIR/url")/v3"
	OS_USERNAME=admin OS_PASSWORD=admin-pass OS_PROJECT_NAME=admin
	OS_USER_DOMAIN_NAME=Default OS_PROJECT_DOMAIN_NAME=Default
	export OS_AUTH_URL OS_USERNAME OS_PASSWORD OS_PROJECT_NAME \
		OS_USER_DOMAIN_NAME OS_PROJECT_DOMAIN_NAME NOVASIM_DIR
	unset OS_CLOUD OS_CACERT OS_CERT OS_KEY
}

novasim_ctl() {
	"$PYTHON3" "$NOVASIM" ctl --state-dir "$NOVASIM_DIR" "$@"
}

novasim_stop() {
	if [ -n "${NOVASIM_PID:-}" ]; then
		kill "$NOVASIM_PID" 2>/dev/null
		wait "$NOVASIM_PID" 2>/dev/null
		NOVASIM_PID=
	fi
	[ -n "${NOVASIM_DIR:-}" ] && rm -rf "$NOVASIM_DIR"
	NOVASIM_DIR=
}

nova_api() {
	"$PYTHON3" - "$@" <<'PY'
import json, os, sys, urllib.request, urllib.error
method, path = sys.argv[1], sys.argv[2]
body = sys.argv[3] if len(sys.argv) > 3 else None
auth = {"auth": {"identity": {"methods": ["password"], "password": {"user": {
    "name": os.environ["OS_USERNAME"], "password": os.environ["OS_PASSWORD"],
    "domain": {"name": os.environ["OS_USER_DOMAIN_NAME"]}}}},
    "scope": {"project": {"name": os.environ["OS_PROJECT_NAME"],
                          "domain": {"name": os.environ["OS_PROJECT_DOMAIN_NAME"]}}}}}
req = urllib.request.Request(os.environ["OS_AUTH_URL"] + "/auth/tokens",
                             json.dumps(auth).encode(), {"Content-Type": "application/json"})
with urllib.request.urlopen(req, timeout=10) as r:
    token = r.headers["X-Subject-Token"]
    cat = json.load(r)["token"]["catalog"]
url = [e["url"] for s in cat if s["type"] == "compute" for e in s["endpoints"]
       if e["interface"] == "public"][0]
req = urllib.request.Request(url + path, body.encode() if body else None,
                             {"X-Auth-Token": token, "Content-Type": "application/json",
                              "OpenStack-API-Version": "compute 2.73"}, method=method)
try:
    with urllib.request.urlopen(req, timeout=10) as r:
        print(r.status)
        print(r.read().decode())
except urllib.error.HTTPError as e:
    print(e.code)
    print(e.read().decode())
PY
}

jq_py() {
	"$PYTHON3" -c 'import json,sys
d = json.load(sys.stdin)
r = eval(sys.argv[1])
print(json.dumps(r) if isinstance(r, (dict, list)) else r)' "$1"
}
