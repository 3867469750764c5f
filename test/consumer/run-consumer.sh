#!/usr/bin/env bash
# run-consumer.sh DTLSPP_SOURCE_ROOT: build and run test/consumer/app, a separate meson project
# that gets dtlspp as a subproject through dependency('dtlspp').
#
# In a temporary directory: a copy of the consumer, with subprojects/dtlspp a symlink to this
# checkout (what a git submodule or an unpacked wrap gives a real project). Checks that meson
# took dtlspp from the subproject, that dtlspp's tests and tools are off there, that the consumer
# builds without warnings, runs, and passes its own meson test.
set -euo pipefail

src=$(cd "${1:?usage: run-consumer.sh DTLSPP_SOURCE_ROOT}" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

cp -r "$src/test/consumer/app" "$work/app"
mkdir -p "$work/app/subprojects"
ln -s "$src" "$work/app/subprojects/dtlspp"

# --force-fallback-for: use the subproject even where a dtlspp is installed (pkg-config).
# nodownload: the build here is offline; dtlspp's own fmt and OpenSSL come from the system.
meson setup "$work/build" "$work/app" --wrap-mode=nodownload --force-fallback-for=dtlspp \
  >"$work/setup.log" 2>&1 || { cat "$work/setup.log"; echo "FAIL: meson setup"; exit 1; }
grep -E "Executing subproject dtlspp|Dependency dtlspp|dtlspp\| (Run-time|Build targets)" \
  "$work/setup.log"

grep -q "Executing subproject dtlspp" "$work/setup.log" ||
  { cat "$work/setup.log"; echo "FAIL: dtlspp did not come from the subproject"; exit 1; }
grep -Eq "Dependency dtlspp found: YES .*\(overridden\)" "$work/setup.log" ||
  { cat "$work/setup.log"; echo "FAIL: dependency('dtlspp') was not resolved"; exit 1; }

# Only the library (and the consumer) are built: no dtlscat, demo or test binaries of dtlspp.
targets=$(meson introspect --targets "$work/build" |
  python3 -c 'import json,sys; print("\n".join(sorted(t["name"] for t in json.load(sys.stdin))))')
echo "targets: $(tr '\n' ' ' <<<"$targets")"
for name in dtlscat demo in_memory dtlspp_tests public_api_test; do
  if grep -qx "$name" <<<"$targets"; then
    echo "FAIL: dtlspp built its $name target as a subproject (tests/examples must be off)"
    exit 1
  fi
done
grep -qx dtlspp <<<"$targets" || { echo "FAIL: no dtlspp library target"; exit 1; }
grep -qx consumer <<<"$targets" || { echo "FAIL: no consumer target"; exit 1; }

ninja -C "$work/build" -j1 >"$work/build.log" 2>&1 ||
  { cat "$work/build.log"; echo "FAIL: the consumer does not build"; exit 1; }
if grep -n "consumer.cpp.*warning:" "$work/build.log"; then
  echo "FAIL: the consumer compiles with warnings against dtlspp's headers"
  exit 1
fi

"$work/build/consumer"
meson test -C "$work/build" --no-rebuild --print-errorlogs >/dev/null ||
  { cat "$work/build/meson-logs/testlog.txt"; echo "FAIL: the consumer's meson test"; exit 1; }
echo "ok: dtlspp as a meson subproject through dependency('dtlspp')"
