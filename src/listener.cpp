// src/listener.cpp: many peers, stateless cookies, restarts, limits, idle expiry.
#include "dtlspp/listener.hpp"

#include <openssl/crypto.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include <algorithm>
#include <array>
#include <deque>
#include <set>
#include <string>
#include <string_view>
#include <type_traits>
#include <unordered_map>
#include <utility>
#include <variant>
#include <vector>

#include "detail/openssl.hpp"
#include "detail/output_queue.hpp"
#include "detail/session_impl.hpp"
#include "detail/wire.hpp"

namespace dtlspp {
namespace {

using clock = std::chrono::steady_clock;

constexpr std::size_t max_peer_size = 128;  // sizeof(sockaddr_storage)
constexpr std::size_t secret_size = 32;
constexpr std::size_t cookie_size = 32;  // HMAC-SHA256; DTLS 1.2 allows up to 255 bytes

// Anti-amplification (RFC 6347 section 4.2.1): a HelloVerifyRequest is never larger than the
// ClientHello it answers, so an address that has not proved it can receive never gets more
// bytes back than it sent. The smallest datagram parse_client_hello accepts holds version,
// random, and four empty vectors (session id, cookie, suites, compression methods).
constexpr std::size_t hello_verify_request_size =
    detail::wire::record_header_size + detail::wire::handshake_header_size + 2 + 1 + cookie_size;
constexpr std::size_t smallest_client_hello =
    detail::wire::record_header_size + detail::wire::handshake_header_size + 2 + 32 + 1 + 1 + 2 + 1;
static_assert(hello_verify_request_size <= smallest_client_hello);

using secret = std::array<unsigned char, secret_size>;

// string_hash lets the session map be searched with a string_view of the peer's bytes, so that
// looking a peer up allocates nothing.
struct string_hash {
  using is_transparent = void;
  std::size_t operator()(std::string_view s) const noexcept {
    return std::hash<std::string_view>{}(s);
  }
};

std::string_view as_key(std::span<const std::byte> peer) noexcept {
  return {reinterpret_cast<const char*>(peer.data()), peer.size()};
}

std::span<const std::byte> as_peer(std::string_view key) noexcept {
  return std::as_bytes(std::span(key));
}

// hello_random is a ClientHello's random (RFC 5246 section 7.4.1.2): a client makes a new one for
// every new ClientHello and repeats it in retransmissions and in its ClientHello with the
// cookie, so it tells a late copy from a new handshake.
using hello_random = std::array<std::byte, 32>;

hello_random random_of(const detail::wire::client_hello& hello) noexcept {
  hello_random out{};
  if (hello.parameters.size() < 2) return out;      // parse_client_hello never makes one so short
  const auto random = hello.parameters.subspan(2);  // after client_version
  std::copy_n(random.begin(), std::min(random.size(), out.size()), out.begin());
  return out;
}

// first_epoch returns the epoch of the first record of datagram, or nothing when it does not
// start with a whole record.
std::optional<std::uint16_t> first_epoch(std::span<const std::byte> datagram) noexcept {
  const auto r = detail::wire::next_record(datagram);
  if (!r) return std::nullopt;
  return r->epoch;
}

bool terminal(const session& s) noexcept {
  return s.state() == state::failed || s.state() == state::closed;
}

}  // namespace

struct listener::impl {
  // entry is one session of a peer and its bookkeeping. Held by unique_ptr: its address is what
  // the timer set and the ready list refer to. A peer has one current entry (in `peers`) and,
  // while it restarts, the new handshake as the current entry's successor.
  struct entry {
    std::string_view peer;  // the key of its node in `peers` (a successor's: its predecessor's)
    session s;
    hello_random random;                         // of the ClientHello that began it
    std::optional<clock::time_point> scheduled;  // its key in `timers`
    bool ready = false;                          // in `ready`: may have output to poll
    bool handshaking = true;                     // counted in `handshakes`
    bool dead = false;                 // its closed event was polled: forget it at the next call
    entry* predecessor = nullptr;      // for a successor: the association it will replace
    std::unique_ptr<entry> successor;  // a restart's new handshake, until it replaces this one
  };

