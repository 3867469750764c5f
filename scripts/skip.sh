#!/bin/sh
# skip.sh REASON...: a meson test that reports itself skipped (exit 77), with its reason as the
# last line it prints. It stands in for tests that cannot be built here, so that a missing
# dependency shows up as a skip in ./run test's closing line instead of a test silently absent.
echo "SKIP: $*"
exit 77
