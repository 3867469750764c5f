// dtlspp/certificate.hpp: an immutable X.509 certificate, ours or the peer's.
#pragma once

#include "dtlspp/export.hpp"

#include <chrono>
#include <cstddef>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "dtlspp/detail/handle.hpp"
#include "dtlspp/fingerprint.hpp"

namespace dtlspp {

// certificate is an immutable view of one X.509 certificate. Copies are cheap: they share the
// underlying OpenSSL object through its reference count. Safe to share across threads (every
// member is const).
class DTLSPP_API certificate {
 public:
  // from_pem reads the first "BEGIN CERTIFICATE" block of pem. Throws dtlspp::error with
  // errc::malformed_input (empty, truncated, binary or otherwise unparsable input), carrying
  // OpenSSL's reasons.
  static certificate from_pem(std::string_view pem);

  // from_der reads exactly one DER-encoded certificate; trailing bytes are malformed input.
  static certificate from_der(std::span<const std::byte> der);

  // pem returns the certificate as one "BEGIN CERTIFICATE" block, with a final newline.
  std::string pem() const;

  // der returns the DER encoding, the bytes every fingerprint is computed over.
  std::vector<std::byte> der() const;

  // fingerprint returns the digest of the DER encoding with algorithm a (RFC 8122 section 5).
  // Throws dtlspp::error(errc::invalid_argument) for a value outside hash_algorithm.
  dtlspp::fingerprint fingerprint(hash_algorithm a = hash_algorithm::sha256) const;

  // common_name returns the subject's CN, or an empty string when it has none.
  std::string common_name() const;

  // serial_number returns the serial's magnitude, big-endian, without leading zero bytes.
  std::vector<std::byte> serial_number() const;

  // not_before and not_after return the validity window (RFC 5280 section 4.1.2.5).
  std::chrono::system_clock::time_point not_before() const;
  std::chrono::system_clock::time_point not_after() const;

  // Two certificates are equal when their DER encodings are.
  friend DTLSPP_API bool operator==(const certificate& a, const certificate& b);

  // native_handle returns the X509 borrowed from *this (cast it to X509*); it stays valid
  // while *this lives. The escape hatch for what dtlspp does not wrap: do not modify it.
  x509_st* native_handle() const noexcept { return x509_.get(); }

  certificate(const certificate& other);
  certificate& operator=(const certificate& other);
  certificate(certificate&&) noexcept;
  certificate& operator=(certificate&&) noexcept;
  ~certificate();

 private:
  friend struct detail::access;
  explicit certificate(detail::handle<x509_st> x509) noexcept : x509_(std::move(x509)) {}
  detail::handle<x509_st> x509_;
};

}  // namespace dtlspp
