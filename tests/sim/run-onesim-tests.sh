#!/usr/bin/env bash
# automake TESTS wrapper for onesim's own unit tests (test_onesim.py).
# Exit 0 pass, 77 skip (no python3), anything else fail.  Runs from any
# build directory: the tests are found via $srcdir or this script's location.
set -u
script_dir=$(cd "$(dirname "$0")" && pwd)
if [ -n "${srcdir:-}" ] && [ -f "$srcdir/tests/sim/test_onesim.py" ]; then
    sim_dir=$(cd "$srcdir/tests/sim" && pwd)
else
    sim_dir=$script_dir
fi
python=${PYTHON:-python3}
if ! command -v "$python" >/dev/null 2>&1; then
    echo "SKIP: $python not found"
    exit 77
fi
# onesim and its tests need Python 3.7+ (ThreadingHTTPServer)
if ! "$python" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 7) else 1)'; then
    echo "SKIP: $python is older than 3.7"
    exit 77
fi
# the test classes run in 3 processes: most of their time is spent waiting
exec "$python" "$sim_dir/test_onesim.py" ${ONESIM_TEST_ARGS:--j 3}
