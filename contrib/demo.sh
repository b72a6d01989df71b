#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# vmheal in one minute: build it, start the bundled OpenNebula simulator
# (onesim) with 3 hosts and a dozen VMs and host_error registered as its
# host hook, fail a host, and watch the hook fence it and bring every VM
# back on the other hosts. With ipmi_sim, ipmitool and fence_ipmilan
# installed, each host sits behind a real IPMI BMC (ipmi_sim) and is fenced
# by the real fence_ipmilan; otherwise by a script, and the demo says so.
# Runs as an ordinary user; everything lives in a temporary directory and
# everything started is stopped at the end. Then one VM fails to boot and
# vm_failure_recreate, registered as its VM hook, brings it back.
set -euo pipefail
srcdir=$(cd "$(dirname "$0")/.." && pwd)
t0=$(date +%s)

packages=(build-essential autoconf automake pkg-config libxml2-dev
	libcurl4-openssl-dev libjansson-dev libconfig-dev libyaml-dev check
	python3 openipmi ipmitool fence-agents)
missing=()
for p in "${packages[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null |
		grep -q 'install ok installed' || missing+=("$p")
done
if ((${#missing[@]})); then
	if [ "$(id -u)" = 0 ]; then
		echo "demo: installing ${missing[*]}"
		DEBIAN_FRONTEND=noninteractive apt-get update -qq
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
			--no-install-recommends "${missing[@]}" >/dev/null
	else
		echo "demo: missing Debian packages; as root run:"
		echo "  apt-get install -y ${missing[*]}"
		exit 1
	fi
fi

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

say "Building vmheal"
build=${VMH_DEMO_BUILD:-$srcdir/_build/demo}
mkdir -p "$build"
[ -x "$srcdir/configure" ] || (cd "$srcdir" && autoreconf -fi >/dev/null 2>&1)
[ -f "$build/Makefile" ] || (cd "$build" && "$srcdir/configure" -q)
make -C "$build" -s -j"$(nproc)" >/dev/null
echo "built in $build"

export top_srcdir=$srcdir top_builddir=$build
. "$srcdir/tests/lib/onesim.sh"
W=$(mktemp -d "${TMPDIR:-/tmp}/vmheal-demo.XXXXXX")
use_ipmi=0
cleanup() {
	onesim_stop
	[ $use_ipmi = 1 ] && "$srcdir/tests/fence/ipmibed.sh" stop "$W/bmc" >/dev/null 2>&1
	rm -rf "$W"
}
trap cleanup EXIT

if command -v ipmi_sim >/dev/null && command -v ipmitool >/dev/null &&
	command -v fence_ipmilan >/dev/null; then
	use_ipmi=1
fi

say "Starting the cloud: onesim (OpenNebula 6.10 XML-RPC on 127.0.0.1)"
hosts=""
if [ $use_ipmi = 1 ]; then
	echo "Fencing: the real fence_ipmilan against a real IPMI BMC (ipmi_sim) per host"
	export IPMIBED_PASSWORD=demo-Bmc-9
	"$srcdir/tests/fence/ipmibed.sh" start "$W/bmc" host1 host2 host3 | sed 's/^/  /'
	for h in host1 host2 host3; do
		port=$("$srcdir/tests/fence/ipmibed.sh" port "$W/bmc" "$h")
		hosts+="${hosts:+,}{\"name\":\"$h\",\"max_cpu\":800,\"max_mem\":16777216,
		  \"power_pidfile\":\"$W/bmc/$h/host.pid\",
		  \"template\":{\"FENCE_IP\":\"127.0.0.1\",\"FENCE_IPPORT\":\"$port\",\"FENCE_USER\":\"admin\"}}"
	done
	(umask 077 && echo "ipmi = \"$IPMIBED_PASSWORD\";" >"$W/secrets.conf")
	fence='{ name = "ipmi"; command = "'"$(command -v fence_ipmilan)"'"; timeout = 30;
	    options = { lanplus = true; cipher = 3; power_wait = 1; power_timeout = 10; };
	    host_options = { ip = "FENCE_IP"; ipport = "FENCE_IPPORT"; username = "FENCE_USER"; };
	    password_secret = "ipmi"; verify_retries = 5; verify_interval = 1; }'
	secrets="secrets_file = \"$W/secrets.conf\";"
else
	echo "Fencing: a script level (ipmi_sim/fence_ipmilan not installed)"
	for h in host1 host2 host3; do
		hosts+="${hosts:+,}{\"name\":\"$h\",\"max_cpu\":800,\"max_mem\":16777216}"
	done
	cat >"$W/fence.sh" <<SH
#!/bin/bash
# fence_host.sh-style: base64 <HOST> on stdin; powers the host off.
host=\$("$PYTHON3" -c 'import base64,re,sys
print(re.search(r"<NAME>(?:<!\[CDATA\[)?([^<\]]*)", base64.b64decode(sys.stdin.read()).decode()).group(1))')
"$PYTHON3" "$ONESIM" ctl --state-dir "\$ONESIM_DIR" fence-host "\$host" >/dev/null
SH
	chmod 700 "$W/fence.sh"
	fence='{ name = "script"; type = "script"; command = "'"$W/fence.sh"'"; timeout = 30; }'
	secrets=""
fi
cat >"$W/scenario.json" <<JSON
{"version":"6.10","users":{"oneadmin":"demo-pw"},
 "timing":{"sched_interval_ms":200,"monitor_interval_ms":200,"prolog_ms":300,"boot_ms":300},
 "hosts":[$hosts],
 "vms":[
  {"count":2,"host":"host1","cpu":1,"memory":1024,"name":"db-{id}","user_template":{"HA_PRIORITY":"100"}},
  {"count":3,"host":"host1","cpu":1,"memory":1024,"name":"web-{id}","user_template":{"HA_PRIORITY":"50"}},
  {"count":1,"host":"host1","cpu":1,"memory":512,"name":"scratch-{id}","user_template":{"HA":"no"}},
  {"count":3,"host":"host2","cpu":1,"memory":1024,"name":"app-{id}"},
  {"count":3,"host":"host3","cpu":1,"memory":1024,"name":"app-{id}"}]}
JSON
onesim_start "$W/scenario.json"
[ $use_ipmi = 0 ] && sed -i "s#\\\$ONESIM_DIR#$ONESIM_DIR#" "$W/fence.sh"
cat >"$W/vmheal.conf" <<CONF
state_dir = "$W/state";
$secrets
fence = { levels = ( $fence ); };
host_error = { verify_interval_ms = 200; verify_timeout = 60; };
CONF
cat >"$W/host_error" <<SH
#!/bin/bash
exec "$build/hooks/host_error" -c "$W/vmheal.conf" --no-syslog "\$@"
SH
chmod 700 "$W/host_error"
# The same template an operator registers with `onehook create`, but for
# the command path (etc/opennebula/host_error.hook).
onesim_ctl register-hook --template "NAME = vmheal_host_error
TYPE = state
RESOURCE = HOST
STATE = ERROR
COMMAND = \"$W/host_error\"
ARGUMENTS = \"\$TEMPLATE -r\"
ARGUMENTS_STDIN = yes" >/dev/null
echo "registered host_error as the ERROR hook of every host (onehook, ARGUMENTS_STDIN)"

show_vms() {
	onesim_ctl vms | jq_py '"\n".join("  %-4s %-10s %-22s %s" % (v["id"], v["name"], v["state"] + "/" + v["lcm"], v["host"]) for v in d)'
}
say "Before: 12 VMs, 6 of them on host1"
show_vms

say "host1 stops answering the controller: oned puts it in ERROR, its VMs in UNKNOWN"
onesim_ctl fail-host host1 --mode partition >/dev/null
echo "the hook fires: host_error fences host1, then recovers its VMs by priority..."
onesim_ctl wait-hooks --timeout 120 >/dev/null
log=$(onesim_ctl hooks-log)
echo "$log" | jq_py 'd["runs"][0]["stderr"]' | sed 's/^/  /'
say "host_error's report (exit $(echo "$log" | jq_py 'd["runs"][0]["exit_code"]'))"
echo "$log" | jq_py 'd["runs"][0]["stdout"]' | sed 's/^/  /'

say "After"
show_vms
if [ $use_ipmi = 1 ]; then
	if "$srcdir/tests/fence/ipmibed.sh" alive "$W/bmc" host1; then
		echo "host1's process is STILL RUNNING: fencing did not work"
	else
		echo "host1 is powered off: its BMC killed the process that stood for it"
	fi
fi
safety=$(onesim_ctl safety | jq_py '"no VM ever ran in two places" if not d["duplicates"] and not d["current_duplicates"] else "DUPLICATES: %s" % d["duplicates"]')
echo "$safety"
"$build/hooks/host_error" -c "$W/vmheal.conf" --status | sed 's/^/  /' | head -3

say "A single VM fails: VM 6 on host2 cannot boot (ACTIVE/BOOT_FAILURE)"
cat >"$W/vm_failure_recreate" <<SH
#!/bin/bash
exec "$build/hooks/vm_failure_recreate" -c "$W/vmheal.conf" --no-syslog "\$@"
SH
chmod 700 "$W/vm_failure_recreate"
# The shipped onehook template for BOOT_FAILURE, with the command path set.
sed "s#^COMMAND .*#COMMAND = \"$W/vm_failure_recreate\"#" \
	"$srcdir/etc/opennebula/vm_failure_recreate/boot-failure.hook" \
	>"$W/boot-failure.hook"
onesim_ctl register-hook --template-file "$W/boot-failure.hook" >/dev/null
onesim_ctl crash-vm 6 --lcm-state BOOT_FAILURE >/dev/null
echo "the VM hook fires: vm_failure_recreate retries the boot, within flap limits..."
onesim_ctl wait-hooks --timeout 60 >/dev/null
onesim_ctl hooks-log | jq_py 'd["runs"][-1]["stdout"]' | sed 's/^/  /'
onesim_ctl vm 6 | jq_py '"VM 6 is %s/%s on %s again" % (d["state"], d["lcm"], d["host"])'
echo
echo "demo finished in $(($(date +%s) - t0)) s"
