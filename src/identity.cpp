// src/identity.cpp: key generation, self-signed certificates, PEM in and out.
#include "dtlspp/identity.hpp"

#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include <fmt/format.h>

#include "detail/access.hpp"
#include "detail/openssl.hpp"

namespace dtlspp {
namespace {

// serial_bits is the size of a generated serial. 127 random bits with the top bit set give a
// positive INTEGER of exactly 16 octets (RFC 5280 section 4.1.2.2: positive, at most 20
// octets), so two identities never share an issuer and serial in practice (Firefox refuses
// that: SEC_ERROR_REUSED_ISSUER_AND_SERIAL).
constexpr int serial_bits = 127;

// RFC 5280 appendix A: ub-common-name INTEGER ::= 64.
constexpr std::size_t max_common_name = 64;

detail::handle<EVP_PKEY> generate_key(key_type type) {
  EVP_PKEY* key = nullptr;
  switch (type) {
    case key_type::ecdsa_p256:
      key = EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256");
      break;
    case key_type::ecdsa_p384:
      key = EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-384");
      break;
    case key_type::ed25519:
      key = EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519");
      break;
    case key_type::rsa_2048:
      key = EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", static_cast<size_t>(2048));
      break;
    case key_type::rsa_3072:
      key = EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", static_cast<size_t>(3072));
      break;
  }
  return detail::handle<EVP_PKEY>(detail::expect_ptr(key, "EVP_PKEY_Q_keygen"));
}

void check(const identity_options& o) {
  if (o.key < key_type::ecdsa_p256 || o.key > key_type::rsa_3072) {
    throw error(errc::invalid_argument, "identity key type is not one of key_type's values");
  }
  if (o.lifetime <= std::chrono::seconds::zero()) {
    throw error(errc::invalid_argument, "identity lifetime must be positive");
  }
  if (o.backdate < std::chrono::seconds::zero()) {
    throw error(errc::invalid_argument, "identity backdate must not be negative");
  }
  if (o.common_name.empty() || o.common_name.size() > max_common_name) {
    throw error(errc::invalid_argument, "identity common name must have 1 to 64 characters");
  }
}

void set_random_serial(X509* x509) {
  detail::handle<BIGNUM> bn(detail::expect_ptr(BN_new(), "BN_new"));
  detail::expect_one(BN_rand(bn.get(), serial_bits, BN_RAND_TOP_ONE, BN_RAND_BOTTOM_ANY),
                     "BN_rand");
  detail::handle<ASN1_INTEGER> serial(
      detail::expect_ptr(BN_to_ASN1_INTEGER(bn.get(), nullptr), "BN_to_ASN1_INTEGER"));
  detail::expect_one(X509_set_serialNumber(x509, serial.get()), "X509_set_serialNumber");
}

void set_validity(X509* x509, const identity_options& o) {
  // Backdating covers peers whose clocks run behind ours (libwebrtc and pion use one day).
  detail::expect_ptr(X509_gmtime_adj(X509_getm_notBefore(x509), -o.backdate.count()),
                     "X509_gmtime_adj");
  detail::expect_ptr(X509_gmtime_adj(X509_getm_notAfter(x509), o.lifetime.count()),
                     "X509_gmtime_adj");
}

void set_names(X509* x509, const std::string& common_name) {
  detail::handle<X509_NAME> name(detail::expect_ptr(X509_NAME_new(), "X509_NAME_new"));
  detail::expect_one(
      X509_NAME_add_entry_by_txt(name.get(), "CN", MBSTRING_UTF8,
                                 reinterpret_cast<const unsigned char*>(common_name.c_str()),
                                 static_cast<int>(common_name.size()), -1, 0),
      "X509_NAME_add_entry_by_txt");
  // Self-signed: the issuer is the subject. Both setters copy the name.
  detail::expect_one(X509_set_subject_name(x509, name.get()), "X509_set_subject_name");
  detail::expect_one(X509_set_issuer_name(x509, name.get()), "X509_set_issuer_name");
}

// signature_digest is SHA-256 for ECDSA and RSA; EdDSA signs the message itself (RFC 8410).
const EVP_MD* signature_digest(key_type type) noexcept {
  return type == key_type::ed25519 ? nullptr : EVP_sha256();
}

detail::handle<X509> self_signed(EVP_PKEY* key, const identity_options& o) {
  detail::handle<X509> x509(detail::expect_ptr(X509_new(), "X509_new"));
  detail::expect_one(X509_set_version(x509.get(), X509_VERSION_3), "X509_set_version");
  set_random_serial(x509.get());
  set_validity(x509.get(), o);
  set_names(x509.get(), o.common_name);
  detail::expect_one(X509_set_pubkey(x509.get(), key), "X509_set_pubkey");
  if (X509_sign(x509.get(), key, signature_digest(o.key)) <= 0) {
    detail::fail(errc::crypto_failure, "X509_sign");
  }
  return x509;
}

// refuse_password is a pem_password_cb that declines: without it OpenSSL would prompt on the
// terminal for an encrypted key.
int refuse_password(char*, int, int, void*) noexcept {
  return -1;
}

bool looks_encrypted(std::string_view pem) noexcept {
  return pem.find("ENCRYPTED") != std::string_view::npos;
}

}  // namespace

identity identity::generate(const identity_options& options) {
  check(options);
  ERR_clear_error();
  auto key = generate_key(options.key);
  auto x509 = self_signed(key.get(), options);
  return detail::access::make_identity(std::move(key),
                                       detail::access::make_certificate(std::move(x509)));
}

identity identity::from_pem(std::string_view certificate_pem, std::string_view private_key_pem) {
  auto cert = dtlspp::certificate::from_pem(certificate_pem);
  if (looks_encrypted(private_key_pem)) {
    throw error(errc::unsupported, "encrypted private keys are not supported; decrypt it first");
  }
  ERR_clear_error();
  auto bio = detail::memory_bio(private_key_pem);
  detail::handle<EVP_PKEY> key(
      PEM_read_bio_PrivateKey(bio.get(), nullptr, refuse_password, nullptr));
  if (!key) detail::fail(errc::malformed_input, "private key PEM does not parse");
  if (X509_check_private_key(cert.native_handle(), key.get()) != 1) {
    detail::fail(errc::key_mismatch, "the private key does not belong to the certificate");
  }
  return identity(std::move(key), std::move(cert));
}

std::string identity::private_key_pem() const {
  detail::handle<BIO> bio(detail::expect_ptr(BIO_new(BIO_s_mem()), "BIO_new"));
  // PKCS#8 PrivateKeyInfo ("BEGIN PRIVATE KEY"), unencrypted: RFC 5958.
  detail::expect_one(
      PEM_write_bio_PKCS8PrivateKey(bio.get(), key_.get(), nullptr, nullptr, 0, nullptr, nullptr),
      "PEM_write_bio_PKCS8PrivateKey");
  std::string pem = detail::bio_string(bio.get());
  // OpenSSL does not wipe BIO_s_mem buffers when it frees them: wipe the key's copy here.
  char* data = nullptr;
  const long n = BIO_get_mem_data(bio.get(), &data);
  if (n > 0) OPENSSL_cleanse(data, static_cast<std::size_t>(n));
  return pem;
}

identity::identity(const identity& other)
    : key_(detail::up_ref(other.key_.get())), certificate_(other.certificate_) {}

identity& identity::operator=(const identity& other) {
  if (this != &other) {
    key_ = detail::up_ref(other.key_.get());
    certificate_ = other.certificate_;
  }
  return *this;
}

}  // namespace dtlspp
