// src/context.cpp: the SSL_CTX policy shared by sessions.
#include "dtlspp/context.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <string>

#include "detail/openssl.hpp"
#include "detail/session_callbacks.hpp"

namespace dtlspp {
namespace {

using namespace std::chrono_literals;

// DTLS 1.2 AEAD suites with ECDHE only: forward secrecy and no CBC (RFC 7525 section 4.2).
// RFC 8827 section 6.5 mandates TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, listed first. The
// ECDSA suites also carry Ed25519 certificates (RFC 8422 section 5.1).
constexpr const char* cipher_list =
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
    "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
    "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305";

// X25519 first (cheapest), then the NIST curves WebRTC peers offer (RFC 8422 section 5.1.1).
constexpr const char* group_list = "X25519:P-256:P-384";

// The signature algorithms (RFC 5246 section 7.4.1.4.1) of the keys identity::generate makes,
// one each, P-256 first (RFC 8827 section 6.5): the list a ClientHello and a CertificateRequest
// offer, which the peer signs with, and which we sign with. OpenSSL 3.0's default offers some
// twenty more (DSA, SHA-1, SHA-224, Ed448, RSA-PSS-PSS...), ~40 bytes in each of those
// messages, and keeps every algorithm both sides share in each session (8 bytes each, plus 2
// per algorithm the peer offered). In DTLS 1.2 an ECDSA signature's hash is not tied to the
// curve, so peers with P-521 keys still sign with ecdsa_secp256r1_sha256; keys that sign with
// nothing here (Ed448, RSA-PSS-only, DSA) cannot authenticate to dtlspp. Chromium's and
// Firefox's WebRTC certificates are ECDSA P-256.
constexpr const char* signature_algorithms =
    "ecdsa_secp256r1_sha256:ecdsa_secp384r1_sha384:ed25519:rsa_pss_rsae_sha256:rsa_pkcs1_sha256";

void check(const context_options& o) {
  // 256 is OpenSSL's DTLS minimum (dtls1_min_mtu); 65507 the largest UDP payload over IPv4.
  if (o.mtu_bytes < 256 || o.mtu_bytes > 65507) {
    throw error(errc::invalid_argument, "mtu_bytes must be 256 to 65507");
  }
  const auto& r = o.retransmit;
  // OpenSSL 3.0 treats a DTLS timer with less than 15 ms left as expired (dtls1_get_timeout):
  // a timer fires up to 15 ms early, and one shorter than 20 ms would fire at once, every time.
  if (r.initial < 20ms || r.initial > 60s) {
    throw error(errc::invalid_argument, "retransmit.initial must be 20 ms to 60 s");
  }
  if (r.maximum < r.initial || r.maximum > 600s) {
    throw error(errc::invalid_argument, "retransmit.maximum must be initial to 600 s");
  }
  if (o.handshake_timeout < 1ms || o.handshake_timeout > 1h) {
    throw error(errc::invalid_argument, "handshake_timeout must be 1 ms to 1 h");
  }
  if (o.require_srtp && o.srtp_profiles.empty()) {
    throw error(errc::invalid_argument, "require_srtp needs srtp_profiles");
  }
  for (const auto p : o.srtp_profiles) {
    if (master_key_size(p) == 0) {
      throw error(errc::invalid_argument,
                  fmt::format("srtp_profiles holds {:#06x}, which is not an srtp_profile value",
                              static_cast<unsigned>(p)));
    }
  }
}

// use_srtp offers or accepts profiles, in preference order (RFC 5764 section 4.1.1).
void use_srtp(SSL_CTX* c, const std::vector<srtp_profile>& profiles) {
  if (profiles.empty()) return;
  std::string list;
  for (const auto p : profiles) {
    if (!list.empty()) list += ':';
    list += name(p);
  }
  // Warning: SSL_CTX_set_tlsext_use_srtp returns 0 on success and 1 on failure.
  if (SSL_CTX_set_tlsext_use_srtp(c, list.c_str()) != 0) {
    detail::fail(errc::invalid_argument, "SSL_CTX_set_tlsext_use_srtp");
  }
}

detail::handle<SSL_CTX> make_ssl_ctx(const context_options& o) {
  const identity& id = *o.identity;
  ERR_clear_error();
  detail::handle<SSL_CTX> ctx(detail::expect_ptr(SSL_CTX_new(DTLS_method()), "SSL_CTX_new"));
  SSL_CTX* c = ctx.get();
  // DTLS 1.2 only (RFC 6347); DTLS 1.0 is deprecated (RFC 8996).
  detail::expect_one(SSL_CTX_set_min_proto_version(c, DTLS1_2_VERSION), "set_min_proto_version");
  detail::expect_one(SSL_CTX_set_max_proto_version(c, DTLS1_2_VERSION), "set_max_proto_version");
  detail::expect_one(SSL_CTX_set_cipher_list(c, cipher_list), "SSL_CTX_set_cipher_list");
  detail::expect_one(SSL_CTX_set1_groups_list(c, group_list), "SSL_CTX_set1_groups_list");
  detail::expect_one(SSL_CTX_set1_sigalgs_list(c, signature_algorithms),
                     "SSL_CTX_set1_sigalgs_list");
  // No tickets and no session cache: a resumed session would skip the peer's certificate and
  // with it our verifier. No compression (RFC 8261 section 6, CRIME); no renegotiation (RFC
  // 8827 section 6.5). NO_QUERY_MTU: the MTU is ours to set, never OpenSSL's guess (it falls to
  // 256-byte datagrams on a BIO that cannot answer, and lowers the MTU after two timeouts).
  SSL_CTX_set_options(c, SSL_OP_NO_TICKET | SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION |
                             SSL_OP_NO_QUERY_MTU | SSL_OP_CIPHER_SERVER_PREFERENCE);
  SSL_CTX_set_session_cache_mode(c, SSL_SESS_CACHE_OFF);
  // No record we send is larger than the MTU, so the write buffer need not hold 16 KiB: this
  // saves about 15 KiB per session (OpenSSL's minimum fragment is 512 bytes).
  detail::expect_one(static_cast<int>(SSL_CTX_set_max_send_fragment(
                         c, std::clamp<long>(static_cast<long>(o.mtu_bytes), 512, 16384))),
                     "SSL_CTX_set_max_send_fragment");
  detail::expect_one(SSL_CTX_use_certificate(c, id.certificate().native_handle()),
                     "SSL_CTX_use_certificate");
  detail::expect_one(SSL_CTX_use_PrivateKey(c, id.native_key()), "SSL_CTX_use_PrivateKey");
  detail::expect_one(SSL_CTX_check_private_key(c), "SSL_CTX_check_private_key");
  // Both ends present a certificate (RFC 5763 section 5); the server asks for the client's and
  // fails without one. Chain building is replaced by the session's verifier.
  SSL_CTX_set_verify(c, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, nullptr);
  SSL_CTX_set_cert_verify_callback(c, detail::verify_trampoline, nullptr);
  SSL_CTX_set_cookie_generate_cb(c, detail::generate_cookie_trampoline);
  SSL_CTX_set_cookie_verify_cb(c, detail::verify_cookie_trampoline);
  use_srtp(c, o.srtp_profiles);
  if (o.key_log) SSL_CTX_set_keylog_callback(c, detail::keylog_trampoline);
  return ctx;
}

}  // namespace

context::context(context_options options) : options_(std::move(options)) {
  check(options_);
  if (!options_.identity) options_.identity = dtlspp::identity::generate();
  ctx_ = make_ssl_ctx(options_);
}

context::context(context&&) noexcept = default;
context& context::operator=(context&&) noexcept = default;
context::~context() = default;

context::context(const context& other)
    : options_(other.options_), ctx_(detail::up_ref(other.ctx_.get())) {}

context& context::operator=(const context& other) {
  if (this != &other) {
    options_ = other.options_;
    ctx_ = detail::up_ref(other.ctx_.get());
  }
  return *this;
}

}  // namespace dtlspp