  // own_output is an output the listener hands out itself: a HelloVerifyRequest, or what a
  // session it ended still had to say, followed by its closed event.
  struct own_output {
    std::string peer;
    detail::output_kind kind;
    std::vector<std::byte> bytes;
    std::error_code reason;
  };

  impl(const context& c, verifier v, listener_options o);
  ~impl();
  impl(const impl&) = delete;
  impl& operator=(const impl&) = delete;

  // ---- datagrams ----
  std::error_code on_datagram(std::string_view peer, std::span<const std::byte> datagram,
                              clock::time_point now);
  std::error_code on_known_peer(entry& e, std::span<const std::byte> datagram,
                                const std::optional<detail::wire::client_hello>& hello,
                                clock::time_point now);
  std::error_code on_client_hello(std::string_view peer, std::span<const std::byte> datagram,
                                  const detail::wire::client_hello& hello, entry* existing,
                                  clock::time_point now);
  std::error_code feed(entry& e, std::span<const std::byte> datagram, clock::time_point now);

  // ---- ClientHellos in fragments ----
  struct joining {
    detail::wire::hello_joiner joiner;
    hello_random random;  // of its first fragment: a new ClientHello replaces it
    clock::time_point started;
  };
  using join_map = std::unordered_map<std::string, joining, string_hash, std::equal_to<>>;
  std::error_code join(std::string_view peer, std::span<const std::byte> datagram,
                       const detail::wire::client_hello& hello, clock::time_point now);
  std::optional<std::error_code> on_later_fragment(std::string_view peer,
                                                   std::span<const std::byte> datagram,
                                                   clock::time_point now);
  std::error_code add_fragment(join_map::iterator it, const detail::wire::client_hello_fragment& f,
                               clock::time_point now);
  void evict_oldest_join();
  void expire_joins(clock::time_point now);
  bool admit(const entry* existing);

  // ---- cookies (RFC 6347 section 4.2.1) ----
  bool cookie_valid(std::string_view peer, const detail::wire::client_hello& hello);
  std::array<std::byte, cookie_size> make_cookie(std::string_view peer,
                                                 const detail::wire::client_hello& hello,
                                                 const secret& key);
  void rotate_secrets(clock::time_point now);

  // ---- entries ----
  entry& add(std::string_view peer, session s, const hello_random& random, entry* predecessor);
  void refresh(entry& e);
  void reschedule(entry& e, std::optional<clock::time_point> next);
  void promote(entry& next);
  void end(entry& e, std::error_code reason);
  void remove(entry& e);
  void unschedule(entry& e);
  void forget_dead();
  void expire_or_run(entry& e, clock::time_point now);
  std::optional<clock::time_point> due(const entry& e) const;
  static clock::time_point last_accepted(const entry& e) noexcept {
    return e.s.impl_->last_accepted;
  }
  static bool handshake_finished(const entry& e) noexcept { return e.s.impl_->handshake_done; }

  // ---- polling ----
  std::optional<peer_event> poll_own();
  std::optional<peer_event> poll_sessions();

  const context ctx;  // a copy: shares the SSL_CTX (invariant: boring lifetimes)
  const verifier verify;
  const listener_options options;

  std::unordered_map<std::string, std::unique_ptr<entry>, string_hash, std::equal_to<>> peers;
  join_map joins;  // ClientHellos arriving in fragments, per proven address
  std::set<std::pair<clock::time_point, entry*>> timers;
  // ready lists the entries that may have output, oldest first from ready_head; a vector that
  // is emptied, not freed, so that steady traffic allocates nothing.
  std::vector<entry*> ready;
  std::size_t ready_head = 0;
  std::deque<own_output> own;
  own_output current_own;  // the last own output polled: its spans live until the next call
  std::vector<entry*> dead;
  std::size_t sessions = 0;  // entries, successors included

