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

. "$(dirname "${BASH_SOURCE[0]}")/simproc.sh"
NOVASIM=$top_srcdir/tests/sim/novasim

novasim_start() {
	NOVASIM_DIR=$(mktemp -d "${TMPDIR:-/tmp}/novasim.XXXXXX")
	sim_serve "$NOVASIM" "$NOVASIM_DIR" "$1" --exit-with-parent || return 1
	NOVASIM_PID=$SIM_PID
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
	sim_stop "${NOVASIM_PID:-}" "${NOVASIM_DIR:-}"
	NOVASIM_PID=
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

