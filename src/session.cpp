// src/session.cpp: the sans-IO DTLS 1.2 session.
#include "dtlspp/session.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <limits>

#include "detail/access.hpp"
#include "detail/record_filter.hpp"
#include "detail/session_callbacks.hpp"
#include "detail/session_impl.hpp"
#include "detail/wire.hpp"

namespace dtlspp {
namespace {

using clock = std::chrono::steady_clock;
using std::chrono::microseconds;
using namespace std::chrono_literals;

// The clean error queue (docs/architecture.md) promises two things: SSL_get_error sees only the
// entries of the call it judges (SSL_get_error(3): "the current thread's error queue must be
// empty before the TLS/SSL I/O operation is attempted"), and nothing of ours is left for the next
// session or library on this thread. Two ways to keep it:
// - the handshake and the rare inputs (timeouts, close, verdicts) run inside an
//   error_queue_scope, which clears the queue on entry and on exit;
// - an established session's records (send, handle_datagram) do no error-queue work while
//   OpenSSL succeeds: reading the queue costs ~250 instructions a call (ERR_peek_error goes
//   through OPENSSL_init_crypto and the thread-local lookup), a tenth of a record. They pay on
//   their failure paths instead: a failure drains the queue into the error it reports, and
//   read_stopped sets aside entries that an SSL_read did not push. OpenSSL 3.0 leaves the queue
//   as it found it when it succeeds, also when it silently drops a forged record in the same
//   datagram (dtls1_process_record brackets decryption with ERR_set_mark/ERR_pop_to_mark).

// error_queue_scope clears this thread's OpenSSL error queue on entry and on exit.
// ERR_clear_error walks every slot of the queue (hundreds of instructions), so it runs only when
// the queue holds something.
struct error_queue_scope {
  error_queue_scope() noexcept { clear(); }
  ~error_queue_scope() { clear(); }
  static void clear() noexcept {
    if (ERR_peek_error() != 0) ERR_clear_error();
  }
  error_queue_scope(const error_queue_scope&) = delete;
  error_queue_scope& operator=(const error_queue_scope&) = delete;
};

// last_reason returns the reason code of the newest entry in the error queue (0 if empty).
int last_reason() noexcept {
  return ERR_GET_REASON(ERR_peek_last_error());
}

// assign sets s to text, or leaves it as it was when memory runs out: for noexcept paths.
void assign(std::string& s, std::string_view text) noexcept {
  try {
    s.assign(text);
  } catch (const std::bad_alloc&) {
  }
}

}  // namespace

// ---- callbacks: noexcept trampolines into the impl (invariant: no exception across C frames)
// ------------------------------

namespace detail {

namespace {

// impl_of returns the session of ssl, found through its read BIO (datagram_channel::owner).
// Every callback below runs inside a call on that session, after the constructor set the BIO.
session::impl& impl_of(const SSL* ssl) noexcept {
  return *static_cast<session::impl*>(channel_of(ssl)->owner);
}

// timer_trampoline is the DTLS_set_timer_cb callback (OpenSSL 1.1.1+): called with 0 when a
// flight's timer starts and with the last duration when it expired, it returns the next
// duration in microseconds.
unsigned int timer_trampoline(SSL* ssl, unsigned int previous_us) noexcept {
  return impl_of(ssl).on_timer(previous_us);
}

// info_trampoline watches for alerts from the peer: `ret` holds the level in its high byte and
// the description in its low byte (SSL_CTX_set_info_callback(3)).
void info_trampoline(const SSL* ssl, int where, int ret) noexcept {
  // SSL_CB_READ_ALERT and SSL_CB_WRITE_ALERT share the SSL_CB_ALERT bit: test both bits.
  if ((where & SSL_CB_READ_ALERT) == SSL_CB_READ_ALERT) {
    impl_of(ssl).on_alert_read(ret >> 8, ret & 0xFF);
  }
}

}  // namespace

void keylog_trampoline(const SSL* ssl, const char* line) noexcept {
  impl_of(ssl).on_key_log(line);
}

int generate_cookie_trampoline(SSL*, unsigned char*, unsigned int*) noexcept {
  return 0;  // cookies are made by the listener, statelessly, never by a session
}

int verify_cookie_trampoline(SSL* ssl, const unsigned char*, unsigned int) noexcept {
  return impl_of(ssl).cookie_verified ? 1 : 0;
}

int verify_trampoline(X509_STORE_CTX* store, void*) noexcept {
  const auto* ssl = static_cast<const SSL*>(
      X509_STORE_CTX_get_ex_data(store, SSL_get_ex_data_X509_STORE_CTX_idx()));
  X509* leaf = X509_STORE_CTX_get0_cert(store);
  if (ssl == nullptr || leaf == nullptr || detail::channel_of(ssl) == nullptr) {
    X509_STORE_CTX_set_error(store, X509_V_ERR_UNSPECIFIED);
    return 0;
  }
  const int result = impl_of(ssl).on_verify(leaf);
  if (result == X509_V_OK) return 1;
  X509_STORE_CTX_set_error(store, result);
  return 0;
}

}  // namespace detail

// ---- construction ----------------------------------------------------------------------------

session::impl::impl(const context& ctx, dtlspp::role r, verifier v, clock::time_point now)
    : mtu(ctx.options().mtu_bytes),
      retransmit(ctx.options().retransmit),
      max_held(ctx.options().max_held_records),
      key_log(ctx.options().key_log),
      verify(std::move(v)),
      role(r),
      require_srtp(ctx.options().require_srtp),
      started(now),
      deadline(now + ctx.options().handshake_timeout),
      last_accepted(now) {
  if (role != dtlspp::role::client && role != dtlspp::role::server) {
    throw dtlspp::error(errc::invalid_argument, "a session's role is client or server");
  }
  error_queue_scope errors;
  channel.owner = this;
  channel.output = &out;
  channel.mtu = mtu;
  channel.now = now;
  last_input = now;
  ssl.reset(detail::expect_ptr(SSL_new(ctx.native_handle()), "SSL_new"));
  // One BIO serves both directions; SSL_set_bio takes over the single reference. It also leads
  // the callbacks back to this session (impl_of).
  BIO* bio = detail::make_datagram_bio(channel).release();
  SSL_set_bio(ssl.get(), bio, bio);
  // With SSL_OP_NO_QUERY_MTU (set by the context) OpenSSL fragments every handshake message
  // to this MTU (RFC 6347 section 4.1.1) and never lowers it by itself.
  // Warning: SSL_set_mtu returns the MTU it set, not 1, and 0 when the value is too small.
  if (SSL_set_mtu(ssl.get(), static_cast<long>(mtu)) <= 0) {
    detail::fail(errc::invalid_argument, "SSL_set_mtu");
  }
  DTLS_set_timer_cb(ssl.get(), detail::timer_trampoline);
  SSL_set_info_callback(ssl.get(), detail::info_trampoline);
  if (role == dtlspp::role::client) {
    note_offered_suites();
    SSL_set_connect_state(ssl.get());
    static_cast<void>(drive());  // queues the ClientHello; a failure is reported by poll()
  } else {
    SSL_set_accept_state(ssl.get());
  }
}

// note_offered_suites keeps the IANA values of the suites the ClientHello offers, for the
// record filter's ServerHello check.
void session::impl::note_offered_suites() {
  const detail::handle<STACK_OF(SSL_CIPHER)> suites(SSL_get1_supported_ciphers(ssl.get()));
  for (int i = 0; i < sk_SSL_CIPHER_num(suites.get()); ++i) {
    offered_suites.push_back(SSL_CIPHER_get_protocol_id(sk_SSL_CIPHER_value(suites.get(), i)));
  }
}

// ---- inputs ----------------------------------------------------------------------------------

std::error_code session::impl::on_datagram(std::span<const std::byte> datagram) {
  ++stats.datagrams_in;
  stats.bytes_in += datagram.size();
  if (auto ec = check_deadline()) return ec;
  auto summary = detail::inspect_encrypted(datagram);
  if (!summary) summary = detail::inspect(datagram, {role, offered_suites});
  if (summary->verdict != detail::datagram_verdict::accept) {
    count_dropped(summary->verdict);
    return {};
  }
  application_records_in += summary->application_records;
  if (!handshake_done) return on_handshake_datagram(datagram);
  // The per-record path. OpenSSL's handshake state no longer moves (no renegotiation).
  const auto records_before = stats.records_received;
  const auto out_before = channel.datagrams_out;
  const auto state_before = state;
  const auto largest_before = largest_datagram;
  auto ec = feed(datagram, [this] { return read_records(queue::unchecked); });
  if (stats.records_received != records_before || channel.datagrams_out != out_before ||
      state != state_before) {
    last_accepted = channel.now;
  }
  if (largest_datagram > largest_before && stats.records_received == records_before) {
    // Nothing in it decrypted (forged, replayed or stale): it may not make the session read
    // into, and keep, a buffer that large from now on.
    largest_datagram = largest_before;
    out.trim_reading(largest_before);
  }
  return ec;
}

void session::impl::count_dropped(detail::datagram_verdict verdict) noexcept {
  switch (verdict) {
    case detail::datagram_verdict::accept:
      break;
    case detail::datagram_verdict::malformed:
      ++stats.datagrams_dropped_malformed;
      break;
    case detail::datagram_verdict::oversize:
      ++stats.datagrams_dropped_oversize;
      break;
    case detail::datagram_verdict::unexpected:
      ++stats.datagrams_dropped_unexpected;
      break;
  }
}

std::error_code session::impl::on_handshake_datagram(std::span<const std::byte> datagram) {
  const auto records_before = stats.records_received;
  const auto out_before = channel.datagrams_out;
  const auto state_before = state;
  const auto handshake_before = SSL_get_state(ssl.get());
  error_queue_scope errors;
  auto ec = feed(datagram, [this] { return drive(); });
  note_progress(records_before, out_before, handshake_before, state_before);
  return ec;
}

void session::impl::note_progress(std::uint64_t records_before, std::uint64_t out_before,
                                  OSSL_HANDSHAKE_STATE handshake_before,
                                  dtlspp::state state_before) noexcept {
  if (stats.records_received != records_before || channel.datagrams_out != out_before ||
      SSL_get_state(ssl.get()) != handshake_before || state != state_before) {
    last_accepted = channel.now;
  }
}

template <class F>
std::error_code session::impl::feed(std::span<const std::byte> datagram, F work) {
  // A record's plaintext is shorter than the datagram that carried it, so a buffer as long as
  // the longest datagram so far never splits a record (read_records), also one that OpenSSL
  // held back from an earlier datagram.
  largest_datagram = std::max(largest_datagram, datagram.size());
  channel.input = datagram;
  channel.starved = false;
  auto ec = work();
  channel.input = {};  // the caller's span is never kept
  return ec;
}

std::error_code session::impl::accept_verified_client_hello(std::span<const std::byte> datagram) {
  ++stats.datagrams_in;
  stats.bytes_in += datagram.size();
  cookie_verified = true;
  detail::handle<BIO_ADDR> client(detail::expect_ptr(BIO_ADDR_new(), "BIO_ADDR_new"));
  return feed(datagram, [&] {
    // DTLSv1_listen returns 1 when it took a ClientHello with a valid cookie (our cookie
    // callback says so once the listener checked it), 0 when the datagram was not one, -1 on
    // error. The ClientHello stays buffered inside OpenSSL for the handshake that follows.
    if (DTLSv1_listen(ssl.get(), client.get()) != 1) return fail_from_openssl(SSL_ERROR_SSL);
    return drive();
  });
}

std::error_code session::impl::on_timeout() {
  if (auto ec = check_deadline()) return ec;
  const auto& due = channel.retransmit_at;
  if (!due || channel.now < *due) return {};  // early: nothing is due on the caller's clock
  error_queue_scope errors;
  if (!wake()) return fail_from_openssl(SSL_ERROR_SSL);  // the retransmission writes
  // Warning: DTLSv1_handle_timeout breaks the 1/0 convention: 1 = a flight was retransmitted
  // (OpenSSL re-armed its timer, and the BIO our expiry), 0 = OpenSSL's own clock says the timer
  // has not expired, -1 = fatal (OpenSSL gives up after 12 timeouts of one flight:
  // SSL_R_READ_TIMEOUT_EXPIRED).
  const int rc = DTLSv1_handle_timeout(ssl.get());
  if (rc < 0) return fail_from_openssl(SSL_ERROR_SSL);
  if (rc == 0) wait_for_openssl_clock();
  return {};
}

// wait_for_openssl_clock moves our expiry to when OpenSSL's clock will agree that the timer
// expired. That happens when the caller's clock is not the real one, or when OpenSSL armed its
// timer more than 15 ms of real time after the caller read `now` (a loaded machine): without it
// next_timeout() would stay in the past and a loop would call handle_timeout() in a spin.
void session::impl::wait_for_openssl_clock() noexcept {
  timeval left{};
  if (DTLSv1_get_timeout(ssl.get(), &left) != 1) {
    channel.retransmit_at.reset();
    return;
  }
  const auto remaining = std::chrono::seconds(left.tv_sec) + microseconds(left.tv_usec);
  channel.retransmit_at = channel.now + std::max<clock::duration>(remaining, 1ms);
}

std::error_code session::impl::on_send(std::span<const std::byte> data) {
  if (state != dtlspp::state::connected) return errc::not_connected;
  if (data.empty()) return errc::invalid_argument;  // OpenSSL cannot send an empty record
  // OpenSSL would put a record larger than the MTU in one datagram: refuse it here instead.
  if (data.size() > max_record) return errc::message_too_large;
  if (!wake()) return fail_from_openssl(SSL_ERROR_SSL);
  // No error-queue work before SSL_write (see error_queue_scope): with our BIO it never waits,
  // so any result <= 0 is a failure, whatever SSL_get_error would make of stale entries. Its
  // message then carries them too: the price of not clearing before every record.
  const int n = SSL_write(ssl.get(), data.data(), static_cast<int>(data.size()));
  if (n <= 0) return fail_from_openssl(SSL_ERROR_SSL);
  ++stats.records_sent;
  return {};
}

void session::impl::on_close() noexcept {
  error_queue_scope errors;
  // close_notify (RFC 5246 section 7.2.1) needs a finished handshake; before that there is
  // nothing to close politely. Without memory for the buffers it cannot be written either.
  if (handshake_done && wake()) SSL_shutdown(ssl.get());
  state = dtlspp::state::closed;
  held.clear();
  wipe_key_log();
}

void session::impl::on_verdict(verdict v) {
  error_queue_scope errors;
  if (check_deadline()) return;
  if (v == verdict::accept) {
    verified = verification::accepted;
    // Before the handshake is over, on_handshake_complete() connects.
    if (handshake_done) become_connected();
    return;
  }
  verified = verification::rejected;
  static_cast<void>(abandon(errc::fingerprint_mismatch, verify->rejection_message(*peer),
                            detail::wire::alert::bad_certificate));
}

std::error_code session::impl::handshake_timed_out() {
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - started);
  // RFC 5246 section 7.2.2: user_canceled, "canceled for some reason unrelated to a protocol
  // failure", sent fatal so that the peer's handshake ends too.
  return abandon(
      errc::handshake_timeout,
      fmt::format("handshake not complete after {} ms{}", ms.count(),
                  verified == verification::pending ? " (verification still pending)" : ""),
      detail::wire::alert::user_canceled);
}

