#!/bin/sh
# exported_symbols.sh LIB: libdtlspp exports its public API and nothing else. The library is
# built with hidden visibility and the headers mark what they declare with DTLSPP_API, so every
# dynamic symbol it defines must be in namespace dtlspp (functions, vtables, typeinfo), and none
# may be an implementation detail (dtlspp::detail, a class's impl). Prints the count.
set -eu
lib=$1
symbols=$(nm -DC --defined-only "$lib" | awk '$2 ~ /^[TtWVvuBDR]$/ { $1 = ""; $2 = ""; sub(/^  /, ""); print }')
count=$(printf '%s\n' "$symbols" | grep -c . || true)
leaked=$(printf '%s\n' "$symbols" | grep -E 'dtlspp::detail::|::impl\b|::impl::' || true)
# libstdc++ declares namespace std with default visibility, so an instrumented build (ASan)
# exports the std::ranges function objects it odr-uses as unique symbols: not ours, not API.
foreign=$(printf '%s\n' "$symbols" |
  grep -vE '^(dtlspp::|typeinfo for dtlspp::|typeinfo name for dtlspp::|vtable for dtlspp::|std::)' |
  grep . || true)
if [ -n "$leaked" ] || [ -n "$foreign" ]; then
  echo "FAIL: libdtlspp exports what its headers do not declare"
  [ -n "$leaked" ] && printf 'implementation details:\n%s\n' "$leaked"
  [ -n "$foreign" ] && printf 'outside namespace dtlspp:\n%s\n' "$foreign"
  exit 1
fi
std_count=$(printf '%s\n' "$symbols" | grep -c '^std::' || true)
echo "PASS: $((count - std_count)) exported symbols, all public API (and $std_count of libstdc++'s namespace std)"
