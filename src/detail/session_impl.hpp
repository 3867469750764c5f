// src/detail/session_impl.hpp: the state behind a session handle.
//
// It lives on the heap so that moving a session keeps every pointer OpenSSL holds to it (the
// BIO's channel and the callbacks' argument) valid (invariant: boring lifetimes).
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "detail/datagram_bio.hpp"
#include "detail/openssl.hpp"
#include "detail/output_queue.hpp"
#include "detail/record_filter.hpp"
#include "dtlspp/session.hpp"

namespace dtlspp {

// Largest plaintext of one record (RFC 6347 section 4.1, TLSPlaintext.length <= 2^14).
inline constexpr std::size_t max_plaintext = 16384;

enum class verification { none, pending, accepted, rejected };

struct session::impl {
  using clock = std::chrono::steady_clock;

  impl(const context& ctx, dtlspp::role r, verifier v, clock::time_point now);
  ~impl();  // wipes what is left of the key log (invariant: wiped secrets)
  impl(const impl&) = delete;
  impl& operator=(const impl&) = delete;

  // ---- inputs, each already past the sticky-error check, with channel.now set ----
  std::error_code on_datagram(std::span<const std::byte> datagram);
  // on_handshake_datagram hands a datagram the record filter accepted to the handshake (until
  // OpenSSL finished it on the wire); on_datagram keeps the per-record path to itself.
  [[gnu::noinline]] std::error_code on_handshake_datagram(std::span<const std::byte> datagram);
  // count_dropped counts a datagram the record filter dropped, by its verdict.
  [[gnu::noinline]] void count_dropped(detail::datagram_verdict verdict) noexcept;
  std::error_code on_timeout();
  std::error_code on_send(std::span<const std::byte> data);
  void on_close() noexcept;
  void on_verdict(verdict v);
  // accept_verified_client_hello starts a server from a ClientHello whose cookie a listener
  // checked: DTLSv1_listen takes it and sets the handshake and record sequence numbers the
  // client expects after a HelloVerifyRequest (RFC 6347 section 4.2.2).
  std::error_code accept_verified_client_hello(std::span<const std::byte> datagram);
  void note_offered_suites();

  // ---- driving OpenSSL ----
  // feed serves datagram to OpenSSL through the BIO for the duration of work().
  template <class F>
  std::error_code feed(std::span<const std::byte> datagram, F work);
  std::error_code drive();
  // queue says whether the error queue was cleared before the input (the handshake) or holds
  // what other code on the thread may have left there (the per-record path).
  enum class queue { cleared, unchecked };
  std::error_code read_records(queue q);
  // read_stopped settles an SSL_read that returned rc <= 0: the datagram is used up, the peer
  // closed, or the session failed.
  std::error_code read_stopped(int rc, queue q);
  std::error_code on_handshake_complete();
  void become_connected();
  // deliver hands out the record of `size` bytes that SSL_read just put in the prepared buffer:
  // queued when connected, held back while verification is pending (hold).
  void deliver(std::size_t size) {
    ++stats.records_received;
    if (state == dtlspp::state::connected) {
      out.commit(detail::output_kind::received, size);
    } else {
      hold(size);
    }
  }
  void hold(std::size_t size);
  void on_peer_close() noexcept;

  // ---- idle memory ----
  // note_input records the `now` of an input that carries one (a datagram, a timeout, a
  // verdict): an input after a quiet period asks for the record buffers to be released once it
  // is handled; one in a stream of inputs keeps them.
  void note_input(clock::time_point now) noexcept {
    channel.now = now;
    release_when_drained = state == dtlspp::state::connected && now - last_input >= quiet_period;
    last_input = now;
  }
  // on_drained runs when poll() has handed out every output: it releases the record buffers of
  // an established session that was asked to (release_buffers).
  void on_drained() noexcept {
    if (release_when_drained) release_buffers();
  }
  void release_buffers() noexcept;
  // wake re-creates released buffers before a call that writes; false if OpenSSL could not
  // allocate them.
  bool wake() noexcept { return !buffers_released || realloc_buffers(); }
  bool realloc_buffers() noexcept;
  // An input this long after the previous one finds the association quiet (note_input). Waking
  // costs two allocations (~1 µs), nothing at one wake a second; a stream of inputs closer
  // together keeps the buffers and allocates nothing per record.
  static constexpr std::chrono::seconds quiet_period{1};
  // check_deadline fails a handshake past its deadline (only a handshaking session has one).
  std::error_code check_deadline() {
    if (state != dtlspp::state::handshaking || channel.now < deadline) return {};
    return handshake_timed_out();
  }
  std::error_code handshake_timed_out();
  // note_progress records that the datagram just handled was accepted: it delivered a record,
  // moved the handshake or the state, or made OpenSSL answer (a repeated final flight).
  void note_progress(std::uint64_t records_before, std::uint64_t datagrams_out_before,
                     OSSL_HANDSHAKE_STATE handshake_before, dtlspp::state state_before) noexcept;