// ---- OpenSSL driving -------------------------------------------------------------------------

std::error_code session::impl::drive() {
  if (!handshake_done) {
    const int rc = SSL_do_handshake(ssl.get());
    if (rc != 1) {
      const int e = SSL_get_error(ssl.get(), rc);
      if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) return {};
      if (e == SSL_ERROR_ZERO_RETURN) {
        return fail(errc::peer_alert, "peer sent close_notify during the handshake");
      }
      return fail_from_openssl(e);
    }
    if (auto ec = on_handshake_complete()) return ec;
  }
  // Keep reading after the handshake: application records, the close_notify, and a peer's
  // repeated final flight, which OpenSSL answers by repeating ours (RFC 6347 section 4.2.4).
  return read_records(queue::cleared);
}

// read_records hands out every record of the datagram being fed, each read by OpenSSL straight
// into an output buffer. One SSL_read per record: SSL_has_pending() says whether the datagram
// holds more records behind the one read (their bytes stay in OpenSSL's read buffer) or OpenSSL
// holds records back from an earlier datagram, so the last record costs no second SSL_read to
// learn that the datagram is used up. A datagram without an application record (a repeated
// flight, an alert, a forged or replayed record) ends in read_stopped.
std::error_code session::impl::read_records(queue q) {
  // SSL_read sets up released buffers itself (dtls1_read_bytes calls ssl3_setup_buffers), or
  // fails the session when it cannot.
  buffers_released = false;
  do {
    const auto buffer = out.prepare(std::max<std::size_t>(largest_datagram, 1));
    const int n = SSL_read(ssl.get(), buffer.data(), static_cast<int>(buffer.size()));
    if (n <= 0) return read_stopped(n, q);
    deliver(static_cast<std::size_t>(n));
  } while (SSL_has_pending(ssl.get()) == 1);
  return {};
}

