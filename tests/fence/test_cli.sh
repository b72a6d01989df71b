#!/bin/bash
# shellcheck disable=SC2015 # "ok" never fails, so A && ok || ko is safe
# SPDX-License-Identifier: GPL-2.0-or-later
# vmheal_fence's command line: usage errors, configuration errors, where the
# host comes from (--host/--attr, --host-xml plain or base64), and the
# dry run. Fast: nothing is fenced (the agent is a stub that records runs).
set -u

here=$(cd "$(dirname "$0")" && pwd)
srcdir=${top_srcdir:-$(cd "$here/../.." && pwd)}
builddir=${top_builddir:-$srcdir}
prog=$builddir/hooks/vmheal_fence
command -v python3 >/dev/null 2>&1 || { echo "SKIP: python3 missing"; exit 77; }
[ -x "$prog" ] || { echo "FAIL: $prog not built"; exit 1; }

tmp=$(mktemp -d "${TMPDIR:-/tmp}/vmheal-fcli.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
mkdir -m 700 "$tmp/state"
install -m 755 "$srcdir/tests/fence/stub_agent.sh" "$tmp/agent"
(umask 077 && echo 'bmc = "Cli-Secret-9";' >"$tmp/secrets.conf")
cat >"$tmp/vmheal.conf" <<EOF
state_dir = "$tmp";
secrets_file = "$tmp/secrets.conf";
fence = { levels = ( { name = "stub"; command = "$tmp/agent"; timeout = 5;
    options = { state = "$tmp/state"; };
    host_options = { ip = "FENCE_IP"; };
    host_options_optional = { ipport = "FENCE_IPPORT"; };
    password_secret = "bmc"; verify_interval = 0; } ); };
EOF
echo 'state_dir = "/tmp";' >"$tmp/nofence.conf"
cat >"$tmp/host.xml" <<'EOF'
<HOST><ID>12</ID><NAME>hx</NAME><STATE>3</STATE>
<TEMPLATE><FENCE_IP><![CDATA[192.0.2.12]]></FENCE_IP>
<FENCE_IPPORT>623</FENCE_IPPORT><PCI><ADDRESS>x</ADDRESS></PCI></TEMPLATE>
</HOST>
EOF
base64 -w0 "$tmp/host.xml" >"$tmp/host.b64"

pass=0 fail=0
# run NAME EXPECTED-RC [args...] [<stdin]: stdout/stderr in $tmp/NAME.*
run() {
	local name=$1 want=$2 rc
	shift 2
	"$prog" --no-syslog "$@" >"$tmp/$name.out" 2>"$tmp/$name.err"
	rc=$?
	if [ "$rc" = "$want" ]; then
		return 0
	fi
	echo "FAIL: $name: exit $rc, want $want"
	sed 's/^/    /' "$tmp/$name.err" "$tmp/$name.out"
	return 1
}
ok() { echo "PASS: $1"; pass=$((pass + 1)); }
ko() { echo "FAIL: $1${2:+: $2}"; fail=$((fail + 1)); }
has() { grep -q -e "$2" "$tmp/$1"; }
json() {
	python3 -c 'import json, sys
r = json.load(open(sys.argv[1]))
print(eval(sys.argv[2]))' "$tmp/$1.out" "$2"
}
C=(-c "$tmp/vmheal.conf")

run help 0 --help && has help.out 'Usage: vmheal_fence' &&
	has help.out 'Exit status' && ok help || ko help
run version 0 --version && has version.out '^vmheal_fence (vmheal)' &&
	ok version || ko version
run no-host 64 "${C[@]}" && has no-host.err 'is required' &&
	ok no-host || ko no-host
run bad-action 64 "${C[@]}" --host a --action reboot &&
	has bad-action.err "'reboot' is not off, status or on" &&
	ok bad-action || ko bad-action
run bad-id 64 "${C[@]}" --host a --id x && ok bad-id || ko bad-id
run bad-attr 64 "${C[@]}" --host a --attr FENCE_IP && has bad-attr.err \
	'KEY=VALUE expected' && ok bad-attr || ko bad-attr
run extra-arg 64 "${C[@]}" --host a extra && ok extra-arg || ko extra-arg
run check-config 0 "${C[@]}" -n && has check-config.out 'configuration OK' &&
	ok check-config || ko check-config
run no-fence 78 -c "$tmp/nofence.conf" --host a &&
	has no-fence.err 'no fence section' && ok no-fence || ko no-fence
run bad-xml 65 "${C[@]}" --host-xml - <<<'<VM><ID>1</ID></VM>' &&
	has bad-xml.err 'not a <HOST> XML document' && ok bad-xml || ko bad-xml
run bad-b64 65 "${C[@]}" --host-xml - <<<'not base64 !' &&
	ok bad-b64 || ko bad-b64
run missing-xml 71 "${C[@]}" --host-xml "$tmp/none.xml" &&
	has missing-xml.err 'cannot read' && ok missing-xml || ko missing-xml

# Host from XML: name, ID and TEMPLATE attributes (vectors skipped).
run xml-dry 0 "${C[@]}" --dry-run --json --host-xml "$tmp/host.xml" &&
	[ "$(json xml-dry 'r["host"], r["host_id"]')" = "('hx', 12)" ] &&
	[ "$(json xml-dry '[l for l in r["steps"][0]["stdin"]]')" = \
		"['action=off', 'nodename=hx', 'state=$tmp/state', 'ip=192.0.2.12', 'ipport=623', 'password=****']" ] &&
	ok xml-dry || ko xml-dry
# Base64 on stdin; --attr wins over the template; --host over NAME.
run b64-dry 0 "${C[@]}" --dry-run --host-xml - --attr fence_ipport=9 \
	--host other <"$tmp/host.b64" &&
	has b64-dry.out '^host other: dry run of off: level stub would run' &&
	has b64-dry.out '^        ipport=9$' && has b64-dry.out 'password=\*\*\*\*' &&
	ok b64-dry || ko b64-dry
# A dry run runs nothing and shows no secret.
if [ ! -e "$tmp/state/calls.log" ] &&
	! grep -q Cli-Secret-9 "$tmp"/*.out "$tmp"/*.err; then
	ok dry-runs-nothing
else
	ko dry-runs-nothing
fi
# Without the required attribute the level cannot run: 80.
run dry-no-attr 80 "${C[@]}" --dry-run --host a &&
	has dry-no-attr.out 'host a has no attribute FENCE_IP' &&
	ok dry-no-attr || ko dry-no-attr
# For real, through the stub: fenced (0), then status OFF, then on.
run fence 0 "${C[@]}" --host a --attr FENCE_IP=192.0.2.1 &&
	has fence.out '^host a: FENCED (verified OFF) by level stub' &&
	ok fence || ko fence
run status 0 "${C[@]}" --host a --attr FENCE_IP=192.0.2.1 --action status \
	--json && [ "$(json status 'r["power"]')" = off ] && ok status ||
	ko status
run power-on 0 "${C[@]}" --host a --attr FENCE_IP=192.0.2.1 --action on &&
	has power-on.out 'powered on by level stub' && ok power-on ||
	ko power-on
[ "$(cat "$tmp/state/calls.log")" = "$(printf 'stub off\nstub status\nstub status\nstub on')" ] &&
	ok calls || ko calls "$(cat "$tmp/state/calls.log")"
grep -q Cli-Secret-9 "$tmp"/*.out "$tmp"/*.err &&
	ko no-secret-in-output || ok no-secret-in-output
echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
