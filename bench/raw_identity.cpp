// bench/raw_identity.cpp: raw OpenSSL key and certificate generation (see raw_identity.hpp).

#include "raw_identity.hpp"

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/encoder.h>
#include <openssl/err.h>
#include <openssl/obj_mac.h>
#include <openssl/objects.h>
#include <openssl/ssl.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace bench::raw {
namespace {

using clock = std::chrono::steady_clock;

double ns_since(clock::time_point start) {
  return std::chrono::duration<double, std::nano>(clock::now() - start).count();
}

void die(const char* what) {
  std::fprintf(stderr, "raw identity: %s failed\n", what);
  ERR_print_errors_fp(stderr);
  std::abort();
}

void ok(int rc, const char* what) {
  if (rc != 1) die(what);
}

EVP_PKEY* keygen(key_kind kind) {
  EVP_PKEY* key = nullptr;
  switch (kind) {
    case key_kind::p256:
      key = EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256");
      break;
    case key_kind::p384:
      key = EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-384");
      break;
    case key_kind::ed25519:
      key = EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519");
      break;
    case key_kind::rsa2048:
      key = EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", static_cast<size_t>(2048));
      break;
  }
  if (key == nullptr) die("EVP_PKEY_Q_keygen");
  return key;
}

// The fields dtlspp sets, the same way (src/identity.cpp).
void set_fields(X509* x509) {
  ok(X509_set_version(x509, X509_VERSION_3), "X509_set_version");
  BIGNUM* bn = BN_new();
  ok(BN_rand(bn, 127, BN_RAND_TOP_ONE, BN_RAND_BOTTOM_ANY), "BN_rand");
  ASN1_INTEGER* serial = BN_to_ASN1_INTEGER(bn, nullptr);
  ok(X509_set_serialNumber(x509, serial), "X509_set_serialNumber");
  ASN1_INTEGER_free(serial);
  BN_free(bn);
  if (X509_gmtime_adj(X509_getm_notBefore(x509), -86400) == nullptr ||
      X509_gmtime_adj(X509_getm_notAfter(x509), 30L * 86400) == nullptr) {
    die("X509_gmtime_adj");
  }
  X509_NAME* name = X509_NAME_new();
  ok(X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
                                reinterpret_cast<const unsigned char*>("dtlspp"), 6, -1, 0),
     "X509_NAME_add_entry_by_txt");
  ok(X509_set_subject_name(x509, name), "X509_set_subject_name");
  ok(X509_set_issuer_name(x509, name), "X509_set_issuer_name");
  X509_NAME_free(name);
}

// encoded_point returns the P-256 public point, uncompressed (65 bytes), OPENSSL_malloc'ed.
unsigned char* encoded_point(EVP_PKEY* key, std::size_t& size) {
  unsigned char buffer[133];  // P-521's uncompressed point, the largest
  if (EVP_PKEY_get_octet_string_param(key, OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY, buffer,
                                      sizeof buffer, &size) != 1) {
    die("EVP_PKEY_get_octet_string_param");
  }
  auto* out = static_cast<unsigned char*>(OPENSSL_memdup(buffer, size));
  if (out == nullptr) die("OPENSSL_memdup");
  return out;
}

// curve_parameters returns the parameters-only key of kind's curve, decoded once from the DER of
// its OID (prime256v1 or secp384r1).
const EVP_PKEY* curve_parameters(key_kind kind) {
  static const unsigned char p256[] = {0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07};
  static const unsigned char p384[] = {0x06, 0x05, 0x2b, 0x81, 0x04, 0x00, 0x22};
  auto decode = [](const unsigned char* oid, long size) {
    EVP_PKEY* params = d2i_KeyParams(EVP_PKEY_EC, nullptr, &oid, size);
    if (params == nullptr) die("d2i_KeyParams");
    return params;
  };
  static const EVP_PKEY* p256_params = decode(p256, sizeof p256);
  static const EVP_PKEY* p384_params = decode(p384, sizeof p384);
  return kind == key_kind::p384 ? p384_params : p256_params;
}

void set_pubkey_public_point(X509* x509, EVP_PKEY* key, key_kind kind) {
  std::size_t size = 0;
  unsigned char* point = encoded_point(key, size);
  EVP_PKEY* pub = EVP_PKEY_new();
  if (pub == nullptr || EVP_PKEY_copy_parameters(pub, curve_parameters(kind)) != 1) {
    die("EVP_PKEY_copy_parameters");
  }
  const unsigned char* p = point;
  if (d2i_PublicKey(EVP_PKEY_EC, &pub, &p, static_cast<long>(size)) == nullptr) {
    die("d2i_PublicKey");
  }
  OPENSSL_free(point);
  ok(X509_set_pubkey(x509, pub), "X509_set_pubkey (public point)");
  EVP_PKEY_free(pub);
}