std::error_code session::impl::read_stopped(int rc, queue q) {
  int e = SSL_get_error(ssl.get(), rc);
  std::string reasons;
  bool timed_out = false;
  if (q == queue::unchecked && (e == SSL_ERROR_SSL || e == SSL_ERROR_SYSCALL)) {
    // SSL_get_error reads the error queue first, and the per-record path does not clear it
    // before each SSL_read: an entry another library or the application left on this thread
    // turns "want read" or "closed" into SSL_ERROR_SSL. Set the entries aside and ask again:
    // with the queue empty, SSL_get_error answers from OpenSSL's own state (rwstate and the
    // BIO's retry flag, the shutdown flags), and a genuine failure reads SSL_ERROR_SYSCALL:
    // ssl3_read_n resets rwstate after every datagram it reads, and an established session
    // fails while handling one. "Want read" counts only if our BIO was asked for more in this
    // very call (channel.starved): a failure before any read (ssl3_setup_buffers out of memory
    // after a release) leaves rwstate and the BIO's flag as the previous call left them.
    timed_out = last_reason() == SSL_R_READ_TIMEOUT_EXPIRED;
    reasons = detail::drain_errors();
    const int again = SSL_get_error(ssl.get(), rc);
    const bool starved = again == SSL_ERROR_WANT_READ && channel.starved;
    if (starved || again == SSL_ERROR_ZERO_RETURN) e = again;
  }
  if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) return {};
  if (e == SSL_ERROR_ZERO_RETURN) {
    on_peer_close();
    return {};
  }
  if (reasons.empty()) reasons = detail::drain_errors();
  return fail_from_openssl(e, std::move(reasons), timed_out);
}

