// src/certificate.cpp: the X.509 view.
#include "dtlspp/certificate.hpp"

#include <openssl/pem.h>

#include <algorithm>
#include <ctime>
#include <limits>

#include "detail/access.hpp"
#include "detail/openssl.hpp"

namespace dtlspp {
namespace {

const EVP_MD* digest_method(hash_algorithm a) noexcept {
  switch (a) {
    case hash_algorithm::sha1:
      return EVP_sha1();
    case hash_algorithm::sha224:
      return EVP_sha224();
    case hash_algorithm::sha256:
      return EVP_sha256();
    case hash_algorithm::sha384:
      return EVP_sha384();
    case hash_algorithm::sha512:
      return EVP_sha512();
  }
  return nullptr;
}

std::chrono::system_clock::time_point to_time_point(const ASN1_TIME* t) {
  std::tm tm{};
  if (t == nullptr || ASN1_TIME_to_tm(t, &tm) != 1) {
    detail::fail(errc::malformed_input, "certificate validity time does not parse");
  }
  return std::chrono::system_clock::from_time_t(timegm(&tm));
}

}  // namespace

certificate certificate::from_pem(std::string_view pem) {
  ERR_clear_error();
  auto bio = detail::memory_bio(pem);
  // The null password callback refuses to prompt on a terminal for anything encrypted.
  detail::handle<X509> x509(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
  if (!x509) detail::fail(errc::malformed_input, "certificate PEM does not parse");
  return certificate(std::move(x509));
}

certificate certificate::from_der(std::span<const std::byte> der) {
  ERR_clear_error();
  if (der.size() > static_cast<std::size_t>(std::numeric_limits<long>::max())) {
    detail::fail(errc::malformed_input, "certificate DER too large");
  }
  const unsigned char* p = detail::as_uchars(der).data();
  const unsigned char* const begin = p;
  detail::handle<X509> x509(d2i_X509(nullptr, &p, static_cast<long>(der.size())));
  if (!x509) detail::fail(errc::malformed_input, "certificate DER does not parse");
  if (static_cast<std::size_t>(p - begin) != der.size()) {
    detail::fail(errc::malformed_input, "certificate DER has trailing bytes");
  }
  return certificate(std::move(x509));
}

std::string certificate::pem() const {
  detail::handle<BIO> bio(detail::expect_ptr(BIO_new(BIO_s_mem()), "BIO_new"));
  detail::expect_one(PEM_write_bio_X509(bio.get(), x509_.get()), "PEM_write_bio_X509");
  return detail::bio_string(bio.get());
}

std::vector<std::byte> certificate::der() const {
  const int n = i2d_X509(x509_.get(), nullptr);
  if (n <= 0) detail::fail(errc::crypto_failure, "i2d_X509");
  std::vector<std::byte> out(static_cast<std::size_t>(n));
  auto* p = reinterpret_cast<unsigned char*>(out.data());
  if (i2d_X509(x509_.get(), &p) != n) detail::fail(errc::crypto_failure, "i2d_X509");
  return out;
}

dtlspp::fingerprint certificate::fingerprint(hash_algorithm a) const {
  const EVP_MD* md = digest_method(a);
  if (md == nullptr) {
    throw error(errc::invalid_argument, "fingerprint algorithm is not a hash_algorithm value");
  }
  std::array<std::byte, EVP_MAX_MD_SIZE> digest{};
  unsigned int size = 0;
  // X509_digest hashes the DER encoding: RFC 8122 section 5 ("the certificate's DER form").
  detail::expect_one(
      X509_digest(x509_.get(), md, reinterpret_cast<unsigned char*>(digest.data()), &size),
      "X509_digest");
  return dtlspp::fingerprint(a, std::span(digest.data(), size));
}

std::string certificate::common_name() const {
  const X509_NAME* subject = X509_get_subject_name(x509_.get());
  const int at = X509_NAME_get_index_by_NID(subject, NID_commonName, -1);
  if (at < 0) return {};
  const ASN1_STRING* value = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(subject, at));
  unsigned char* raw = nullptr;
  const int n = ASN1_STRING_to_UTF8(&raw, value);
  const detail::openssl_buffer<unsigned char> utf8(raw);
  if (n < 0) return {};
  return std::string(reinterpret_cast<const char*>(utf8.get()), static_cast<std::size_t>(n));
}

std::vector<std::byte> certificate::serial_number() const {
  detail::handle<BIGNUM> bn(ASN1_INTEGER_to_BN(X509_get0_serialNumber(x509_.get()), nullptr));
  if (!bn) detail::fail(errc::crypto_failure, "ASN1_INTEGER_to_BN");
  std::vector<std::byte> out(static_cast<std::size_t>(BN_num_bytes(bn.get())));
  BN_bn2bin(bn.get(), reinterpret_cast<unsigned char*>(out.data()));
  return out;
}

std::chrono::system_clock::time_point certificate::not_before() const {
  return to_time_point(X509_get0_notBefore(x509_.get()));
}

std::chrono::system_clock::time_point certificate::not_after() const {
  return to_time_point(X509_get0_notAfter(x509_.get()));
}

bool operator==(const certificate& a, const certificate& b) {
  return a.x509_ == b.x509_ || X509_cmp(a.x509_.get(), b.x509_.get()) == 0;
}

certificate::certificate(certificate&&) noexcept = default;
certificate& certificate::operator=(certificate&&) noexcept = default;
certificate::~certificate() = default;

certificate::certificate(const certificate& other) : x509_(detail::up_ref(other.x509_.get())) {}

certificate& certificate::operator=(const certificate& other) {
  if (this != &other) x509_ = detail::up_ref(other.x509_.get());
  return *this;
}

}  // namespace dtlspp
