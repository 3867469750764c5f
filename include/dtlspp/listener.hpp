// dtlspp/listener.hpp: the server side for many peers on one socket, sans-IO.
//
// A listener owns one session per peer address and answers unknown peers statelessly: a
// ClientHello without a valid cookie gets a HelloVerifyRequest (RFC 6347 section 4.2.1) and
// allocates nothing, so a flood of spoofed ClientHellos costs no memory, and an address that has
// not proved it can receive never gets more bytes back than it sent. It is driven like a session:
// after each input (handle_datagram, handle_timeout, send, close, with_session) drain poll(),
// sending every transmit to its peer; then arm a timer for next_timeout(). Time is an input, as
// for a session (see session.hpp): the handshake deadlines, idle expiry and cookie secret
// rotation use the `now` passed to handle_datagram and handle_timeout.
//
// A peer is an opaque address of up to 128 bytes: whatever identifies the sender of a datagram
// to the application, typically the bytes of the sockaddr that recvfrom() filled in (so that
// sendto() can use them again). Two datagrams come from one peer when their addresses are
// byte-for-byte equal.
//
// A ClientHello may arrive in fragments (RFC 6347 section 4.2.2; browsers' ClientHellos with
// post-quantum key shares do): once its first fragment proves the address (a valid cookie, or
// cookies off), the listener puts the message back together, keeping at most max_handshakes
// such messages at a time, each for at most the context's handshake_timeout. The first fragment
// must hold the ClientHello up to its compression methods (clients cut at their MTU, far
// beyond); one that does not is dropped.
//
// A peer that restarts (it lost its state and sends a new ClientHello from the same address,
// RFC 6347 section 4.2.8) gets a new handshake beside its old association, whether that one is
// connected or still half-open. The old association ends, with a closed event whose reason is
// errc::peer_restarted, only once the new handshake has finished on the wire (the client's
// Finished verified), so a replayed or forged ClientHello cannot end it. Until then a connected
// old association keeps working: its records are encrypted, and the listener gives it every
// encrypted datagram. Plaintext (epoch 0) datagrams go to the new handshake only, so a half-open
// old one gets no more of its peer's flights; with cookies off, a ClientHello forged from a
// peer's address can therefore stall that peer's unfinished handshake (not a connected one):
// keep cookies on unless something else proves addresses (ICE consent in WebRTC). A new
// handshake that fails or times out ends silently (stats count it). With a verifier that
// defers, "finished on the wire" comes before the verdict: the old association has ended when
// the application is asked about the new one, and a reject then leaves the peer with none.
#pragma once

#include "dtlspp/export.hpp"

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <system_error>
#include <type_traits>

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
  // valid for one more period, so a cookie is accepted for between one and two periods after it
  // was made. Periods are counted on the caller's clock whether or not traffic arrives.
  std::chrono::seconds cookie_secret_lifetime{30};
  std::size_t max_sessions = 10000;   // sessions of every state, restarts' new handshakes too
  std::size_t max_handshakes = 1000;  // sessions still handshaking (half-open)
  // idle_timeout ends an established session from which no datagram was accepted for this
  // long: a datagram counts when it carried an authenticated record or moved the handshake.
  // Junk and replays from a spoofed address do not count, nor does what the application sends:
  // a peer that only listens must answer something (a keepalive) now and then.
  std::chrono::seconds idle_timeout{300};
};

// listener_stats counts what a listener did; the last two are gauges.
struct listener_stats {
  std::uint64_t datagrams_in = 0;
  std::uint64_t hello_verify_requests = 0;     // sent, statelessly
  std::uint64_t cookies_rejected = 0;          // ClientHellos whose cookie was stale or forged
  std::uint64_t client_hellos_joined = 0;      // arrived in fragments, put back together
  std::uint64_t dropped_not_client_hello = 0;  // from unknown peers
  std::uint64_t dropped_session_limit = 0;
  std::uint64_t dropped_handshake_limit = 0;
  std::uint64_t sessions_created = 0;
  std::uint64_t sessions_replaced = 0;   // a restarted peer's new handshake finished
  std::uint64_t restarts_abandoned = 0;  // a new handshake beside an association failed
  std::uint64_t sessions_expired = 0;    // idle for idle_timeout
  std::size_t sessions = 0;
  std::size_t handshakes = 0;
};