std::error_code session::impl::on_handshake_complete() {
  handshake_done = true;
  // RFC 7627: without the extended master secret, a man in the middle can synchronise two
  // sessions' keys (triple handshake). OpenSSL offers it by default but cannot require it.
  if (SSL_get_extms_support(ssl.get()) != 1) {
    return fail_after_handshake(errc::protocol_error,
                                "the peer did not negotiate the extended master secret (RFC "
                                "7627)");
  }
  if (verified == verification::none) {
    return fail_after_handshake(errc::protocol_error, "the peer presented no certificate");
  }
  if (verified == verification::accepted) become_connected();
  return {};
}

void session::impl::become_connected() {
  state = dtlspp::state::connected;
  // A deferred verdict may come long after the last datagram: the idle period (a listener's)
  // counts from the connect.
  last_accepted = channel.now;
  // Fixed from here on: the MTU is ours (SSL_OP_NO_QUERY_MTU) and the cipher cannot change (no
  // renegotiation).
  max_record = std::min(DTLS_get_data_mtu(ssl.get()), max_plaintext);
  // The handshake is over: an idle end keeps no record buffers (on_drained), nor the verifier.
  release_when_drained = true;
  verify.reset();
  stats.handshake_duration = channel.now - started;
  out.push(detail::output_kind::connected);
  for (auto& record : held)
    out.push_buffer(detail::output_kind::received, std::move(record));
  held.clear();
  release_key_log();
}