  secret current_secret{};
  secret previous_secret{};
  std::optional<clock::time_point> period_start;  // of current_secret; set by the first datagram
  std::vector<unsigned char> cookie_input;        // reused: the HMAC's message
  listener_stats stats;
};

listener::impl::impl(const context& c, verifier v, listener_options o)
    : ctx(c), verify(std::move(v)), options(o) {
  if (options.max_sessions == 0 || options.max_handshakes == 0 ||
      options.cookie_secret_lifetime <= std::chrono::seconds::zero() ||
      options.idle_timeout <= std::chrono::seconds::zero()) {
    throw error(errc::invalid_argument, "listener limits and periods must be positive");
  }
  ERR_clear_error();
  detail::expect_one(RAND_bytes(current_secret.data(), secret_size), "RAND_bytes");
  previous_secret = current_secret;
}

// The cookie secrets are wiped, not only freed (invariant: wiped secrets).
listener::impl::~impl() {
  OPENSSL_cleanse(current_secret.data(), current_secret.size());
  OPENSSL_cleanse(previous_secret.data(), previous_secret.size());
}

// ---- unknown peers: the stateless cookie exchange (RFC 6347 section 4.2.1) --------------------

// rotate_secrets counts the periods elapsed since the current secret began, on the caller's
// clock: after one the current secret becomes the previous, after two or more both are new, so a
// cookie is never accepted for more than two periods, even across a silence.
void listener::impl::rotate_secrets(clock::time_point now) {
  if (!period_start) period_start = now;
  if (now < *period_start) return;
  const auto periods = (now - *period_start) / options.cookie_secret_lifetime;
  if (periods < 1) return;
  secret next{};
  // If the random generator fails, keep the current secret for one more period.
  if (RAND_bytes(next.data(), secret_size) != 1) {
    ERR_clear_error();
    return;
  }
  previous_secret = current_secret;
  current_secret = next;
  if (periods >= 2) previous_secret = next;  // the old current secret is too old as well
  OPENSSL_cleanse(next.data(), next.size());
  *period_start += periods * options.cookie_secret_lifetime;
}

// make_cookie is HMAC-SHA256(secret, peer address | client_version | random | session_id |
// cipher_suites | compression_methods): RFC 6347 section 4.2.1's "HMAC(Secret, Client-IP,
// Client-Parameters)". The client repeats these parameters with the cookie.
std::array<std::byte, cookie_size> listener::impl::make_cookie(
    std::string_view peer, const detail::wire::client_hello& hello, const secret& key) {
  const auto params = detail::as_uchars(hello.parameters);
  const auto suites = detail::as_uchars(hello.cipher_suites_and_compression);
  cookie_input.assign(peer.begin(), peer.end());
  cookie_input.insert(cookie_input.end(), params.begin(), params.end());
  cookie_input.insert(cookie_input.end(), suites.begin(), suites.end());
  std::array<std::byte, cookie_size> cookie{};
  unsigned int size = 0;
  if (HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()), cookie_input.data(),
           cookie_input.size(), reinterpret_cast<unsigned char*>(cookie.data()),
           &size) == nullptr) {
    ERR_clear_error();
    cookie.fill(std::byte{0});  // matches no cookie a client echoes (they come from us)
  }
  return cookie;
}

bool listener::impl::cookie_valid(std::string_view peer, const detail::wire::client_hello& hello) {
  if (hello.cookie.size() != cookie_size) return false;
  for (const secret* key : {&current_secret, &previous_secret}) {
    const auto expected = make_cookie(peer, hello, *key);
    if (CRYPTO_memcmp(expected.data(), hello.cookie.data(), cookie_size) == 0) return true;
  }
  return false;
}

// admit applies the limits to a new session (a restart's new handshake replaces the peer's
// earlier one, if any, so that one does not count).
bool listener::impl::admit(const entry* existing) {
  // The moot successor is counted among the sessions until removed, and among the handshakes
  // only while it handshakes.
  const entry* moot = existing != nullptr ? existing->successor.get() : nullptr;
  const std::size_t replaced = moot != nullptr ? 1 : 0;
  const std::size_t replaced_handshake = moot != nullptr && moot->handshaking ? 1 : 0;
  if (sessions - replaced >= options.max_sessions) {
    ++stats.dropped_session_limit;
    return false;
  }
  if (stats.handshakes - replaced_handshake >= options.max_handshakes) {
    ++stats.dropped_handshake_limit;
    return false;
  }
  return true;
}

