#!/usr/bin/env bash
# run-install.sh BUILD_DIR SOURCE_DIR pkg-config|cmake: `meson install` this build into a
# temporary DESTDIR, then build a program against what was installed and run it.
#
#   pkg-config  checks the installed files (public headers, detail/handle.hpp, fmt.hpp, the I/O
#               layer's headers, both libraries, dtlspp.pc, dtlspp_io.pc, the CMake package,
#               dtlscat), that every installed header compiles on its own, and both .pc files'
#               fields; then builds test/consumer/app/consumer.cpp with a plain
#               `g++ ... $(pkg-config --cflags --libs dtlspp fmt)` and runs it, and the README's
#               UDP client and server with `$(pkg-config --cflags --libs dtlspp_io)`, which
#               echo over loopback with identities made by the installed dtlscat.
#   cmake       builds test/install/cmake (find_package(dtlspp COMPONENTS io), dtlspp::dtlspp
#               and dtlspp::io) with cmake, runs both programs, and checks the version rules of
#               dtlsppConfigVersion.cmake.
#
# Nothing is installed outside the temporary directory. A DESTDIR install is one whose prefix
# is not where the files end up, so this also proves that the CMake package is relocatable and
# that dtlspp.pc works through PKG_CONFIG_SYSROOT_DIR.
set -euo pipefail

build=$(cd "${1:?usage: run-install.sh BUILD_DIR SOURCE_DIR pkg-config|cmake}" && pwd)
src=$(cd "${2:?}" && pwd)
mode=${3:?}

fail() {
  echo "FAIL: $*"
  exit 1
}

work=$(mktemp -d)
server_pid=""
trap '[ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null; rm -rf "$work"' EXIT
destdir="$work/root"

meson install -C "$build" --no-rebuild --quiet --destdir "$destdir" >"$work/install.log" 2>&1 ||
  { cat "$work/install.log"; fail "meson install"; }

option() {
  meson introspect --buildoptions "$build" |
    python3 -c 'import json,sys; print(next(o["value"] for o in json.load(sys.stdin) if o["name"] == sys.argv[1]))' "$1"
}
prefix=$(option prefix)
libdir=$(option libdir)
includedir=$(option includedir)
version=$(meson introspect --projectinfo "$build" |
  python3 -c 'import json,sys; print(json.load(sys.stdin)["version"])')