// hold keeps a record back while verification is pending: nothing reaches the application
// until the verdict (invariant: verified before released), and at most max_held records wait.
void session::impl::hold(std::size_t size) {
  if (held.size() >= max_held) {
    ++stats.records_dropped_held;
    return;
  }
  const auto record = out.prepared(size);
  held.emplace_back(record.begin(), record.end());
}

void session::impl::on_peer_close() noexcept {
  // The peer's close_notify (RFC 5246 section 7.2.1): answer with ours, then report closed.
  if (wake()) SSL_shutdown(ssl.get());
  ERR_clear_error();
  state = dtlspp::state::closed;
  held.clear();
  wipe_key_log();
}

// ---- failure ---------------------------------------------------------------------------------

std::error_code session::impl::fail_from_openssl(int ssl_error) {
  const bool timed_out = last_reason() == SSL_R_READ_TIMEOUT_EXPIRED;
  return fail_from_openssl(ssl_error, detail::drain_errors(), timed_out);
}

std::error_code session::impl::fail_from_openssl(int ssl_error, std::string reasons,
                                                 bool timed_out) {
  if (!rejection.empty() || verified == verification::rejected) {
    if (rejection.empty()) assign(rejection, "peer certificate rejected");
    return fail(rejection_code, std::move(rejection));
  }
  if (fatal_alert_read >= 0) {
    const int description = fatal_alert_read;
    return fail(errc::peer_alert,
                fmt::format("peer sent fatal alert {} ({})",
                            SSL_alert_desc_string_long(description), description));
  }
  if (timed_out) {
    return fail(errc::handshake_timeout,
                "OpenSSL gave up after 12 retransmissions of one flight (" + reasons + ")");
  }
  if (reasons.empty()) reasons = fmt::format("SSL_get_error {}", ssl_error);
  return fail(errc::protocol_error, std::move(reasons));
}

