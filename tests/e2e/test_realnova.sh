#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# End-to-end: host_error against a real Nova (contrib/realnova/up.sh must
# have started it; contrib/realnova/e2e.sh does all of it).
#
#   1. boot N servers on cmp1 and one on cmp2 (the control)
#   2. SIGKILL cmp1's nova-compute: the host "crashes"
#   3. host_error --host cmp1: fence (the fence agent kills the process
#      and proves it gone), force-down + disable, evacuate, verify
#   4. assert: exit 0, every server ACTIVE on another host with exactly
#      one evacuate instance action and one evacuation migration; the
#      control server untouched
#   5. host_error again: nothing more is evacuated (exactly once)
#   6. host_error --restore refuses while cmp1's compute is down; after
#      it is started again, cmp1 comes back up and enabled
#
# Environment: RN_DIR (the cloud), VMH_BUILD (build tree with
# hooks/host_error), VMH_E2E_SERVERS (default 5). Prints timings as
# "e2e: name=seconds" lines and ends with "N passed, M failed".
set -uo pipefail

here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/../.." && pwd)
rn=$src/contrib/realnova
RN_DIR=${RN_DIR:-/tmp/vmheal-realnova}
build=${VMH_BUILD:?VMH_BUILD must name the build tree}
n=${VMH_E2E_SERVERS:-5}
host_error=$build/hooks/host_error
vm_failure_recreate=$build/hooks/vm_failure_recreate
pass=0 fail=0
work=$(mktemp -d "${TMPDIR:-/tmp}/vmheal-e2e.XXXXXX")
trap '[ "${VMH_E2E_KEEP:-0}" = 1 ] && echo "e2e: kept $work" || rm -rf "$work"' EXIT

[ -x "$host_error" ] || { echo "test_realnova: $host_error not built"; exit 1; }
[ -f "$RN_DIR/openrc" ] || { echo "test_realnova: no cloud at $RN_DIR (run up.sh)"; exit 1; }
set -a
# shellcheck disable=SC1091
. "$RN_DIR/openrc"
set +a
api() { /usr/bin/python3 "$rn/rnapi.py" "$@"; }
now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }'; }
ok() { echo "ok - $*"; pass=$((pass + 1)); }
bad() { echo "FAIL - $*"; fail=$((fail + 1)); }
check() { # description command...
	local what=$1
	shift
	if "$@" >"$work/out" 2>&1; then ok "$what"; else bad "$what"; sed 's/^/  | /' "$work/out" | tail -n 30; fi
}

cat >"$work/vmheal.conf" <<EOF
cloud = "openstack";
state_dir = "$work/state";
openstack = { timeout = 60; enable_wait = 60; };
fence = {
  levels = (
    { name = "kill-compute"; type = "agent";
      command = "$rn/fence_agent.sh";
      options = { rn_dir = "$RN_DIR"; };
      timeout = 60; verify_retries = 10; verify_interval = 1; }
  );
};
host_error = {
  default_action = "recreate";
  disable_host = "offline";
  concurrency = 8;
  verify_timeout = 600;
  verify_interval_ms = 500;
};
EOF
chmod 600 "$work/vmheal.conf"
mkdir -m 700 "$work/state"

t=$(now)
if ! api boot "$n" cmp1 e2e >"$work/ids" 2>"$work/boot.err"; then
	cat "$work/boot.err"
	echo "0 passed, 1 failed"
	exit 1
fi
ids=$(cat "$work/ids")
ctrl=$(api boot 1 cmp2 e2e-ctl 2>"$work/boot.err") || { cat "$work/boot.err"; echo "0 passed, 1 failed"; exit 1; }
echo "e2e: boot_$((n + 1))_servers_s=$(since "$t")"

"$rn/compute.sh" kill cmp1
t=$(now)
"$host_error" -c "$work/vmheal.conf" --host cmp1 --no-syslog -v --json \
	>"$work/report.json" 2>"$work/host_error.log"
rc=$?
echo "e2e: host_error_s=$(since "$t") exit=$rc"
if [ "$rc" = 0 ]; then
	ok "host_error exits 0"
else
	bad "host_error exits $rc"
	tail -n 40 "$work/host_error.log"
	/usr/bin/python3 -c 'import json, sys
for v in json.load(open(sys.argv[1])).get("vms", []):
    print("  | %s %s %s" % (v.get("id"), v.get("outcome"), v.get("detail")))' "$work/report.json" || cat "$work/report.json"
fi
# shellcheck disable=SC2086
check "every server ACTIVE elsewhere, evacuated exactly once" api verify-evacuated cmp1 $ids
cp "$work/out" "$work/verify1"
check "the control server on cmp2 was not touched" \
	bash -c "api() { /usr/bin/python3 '$rn/rnapi.py' \"\$@\"; }; api ids-on cmp2 | grep -qx '$ctrl'"