case $libdir in /*) ;; *) libdir="$prefix/$libdir" ;; esac
case $includedir in /*) ;; *) includedir="$prefix/$includedir" ;; esac
root_lib="$destdir$libdir"
root_include="$destdir$includedir"
echo "installed dtlspp $version under $destdir (prefix $prefix)"
bindir=$(option bindir)
case $bindir in /*) ;; *) bindir="$prefix/$bindir" ;; esac
root_bin="$destdir$bindir"

# udp_echo SERVER CLIENT: the README's udp_server and udp_client, built against the install,
# echo one line over loopback, with identities made by the installed dtlscat.
udp_echo() {
  local dir="$work/udp" port out
  mkdir -p "$dir"
  LD_LIBRARY_PATH="$root_lib" "$root_bin/dtlscat" --generate-identity "$dir/s.pem" "$dir/s.key" >"$dir/s.fp" ||
    fail "the installed dtlscat --generate-identity"
  LD_LIBRARY_PATH="$root_lib" "$root_bin/dtlscat" --generate-identity "$dir/c.pem" "$dir/c.key" >"$dir/c.fp" ||
    fail "the installed dtlscat --generate-identity"
  "$1" 0 "$dir/s.pem" "$dir/s.key" "$(cat "$dir/c.fp")" >"$dir/server.out" 2>&1 &
  local server=$!
  server_pid=$server
  for _ in $(seq 50); do
    port=$(sed -n 's/^listening on \[::\]:\([0-9]*\)$/\1/p' "$dir/server.out" 2>/dev/null || true)
    [ -n "$port" ] && break
    sleep 0.1
  done
  [ -n "$port" ] || { kill "$server"; cat "$dir/server.out"; fail "udp_server did not listen"; }
  out=$(timeout 20 "$2" 127.0.0.1 "$port" "$dir/c.pem" "$dir/c.key" "$(cat "$dir/s.fp")" 2>&1) ||
    { kill "$server"; echo "$out"; cat "$dir/server.out"; fail "udp_client failed"; }
  kill -TERM "$server"
  wait "$server" || fail "udp_server exited $? on SIGTERM"
  server_pid=""
  [ "$out" = "echo: hello from udp_client" ] || fail "udp_client printed '$out'"
  echo "ok: the installed dtlspp_io's client and server echo: $out"
}

case $mode in
pkg-config)
  # The files a user gets.
  for h in certificate context demux dtlspp error fingerprint fmt identity listener session \
    srtp verifier detail/handle; do
    [ -f "$root_include/dtlspp/$h.hpp" ] || fail "include/dtlspp/$h.hpp is not installed"
  done
  for h in client files loop server trace udp; do
    [ -f "$root_include/dtlspp/io/$h.hpp" ] || fail "include/dtlspp/io/$h.hpp is not installed"
  done
  (cd "$src/include" && find dtlspp -name '*.hpp' | sort) >"$work/want"
  (cd "$root_include" && find dtlspp -name '*.hpp' | sort) >"$work/got"
  diff -u "$work/want" "$work/got" || fail "installed headers differ from include/"
  ls "$root_lib"/libdtlspp.so* >/dev/null 2>&1 || ls "$root_lib"/libdtlspp.a >/dev/null 2>&1 ||
    fail "no libdtlspp in $root_lib"
  ls "$root_lib"/libdtlspp_io.so* >/dev/null 2>&1 ||
    ls "$root_lib"/libdtlspp_io.a >/dev/null 2>&1 || fail "no libdtlspp_io in $root_lib"
  [ -f "$root_lib/pkgconfig/dtlspp_io.pc" ] || fail "no $libdir/pkgconfig/dtlspp_io.pc"
  [ -x "$root_bin/dtlscat" ] || fail "dtlscat is not installed in $bindir"
  [ -f "$root_lib/pkgconfig/dtlspp.pc" ] || fail "no $libdir/pkgconfig/dtlspp.pc"
  [ -f "$root_lib/cmake/dtlspp/dtlsppConfig.cmake" ] || fail "no dtlsppConfig.cmake"
  [ -f "$root_lib/cmake/dtlspp/dtlsppConfigVersion.cmake" ] || fail "no dtlsppConfigVersion.cmake"
  echo "files: $(cd "$destdir" && find . -type f -o -type l | sort | tr '\n' ' ')"

  # Every installed header compiles on its own, from the installed tree only (fmt.hpp needs fmt,
  # which its users bring).
  while read -r h; do
    echo "#include <$h>" | g++ -std=c++20 -Wall -Wextra -Wpedantic -Werror -fsyntax-only \
      -I"$root_include" -x c++ - 2>"$work/header.log" ||
      { cat "$work/header.log"; fail "the installed <$h> does not compile on its own"; }
  done <"$work/got"
  echo "ok: each of $(wc -l <"$work/got") installed headers compiles on its own"

  export PKG_CONFIG_PATH="$root_lib/pkgconfig"
  export PKG_CONFIG_SYSROOT_DIR="$destdir"
  pc() { pkg-config "$@" dtlspp; }
  echo "dtlspp.pc:"
  sed 's/^/  /' "$root_lib/pkgconfig/dtlspp.pc"
  [ "$(pc --modversion)" = "$version" ] || fail "pkg-config --modversion: $(pc --modversion)"
  cflags=$(pc --cflags)
  libs=$(pc --libs)
  echo "pkg-config --cflags dtlspp: $cflags"
  echo "pkg-config --libs dtlspp: $libs"
  grep -q -- "-I$root_include" <<<"$cflags" || fail "--cflags lacks -I$root_include"
  grep -q -- "-L$root_lib" <<<"$libs" || fail "--libs lacks -L$root_lib"
  grep -q -- "-ldtlspp" <<<"$libs" || fail "--libs lacks -ldtlspp"
  grep -q -- "-lssl" <<<"$libs" || fail "--libs lacks OpenSSL (Requires: openssl)"
  grep -q -- "-lfmt" <<<"$libs" && fail "--libs links fmt, a private dependency of a shared dtlspp"
  grep -q '^openssl' <<<"$(pc --print-requires)" || fail "Requires lacks openssl"
  grep -q '^fmt' <<<"$(pc --print-requires-private)" || fail "Requires.private lacks fmt"
  grep -q -- "-lfmt" <<<"$(pc --static --libs)" || fail "--static --libs lacks -lfmt"
  pkg-config --exists 'dtlspp >= 0.1' || fail "pkg-config --exists 'dtlspp >= 0.1'"

  # The consumer, as a user would build it: one g++ line.
  # shellcheck disable=SC2046
  g++ -std=c++20 -Wall -Wextra -Werror -o "$work/installed_consumer" \
    -DCONSUMER_WITH_FMT "$src/test/consumer/app/consumer.cpp" \
    $(pkg-config --cflags --libs dtlspp fmt) ||
    fail "g++ with pkg-config --cflags --libs dtlspp fmt"
  export LD_LIBRARY_PATH="$root_lib"
  loads=$(ldd "$work/installed_consumer")
  grep -q "libdtlspp.so.* => $root_lib/" <<<"$loads" ||
    { echo "$loads"; fail "the consumer does not load the installed library"; }
  "$work/installed_consumer"
  echo "ok: built with pkg-config against the installed dtlspp, and ran"

  # dtlspp_io.pc: Requires dtlspp (so OpenSSL); links -ldtlspp_io.
  echo "dtlspp_io.pc:"
  sed 's/^/  /' "$root_lib/pkgconfig/dtlspp_io.pc"
  io_libs=$(pkg-config --libs dtlspp_io)
  grep -q -- "-ldtlspp_io" <<<"$io_libs" || fail "pkg-config --libs dtlspp_io lacks -ldtlspp_io"
  grep -q -- "-ldtlspp\b" <<<"$io_libs" || fail "pkg-config --libs dtlspp_io lacks -ldtlspp"
  grep -q '^dtlspp' <<<"$(pkg-config --print-requires dtlspp_io)" ||
    fail "dtlspp_io.pc does not require dtlspp"
  for program in udp_client udp_server; do
    # shellcheck disable=SC2046
    g++ -std=c++20 -Wall -Wextra -Werror -o "$work/$program" "$src/examples/$program.cpp" \
      $(pkg-config --cflags --libs dtlspp_io) || fail "g++ $program.cpp with pkg-config dtlspp_io"
  done
  grep -q "libdtlspp_io.so.* => $root_lib/" <<<"$(ldd "$work/udp_client")" ||
    fail "udp_client does not load the installed libdtlspp_io"
  udp_echo "$work/udp_server" "$work/udp_client"
  ;;

cmake)
  command -v cmake >/dev/null || { echo "SKIP: cmake is not installed (Debian: cmake)"; exit 77; }
  cp -r "$src/test/install/cmake" "$work/project"
  cp "$src/test/consumer/app/consumer.cpp" "$src/examples/udp_client.cpp" \
    "$src/examples/udp_server.cpp" "$work/"
  # Only the temporary install and the system: not a dtlspp from the user's package registry.
  common=(-DCMAKE_PREFIX_PATH="$destdir$prefix" -DCMAKE_FIND_USE_PACKAGE_REGISTRY=OFF
    -DCMAKE_BUILD_TYPE=Release)
  cmake -S "$work/project" -B "$work/cmake-build" "${common[@]}" >"$work/cmake.log" 2>&1 ||
    { cat "$work/cmake.log"; fail "cmake configure with find_package(dtlspp)"; }
  grep -E "^-- dtlspp" "$work/cmake.log"
  grep -q -- "-- dtlspp $version from $root_lib/cmake/dtlspp" "$work/cmake.log" ||
    fail "find_package(dtlspp) did not use the temporary install"
  cmake --build "$work/cmake-build" -j 1 >"$work/build.log" 2>&1 ||
    { cat "$work/build.log"; fail "cmake --build"; }
  grep -q "std=gnu++20\|std=c++20" "$work/cmake-build/CMakeFiles/installed_consumer.dir/flags.make" ||
    fail "dtlspp::dtlspp did not bring C++20 (INTERFACE_COMPILE_FEATURES cxx_std_20)"
  loads=$(ldd "$work/cmake-build/installed_consumer")
  grep -q "libdtlspp.so.* => $root_lib/" <<<"$loads" ||
    { echo "$loads"; fail "the consumer does not load the installed library"; }
  "$work/cmake-build/installed_consumer"
  echo "ok: built with find_package(dtlspp) and dtlspp::dtlspp, and ran"
  grep -q "libdtlspp_io.so.* => $root_lib/" <<<"$(ldd "$work/cmake-build/udp_client")" ||
    fail "the CMake udp_client does not load the installed libdtlspp_io"
  udp_echo "$work/cmake-build/udp_server" "$work/cmake-build/udp_client"

  # dtlsppConfigVersion.cmake: 0.x, so only the same minor version is compatible.
  major=${version%%.*}
  rest=${version#*.}
  minor=${rest%%.*}
  probe() {
    cmake -S "$work/project" -B "$work/probe-$1" "${common[@]}" -DPROBE_VERSION="$1" 2>&1 |
      sed -n 's/^-- probe dtlspp [^:]*: found=//p'
  }
  for v in "$major.$minor" "$version"; do
    [ "$(probe "$v")" = 1 ] || fail "find_package(dtlspp $v) should succeed for $version"
  done
  for v in "$major.$((minor + 1))" "$((major + 1)).0" "$version.1"; do
    [ "$(probe "$v")" != 1 ] || fail "find_package(dtlspp $v) should fail for $version"
  done
  echo "ok: find_package(dtlspp V) accepts $major.$minor and $version, refuses" \
    "$major.$((minor + 1)), $((major + 1)).0 and $version.1"
  ;;
*)
  fail "unknown mode $mode"
  ;;
esac