std::error_code session::impl::fail(errc e, std::string why) noexcept {
  if (terminal()) return sticky();
  state = dtlspp::state::failed;
  error = e;
  message = std::move(why);
  held.clear();
  wipe_key_log();
  return error;
}

std::error_code session::impl::fail_after_handshake(errc e, std::string why) noexcept {
  if (terminal()) return sticky();
  ERR_clear_error();
  if (wake()) SSL_shutdown(ssl.get());
  ERR_clear_error();
  return fail(e, std::move(why));
}

std::error_code session::impl::abandon(errc e, std::string why, std::uint8_t alert) noexcept {
  if (terminal()) return sticky();
  if (handshake_done) return fail_after_handshake(e, std::move(why));
  // A peer we never heard from is not in a handshake with us: nothing to tell it.
  if (!channel.cipher_changed && stats.datagrams_in > 0) {
    try {
      detail::emit(channel, detail::wire::alert_record(detail::wire::alert::fatal, alert,
                                                       channel.next_plaintext_sequence));
    } catch (const std::bad_alloc&) {
      // The alert is a courtesy: without memory the peer ends on its own timers.
    }
  }
  return fail(e, std::move(why));
}

// ---- callbacks -------------------------------------------------------------------------------

// on_verify returns X509_V_OK to go on, or the X.509 error whose alert OpenSSL sends:
// X509_V_ERR_CERT_REJECTED gives bad_certificate (RFC 5246 section 7.2.2),
// X509_V_ERR_APPLICATION_VERIFICATION gives handshake_failure. Called once per handshake
// (renegotiation is off).
int session::impl::on_verify(X509* leaf) noexcept {
  verified = verification::rejected;
  // A second certificate after connected (the verifier is gone) cannot happen without
  // renegotiation; refuse it all the same.
  if (!verify) return X509_V_ERR_APPLICATION_VERIFICATION;
  // Both ends know the SRTP outcome by now: the client has read the ServerHello, the server
  // has written it. This is the first callback after that, so require_srtp is enforced here.
  if (require_srtp && SSL_get_selected_srtp_profile(ssl.get()) == nullptr) {
    rejection_code = errc::no_common_srtp_profile;
    assign(rejection, "no SRTP protection profile in common (RFC 5764 section 4.1.1)");
    return X509_V_ERR_APPLICATION_VERIFICATION;
  }
  try {
    auto cert = detail::access::make_certificate(detail::up_ref(leaf));
    if (cert.native_handle() == nullptr) return X509_V_ERR_OUT_OF_MEM;
    peer = std::move(cert);
    switch ((*verify)(*peer)) {
      case verdict::accept:
        verified = verification::accepted;
        return X509_V_OK;
      case verdict::defer:
        // The handshake finishes on the wire; data is held until the verdict (invariant: verified
        // before released).
        verified = verification::pending;
        return X509_V_OK;
      case verdict::reject:
        rejection = verify->rejection_message(*peer);
        break;
    }
  } catch (const std::exception& e) {
    assign(rejection, "the verifier threw: ");
    try {
      rejection += e.what();
    } catch (const std::bad_alloc&) {
    }
  } catch (...) {
    assign(rejection, "the verifier threw");
  }
  return X509_V_ERR_CERT_REJECTED;
}

unsigned int session::impl::on_timer(unsigned int previous_us) noexcept {
  const auto initial = std::chrono::duration_cast<microseconds>(retransmit.initial).count();
  const auto maximum = std::chrono::duration_cast<microseconds>(retransmit.maximum).count();
  if (previous_us == 0) {
    expiries = 0;
    return set_timer(initial);
  }
  // OpenSSL gives up at the 13th expiry of one flight's timer (DTLS1_TMO_ALERT_COUNT is 12),
  // after calling us and without resending: only the first 12 are retransmissions.
  constexpr int openssl_max_retransmissions = 12;
  if (++expiries <= openssl_max_retransmissions) ++stats.retransmissions;
  // RFC 6347 section 4.2.4.1: double the timer on each retransmission, up to a maximum.
  return set_timer(std::min<long long>(2LL * previous_us, maximum));
}