std::error_code listener::impl::on_client_hello(std::string_view peer,
                                                std::span<const std::byte> datagram,
                                                const detail::wire::client_hello& hello,
                                                entry* existing, clock::time_point now) {
  if (options.cookies && !cookie_valid(peer, hello)) {
    if (!hello.cookie.empty()) ++stats.cookies_rejected;
    auto reply =
        detail::wire::hello_verify_request(hello, make_cookie(peer, hello, current_secret));
    ++stats.hello_verify_requests;
    own.push_back({std::string(peer), detail::output_kind::transmit, std::move(reply), {}});
    return {};
  }
  if (!hello.whole) return join(peer, datagram, hello, now);  // proven: keep it for the rest
  if (!admit(existing)) return {};
  if (existing != nullptr && existing->successor) {
    // The peer restarted again before its previous new handshake finished: that one is moot.
    if (!existing->successor->dead) ++stats.restarts_abandoned;
    remove(*existing->successor);
  }
  if (options.cookies) {
    entry& e = add(peer, session(ctx, verify, session::verified_client_hello{datagram}, now),
                   random_of(hello), existing);
    const auto ec = e.s.error();
    refresh(e);
    return existing != nullptr ? std::error_code() : ec;
  }
  entry& e = add(peer, session(ctx, role::server, verify, now), random_of(hello), existing);
  const auto ec = feed(e, datagram, now);
  return existing != nullptr ? std::error_code() : ec;
}

// ---- ClientHellos in fragments (RFC 6347 section 4.2.2) ----------------------------------------
// Browsers' ClientHellos carry post-quantum key shares and no longer fit one datagram, and
// OpenSSL's DTLSv1_listen takes a ClientHello in one fragment only. Once the first fragment has
// proved the address (its cookie is valid, or cookies are off), the listener keeps the fragments
// of that one message per address, at most max_handshakes of them, and hands the whole message
// on as one record when it is complete.

std::error_code listener::impl::join(std::string_view peer, std::span<const std::byte> datagram,
                                     const detail::wire::client_hello& hello,
                                     clock::time_point now) {
  auto it = joins.find(peer);
  if (it != joins.end() && it->second.random != random_of(hello)) {
    joins.erase(it);  // the peer began another ClientHello: the old one is moot
    it = joins.end();
  }
  if (it == joins.end()) {
    if (joins.size() >= options.max_handshakes) evict_oldest_join();
    it = joins.emplace(std::string(peer), joining{{}, random_of(hello), now}).first;
  }
  return add_fragment(it, *detail::wire::first_client_hello_fragment(datagram), now);
}

// on_later_fragment takes a fragment after the first of a ClientHello being joined; nothing
// when the datagram is not one.
std::optional<std::error_code> listener::impl::on_later_fragment(
    std::string_view peer, std::span<const std::byte> datagram, clock::time_point now) {
  if (joins.empty()) return std::nullopt;
  const auto it = joins.find(peer);
  if (it == joins.end()) return std::nullopt;
  const auto f = detail::wire::first_client_hello_fragment(datagram);
  if (!f || f->frag.offset == 0) return std::nullopt;
  return add_fragment(it, *f, now);
}

std::error_code listener::impl::add_fragment(join_map::iterator it,
                                             const detail::wire::client_hello_fragment& f,
                                             clock::time_point now) {
  auto& joiner = it->second.joiner;
  if (!joiner.add(f)) {
    ++stats.dropped_not_client_hello;
    return {};
  }
  if (!joiner.complete()) return {};
  const std::string peer = it->first;
  const auto joined = joiner.joined();
  joins.erase(it);
  ++stats.client_hellos_joined;
  const auto whole = detail::wire::parse_client_hello(joined);
  if (!whole) {
    ++stats.dropped_not_client_hello;
    return {};
  }
  const auto found = peers.find(peer);
  entry* existing = found != peers.end() ? found->second.get() : nullptr;
  return on_client_hello(peer, joined, *whole, existing, now);
}

void listener::impl::evict_oldest_join() {
  const auto oldest =
      std::ranges::min_element(joins, {}, [](const auto& j) { return j.second.started; });
  if (oldest != joins.end()) joins.erase(oldest);
}

// expire_joins forgets the ClientHellos whose fragments did not all come within the handshake
// timeout: the client has given up on them, and their buffers (up to 16 KiB each) go.
void listener::impl::expire_joins(clock::time_point now) {
  const auto limit = ctx.options().handshake_timeout;
  std::erase_if(joins, [&](const auto& j) { return now - j.second.started >= limit; });
}

// ---- known peers -------------------------------------------------------------------------------

