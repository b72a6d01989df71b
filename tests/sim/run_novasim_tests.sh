#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# The novasim unit tests (Python standard library unittest). Skipped (77)
# only when no python3 is available.
srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
py=${PYTHON3:-$(command -v python3 || true)}
if [ -z "$py" ] || ! "$py" -c 'import sys; sys.exit(sys.version_info < (3, 7))' 2>/dev/null; then
	echo "SKIP: novasim tests need python3 >= 3.7"
	exit 77
fi
cd "$srcdir/tests/sim" || exit 99
# No bytecode in the source tree (distcheck keeps it read-only).
PYTHONDONTWRITEBYTECODE=1 exec "$py" -m unittest -v test_novasim 2>&1