// set_timer tells the BIO the duration OpenSSL is about to arm its timer with, and returns it.
unsigned int session::impl::set_timer(long long duration_us) noexcept {
  channel.timer_duration = microseconds(duration_us);
  return static_cast<unsigned int>(duration_us);
}

void session::impl::on_alert_read(int level, int description) noexcept {
  if (level == SSL3_AL_FATAL) fatal_alert_read = description;
}

void session::impl::on_key_log(const char* line) noexcept {
  if (!key_log) return;
  try {
    key_log_lines.emplace_back(line);
  } catch (const std::bad_alloc&) {
    // A key log line is a debugging aid: losing one under memory pressure is acceptable.
  }
  if (state == dtlspp::state::connected) release_key_log();
}

void session::impl::release_key_log() noexcept {
  for (const auto& line : key_log_lines) {
    try {
      key_log(line);
    } catch (...) {
      // The sink is user code on the per-datagram path, which never throws (invariant: bad input is
      // dropped).
    }
  }
  wipe_key_log();
}

session::impl::~impl() {
  wipe_key_log();
}

void session::impl::wipe_key_log() noexcept {
  for (auto& line : key_log_lines)
    OPENSSL_cleanse(line.data(), line.size());
  key_log_lines.clear();
}

// ---- idle memory -----------------------------------------------------------------------------
//
// An established end releases its record buffers once everything it had to say is out (poll()
// drained, on_drained) when it was asked to: at the end of its handshake, or by an input that
// came after a quiet period (note_input). A send never asks: an end that only sends keeps its
// buffers once it started (it has no clock to tell a quiet period), and the reply an
// application sends while draining an input does not cancel that input's request.

// release_buffers frees OpenSSL's read and write buffers (~16.7 KB and ~1.4 KB at MTU 1200) and
// our output buffers. SSL_free_buffers refuses (returns 0) while a record is pending in either
// direction; then the buffers stay, and the next quiet period tries again. What OpenSSL keeps
// after a DTLS handshake (~22 KB of init_buf, to answer a repeated final flight) has no public
// call to free it.
// Warning: OpenSSL 3.0's DTLS write path does not re-create the write buffer that
// SSL_free_buffers freed: do_dtls1_write (ssl/record/rec_layer_d1.c) writes through a null
// buffer, so SSL_write, SSL_shutdown and DTLSv1_handle_timeout crash unless SSL_alloc_buffers
// comes first (wake()). Reading is safe: dtls1_read_bytes sets both buffers up again by itself.
void session::impl::release_buffers() noexcept {
  release_when_drained = false;
  if (state != dtlspp::state::connected || buffers_released) return;
  if (SSL_free_buffers(ssl.get()) != 1) return;
  buffers_released = true;
  out.release();
  // Nothing is pending in OpenSSL (SSL_free_buffers said so): the next read buffer need only
  // fit the datagrams that come from now on.
  largest_datagram = 0;
}

bool session::impl::realloc_buffers() noexcept {
  // SSL_alloc_buffers sets up only the buffers that are missing (an SSL_read may have made them
  // again already). On failure OpenSSL has queued ERR_R_MALLOC_FAILURE for the caller to drain.
  if (SSL_alloc_buffers(ssl.get()) != 1) return false;
  buffers_released = false;
  return true;
}

// ---- public interface ------------------------------------------------------------------------

session::session(const context& ctx, dtlspp::role r, verifier v, time_point now)
    : impl_(std::make_unique<impl>(ctx, r, std::move(v), now)) {}

session::session(const context& ctx, verifier v, verified_client_hello hello, time_point now)
    : impl_(std::make_unique<impl>(ctx, dtlspp::role::server, std::move(v), now)) {
  error_queue_scope errors;
  static_cast<void>(impl_->accept_verified_client_hello(hello.datagram));
}

session::session(session&&) noexcept = default;
session& session::operator=(session&&) noexcept = default;
session::~session() = default;