  // ---- failure ----
  // fail_from_openssl fails with what OpenSSL says went wrong, draining the error queue into the
  // message; the second form takes entries already drained (timed_out: the newest was
  // SSL_R_READ_TIMEOUT_EXPIRED).
  std::error_code fail_from_openssl(int ssl_error);
  std::error_code fail_from_openssl(int ssl_error, std::string reasons, bool timed_out);
  // fail moves to failed with e and why (sticky); the closed event is made by poll().
  std::error_code fail(errc e, std::string why) noexcept;
  // fail_after_handshake fails a session whose handshake is over on the wire: OpenSSL 3.0 has
  // no public call for a fatal alert then, so the peer gets a close_notify at least.
  std::error_code fail_after_handshake(errc e, std::string why) noexcept;
  // abandon fails a session that ends on its own decision (a rejected deferred verdict, the
  // deadline) and tells the peer what OpenSSL 3.0 allows (session::verify_peer lists the
  // cases): a close_notify after the handshake, else a plaintext fatal `alert` while our
  // records are still in epoch 0 and the peer has spoken to us.
  std::error_code abandon(errc e, std::string why, std::uint8_t alert) noexcept;
  std::error_code sticky() const noexcept {
    if (state == dtlspp::state::failed) return error;
    if (state == dtlspp::state::closed) return errc::closed;
    return {};
  }
  // terminal: closed or failed, the two states after connected (session.hpp lists them last).
  bool terminal() const noexcept { return state > dtlspp::state::connected; }
  static_assert(dtlspp::state::closed > dtlspp::state::connected &&
                dtlspp::state::failed > dtlspp::state::connected);

  // ---- callbacks, called by OpenSSL from inside the calls above ----
  int on_verify(X509* leaf) noexcept;
  unsigned int on_timer(unsigned int previous_us) noexcept;
  unsigned int set_timer(long long duration_us) noexcept;
  void wait_for_openssl_clock() noexcept;
  void on_alert_read(int level, int description) noexcept;
  void on_key_log(const char* line) noexcept;
  void release_key_log() noexcept;
  void wipe_key_log() noexcept;

  // Policy, copied from the context (a session does not borrow its context; invariant: boring
  // lifetimes).
  const std::size_t mtu;
  const retransmit_policy retransmit;
  const std::size_t max_held;
  const std::function<void(std::string_view)> key_log;
  // The verifier, until the peer is verified: a connected session never calls it again (one
  // verification per handshake, renegotiation is off), so become_connected destroys it and an
  // idle session keeps no copy of the expected fingerprints (~200 bytes for expect()).
  std::optional<verifier> verify;
  const dtlspp::role role;

  dtlspp::state state = dtlspp::state::handshaking;
  verification verified = verification::none;
  bool handshake_done = false;   // OpenSSL finished the handshake on the wire
  bool closed_reported = false;  // poll() handed out the closed event
  const bool require_srtp;       // policy, beside the other flags (no padding hole)
  std::optional<certificate> peer;
  std::string rejection;  // why the verifier rejected, for the error message
  errc rejection_code = errc::fingerprint_mismatch;
  int fatal_alert_read = -1;          // description of a fatal alert received, or -1
  bool cookie_verified = false;       // a listener checked this session's ClientHello cookie
  bool release_when_drained = false;  // release the buffers at the next on_drained()
  bool buffers_released = false;      // OpenSSL's record buffers are freed (wake())
  int expiries = 0;                   // of the running flight's timer (on_timer)
  std::error_code error;
  std::string message;

  const clock::time_point started;
  const clock::time_point deadline;
  clock::time_point last_accepted;  // when a datagram last made progress (see note_progress),
                                    // or the session connected

  detail::output_queue out;
  detail::datagram_channel channel;
  std::vector<std::vector<std::byte>> held;  // records received while verification is pending
  // The largest datagram since the buffers were last released that held a record (any, while
  // handshaking): no record's plaintext is longer.
  std::size_t largest_datagram = 0;
  std::size_t max_record = 0;                 // max_send_size() once connected
  clock::time_point last_input;               // the `now` of the last input that carries one
  std::vector<std::uint16_t> offered_suites;  // a client's, for the record filter
  session_stats stats;
  std::uint64_t application_records_in = 0;
  // Key log lines from OpenSSL, released to key_log once the peer is verified (a secret of an
  // unverified peer's session is nobody's business) and wiped otherwise.
  std::vector<std::string> key_log_lines;

  detail::handle<SSL> ssl;  // last: freed first, while everything its callbacks touch lives
};

}  // namespace dtlspp