void set_pubkey_param(X509* x509, EVP_PKEY* key) {
  std::size_t size = 0;
  unsigned char* point = encoded_point(key, size);
  // X509_PUBKEY_set0_param takes the point buffer; the OIDs are static objects.
  ok(X509_PUBKEY_set0_param(X509_get_X509_PUBKEY(x509), OBJ_nid2obj(NID_X9_62_id_ecPublicKey),
                            V_ASN1_OBJECT, OBJ_nid2obj(NID_X9_62_prime256v1), point,
                            static_cast<int>(size)),
     "X509_PUBKEY_set0_param");
}

}  // namespace

void built::free() noexcept {
  X509_free(cert);
  EVP_PKEY_free(key);
  cert = nullptr;
  key = nullptr;
}

built build(key_kind kind, pubkey_path path, build_times* t) {
  built b;
  auto start = clock::now();
  b.key = keygen(kind);
  if (t != nullptr) t->keygen += ns_since(start);

  start = clock::now();
  b.cert = X509_new();
  if (b.cert == nullptr) die("X509_new");
  set_fields(b.cert);
  if (t != nullptr) t->fields += ns_since(start);

  start = clock::now();
  switch (path) {
    case pubkey_path::set_pubkey:
      ok(X509_set_pubkey(b.cert, b.key), "X509_set_pubkey");
      break;
    case pubkey_path::public_point:
      set_pubkey_public_point(b.cert, b.key, kind);
      break;
    case pubkey_path::set0_param_then_reparse:
    case pubkey_path::set0_param_unusable:
      set_pubkey_param(b.cert, b.key);
      break;
  }
  if (t != nullptr) t->pubkey += ns_since(start);

  start = clock::now();
  if (X509_sign(b.cert, b.key, kind == key_kind::ed25519 ? nullptr : EVP_sha256()) <= 0) {
    die("X509_sign");
  }
  if (path == pubkey_path::set0_param_then_reparse) {
    unsigned char* der = nullptr;
    const int n = i2d_X509(b.cert, &der);
    if (n <= 0) die("i2d_X509");
    const unsigned char* p = der;
    X509* parsed = d2i_X509(nullptr, &p, n);
    OPENSSL_free(der);
    if (parsed == nullptr) die("d2i_X509");
    X509_free(b.cert);
    b.cert = parsed;
  }
  if (t != nullptr) t->sign += ns_since(start);
  return b;
}

pubkey_parts pubkey_internals(EVP_PKEY* key, int n) {
  pubkey_parts parts;
  for (int i = 0; i < n; ++i) {
    auto start = clock::now();
    OSSL_ENCODER_CTX* ectx = OSSL_ENCODER_CTX_new_for_pkey(key, EVP_PKEY_PUBLIC_KEY, "DER",
                                                           "SubjectPublicKeyInfo", nullptr);
    if (ectx == nullptr) die("OSSL_ENCODER_CTX_new_for_pkey");
    parts.encoder_ctx += ns_since(start);

    start = clock::now();
    unsigned char* der = nullptr;
    std::size_t size = 0;
    ok(OSSL_ENCODER_to_data(ectx, &der, &size), "OSSL_ENCODER_to_data");
    parts.encode += ns_since(start);
    OSSL_ENCODER_CTX_free(ectx);

    start = clock::now();
    const unsigned char* p = der;
    X509_PUBKEY* pub = d2i_X509_PUBKEY(nullptr, &p, static_cast<long>(size));
    if (pub == nullptr) die("d2i_X509_PUBKEY");
    parts.decode += ns_since(start);
    X509_PUBKEY_free(pub);
    OPENSSL_free(der);
  }
  return parts;
}

std::string check(const built& b) {
  std::string problems;
  unsigned char* expected = nullptr;
  unsigned char* actual = nullptr;
  const int n = i2d_PUBKEY(b.key, &expected);
  const int m = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(b.cert), &actual);
  if (n <= 0 || n != m || std::memcmp(expected, actual, static_cast<std::size_t>(n)) != 0) {
    problems += "SubjectPublicKeyInfo differs; ";
  }
  OPENSSL_free(expected);
  OPENSSL_free(actual);
  if (X509_verify(b.cert, b.key) != 1) problems += "X509_verify fails; ";
  SSL_CTX* ctx = SSL_CTX_new(DTLS_method());
  if (SSL_CTX_use_certificate(ctx, b.cert) != 1) {
    problems += "SSL_CTX_use_certificate refuses it; ";
  } else if (SSL_CTX_use_PrivateKey(ctx, b.key) != 1 || SSL_CTX_check_private_key(ctx) != 1) {
    problems += "key does not match; ";
  }
  SSL_CTX_free(ctx);
  ERR_clear_error();
  if (problems.size() >= 2) problems.resize(problems.size() - 2);  // the last "; "
  return problems;
}

}  // namespace bench::raw