namespace {

// guarded runs an input at `now` on a live session: a moved-from one answers invalid_argument,
// a terminal one its sticky error; running out of memory fails the session instead of throwing
// (the per-datagram path never throws; invariant: bad input is dropped). Each input keeps the error
// queue clean itself (see error_queue_scope).
template <class F>
std::error_code guarded(session::impl* s, std::optional<time_point> now, F input) noexcept {
  if (s == nullptr) return errc::invalid_argument;
  if (s->terminal()) return s->sticky();
  if (now) s->note_input(*now);
  try {
    return input(*s);
  } catch (const std::exception&) {
    ERR_clear_error();  // whatever OpenSSL said before the allocation failed is not reported
    return s->fail(errc::crypto_failure, "out of memory");
  }
}

}  // namespace

std::error_code session::handle_datagram(std::span<const std::byte> datagram, time_point now) {
  return guarded(impl_.get(), now, [&](impl& s) { return s.on_datagram(datagram); });
}

std::error_code session::handle_timeout(time_point now) {
  return guarded(impl_.get(), now, [](impl& s) { return s.on_timeout(); });
}

// send and close decide nothing on time: the time of the last input stays the session's now
// (it arms no timer: OpenSSL's timer runs only for handshake flights).
std::error_code session::send(std::span<const std::byte> data) {
  return guarded(impl_.get(), std::nullopt, [&](impl& s) { return s.on_send(data); });
}

void session::close() {
  static_cast<void>(guarded(impl_.get(), std::nullopt, [](impl& s) {
    s.on_close();
    return std::error_code();
  }));
}

void session::verify_peer(verdict v, time_point now) {
  if (!verification_pending() || (v != verdict::accept && v != verdict::reject)) return;
  static_cast<void>(guarded(impl_.get(), now, [&](impl& s) {
    s.on_verdict(v);
    return std::error_code();
  }));
}

std::optional<event> session::poll() {
  if (!impl_) return std::nullopt;
  if (auto e = impl_->out.pop()) return e;
  // The closed event comes last, after every datagram the end produced (an alert, a
  // close_notify), and is made here rather than queued, so that failing never allocates.
  if (impl_->terminal()) {
    if (impl_->closed_reported) return std::nullopt;
    impl_->closed_reported = true;
    return closed{impl_->state == dtlspp::state::failed ? impl_->error : std::error_code()};
  }
  impl_->on_drained();
  return std::nullopt;
}

std::optional<time_point> session::next_timeout() const {
  if (!impl_ || impl_->terminal()) return std::nullopt;
  std::optional<clock::time_point> next = impl_->channel.retransmit_at;
  if (impl_->state == dtlspp::state::handshaking) {
    next = next ? std::min(*next, impl_->deadline) : impl_->deadline;
  }
  return next;
}

bool session::verification_pending() const noexcept {
  return impl_ && impl_->verified == verification::pending &&
         impl_->state == dtlspp::state::handshaking;
}

dtlspp::role session::role() const noexcept {
  return impl_ ? impl_->role : dtlspp::role::client;
}

dtlspp::state session::state() const noexcept {
  return impl_ ? impl_->state : dtlspp::state::failed;
}

std::error_code session::error() const noexcept {
  return impl_ ? impl_->error : make_error_code(errc::invalid_argument);
}

std::string_view session::error_message() const noexcept {
  return impl_ ? std::string_view(impl_->message) : "moved-from session";
}

const certificate* session::peer_certificate() const noexcept {
  return impl_ && impl_->peer ? &*impl_->peer : nullptr;
}

std::size_t session::max_send_size() const noexcept {
  if (!impl_ || impl_->state != dtlspp::state::connected) return 0;
  return impl_->max_record;
}

std::string_view session::cipher_name() const noexcept {
  if (!impl_ || !impl_->handshake_done) return {};
  return SSL_get_cipher_name(impl_->ssl.get());
}

session_stats session::stats() const noexcept {
  if (!impl_) return {};
  session_stats s = impl_->stats;
  s.datagrams_out = impl_->channel.datagrams_out;
  s.bytes_out = impl_->channel.bytes_out;
  const std::uint64_t accounted = s.records_received;
  s.records_discarded =
      impl_->application_records_in > accounted ? impl_->application_records_in - accounted : 0;
  return s;
}

ssl_st* session::native_handle() const noexcept {
  return impl_ ? impl_->ssl.get() : nullptr;
}

}  // namespace dtlspp