// peer_event is a session's event tagged with its peer's address, as given to handle_datagram.
// Both spans stay valid until the next call on the listener.
struct peer_event {
  std::span<const std::byte> peer;
  dtlspp::event event;
};

// listener serves many peers over one context and one verifier (copied for every session).
// Move-only; used by one thread at a time.
class DTLSPP_API listener {
 public:
  // listener takes the context's policy (copied) and the verifier every peer must pass (copied
  // for each session). Throws dtlspp::error: errc::invalid_argument for options out of range,
  // errc::crypto_failure if OpenSSL cannot make the cookie secret.
  listener(const context& ctx, verifier v, listener_options options = {});

  // handle_datagram feeds one datagram from peer received at `now` (both spans are not kept).
  // Returns the error of the peer's session when this datagram made it fail,
  // errc::invalid_argument for an empty or oversize address (or a moved-from listener), and
  // otherwise nothing: datagrams from unknown peers that are not acceptable ClientHellos are
  // dropped and counted. When the peer's verifier deferred its verdict, find(peer) then reports
  // verification_pending(); settle it with with_session. Never throws.
  [[nodiscard]] std::error_code handle_datagram(std::span<const std::byte> peer,
                                                std::span<const std::byte> datagram,
                                                time_point now = std::chrono::steady_clock::now());

  // handle_timeout runs, at `now`, every session timer that is due, and ends the sessions idle
  // for idle_timeout (a close_notify, then a closed event with errc::idle_timeout). Early calls
  // do nothing.
  void handle_timeout(time_point now = std::chrono::steady_clock::now());

  // send and close act on the session of peer; errc::not_connected when there is none.
  [[nodiscard]] std::error_code send(std::span<const std::byte> peer,
                                     std::span<const std::byte> data);
  void close(std::span<const std::byte> peer);

  // poll returns the next output of the listener or any of its sessions. A session whose closed
  // event was polled is forgotten at the next call.
  std::optional<peer_event> poll();

  // next_timeout returns the earliest time at which handle_timeout has something to do: a
  // session's next_timeout() or the end of an idle period, whichever comes first (kept ordered,
  // not scanned). Fixed points in time, like a session's: only an input changes them.
  std::optional<time_point> next_timeout() const;

  // find returns the session of peer (its current association), or null; valid until the next
  // non-const call. Every const member of session works on it: state, verification_pending,
  // peer_certificate, stats, srtp_keying_material, export_keying_material...
  const session* find(std::span<const std::byte> peer) const;

  // with_session calls f(session&) with the session of peer, so that any session call can be
  // made on a listener's peer (verify_peer to settle a deferred verdict, say), then brings the
  // listener's timers and outputs up to date: drain poll() afterwards. f must not move from the
  // session nor call back into the listener. Returns whether peer has a session (f is not called
  // otherwise). An exception from f propagates, after the update.
  template <class F>
  requires std::is_invocable_v<F&, session&>
  bool with_session(std::span<const std::byte> peer, F&& f) {
    return visit(peer, &call<std::remove_reference_t<F>>, std::addressof(f));
  }

  listener_stats stats() const noexcept;

  listener(listener&&) noexcept;
  listener& operator=(listener&&) noexcept;
  ~listener();

  struct DTLSPP_HIDDEN impl;

 private:
  template <class F>
  static void call(void* f, session& s) {
    (*static_cast<F*>(f))(s);
  }
  bool visit(std::span<const std::byte> peer, void (*fn)(void*, session&), void* f);

  std::unique_ptr<impl> impl_;
};

}  // namespace dtlspp
