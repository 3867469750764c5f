// dtlspp/session.hpp: one DTLS 1.2 association with one peer, sans-IO.
//
// A session never touches a socket. The application feeds it what arrives (handle_datagram),
// the time (handle_timeout) and what to send (send, close); after each of those it drains
// poll() until it returns nothing, sending every transmit to the peer; then it arms one timer
// for next_timeout():
//
//   session s(ctx, dtlspp::role::client, dtlspp::expect({peer_fp}));
//   drain(s);                                          // the client's first flight
//   on datagram d:  if (s.handle_datagram(d)) ...;  drain(s);
//   on timer:       if (s.handle_timeout()) ...;    drain(s);
//   then:           if (auto t = s.next_timeout()) arm the timer for *t; else disarm it
//   where drain(s) = while (auto e = s.poll()) { visit *e: transmit -> sendto, received -> use,
//                                                connected -> start, closed -> stop }
//
// Time is an input. Every decision dtlspp makes on time (the handshake deadline, when the
// retransmission timer expires, what next_timeout() answers) uses the `now` passed to the call,
// steady_clock::now() by default; a test or a simulation may pass its own clock's time. One
// thing stays on OpenSSL's own clock: whether a flight is due for retransmission. OpenSSL 3.0
// reads gettimeofday() when it arms its timer and again when asked to retransmit, and has no
// way to inject a clock; dtlspp arms its own expiry at the same moment, so with the real clock
// the two agree (OpenSSL counts a timer with under 15 ms left as expired). With a clock of
// your own, OpenSSL still retransmits on real time; handle_timeout() then waits for it instead
// of spinning.
//
// What DTLS gives, precisely: the handshake is reliable (retransmitted, fragmented to the MTU,
// reassembled). Application data is not: each send is one record in one datagram, which may be
// lost or reordered and is delivered as it arrives, never duplicated (replay window, RFC 6347
// section 4.1.2.6) and never altered (AEAD).
#pragma once

#include "dtlspp/export.hpp"

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string_view>
#include <system_error>
#include <variant>
#include <vector>

#include "dtlspp/certificate.hpp"
#include "dtlspp/context.hpp"
#include "dtlspp/srtp.hpp"
#include "dtlspp/verifier.hpp"

struct ssl_st;

namespace dtlspp {

// time_point is the time every session and listener call takes: a point on the steady clock.
using time_point = std::chrono::steady_clock::time_point;

// role is fixed at construction: the client sends the first flight (in WebRTC, the a=setup:active
// side is the client, RFC 5763 section 5).
enum class role { client, server };

// state is where a session is. handshaking lasts until the peer is verified (a deferred verdict
// included); closed follows a clean close_notify either way; failed holds a sticky error.
enum class state { handshaking, connected, closed, failed };

// name returns the enumerator's identifier ("client", "handshaking"), "unknown" outside the
// enumeration; parse_role and parse_state read it back, in any case, and give nothing for
// anything else.
DTLSPP_API std::string_view name(dtlspp::role r) noexcept;
DTLSPP_API std::optional<dtlspp::role> parse_role(std::string_view text) noexcept;
DTLSPP_API std::string_view name(dtlspp::state s) noexcept;
DTLSPP_API std::optional<dtlspp::state> parse_state(std::string_view text) noexcept;

// transmit: send datagram to the peer, as one UDP datagram, never larger than the MTU.
struct transmit {
  std::span<const std::byte> datagram;
};
// received: one application record's plaintext, as the peer passed it to send().
struct received {
  std::span<const std::byte> data;
};
// connected: the handshake is complete and the peer verified; data and keys are available.
struct connected {};
// closed: the association ended. reason is empty for a clean close (close_notify sent or
// received); otherwise the sticky error (session::error_message() says more).
struct closed {
  std::error_code reason;
};

using event = std::variant<transmit, received, connected, closed>;

// session_stats counts what went through a session. Datagrams that the session dropped before
// OpenSSL saw them are counted by reason; records OpenSSL discarded (replayed, failing
// authentication, or from a stale epoch, RFC 6347 section 4.1.2.7) cannot be told apart.
struct session_stats {
  std::uint64_t datagrams_in = 0, bytes_in = 0;
  std::uint64_t datagrams_out = 0, bytes_out = 0;
  std::uint64_t records_received = 0;              // application records decrypted
  std::uint64_t records_sent = 0;                  // application records sent
  std::uint64_t datagrams_dropped_malformed = 0;   // not a well-formed sequence of DTLS records
  std::uint64_t datagrams_dropped_oversize = 0;    // larger than any DTLS record can be
  std::uint64_t datagrams_dropped_unexpected = 0;  // a handshake message the role never receives
  std::uint64_t records_discarded = 0;             // application records OpenSSL did not deliver
  std::uint64_t records_dropped_held = 0;          // beyond max_held_records while verifying
  std::uint64_t retransmissions = 0;               // flights resent because the timer expired
  std::optional<std::chrono::nanoseconds> handshake_duration;  // construction to connected
};

// session is one DTLS 1.2 association: it owns an OpenSSL SSL object and its datagram BIO.
// Move-only; moving keeps every pointer OpenSSL holds valid (the state lives on the heap).
// A session is used by one thread at a time; distinct sessions, even of one context, may run
// on distinct threads.
class DTLSPP_API session {
 public:
  // session starts an association over ctx's identity and policy, verifying the peer with v;
  // the handshake deadline runs from `now`. A client queues its first flight at once: drain
  // poll() after construction. Throws dtlspp::error: errc::invalid_argument for a role that is
  // neither client nor server, errc::crypto_failure if OpenSSL cannot allocate the session.
  session(const context& ctx, dtlspp::role r, verifier v,
          time_point now = std::chrono::steady_clock::now());

