#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# Register vmheal's vm_failure_recreate with OpenNebula 5.10 and later: one
# onehook per failure LCM state (BOOT_FAILURE, PROLOG_FAILURE, ...) and one
# for UNKNOWN, from the templates in vm_failure_recreate/ next to this
# script. OpenNebula 4.x - 5.8 use oned.conf VM_HOOK blocks instead: see
# vm_failure_recreate/oned.conf.vm_hooks.
#
# Usage: register-vm-hooks.sh [OPTION]...
#   --argv          OpenNebula 5.10 - 5.12: pass the VM on argv (these
#                   versions have no ARGUMENTS_STDIN)
#   --command=PATH  vm_failure_recreate to run (default
#                   /usr/sbin/vm_failure_recreate)
#   --dir=DIR       the templates (default: vm_failure_recreate/ here)
#   --replace       delete a hook of the same name first (default: keep it)
#   -n, --dry-run   print the templates, register nothing
#   -h, --help
# Environment: ONEHOOK, the onehook command (default onehook); ONE_XMLRPC
# and ONE_AUTH as for every OpenNebula command.
# Exit status: 0 all registered (or already there), 1 some failed, 64 usage.
set -u

dir=$(dirname "$0")/vm_failure_recreate
command=/usr/sbin/vm_failure_recreate
argv=0
replace=0
dry=0
onehook=${ONEHOOK:-onehook}

usage() {
	sed -n '/^# Usage:/,/^# Exit status/s/^# \{0,1\}//p' "$0"
}

while [ $# -gt 0 ]; do
	case $1 in
	--argv) argv=1 ;;
	--command=*) command=${1#--command=} ;;
	--command) shift; command=${1:-} ;;
	--dir=*) dir=${1#--dir=} ;;
	--dir) shift; dir=${1:-} ;;
	--replace) replace=1 ;;
	-n | --dry-run) dry=1 ;;
	-h | --help) usage; exit 0 ;;
	*) echo "register-vm-hooks.sh: unknown option '$1'" >&2
	   usage >&2
	   exit 64 ;;
	esac
	shift
done
case $command in
*'"'* | *'#'* | '') echo "register-vm-hooks.sh: bad --command" >&2; exit 64 ;;
esac
[ -d "$dir" ] || { echo "register-vm-hooks.sh: no directory $dir" >&2; exit 64; }

tmp=$(mktemp "${TMPDIR:-/tmp}/vmheal-hook.XXXXXX") || exit 1
trap 'rm -f "$tmp"' EXIT
failed=0
for f in "$dir"/*.hook; do
	[ -f "$f" ] || continue
	name=$(sed -n 's/^NAME *= *"\{0,1\}\([^"]*\)"\{0,1\} *$/\1/p' "$f")
	# The template with this installation's command, and without
	# ARGUMENTS_STDIN for 5.10 - 5.12.
	sed -e "s#^COMMAND *=.*#COMMAND         = \"$command\"#" "$f" |
		if [ "$argv" = 1 ]; then grep -v '^ARGUMENTS_STDIN'; else cat; fi \
		>"$tmp"
	if [ "$dry" = 1 ]; then
		echo "# $f"
		grep -v '^#' "$tmp"
		echo
		continue
	fi
	if "$onehook" show "$name" >/dev/null 2>&1; then
		if [ "$replace" = 0 ]; then
			echo "$name: already registered (--replace to replace it)"
			continue
		fi
		"$onehook" delete "$name" >/dev/null || {
			echo "$name: cannot delete the old hook" >&2
			failed=1
			continue
		}
	fi
	if "$onehook" create "$tmp" >/dev/null; then
		echo "$name: registered"
	else
		echo "$name: onehook create failed" >&2
		failed=1
	fi
done
exit $failed