std::error_code listener::impl::on_datagram(std::string_view peer,
                                            std::span<const std::byte> datagram,
                                            clock::time_point now) {
  rotate_secrets(now);
  const auto hello = detail::wire::parse_client_hello(datagram, /*first_fragment=*/true);
  if (!hello) {
    if (auto joined = on_later_fragment(peer, datagram, now)) return *joined;
  }
  if (const auto found = peers.find(peer); found != peers.end()) {
    return on_known_peer(*found->second, datagram, hello, now);
  }
  if (!hello) {
    ++stats.dropped_not_client_hello;
    return {};
  }
  return on_client_hello(peer, datagram, *hello, nullptr, now);
}

// on_known_peer routes a datagram from a peer with a session. A ClientHello that began neither
// the association nor its pending successor is a restart (RFC 6347 section 4.2.8), which must
// prove the address with a cookie like a stranger. While a successor handshakes, plaintext
// (epoch 0) datagrams belong to it; encrypted ones go to both sessions, since only the keys
// tell whose they are, and a record that fails to decrypt is discarded without harm (RFC 6347
// section 4.1.2.7).
std::error_code listener::impl::on_known_peer(
    entry& e, std::span<const std::byte> datagram,
    const std::optional<detail::wire::client_hello>& hello, clock::time_point now) {
  if (hello) {
    const auto random = random_of(*hello);
    if (random == e.random) return feed(e, datagram, now);  // a late copy
    if (e.successor && random == e.successor->random) {
      static_cast<void>(feed(*e.successor, datagram, now));
      return {};
    }
    return on_client_hello(e.peer, datagram, *hello, &e, now);
  }
  if (!e.successor) return feed(e, datagram, now);
  entry& next = *e.successor;
  if (first_epoch(datagram) == 0) {
    static_cast<void>(feed(next, datagram, now));
    return {};
  }
  const auto ec = feed(e, datagram, now);  // e stays: only the successor's progress ends it
  static_cast<void>(feed(next, datagram, now));
  return ec;
}

std::error_code listener::impl::feed(entry& e, std::span<const std::byte> datagram,
                                     clock::time_point now) {
  const auto ec = e.s.handle_datagram(datagram, now);
  refresh(e);
  return ec;
}

// ---- entries -----------------------------------------------------------------------------------

listener::impl::entry& listener::impl::add(std::string_view peer, session s,
                                           const hello_random& random, entry* predecessor) {
  auto e = std::make_unique<entry>(entry{.peer = {},
                                         .s = std::move(s),
                                         .random = random,
                                         .scheduled = std::nullopt,
                                         .predecessor = predecessor,
                                         .successor = nullptr});
  entry& ref = *e;
  if (predecessor != nullptr) {
    ref.peer = predecessor->peer;
    predecessor->successor = std::move(e);
  } else {
    // The node's key is the one copy of the peer's address: its place in memory never changes
    // (unordered_map nodes stay put, and a successor takes over the node itself).
    ref.peer = peers.emplace(std::string(peer), std::move(e)).first->first;
  }
  ++sessions;
  ++stats.sessions_created;
  ++stats.handshakes;
  return ref;
}

// due is when the entry's session next needs handle_timeout: its own timer, or, established, the
// end of its idle period.
std::optional<clock::time_point> listener::impl::due(const entry& e) const {
  auto t = e.s.next_timeout();
  if (e.s.state() == state::connected) {
    const auto idle_end = last_accepted(e) + options.idle_timeout;
    t = t ? std::min(*t, idle_end) : idle_end;
  }
  return t;
}

// refresh brings the bookkeeping of e up to date after any call on its session; a successor
// whose handshake finished replaces its predecessor.
void listener::impl::refresh(entry& e) {
  const bool handshaking = e.s.state() == state::handshaking;
  if (e.handshaking && !handshaking) --stats.handshakes;
  e.handshaking = handshaking;
  reschedule(e, due(e));
  if (!e.ready) {
    e.ready = true;
    ready.push_back(&e);
  }
  if (e.predecessor != nullptr && handshake_finished(e) && !terminal(e.s)) promote(e);
}

