// dtlspp/fingerprint.hpp: a certificate fingerprint, the value peers exchange out of band.
//
// A fingerprint is a hash algorithm and the digest of a certificate's DER encoding. Its text
// form is the value of an SDP a=fingerprint attribute (RFC 8122 section 5, RFC 4572):
// "sha-256 AB:CD:...", the algorithm's IANA name and the digest in upper-case hex pairs
// separated by colons.
#pragma once

#include "dtlspp/export.hpp"

#include <array>
#include <cstddef>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace dtlspp {

// hash_algorithm lists the digests RFC 8122 names for fingerprints. sha-1 is accepted because
// old peers still send it; new fingerprints should use sha-256 (the default everywhere here).
enum class hash_algorithm { sha1, sha224, sha256, sha384, sha512 };

// name returns the RFC 8122 name: "sha-1", "sha-224", "sha-256", "sha-384", "sha-512";
// "unknown" for a value outside the enumeration.
DTLSPP_API std::string_view name(hash_algorithm a) noexcept;

// digest_size returns the digest length of a in bytes (20, 28, 32, 48, 64); 0 for a value
// outside the enumeration.
DTLSPP_API std::size_t digest_size(hash_algorithm a) noexcept;

// fingerprint is a value type: an algorithm and its digest, stored inline (no allocation).
// Equality compares the algorithm and, in constant time, the digest bytes.
class DTLSPP_API fingerprint {
 public:
  // fingerprint takes a digest of exactly digest_size(a) bytes; any other size, or a value of a
  // outside hash_algorithm, throws dtlspp::error(errc::invalid_argument).
  fingerprint(hash_algorithm a, std::span<const std::byte> digest);

  // parse reads the text form real peers send: either case in the name and the hex, surrounding
  // whitespace (tabs, spaces, CR, LF), and optionally the whole SDP line "a=fingerprint:...".
  // It returns an empty optional for an unknown algorithm, bad hex, a missing or misplaced
  // colon, or a digest of the wrong length for the algorithm. Never throws.
  static std::optional<fingerprint> parse(std::string_view text) noexcept;

  hash_algorithm algorithm() const noexcept { return algorithm_; }

  // digest returns a view of the digest bytes, valid as long as *this.
  std::span<const std::byte> digest() const noexcept { return {bytes_.data(), size_}; }

  // to_string returns "sha-256 AB:CD:...", upper-case hex: what goes after "a=fingerprint:".
  std::string to_string() const;

  friend DTLSPP_API bool operator==(const fingerprint& a, const fingerprint& b) noexcept;

 private:
  hash_algorithm algorithm_;
  std::size_t size_;
  std::array<std::byte, 64> bytes_{};
};

}  // namespace dtlspp
