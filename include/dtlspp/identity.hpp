// dtlspp/identity.hpp: a private key and its self-signed certificate, one per peer.
#pragma once

#include "dtlspp/export.hpp"

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

#include "dtlspp/certificate.hpp"
#include "dtlspp/detail/handle.hpp"

namespace dtlspp {

// key_type lists the keys identity::generate can make. ECDSA P-256 is what WebRTC peers
// mandate (RFC 8827 section 6.5); RSA keys are slow to generate (hundreds of milliseconds).
// Warning: OpenSSL 3.0 presents an Ed25519 certificate only as a TLS 1.2 server, never as a
// DTLS 1.2 server (ssl_set_masks in ssl/t1_lib.c tests for TLS1_2_VERSION): a server session
// with an Ed25519 identity fails its handshakes ("no shared cipher"). Use Ed25519 only where
// this end is always the client; in WebRTC, where roles are negotiated, use ECDSA.
enum class key_type { ecdsa_p256, ecdsa_p384, ed25519, rsa_2048, rsa_3072 };

// name returns the enumerator's identifier ("ecdsa_p256"), "unknown" outside the enumeration;
// parse_key_type reads it back, in any case, and gives nothing for anything else.
DTLSPP_API std::string_view name(key_type k) noexcept;
DTLSPP_API std::optional<key_type> parse_key_type(std::string_view text) noexcept;

// identity_options shapes a generated certificate. The defaults follow libwebrtc: a short life
// so that applications rotate, backdated for peers whose clocks run behind, and a neutral common
// name because the certificate crosses the network in clear text (DTLS 1.2).
struct identity_options {
  key_type key = key_type::ecdsa_p256;
  std::string common_name = "dtlspp";                     // 1 to 64 characters (RFC 5280)
  std::chrono::seconds lifetime = std::chrono::days{30};  // > 0, notAfter = now + lifetime
  std::chrono::seconds backdate = std::chrono::days{1};   // >= 0, notBefore = now - backdate
};

// identity is a private key with its self-signed X.509 v3 certificate. Copies share the key and
// certificate by reference count; the key is freed (and wiped by OpenSSL) with the last copy.
// Immutable, so safe to share across threads.
class DTLSPP_API identity {
 public:
  // generate makes a fresh key and a certificate signed with SHA-256 (pure EdDSA for Ed25519),
  // with a random positive 127-bit serial (RFC 5280 section 4.1.2.2 allows at most 20 octets;
  // Firefox refuses two certificates with one issuer and serial, so serials must not repeat).
  // Throws dtlspp::error: errc::invalid_argument for options out of range, errc::crypto_failure
  // if OpenSSL fails.
  static identity generate(const identity_options& options = {});

  // from_pem loads a certificate and an unencrypted private key (PKCS#8 or traditional). Throws
  // dtlspp::error: errc::malformed_input for PEM that does not parse, errc::unsupported for an
  // encrypted key, errc::key_mismatch when the key does not belong to the certificate.
  static identity from_pem(std::string_view certificate_pem, std::string_view private_key_pem);

  // certificate_pem returns the certificate; private_key_pem the key as unencrypted PKCS#8
  // ("BEGIN PRIVATE KEY"). Keep the latter secret: it is the identity.
  std::string certificate_pem() const { return certificate_.pem(); }
  std::string private_key_pem() const;

  const dtlspp::certificate& certificate() const noexcept { return certificate_; }

  // fingerprint is certificate().fingerprint(a): what to send to the peer out of band.
  dtlspp::fingerprint fingerprint(hash_algorithm a = hash_algorithm::sha256) const {
    return certificate_.fingerprint(a);
  }

  // native_key returns the EVP_PKEY borrowed from *this, valid while *this lives.
  evp_pkey_st* native_key() const noexcept { return key_.get(); }

  identity(const identity& other);
  identity& operator=(const identity& other);
  identity(identity&&) noexcept;
  identity& operator=(identity&&) noexcept;
  ~identity();

 private:
  friend struct detail::access;
  identity(detail::handle<evp_pkey_st> key, dtlspp::certificate cert) noexcept
      : key_(std::move(key)), certificate_(std::move(cert)) {}
  detail::handle<evp_pkey_st> key_;
  dtlspp::certificate certificate_;
};

}  // namespace dtlspp