// reschedule moves e's key in `timers` to next, reusing its node: a datagram that moves the idle
// end allocates nothing.
void listener::impl::reschedule(entry& e, std::optional<clock::time_point> next) {
  if (next == e.scheduled) return;
  if (e.scheduled && next) {
    auto node = timers.extract({*e.scheduled, &e});
    node.value() = {*next, &e};
    timers.insert(std::move(node));
  } else if (e.scheduled) {
    timers.erase({*e.scheduled, &e});
  } else {
    timers.insert({*next, &e});
  }
  e.scheduled = next;
}

// promote ends next's predecessor, which next replaces. A predecessor that had ended by itself
// keeps its own reason.
void listener::impl::promote(entry& next) {
  ++stats.sessions_replaced;
  const session& old = next.predecessor->s;
  std::error_code reason = errc::peer_restarted;
  if (terminal(old)) reason = old.state() == state::failed ? old.error() : std::error_code();
  end(*next.predecessor, reason);  // moves next into its place
}

// end removes e at once, handing out what its session still had to say (a close_notify, records
// not yet polled) and then one closed event with reason (the session's own is not handed out).
void listener::impl::end(entry& e, std::error_code reason) {
  while (auto ev = e.s.poll()) {
    std::visit(
        [&](const auto& x) {
          using T = std::decay_t<decltype(x)>;
          if constexpr (std::is_same_v<T, transmit>) {
            own.push_back({std::string(e.peer),
                           detail::output_kind::transmit,
                           {x.datagram.begin(), x.datagram.end()},
                           {}});
          } else if constexpr (std::is_same_v<T, received>) {
            own.push_back({std::string(e.peer),
                           detail::output_kind::received,
                           {x.data.begin(), x.data.end()},
                           {}});
          } else if constexpr (std::is_same_v<T, connected>) {
            own.push_back({std::string(e.peer), detail::output_kind::connected, {}, {}});
          }
        },
        *ev);
  }
  own.push_back({std::string(e.peer), detail::output_kind::closed, {}, reason});
  remove(e);
}

// remove destroys e. A current entry's successor, if any, takes its place in `peers`.
void listener::impl::remove(entry& e) {
  unschedule(e);
  --sessions;
  if (e.predecessor != nullptr) {
    e.predecessor->successor.reset();  // destroys e
    return;
  }
  auto node = peers.extract(peers.find(std::string_view(e.peer)));
  if (!e.successor) return;  // node goes out of scope: destroys e
  // The successor takes e's node (same peer, same key): nothing is allocated, so nothing can
  // fail between taking it out of e and putting it in `peers`.
  e.successor->predecessor = nullptr;
  node.mapped() = std::move(e.successor);  // destroys e
  peers.insert(std::move(node));
}

void listener::impl::unschedule(entry& e) {
  if (e.scheduled) timers.erase({*e.scheduled, &e});
  if (e.ready)
    ready.erase(std::remove(ready.begin() + static_cast<long>(ready_head), ready.end(), &e),
                ready.end());
  if (e.handshaking) --stats.handshakes;
  if (e.dead) std::erase(dead, &e);
}

void listener::impl::forget_dead() {
  while (!dead.empty())
    remove(*dead.back());
}

// expire_or_run handles one entry whose time has come: an idle established session ends with a
// close_notify; any other runs its session's timer.
void listener::impl::expire_or_run(entry& e, clock::time_point now) {
  if (e.s.state() == state::connected && now - last_accepted(e) >= options.idle_timeout) {
    ++stats.sessions_expired;
    e.s.close();  // a close_notify, which end() passes on
    end(e, errc::idle_timeout);
    return;
  }
  static_cast<void>(e.s.handle_timeout(now));
  refresh(e);
}

// ---- polling -----------------------------------------------------------------------------------

std::optional<peer_event> listener::impl::poll_own() {
  if (own.empty()) return std::nullopt;
  current_own = std::move(own.front());
  own.pop_front();
  const auto& o = current_own;
  const auto peer = as_peer(o.peer);
  switch (o.kind) {
    case detail::output_kind::transmit:
      return peer_event{peer, transmit{o.bytes}};
    case detail::output_kind::received:
      return peer_event{peer, received{o.bytes}};
    case detail::output_kind::connected:
      return peer_event{peer, connected{}};
    case detail::output_kind::closed:
      break;
  }
  return peer_event{peer, closed{o.reason}};
}

