// test/support/pem.hpp: PEM text for the tests of parsers: blocks built from DER, a block's
// body decoded, and the malformed inputs every PEM parser must refuse.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace dtlspp::test {

// pem_block wraps der in BEGIN/END lines of the given label, 64 base64 characters a line
// (RFC 7468 section 2).
std::string pem_block(std::string_view label, std::span<const std::byte> der);
std::string pem_block(std::string_view label, std::string_view der);

// pem_body decodes the base64 body of the first PEM block in pem; throws std::runtime_error if
// there is none.
std::string pem_body(std::string_view pem);

// bad_text is one malformed input and why it is malformed.
struct bad_text {
  std::string why;
  std::string text;
};

// malformed_pem returns the malformed variants of a well-formed PEM block `pem` labelled
// `label` that no parser may accept: empty and blank text, random binary with NULs (drawn from
// seed), the block's DER instead of PEM, the block cut in the middle, base64 corrupted, a
// header without footer, a footer alone, an empty block, and 1 MiB of garbage.
std::vector<bad_text> malformed_pem(const std::string& pem, std::string_view label,
                                    std::uint32_t seed);

}  // namespace dtlspp::test
