#!/usr/bin/env bash
# Validate every kind of document onesim returns against OpenNebula's own
# XML schemas (shared/opennebula/xsd, OpenNebula 7.4).
#
# It starts onesim with tests/sim/scenarios/xsd.json (hosts in every state,
# VMs running / unknown / failed / locked / pending / done, awkward
# characters), drives it through a host failure and recoveries, and fetches
# HOST, HOST_POOL, VM (short and extended), VM_POOL, DATASTORE(_POOL),
# OPENNEBULA_CONFIGURATION and the hook $TEMPLATE documents.  oned emits no
# namespace, so each document gets xmlns="http://opennebula.org/XMLSchema"
# on its root before `xmllint --noout --schema`.  This is repeated for the
# emulated versions 6.10 (default), 7.4 and 5.12.
#
# automake: exit 0 pass, 77 skip (no shared/ schemas, no xmllint, no
# python3), anything else fail.  Works from an out-of-tree build directory:
# the project root comes from $srcdir when it holds tests/sim, otherwise
# from this script's location.  VMHEAL_SHARED overrides ../shared.

set -u

script_dir=$(cd "$(dirname "$0")" && pwd)
if [ -n "${srcdir:-}" ] && [ -x "$srcdir/tests/sim/onesim" ]; then
    root=$(cd "$srcdir" && pwd)
else
    root=$(cd "$script_dir/../.." && pwd)
fi
shared=${VMHEAL_SHARED:-$root/../shared}
xsd_dir=$shared/opennebula/xsd
python=${PYTHON:-python3}

skip() { echo "SKIP: $*"; exit 77; }

[ -d "$xsd_dir" ] || skip "OpenNebula XSD directory $xsd_dir not found (set VMHEAL_SHARED)"
xsd_dir=$(cd "$xsd_dir" && pwd)
[ -f "$xsd_dir/vm.xsd" ] || skip "$xsd_dir has no vm.xsd"
command -v xmllint >/dev/null 2>&1 || skip "xmllint not installed (Debian: libxml2-utils)"
command -v "$python" >/dev/null 2>&1 || skip "$python not found"

