// dtlspp/context.hpp: one identity and one policy, shared by many sessions.
#pragma once

#include "dtlspp/export.hpp"

#include <chrono>
#include <cstddef>
#include <functional>
#include <optional>
#include <string_view>
#include <vector>

#include "dtlspp/detail/handle.hpp"
#include "dtlspp/identity.hpp"
#include "dtlspp/srtp.hpp"

namespace dtlspp {

// retransmit_policy sets the handshake retransmission timer (RFC 6347 section 4.2.4.1): the
// first flight waits `initial`, each retransmission doubles the wait up to `maximum`. RFC 6347
// recommends 1 s when the round-trip time is unknown; a known short path may use less (libwebrtc
// starts at 50 ms), a lossy satellite link more. OpenSSL 3.0 also gives up by itself after 12
// retransmissions of one flight; that ends in errc::handshake_timeout as well.
struct retransmit_policy {
  std::chrono::milliseconds initial{1000};   // 20 ms to 60 s (OpenSSL fires 15 ms early)
  std::chrono::milliseconds maximum{60000};  // >= initial, at most 600 s
};

// context_options is everything a context fixes for its sessions.
struct context_options {
  // identity presents this certificate; none makes a fresh ECDSA P-256 identity, one per
  // context (the WebRTC way: each peer connection has its own).
  std::optional<dtlspp::identity> identity;

  // mtu_bytes bounds every datagram a session emits, handshake flights included: it is the
  // UDP payload size, so subtract IP and UDP headers from the link MTU (1200 leaves room for
  // IPv6 and tunnels, as in libwebrtc). 256 to 65507 (OpenSSL's DTLS minimum to UDP's maximum).
  std::size_t mtu_bytes = 1200;

  retransmit_policy retransmit;

  // handshake_timeout bounds the whole handshake, from the session's construction until the
  // peer is verified; then the session fails with errc::handshake_timeout. 1 ms to 1 h.
  std::chrono::milliseconds handshake_timeout{30000};

  // max_held_records bounds the application records a session holds while a verifier has
  // deferred its verdict; more are dropped and counted (session_stats::records_dropped_held).
  std::size_t max_held_records = 64;

  // srtp_profiles turns on DTLS-SRTP (RFC 5764): the protection profiles to offer (client) or
  // accept (server), most preferred first. The server picks the first of its own list that the
  // client offered. Empty: no use_srtp extension. A value outside srtp_profile's four is refused
  // (errc::invalid_argument).
  std::vector<srtp_profile> srtp_profiles;

  // require_srtp fails a handshake that ends without a common profile, with
  // errc::no_common_srtp_profile on this end and a handshake_failure alert to the peer.
  // Otherwise the association continues without SRTP (RFC 5764 section 4.1.1) and
  // session::srtp_profile() is empty. Needs srtp_profiles.
  bool require_srtp = false;

  // key_log, when set, receives one NSS key log line per handshake ("CLIENT_RANDOM <random>
  // <master secret>", the SSLKEYLOGFILE format Wireshark reads). Whoever holds these lines can
  // decrypt the session: for debugging only. It is called from handle_datagram (or, after a
  // deferred verdict, from verify_peer) on the thread driving the session, after OpenSSL has
  // returned (never from inside OpenSSL); an exception it
  // throws is swallowed.
  std::function<void(std::string_view line)> key_log;
};

// context owns the OpenSSL SSL_CTX for one identity and policy: DTLS 1.2 only (RFC 6347),
// ECDHE key exchange with AEAD suites (AES-GCM, ChaCha20-Poly1305), groups X25519, P-256, P-384,
// extended master secret required (RFC 7627), no session tickets or resumption, no compression,
// no renegotiation (RFC 8827 section 6.5 and RFC 8261 section 6), and a certificate from both
// ends with our verifier in place of X.509 chain building.
//
// Building a context is the expensive part in OpenSSL 3.0 (SSL_CTX_new loads providers and
// algorithms); build one per identity and policy and share it. A context is immutable once
// built and safe to use from many threads. Sessions share its SSL_CTX by reference count and
// copy its policy, so a context may be destroyed while its sessions live. Copies share one
// SSL_CTX.
class DTLSPP_API context {
 public:
  // context builds the SSL_CTX. Throws dtlspp::error: errc::invalid_argument for options out of
  // range, errc::crypto_failure when OpenSSL refuses the identity or the policy.
  explicit context(context_options options = {});

  const dtlspp::identity& identity() const noexcept { return *options_.identity; }
  const context_options& options() const noexcept { return options_; }

  // native_handle returns the SSL_CTX borrowed from *this (cast to SSL_CTX*), for settings
  // dtlspp does not wrap. Change it only before the first session is made from it.
  ssl_ctx_st* native_handle() const noexcept { return ctx_.get(); }

  context(const context& other);
  context& operator=(const context& other);
  context(context&&) noexcept;
  context& operator=(context&&) noexcept;
  ~context();

 private:
  context_options options_;
  detail::handle<ssl_ctx_st> ctx_;
};

}  // namespace dtlspp
