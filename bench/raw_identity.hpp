// bench/raw_identity.hpp: a key and self-signed certificate made directly with OpenSSL 3.0.
//
// The same certificate as dtlspp::identity::generate (src/identity.cpp): X.509 v3, random
// positive 127-bit serial, notBefore one day back, 30 days of life, CN "dtlspp", SHA-256
// signature (pure EdDSA for Ed25519). build() is split into its stages so that each can be
// timed, and the public key can be put into the certificate three ways, to find where
// X509_set_pubkey's time goes and whether a cheaper correct path exists.
#pragma once

#include <openssl/evp.h>
#include <openssl/x509.h>

#include <string>

namespace bench::raw {

enum class key_kind { p256, p384, ed25519, rsa2048 };

// How the certificate gets its SubjectPublicKeyInfo.
enum class pubkey_path {
  // X509_set_pubkey(x509, key): what dtlspp and everyone does. For a provider key, OpenSSL
  // 3.0 encodes it with a fresh OSSL_ENCODER_CTX, then parses that DER back with
  // d2i_X509_PUBKEY, which decodes the key again through a fresh OSSL_DECODER_CTX, and then
  // throws the decoded copy away.
  set_pubkey,
  // EC only, what dtlspp does (src/identity.cpp): the public point
  // (OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY) decoded with d2i_PublicKey onto a copy of the curve's
  // parameters (d2i_KeyParams of its OID, once per process): a key with an ASN.1 method, which
  // X509_set_pubkey encodes directly, without encoder or decoder. No deprecated API.
  public_point,
  // P-256 only: X509_PUBKEY_set0_param on the certificate's own X509_PUBKEY with the point and
  // the curve's OID. Cheapest, but the X509 then has no cached EVP_PKEY, so
  // X509_get0_pubkey() returns null and SSL_CTX_use_certificate refuses it: the signed
  // certificate must be re-read from its DER (d2i_X509, a decoder run) before use; that re-read
  // is included.
  set0_param_then_reparse,
  // The same without the re-read: only to show that check() rejects it.
  set0_param_unusable,
};

// Stage timings of one build, in nanoseconds.
struct build_times {
  double keygen = 0;
  double fields = 0;  // version, serial, validity, names
  double pubkey = 0;  // putting the public key in
  double sign = 0;    // X509_sign (and, for set0_param_then_reparse, the DER round trip)
};

struct built {
  EVP_PKEY* key = nullptr;
  X509* cert = nullptr;
  void free() noexcept;
};

// build makes a key of `kind` and its certificate; times each stage into t when not null.
built build(key_kind kind, pubkey_path path, build_times* t = nullptr);

// pubkey_internals times the three parts of X509_set_pubkey for a provider key by calling the
// same public functions it calls: OSSL_ENCODER_CTX_new_for_pkey, OSSL_ENCODER_to_data and
// d2i_X509_PUBKEY. Nanoseconds each, summed over n runs on one key.
struct pubkey_parts {
  double encoder_ctx = 0;
  double encode = 0;
  double decode = 0;  // d2i_X509_PUBKEY: OSSL_DECODER_CTX_new_for_pkey and the decode
};
pubkey_parts pubkey_internals(EVP_PKEY* key, int n);

// check reports whether a built certificate is correct and usable: SubjectPublicKeyInfo
// byte-identical to i2d_PUBKEY(key), X509_verify with the key, and accepted by
// SSL_CTX_use_certificate + SSL_CTX_use_PrivateKey + SSL_CTX_check_private_key. Empty when all
// pass, else what failed.
std::string check(const built& b);

}  // namespace bench::raw