work=$(mktemp -d "${TMPDIR:-/tmp}/onesim-xsd.XXXXXX") || exit 1
onesim_pid=
cleanup() {
    if [ -n "$onesim_pid" ] && kill -0 "$onesim_pid" 2>/dev/null; then
        kill -TERM "$onesim_pid" 2>/dev/null
        wait "$onesim_pid" 2>/dev/null
    fi
    rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 143' TERM INT HUP

failures=0
checked=0

# validate FILE SCHEMA: add the namespace to the root element, run xmllint
validate() {
    local file=$1 schema=$2 nsfile
    nsfile="$file.ns.xml"
    sed '1s|^<\([A-Z_]*\)|<\1 xmlns="http://opennebula.org/XMLSchema"|' "$file" > "$nsfile"
    checked=$((checked + 1))
    if ! out=$(xmllint --noout --schema "$xsd_dir/$schema" "$nsfile" 2>&1); then
        failures=$((failures + 1))
        echo "FAIL: $(basename "$file") against $schema"
        printf '%s\n' "$out" | grep -v ' validates$' | head -n 20 | sed 's/^/    /'
    fi
}

# run_version VERSION: one onesim run, every document fetched and validated
run_version() {
    local version=$1 dir=$work/$1 scen
    mkdir -p "$dir/docs" "$dir/hooks"
    scen=$dir/scenario.json
    # the shared scenario plus the version and two hooks that save $TEMPLATE
    "$python" - "$root/tests/sim/scenarios/xsd.json" "$scen" "$version" "$dir/hooks" <<'EOF' || return 1
import json, sys
src, dst, version, hookdir = sys.argv[1:]
data = json.load(open(src))
data["version"] = version
save = hookdir + "/save.sh"
with open(save, "w") as fh:
    fh.write('#!/bin/sh\ncat > "%s/$1.$$.b64"\n' % hookdir)
import os
os.chmod(save, 0o755)
data["hooks"] = [
    {"template": {"NAME": "host", "TYPE": "state", "RESOURCE": "HOST", "STATE": "ERROR",
                  "COMMAND": save + " host", "ARGUMENTS": "$TEMPLATE",
                  "ARGUMENTS_STDIN": "yes"}},
    {"template": {"NAME": "vm", "TYPE": "state", "RESOURCE": "VM", "ON": "UNKNOWN",
                  "COMMAND": save + " vm", "ARGUMENTS": "$TEMPLATE",
                  "ARGUMENTS_STDIN": "yes"}},
]
json.dump(data, open(dst, "w"))
EOF
    "$python" "$root/tests/sim/onesim" serve --scenario "$scen" --state-dir "$dir/state" \
        --lifetime 300 \
        > "$dir/onesim.out" 2> "$dir/onesim.err" &
    onesim_pid=$!
    local i
    for i in $(seq 1 200); do
        [ -f "$dir/state/port" ] && break
        kill -0 "$onesim_pid" 2>/dev/null || { cat "$dir/onesim.err"; return 1; }
        sleep 0.05
    done
    [ -f "$dir/state/port" ] || { echo "onesim did not start"; return 1; }

    # fetch: NAME SCHEMA lines on stdout, documents in $dir/docs/NAME.xml
    "$python" - "$dir/state" "$dir/docs" > "$dir/list" <<'EOF' || { cat "$dir/onesim.err"; return 1; }
import json, os, sys, time, urllib.request, xmlrpc.client, base64, glob
state, docs = sys.argv[1:]
port = int(open(os.path.join(state, "port")).read())
base = "http://127.0.0.1:%d" % port
rpc = xmlrpc.client.ServerProxy(base + "/RPC2")
AUTH = "oneadmin:secret"
stage = ["initial"]

def ctl(route, body=None):
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(base + "/control/" + route, data=data,
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=60) as resp:
        return json.loads(resp.read())

def save(name, text, schema):
    path = os.path.join(docs, "%s-%s.xml" % (stage[0], name))
    with open(path, "w") as fh:
        fh.write(text)
    print(path, schema)

def call(method, *args):
    fn = rpc
    for part in method.split("."):
        fn = getattr(fn, part)
    result = fn(AUTH, *args)
    if not result[0]:
        raise SystemExit("%s%r failed: %r" % (method, args, result))
    return result[1]

def fetch_all():
    save("hostpool", call("one.hostpool.info"), "host_pool.xsd")
    for h in ctl("hosts"):
        save("host%d" % h["id"], call("one.host.info", h["id"]), "host.xsd")
    for v in ctl("vms"):
        save("vm%d" % v["id"], call("one.vm.info", v["id"]), "vm.xsd")
    save("vmpool", call("one.vmpool.info", -2, -1, -1, -2), "vm_pool.xsd")
    save("vmpool-page", call("one.vmpool.info", -2, 2, -3, -1), "vm_pool.xsd")
    save("vmpoolx", call("one.vmpool.infoextended", -2, -1, -1, -2), "vm_pool_extended.xsd")
    try:
        save("vmpoolset", call("one.vmpool.infoset", "0,1,2,7,9", True), "vm_pool_extended.xsd")
        save("vmpoolset-short", call("one.vmpool.infoset", "0,9", False), "vm_pool.xsd")
    except xmlrpc.client.Fault:
        pass                                   # before 6.0: no infoset
    save("dspool", call("one.datastorepool.info"), "datastore_pool.xsd")
    save("ds100", call("one.datastore.info", 100), "datastore.xsd")
    save("config", call("one.system.config"), "opennebula_configuration.xsd")

fetch_all()
# locks of every level, a host failure (ERROR + UNKNOWN VMs), recoveries
stage[0] = "failed"
call("one.vm.lock", 0, 1)
call("one.vm.lock", 1, 2)
ctl("fail-host", {"host": "host1", "message": "probe <failed> & more"})
call("one.vm.update", 2, 'NOTE="x ]]> y"', 1)
fetch_all()
stage[0] = "recovered"
call("one.vm.unlock", 0)
call("one.vm.unlock", 1)
call("one.vm.recover", 0, 4)          # delete-recreate
call("one.vm.recover", 1, 3)          # delete
call("one.vm.recover", 6, 2)          # retry the BOOT_FAILURE
call("one.vm.action", "resched", 2)   # UNKNOWN -> PROLOG_MIGRATE_UNKNOWN
ok = ctl("wait-vms", {"ids": [0, 2], "lcm": "RUNNING", "not_host": "host1", "timeout": 20})
if not ok["ok"]:
    raise SystemExit("recovered VMs did not come up: %r" % ok)
ctl("wait-vms", {"ids": [1], "state": "DONE", "timeout": 20})
call("one.vm.migrate", 0, 2, True)      # live, to the DISABLED host3
ctl("wait-vms", {"ids": [0], "lcm": "RUNNING", "timeout": 20})
ctl("restore-host", {"host": "host1"})
fetch_all()
ctl("wait-hooks", {"timeout": 20})
stage[0] = "hook"
for i, path in enumerate(sorted(glob.glob(os.path.join(state, "..", "hooks", "*.b64")))):
    kind = os.path.basename(path).split(".")[0]
    text = base64.b64decode(open(path).read().split()[0]).decode()
    save("%s%d" % (kind, i), text, "host.xsd" if kind == "host" else "vm.xsd")
EOF
    while read -r file schema; do
        validate "$file" "$schema"
    done < "$dir/list"
    kill -TERM "$onesim_pid" 2>/dev/null
    wait "$onesim_pid" 2>/dev/null
    onesim_pid=
    return 0
}

for version in 6.10 7.4 5.12; do
    if ! run_version "$version"; then
        echo "FAIL: could not run onesim for version $version"
        failures=$((failures + 1))
    fi
done

echo "xsd-validate: $checked documents checked, $failures failure(s) (schemas: $xsd_dir)"
[ "$failures" -eq 0 ]