  // handle_datagram feeds one datagram received from the peer at `now` (the span is not kept).
  // Garbage, truncated, oversize, replayed and stale datagrams are dropped and counted in
  // stats(); they never change the state. Returns the sticky error once the session failed
  // (errc::closed after a clean close), and the new error when this datagram made it fail.
  // Never throws.
  [[nodiscard]] std::error_code handle_datagram(std::span<const std::byte> datagram,
                                                time_point now = std::chrono::steady_clock::now());

  // handle_timeout lets the session act on time: at or after next_timeout() it retransmits the
  // flight whose timer expired, or fails with errc::handshake_timeout past the deadline (the
  // peer is told what OpenSSL allows: see verify_peer). Calling it early does nothing.
  [[nodiscard]] std::error_code handle_timeout(time_point now = std::chrono::steady_clock::now());

  // send protects data as one record, queued as one transmit. Returns errc::not_connected
  // before the peer is verified, errc::message_too_large when data does not fit one record at
  // the MTU (see max_send_size()), the sticky error after a failure. Never throws.
  [[nodiscard]] std::error_code send(std::span<const std::byte> data);

  // close queues a close_notify alert (RFC 5246 section 7.2.1) when connected and moves to
  // closed; a closed event follows. close_notify is not retransmitted: it may be lost.
  void close();

  // poll returns the next output, in the order it happened, or nothing when all are out. Once
  // the session has ended, a single closed event comes after every datagram it still had to
  // send (an alert, a close_notify). Spans in the event stay valid until the next call on *this
  // (any member but the const ones), with one exception: a received record may be passed
  // straight to send() on the same session (an echo), which reads it before it writes anything.
  std::optional<event> poll();

  // next_timeout returns when handle_timeout should next be called, or nothing when no timer
  // runs (connected and idle, closed, failed): the earlier of the retransmission timer and,
  // while handshaking, the handshake deadline. It is a fixed point in time, set when the timer
  // was armed (from the `now` of the call that armed it), so it needs no `now` of its own: it
  // does not move as time passes, and once the clock reaches it the timer is due, however the
  // loop reads the clock. Call it after draining poll(); only an input changes it.
  std::optional<time_point> next_timeout() const;