grep -q '"service_disabled\|forced down' "$work/host_error.log" || true
check "cmp1 is forced down and disabled" \
	bash -c "/usr/bin/python3 '$rn/rnapi.py' service cmp1 | grep -q '\"forced_down\": true' &&
	         /usr/bin/python3 '$rn/rnapi.py' service cmp1 | grep -q '\"status\": \"disabled\"'"

# A second run (a hook fired twice, an operator retrying) moves nothing.
"$host_error" -c "$work/vmheal.conf" --host cmp1 --no-syslog >"$work/again.out" 2>&1
rc=$?
if [ "$rc" = 0 ]; then ok "host_error again exits 0"; else bad "host_error again exits $rc"; cat "$work/again.out"; fi
# shellcheck disable=SC2086
check "still exactly one evacuation each after the second run" api verify-evacuated cmp1 $ids

# Bringing cmp1 back: refused while its compute is down, done once it is up.
"$host_error" -c "$work/vmheal.conf" --restore --host cmp1 --no-syslog >"$work/restore0.out" 2>&1
rc=$?
if [ "$rc" != 0 ]; then ok "--restore refused while cmp1 is down (exit $rc)"; else bad "--restore accepted a dead compute"; fi
t=$(now)
"$rn/compute.sh" start cmp1 >/dev/null
rc=1
for _ in $(seq 1 60); do
	if "$host_error" -c "$work/vmheal.conf" --restore --host cmp1 --no-syslog >"$work/restore.out" 2>&1; then
		rc=0
		break
	fi
	sleep 2
done
echo "e2e: restore_s=$(since "$t")"
if [ "$rc" = 0 ]; then ok "--restore brings cmp1 back"; else bad "--restore failed"; cat "$work/restore.out"; fi
check "cmp1 is up and enabled" \
	bash -c "s=\$(/usr/bin/python3 '$rn/rnapi.py' service cmp1); echo \"\$s\";
	         echo \"\$s\" | grep -q '\"state\": \"up\"' && echo \"\$s\" | grep -q '\"status\": \"enabled\"' &&
	         echo \"\$s\" | grep -q '\"forced_down\": false'"

# vm_failure_recreate on the real Nova: a server in ERROR on a healthy
# compute is hard-rebooted back to ACTIVE; one a user stopped is left alone.
server_field() { # id field
	api nova GET "/servers/$1" | /usr/bin/python3 -c 'import json, sys
print(json.load(sys.stdin)["server"].get(sys.argv[1]))' "$2"
}
wait_field() { # id field value
	local _
	for _ in $(seq 1 120); do
		[ "$(server_field "$1" "$2")" = "$3" ] && return 0
		sleep 0.5
	done
	return 1
}
api nova POST "/servers/$ctrl/action" '{"os-resetState": {"state": "error"}}' >/dev/null
t=$(now)
"$vm_failure_recreate" -c "$work/vmheal.conf" --vm "$ctrl" --no-syslog -v \
	>"$work/vmfail.out" 2>"$work/vmfail.log"
rc=$?
echo "e2e: vm_failure_recreate_s=$(since "$t") exit=$rc"
if [ "$rc" = 0 ] && wait_field "$ctrl" status ACTIVE; then
	ok "vm_failure_recreate: ERROR server hard-rebooted to ACTIVE"
else
	bad "vm_failure_recreate: ERROR server not healed (exit $rc, $(server_field "$ctrl" status))"
	cat "$work/vmfail.out" "$work/vmfail.log"
fi
check "vm_failure_recreate: exactly one reboot, no rebuild" \
	bash -c "api() { /usr/bin/python3 '$rn/rnapi.py' \"\$@\"; }
	         api nova GET /servers/$ctrl/os-instance-actions | /usr/bin/python3 -c 'import json, sys
a = [x[\"action\"] for x in json.load(sys.stdin)[\"instanceActions\"]]
print(a)
sys.exit(0 if a.count(\"reboot\") == 1 and \"rebuild\" not in a else 1)'"
api nova POST "/servers/$ctrl/action" '{"os-stop": null}' >/dev/null
if wait_field "$ctrl" status SHUTOFF; then
	"$vm_failure_recreate" -c "$work/vmheal.conf" --vm "$ctrl" --no-syslog \
		>"$work/vmfail2.out" 2>"$work/vmfail2.log"
	rc=$?
	if [ "$rc" = 0 ] && grep -q "stop by user" "$work/vmfail2.log" &&
		[ "$(server_field "$ctrl" status)" = SHUTOFF ]; then
		ok "vm_failure_recreate: a server a user stopped is left alone"
	else
		bad "vm_failure_recreate: user-stopped server (exit $rc, $(server_field "$ctrl" status))"
		cat "$work/vmfail2.out" "$work/vmfail2.log"
	fi
else
	bad "os-stop: $ctrl did not stop"
fi

t=$(now)
# shellcheck disable=SC2086
api delete $ids $ctrl || bad "cleanup: delete servers"
echo "e2e: delete_s=$(since "$t")"
echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
