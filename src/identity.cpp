// src/identity.cpp: key generation, self-signed certificates, PEM in and out.
#include "dtlspp/identity.hpp"

#include <openssl/core_names.h>
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

// ---- the certificate's public key ------------------------------------------------------------
//
// X509_set_pubkey is most of the cost of an identity when given the generated key: OpenSSL 3.0
// encodes a provider key's SubjectPublicKeyInfo through a fresh OSSL_ENCODER_CTX, then parses
// it back with d2i_X509_PUBKEY, which builds a fresh OSSL_DECODER_CTX and decodes the key again
// only to free the copy (crypto/x509/x_pubkey.c, X509_PUBKEY_set). Both contexts search every
// provider's algorithms by name and property: ~75% of a P-256 identity. Given a key that still
// has an ASN.1 method (a "legacy" key), X509_PUBKEY_set encodes it directly. For EC keys such a
// key is built from public API alone: the generated key's public point, decoded with
// d2i_PublicKey onto a copy of the curve's parameters (d2i_KeyParams of its OID, made once).
// The SubjectPublicKeyInfo is the same DER either way (id-ecPublicKey, the named curve, the
// uncompressed point: RFC 5480 section 2); test/identity_tbs_test.cpp compares whole TBS
// certificates. The certificate then caches that public-only key, which OpenSSL compares with
// the private key (X509_check_private_key) like any other.
//
// Measured (bench/RESULTS.md): a P-256 identity takes 3.5x fewer instructions; a P-384 one only
// 1.1x fewer, its key generation and signature being 99% of it. Ed25519 and RSA keep
// X509_set_pubkey on the generated key: d2i_PublicKey reads RSA, DSA and EC keys only, and
// EVP_PKEY_new_raw_public_key makes a provider key again, so Ed25519 pays the round trip (55%
// of its identity); RSA loses nothing that matters (its prime search is over 99%).

// curve_parameters returns the parameters-only key of an EC curve, decoded once per process
// (thread-safely) from the DER of its OID (RFC 5480 section 2.1.1.1, namedCurve) and only read
// afterwards. Null for other key types.
const EVP_PKEY* curve_parameters(key_type type) {
  // DER OBJECT IDENTIFIERs: prime256v1 1.2.840.10045.3.1.7 and secp384r1 1.3.132.0.34.
  static constexpr unsigned char p256_oid[] = {0x06, 0x08, 0x2a, 0x86, 0x48,
                                               0xce, 0x3d, 0x03, 0x01, 0x07};
  static constexpr unsigned char p384_oid[] = {0x06, 0x05, 0x2b, 0x81, 0x04, 0x00, 0x22};
  auto decode = [](std::span<const unsigned char> oid) {
    const unsigned char* p = oid.data();
    return detail::handle<EVP_PKEY>(detail::expect_ptr(
        d2i_KeyParams(EVP_PKEY_EC, nullptr, &p, static_cast<long>(oid.size())), "d2i_KeyParams"));
  };
  switch (type) {
    case key_type::ecdsa_p256: {
      static const detail::handle<EVP_PKEY> p256 = decode(p256_oid);
      return p256.get();
    }
    case key_type::ecdsa_p384: {
      static const detail::handle<EVP_PKEY> p384 = decode(p384_oid);
      return p384.get();
    }
    default:
      return nullptr;
  }
}

// ec_public_key returns key's public half as a key with an ASN.1 method, on `curve`'s parameters.
detail::handle<EVP_PKEY> ec_public_key(EVP_PKEY* key, const EVP_PKEY* curve) {
  // The point, uncompressed (SEC 1 section 2.3.3): 1 + 2 * 48 bytes at most, for P-384.
  unsigned char point[97];
  std::size_t size = 0;
  detail::expect_one(EVP_PKEY_get_octet_string_param(key, OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY, point,
                                                     sizeof point, &size),
                     "EVP_PKEY_get_octet_string_param");
  detail::handle<EVP_PKEY> pub(detail::expect_ptr(EVP_PKEY_new(), "EVP_PKEY_new"));
  detail::expect_one(EVP_PKEY_copy_parameters(pub.get(), curve), "EVP_PKEY_copy_parameters");
  // d2i_PublicKey sets the point on *a in place and returns it (the handle keeps owning it); on
  // failure it leaves *a for the handle to free.
  EVP_PKEY* into = pub.get();
  const unsigned char* p = point;
  detail::expect_ptr(d2i_PublicKey(EVP_PKEY_EC, &into, &p, static_cast<long>(size)),
                     "d2i_PublicKey");
  return pub;
}

void set_public_key(X509* x509, EVP_PKEY* key, key_type type) {
  if (const EVP_PKEY* curve = curve_parameters(type)) {
    const auto pub = ec_public_key(key, curve);
    detail::expect_one(X509_set_pubkey(x509, pub.get()), "X509_set_pubkey");
    return;
  }
  detail::expect_one(X509_set_pubkey(x509, key), "X509_set_pubkey");
}

detail::handle<X509> self_signed(EVP_PKEY* key, const identity_options& o) {
  detail::handle<X509> x509(detail::expect_ptr(X509_new(), "X509_new"));
  detail::expect_one(X509_set_version(x509.get(), X509_VERSION_3), "X509_set_version");
  set_random_serial(x509.get());
  set_validity(x509.get(), o);
  set_names(x509.get(), o.common_name);
  set_public_key(x509.get(), key, o.key);
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

identity::identity(identity&&) noexcept = default;
identity& identity::operator=(identity&&) noexcept = default;
identity::~identity() = default;

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