  // verify_peer settles a deferred verdict at `now`: accept releases connected and the records
  // held meanwhile, in order; reject fails the session with errc::fingerprint_mismatch and drops
  // them. Ignored unless verification_pending() and v is accept or reject; past the handshake
  // deadline the session fails with errc::handshake_timeout instead.
  // What the peer is told when a deferred verification ends in failure (a reject, or the
  // deadline) depends on how far the handshake got, since OpenSSL 3.0 can send neither an alert
  // after the handshake (BoringSSL's SSL_send_fatal_alert has no OpenSSL counterpart) nor a
  // close_notify during it:
  // - the handshake finished on the wire: a close_notify, so the peer sees a clean close;
  // - not finished, and this end has not sent change_cipher_spec yet (a server still waiting
  //   for the client's Finished): a fatal bad_certificate alert (user_canceled for the
  //   deadline), in plaintext, which the peer's handshake reads and fails on;
  // - not finished, change_cipher_spec sent (a client waiting for the server's Finished):
  //   nothing; this end's records are encrypted with keys OpenSSL does not let it use yet, and
  //   the peer ends on its own timers.
  void verify_peer(verdict v, time_point now = std::chrono::steady_clock::now());

  // verification_pending is true while a deferred verdict is awaited.
  bool verification_pending() const noexcept;

  dtlspp::role role() const noexcept;
  dtlspp::state state() const noexcept;

  // error returns the sticky error of a failed session (empty otherwise); error_message says
  // what happened in words: the expected and actual fingerprints on a mismatch, the alert's
  // description for errc::peer_alert, OpenSSL's reasons for errc::protocol_error.
  std::error_code error() const noexcept;
  std::string_view error_message() const noexcept;

  // peer_certificate returns the peer's certificate once it presented one (verified or not:
  // check state(); a rejected one stays, to log), or null. The pointer is valid until *this is
  // destroyed or moved from.
  const certificate* peer_certificate() const noexcept;

  // max_send_size returns the largest send() that fits one record in one datagram at the MTU,
  // given the negotiated cipher suite; 0 before connected.
  std::size_t max_send_size() const noexcept;

  // cipher_name returns the negotiated suite's OpenSSL name ("ECDHE-ECDSA-AES128-GCM-SHA256"),
  // or an empty view before the handshake completes.
  std::string_view cipher_name() const noexcept;

  session_stats stats() const noexcept;

  // srtp_profile returns the DTLS-SRTP profile the handshake agreed on, once connected; empty
  // before, and when the peers share none (RFC 5764 section 4.1.1: then there is no SRTP).
  std::optional<dtlspp::srtp_profile> srtp_profile() const noexcept;

  // srtp_keying_material exports the SRTP master keys and salts for the agreed profile (RFC 5764
  // section 4.2), sized for it. Empty before connected (so never before the peer is verified)
  // and without a profile. Throws dtlspp::error(errc::crypto_failure) if OpenSSL fails.
  std::optional<srtp_keys> srtp_keying_material() const;

  // export_keying_material is the RFC 5705 exporter: `length` bytes derived from the master
  // secret, the label and, when not empty, the context (an empty span means "no context").
  // Throws dtlspp::error: errc::not_connected before the peer is verified;
  // errc::invalid_argument for an empty label, one beginning with a label TLS uses ("client
  // finished", "server finished", "master secret", "key expansion", "extended master secret"; RFC
  // 5705 section 4, RFC 7627 section 4), a length of 0 or above 65535 bytes, or a label and context
  // longer than 958 bytes together (OpenSSL's PRF seed limit). Wipe what it returns when done with
  // it.
  std::vector<std::byte> export_keying_material(std::string_view label, std::size_t length,
                                                std::span<const std::byte> context = {}) const;

  // native_handle returns the SSL borrowed from *this (cast to SSL*), for what dtlspp does not
  // wrap. Do not perform I/O on it, or change its BIO or callbacks.
  ssl_st* native_handle() const noexcept;

  session(session&&) noexcept;
  session& operator=(session&&) noexcept;
  ~session();

  struct DTLSPP_HIDDEN impl;

 private:
  friend class listener;
  struct verified_client_hello {
    std::span<const std::byte> datagram;
  };
  // session continues a handshake from a ClientHello whose cookie a listener has verified (RFC
  // 6347 section 4.2.1): the server side of the cookie exchange, without state before it.
  session(const context& ctx, verifier v, verified_client_hello hello, time_point now);

  std::unique_ptr<impl> impl_;
};

}  // namespace dtlspp
