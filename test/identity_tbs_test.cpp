// identity_tbs_test: identity::generate puts an EC public key into its certificate without
// X509_set_pubkey's encoder and decoder round trip (src/identity.cpp); the certificate must be
// the one that round trip makes, byte for byte, for every key type.
#include <catch2/catch.hpp>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include <cstddef>
#include <memory>
#include <thread>
#include <vector>

#include "dtlspp/identity.hpp"
#include "harness.hpp"

using namespace dtlspp::test;

namespace {

using dtlspp::key_type;

struct x509_free {
  void operator()(X509* x) const noexcept { X509_free(x); }
};
using x509_ptr = std::unique_ptr<X509, x509_free>;

struct openssl_free {
  void operator()(unsigned char* p) const noexcept { OPENSSL_free(p); }
};

// der returns what i2d wrote for an object (an empty vector if it failed).
template <class F>
bytes der(F i2d) {
  unsigned char* out = nullptr;
  const int n = i2d(&out);
  const std::unique_ptr<unsigned char, openssl_free> owned(out);
  if (n <= 0) return {};
  return bytes(reinterpret_cast<const std::byte*>(out),
               reinterpret_cast<const std::byte*>(out) + n);
}

// tbs returns the DER of x's TBSCertificate as it would be signed.
bytes tbs(X509* x) {
  return der([&](unsigned char** out) { return i2d_re_X509_tbs(x, out); });
}

// reference builds the certificate X509_set_pubkey on the generated (provider) key makes: the
// generated certificate's fields copied one by one, signed by the same key and digest.
x509_ptr reference(X509* generated, EVP_PKEY* key, key_type k) {
  x509_ptr x(X509_new());
  REQUIRE(x);
  REQUIRE(X509_set_version(x.get(), X509_get_version(generated)) == 1);
  REQUIRE(X509_set_serialNumber(x.get(), X509_get_serialNumber(generated)) == 1);
  REQUIRE(X509_set1_notBefore(x.get(), X509_get0_notBefore(generated)) == 1);
  REQUIRE(X509_set1_notAfter(x.get(), X509_get0_notAfter(generated)) == 1);
  REQUIRE(X509_set_subject_name(x.get(), X509_get_subject_name(generated)) == 1);
  REQUIRE(X509_set_issuer_name(x.get(), X509_get_issuer_name(generated)) == 1);
  REQUIRE(X509_set_pubkey(x.get(), key) == 1);
  REQUIRE(X509_sign(x.get(), key, k == key_type::ed25519 ? nullptr : EVP_sha256()) > 0);
  return x;
}

}  // namespace

TEST_CASE("a generated certificate is byte for byte the one X509_set_pubkey makes",
          "[identity][compat]") {
  for (const key_type k :
       {key_type::ecdsa_p256, key_type::ecdsa_p384, key_type::ed25519, key_type::rsa_2048}) {
    INFO(name(k));
    const auto id = dtlspp::identity::generate({.key = k});
    X509* generated = id.certificate().native_handle();
    EVP_PKEY* key = id.native_key();
    const x509_ptr ref = reference(generated, key, k);
    // The TBSCertificate (RFC 5280 section 4.1) is what the signature covers: version, serial,
    // signature algorithm, names, validity and SubjectPublicKeyInfo are all in it.
    const bytes generated_tbs = tbs(generated);
    REQUIRE_FALSE(generated_tbs.empty());
    CHECK(generated_tbs == tbs(ref.get()));
    // The SubjectPublicKeyInfo is the generated key's own encoding (RFC 5480, RFC 8410).
    const bytes spki = der(
        [&](unsigned char** out) { return i2d_X509_PUBKEY(X509_get_X509_PUBKEY(generated), out); });
    CHECK(spki == der([&](unsigned char** out) { return i2d_PUBKEY(key, out); }));
    // The key signed it, and the key the certificate holds is the private key's public half.
    CHECK(X509_verify(generated, key) == 1);
    CHECK(X509_check_private_key(generated, key) == 1);
    // A peer parses the same TBS from the DER on the wire.
    const bytes wire = der([&](unsigned char** out) { return i2d_X509(generated, out); });
    const auto* p = reinterpret_cast<const unsigned char*>(wire.data());
    const x509_ptr parsed(d2i_X509(nullptr, &p, static_cast<long>(wire.size())));
    REQUIRE(parsed);
    CHECK(tbs(parsed.get()) == generated_tbs);
  }
}

TEST_CASE("EC identities generated on several threads at once are all sound",
          "[identity][compat][threads]") {
  // The curves' parameter keys are made once and then only read, by every thread.
  constexpr int threads = 4, each = 10;
  std::vector<std::vector<dtlspp::identity>> made(threads);
  std::vector<int> failures(threads, 0);  // Catch2 assertions are for this thread only
  {
    std::vector<std::thread> pool;
    for (int t = 0; t < threads; ++t) {
      pool.emplace_back([&, t] {
        for (int i = 0; i < each; ++i) {
          try {
            made[t].push_back(dtlspp::identity::generate(
                {.key = i % 2 == 0 ? key_type::ecdsa_p256 : key_type::ecdsa_p384}));
          } catch (const dtlspp::error&) {
            ++failures[t];
          }
        }
      });
    }
    for (auto& th : pool)
      th.join();
  }
  for (const int f : failures)
    CHECK(f == 0);
  for (const auto& list : made) {
    REQUIRE(list.size() == static_cast<std::size_t>(each));
    for (const auto& id : list) {
      CHECK(X509_verify(id.certificate().native_handle(), id.native_key()) == 1);
      CHECK(X509_check_private_key(id.certificate().native_handle(), id.native_key()) == 1);
    }
  }
}