// poll_sessions hands out the outputs of the sessions in `ready`. A successor's closed event is
// not handed out: the application never saw that association begin.
std::optional<peer_event> listener::impl::poll_sessions() {
  for (; ready_head < ready.size(); ++ready_head) {
    entry* e = ready[ready_head];
    dead.reserve(dead.size() + 1);  // before a closed event is taken: recording it cannot fail
    while (auto ev = e->s.poll()) {
      if (!std::holds_alternative<closed>(*ev)) return peer_event{as_peer(e->peer), *ev};
      e->dead = true;
      dead.push_back(e);
      if (e->predecessor == nullptr) return peer_event{as_peer(e->peer), *ev};
      ++stats.restarts_abandoned;
    }
    e->ready = false;
  }
  ready.clear();
  ready_head = 0;
  return std::nullopt;
}

// ---- public interface ---------------------------------------------------------------------

listener::listener(const context& ctx, verifier v, listener_options options)
    : impl_(std::make_unique<impl>(ctx, std::move(v), options)) {}

listener::listener(listener&&) noexcept = default;
listener& listener::operator=(listener&&) noexcept = default;
listener::~listener() = default;

std::error_code listener::handle_datagram(std::span<const std::byte> peer,
                                          std::span<const std::byte> datagram, time_point now) {
  if (!impl_) return errc::invalid_argument;
  impl_->forget_dead();
  ++impl_->stats.datagrams_in;
  if (peer.empty() || peer.size() > max_peer_size) return errc::invalid_argument;
  try {
    return impl_->on_datagram(as_key(peer), datagram, now);
  } catch (const std::exception&) {
    // Only allocation can fail here; the datagram is lost, as the network may lose it.
    return errc::crypto_failure;
  }
}

void listener::handle_timeout(time_point now) {
  if (!impl_) return;
  try {
    impl_->forget_dead();
    impl_->expire_joins(now);
    // Take the earliest due entry each time: running one may end it or another (a promotion),
    // so no pointer is kept across runs. Each run moves its entry past `now` or removes it; the
    // bound only guards against a session that would not.
    auto& timers = impl_->timers;
    for (std::size_t n = timers.size(); n > 0 && !timers.empty(); --n) {
      const auto [when, e] = *timers.begin();
      if (when > now) break;
      impl_->expire_or_run(*e, now);
    }
  } catch (const std::exception&) {
    // Only allocation can fail here: what is still due runs at the next call.
  }
}

std::error_code listener::send(std::span<const std::byte> peer, std::span<const std::byte> data) {
  std::error_code ec = errc::not_connected;
  with_session(peer, [&](session& s) { ec = s.send(data); });
  return ec;
}

void listener::close(std::span<const std::byte> peer) {
  with_session(peer, [](session& s) { s.close(); });
}

bool listener::visit(std::span<const std::byte> peer, void (*fn)(void*, session&), void* f) {
  if (!impl_) return false;
  impl_->forget_dead();
  const auto found = impl_->peers.find(as_key(peer));
  if (found == impl_->peers.end()) return false;
  impl::entry& e = *found->second;
  try {
    fn(f, e.s);
  } catch (...) {
    impl_->refresh(e);
    throw;
  }
  impl_->refresh(e);
  return true;
}

std::optional<peer_event> listener::poll() {
  if (!impl_) return std::nullopt;
  try {
    impl_->forget_dead();
    if (auto e = impl_->poll_own()) return e;
    return impl_->poll_sessions();
  } catch (const std::exception&) {
    // Only allocation can fail here, before any event is taken from a session.
    return std::nullopt;
  }
}

std::optional<time_point> listener::next_timeout() const {
  if (!impl_ || impl_->timers.empty()) return std::nullopt;
  return impl_->timers.begin()->first;
}

const session* listener::find(std::span<const std::byte> peer) const {
  if (!impl_) return nullptr;
  const auto found = impl_->peers.find(as_key(peer));
  return found == impl_->peers.end() ? nullptr : &found->second->s;
}

listener_stats listener::stats() const noexcept {
  if (!impl_) return {};
  auto s = impl_->stats;
  s.sessions = impl_->sessions - impl_->dead.size();  // the dead go at the next call
  return s;
}

}  // namespace dtlspp
