// dtlspp/listener.hpp: the server side for many peers on one socket, sans-IO.
//
// A listener owns one session per peer address and answers unknown peers statelessly: a
// ClientHello without a valid cookie gets a HelloVerifyRequest (RFC 6347 section 4.2.1) and
// allocates nothing, so a flood of spoofed ClientHellos costs no memory, and an address that has
// not proved it can receive never gets more bytes back than it sent. It is driven like a session:
// after each input (handle_datagram, handle_timeout, send, close) drain poll(), sending every
// transmit to its peer; then arm a timer for next_timeout().
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <system_error>

#include "dtlspp/context.hpp"
#include "dtlspp/session.hpp"
#include "dtlspp/verifier.hpp"

namespace dtlspp {

// listener_options bound what a listener holds. Over a limit, new ClientHellos are dropped and
// counted; sessions that exist keep working.
struct listener_options {
  // cookies turns on the stateless cookie exchange. Turn it off only where the peer's address
  // is already proven, as ICE connectivity checks do in WebRTC (RFC 9147 section 5.1).
  bool cookies = true;
  // cookie_secret_lifetime is how long one HMAC secret makes cookies; the previous secret stays
  // valid for one more period, so a cookie lives between one and two periods.
  std::chrono::seconds cookie_secret_lifetime{30};
  std::size_t max_sessions = 10000;   // sessions of every state
  std::size_t max_handshakes = 1000;  // sessions still handshaking (half-open)
  // idle_timeout ends an established session that received and sent nothing for this long.
  std::chrono::seconds idle_timeout{300};
};

// listener_stats counts what a listener did; the last two are gauges.
struct listener_stats {
  std::uint64_t datagrams_in = 0;
  std::uint64_t hello_verify_requests = 0;     // sent, statelessly
  std::uint64_t cookies_rejected = 0;          // ClientHellos whose cookie was stale or forged
  std::uint64_t dropped_not_client_hello = 0;  // from unknown peers
  std::uint64_t dropped_amplification = 0;     // a HelloVerifyRequest would outweigh the request
  std::uint64_t dropped_session_limit = 0;
  std::uint64_t dropped_handshake_limit = 0;
  std::uint64_t sessions_created = 0;
  std::uint64_t sessions_replaced = 0;  // a peer that lost its state started afresh
  std::uint64_t sessions_expired = 0;   // idle for idle_timeout
  std::size_t sessions = 0;
  std::size_t handshakes = 0;
};

// peer_event is a session's event tagged with its peer's address, as given to handle_datagram
// (the bytes of a sockaddr, say). Both spans stay valid until the next call on the listener.
struct peer_event {
  std::span<const std::byte> peer;
  dtlspp::event event;
};

// listener serves many peers over one context and one verifier (copied for every session).
// Move-only; used by one thread at a time.
class listener {
 public:
  // listener takes the context's policy (copied) and the verifier every peer must pass.
  // Throws dtlspp::error: errc::invalid_argument for options out of range, errc::crypto_failure
  // if OpenSSL cannot make the cookie secret.
  listener(const context& ctx, verifier v, listener_options options = {});

  // handle_datagram feeds one datagram from peer (an opaque address, at most 128 bytes; both
  // spans are not kept). Returns the error of the peer's session when this datagram made it
  // fail, errc::invalid_argument for an empty or oversize address, and otherwise nothing:
  // datagrams from unknown peers that are not acceptable ClientHellos are dropped and counted.
  // Never throws.
  [[nodiscard]] std::error_code handle_datagram(std::span<const std::byte> peer,
                                                std::span<const std::byte> datagram);

  // handle_timeout runs every session timer that is due, and ends idle sessions.
  void handle_timeout();

  // send and close act on the session of peer; errc::not_connected when there is none.
  [[nodiscard]] std::error_code send(std::span<const std::byte> peer,
                                     std::span<const std::byte> data);
  void close(std::span<const std::byte> peer);

  // poll returns the next output of the listener or any of its sessions. A session whose closed
  // event was polled is forgotten at the next call.
  std::optional<peer_event> poll();

  // next_timeout returns the earliest timer of all sessions (from a heap, not a scan).
  std::optional<std::chrono::steady_clock::time_point> next_timeout() const;

  // find returns the session of peer, or null; valid until the next non-const call.
  const session* find(std::span<const std::byte> peer) const;

  listener_stats stats() const noexcept;

  listener(listener&&) noexcept;
  listener& operator=(listener&&) noexcept;
  ~listener();

  struct impl;

 private:
  std::unique_ptr<impl> impl_;
};

}  // namespace dtlspp
