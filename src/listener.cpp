// src/listener.cpp: many peers, stateless cookies, limits, idle expiry.
#include "dtlspp/listener.hpp"

#include <openssl/crypto.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include <array>
#include <deque>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "detail/client_hello.hpp"
#include "detail/openssl.hpp"
#include "detail/output_queue.hpp"

namespace dtlspp {
namespace {

using clock = std::chrono::steady_clock;

constexpr std::size_t max_peer_size = 128;  // sizeof(sockaddr_storage)
constexpr std::size_t secret_size = 32;
constexpr std::size_t cookie_size = 32;  // HMAC-SHA256; DTLS 1.2 allows up to 255 bytes

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

std::span<const std::byte> as_peer(const std::string& key) noexcept {
  return std::as_bytes(std::span(key));
}

}  // namespace

struct listener::impl {
  // entry is one peer's session and its bookkeeping. Held by unique_ptr: its address is what
  // the timer set and the ready list refer to.
  struct entry {
    std::string peer;
    session s;
    clock::time_point last_activity;
    std::string hello;  // client_version, random, session_id of the ClientHello that began it
    std::optional<clock::time_point> scheduled;  // its key in `timers`
    bool ready = false;                          // in `ready`: may have output to poll
    bool handshaking = true;                     // counted in `handshakes`
    bool dead = false;  // its closed event was polled: forget it at the next call
  };

  // own_output is an output of the listener itself: a HelloVerifyRequest, or the end of a
  // session it removed (replaced by a new handshake, or idle).
  struct own_output {
    std::string peer;
    detail::output_kind kind;
    std::vector<std::byte> bytes;
    std::error_code reason;
  };

  impl(const context& c, verifier v, listener_options o);

  std::error_code on_datagram(std::span<const std::byte> peer, std::span<const std::byte> datagram);
  std::error_code on_client_hello(std::string_view peer, std::span<const std::byte> datagram,
                                  const detail::client_hello& hello, entry* existing);
  bool cookie_valid(std::string_view peer, const detail::client_hello& hello);
  std::array<std::byte, cookie_size> make_cookie(std::string_view peer,
                                                 const detail::client_hello& hello,
                                                 const secret& key);
  void rotate_secrets(clock::time_point now);
  entry& add(std::string_view peer, session s, clock::time_point now,
             std::span<const std::byte> hello_parameters);
  void end(entry& e, std::error_code reason);
  void refresh(entry& e);
  void forget(entry& e);
  void forget_dead();
  std::optional<clock::time_point> due(const entry& e) const;

  const context ctx;  // a copy: shares the SSL_CTX (invariant 14)
  const verifier verify;
  const listener_options options;

  std::unordered_map<std::string, std::unique_ptr<entry>, string_hash, std::equal_to<>> peers;
  std::set<std::pair<clock::time_point, entry*>> timers;
  std::deque<entry*> ready;
  std::deque<own_output> own;
  own_output current_own;  // the last own output polled: its spans live until the next call
  std::vector<entry*> dead;

  secret current_secret{};
  secret previous_secret{};
  clock::time_point rotated_at;
  std::vector<unsigned char> cookie_input;  // reused: the HMAC's message
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
  rotated_at = clock::now();
}

// ---- unknown peers: the stateless cookie exchange (RFC 6347 section 4.2.1) --------------------

void listener::impl::rotate_secrets(clock::time_point now) {
  if (now - rotated_at < options.cookie_secret_lifetime) return;
  secret next{};
  // If the random generator fails, keep the current secret for one more period.
  if (RAND_bytes(next.data(), secret_size) != 1) {
    ERR_clear_error();
    return;
  }
  previous_secret = current_secret;
  current_secret = next;
  OPENSSL_cleanse(next.data(), next.size());
  rotated_at = now;
}

// make_cookie is HMAC-SHA256(secret, peer address | client_version | random | session_id |
// cipher_suites | compression_methods): RFC 6347 section 4.2.1's "HMAC(Secret, Client-IP,
// Client-Parameters)". The client repeats these parameters with the cookie.
std::array<std::byte, cookie_size> listener::impl::make_cookie(std::string_view peer,
                                                               const detail::client_hello& hello,
                                                               const secret& key) {
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

bool listener::impl::cookie_valid(std::string_view peer, const detail::client_hello& hello) {
  if (hello.cookie.size() != cookie_size) return false;
  for (const secret* key : {&current_secret, &previous_secret}) {
    const auto expected = make_cookie(peer, hello, *key);
    if (CRYPTO_memcmp(expected.data(), hello.cookie.data(), cookie_size) == 0) return true;
  }
  return false;
}

std::error_code listener::impl::on_client_hello(std::string_view peer,
                                                std::span<const std::byte> datagram,
                                                const detail::client_hello& hello,
                                                entry* existing) {
  if (options.cookies && !cookie_valid(peer, hello)) {
    if (!hello.cookie.empty()) ++stats.cookies_rejected;
    auto reply = detail::hello_verify_request(hello, make_cookie(peer, hello, current_secret));
    // Anti-amplification: an unproven address never gets more bytes than it sent.
    if (reply.size() > datagram.size()) {
      ++stats.dropped_amplification;
      return {};
    }
    ++stats.hello_verify_requests;
    own.push_back({std::string(peer), detail::output_kind::transmit, std::move(reply), {}});
    return {};
  }
  const std::size_t replaced = existing != nullptr ? 1 : 0;
  if (peers.size() - replaced >= options.max_sessions) {
    ++stats.dropped_session_limit;
    return {};
  }
  if (stats.handshakes >= options.max_handshakes) {
    ++stats.dropped_handshake_limit;
    return {};
  }
  if (existing != nullptr) {
    // RFC 6347 section 4.2.8: the peer proved it owns the address, so it lost its state and
    // starts over. The old association ends here.
    ++stats.sessions_replaced;
    end(*existing, errc::peer_restarted);
  }
  const auto now = clock::now();
  if (options.cookies) {
    entry& e = add(peer, session(ctx, verify, session::verified_client_hello{datagram}), now,
                   hello.parameters);
    return e.s.error();
  }
  entry& e = add(peer, session(ctx, role::server, verify), now, hello.parameters);
  const auto ec = e.s.handle_datagram(datagram);
  refresh(e);
  return ec;
}

// ---- sessions -------------------------------------------------------------------------------

listener::impl::entry& listener::impl::add(std::string_view peer, session s, clock::time_point now,
                                           std::span<const std::byte> hello_parameters) {
  auto e = std::make_unique<entry>(entry{.peer = std::string(peer),
                                         .s = std::move(s),
                                         .last_activity = now,
                                         .hello = std::string(as_key(hello_parameters)),
                                         .scheduled = std::nullopt});
  entry& ref = *e;
  peers.emplace(ref.peer, std::move(e));
  ++stats.sessions_created;
  ++stats.handshakes;
  refresh(ref);
  return ref;
}

// due is when the entry's session next needs handle_timeout: its own timer, or, established, the
// end of its idle period.
std::optional<clock::time_point> listener::impl::due(const entry& e) const {
  auto t = e.s.next_timeout();
  if (e.s.state() == state::connected) {
    const auto idle_end = e.last_activity + options.idle_timeout;
    t = t ? std::min(*t, idle_end) : idle_end;
  }
  return t;
}

// refresh brings the bookkeeping of e up to date after any call on its session.
void listener::impl::refresh(entry& e) {
  const bool handshaking = e.s.state() == state::handshaking;
  if (e.handshaking && !handshaking) --stats.handshakes;
  e.handshaking = handshaking;
  const auto next = due(e);
  if (next != e.scheduled) {
    if (e.scheduled) timers.erase({*e.scheduled, &e});
    if (next) timers.insert({*next, &e});
    e.scheduled = next;
  }
  if (!e.ready) {
    e.ready = true;
    ready.push_back(&e);
  }
}

// end removes e at once, telling the application with a closed event of its own.
void listener::impl::end(entry& e, std::error_code reason) {
  // What the session still had to say (a close_notify, say) goes out first.
  while (auto ev = e.s.poll()) {
    if (const auto* t = std::get_if<transmit>(&*ev)) {
      own.push_back(
          {e.peer, detail::output_kind::transmit, {t->datagram.begin(), t->datagram.end()}, {}});
    }
  }
  own.push_back({e.peer, detail::output_kind::closed, {}, reason});
  forget(e);
}

void listener::impl::forget(entry& e) {
  if (e.scheduled) timers.erase({*e.scheduled, &e});
  if (e.ready) std::erase(ready, &e);
  if (e.handshaking) --stats.handshakes;
  std::erase(dead, &e);
  peers.erase(e.peer);  // destroys e
}

void listener::impl::forget_dead() {
  while (!dead.empty())
    forget(*dead.back());
}

std::error_code listener::impl::on_datagram(std::span<const std::byte> peer,
                                            std::span<const std::byte> datagram) {
  ++stats.datagrams_in;
  if (peer.empty() || peer.size() > max_peer_size) return errc::invalid_argument;
  const auto now = clock::now();
  rotate_secrets(now);
  const auto key = as_key(peer);
  const auto hello = detail::parse_client_hello(datagram);
  const auto found = peers.find(key);
  entry* existing = found != peers.end() ? found->second.get() : nullptr;
  // A new ClientHello on an established association is a peer that lost its state, or a
  // forgery: answer it as a stranger until its cookie proves the address (RFC 6347 section
  // 4.2.8). A copy of the ClientHello that began the association (a late duplicate) is not new.
  const bool restart = existing != nullptr && hello && options.cookies &&
                       existing->s.state() == state::connected &&
                       existing->hello != as_key(hello->parameters);
  if (existing != nullptr && !restart) {
    existing->last_activity = now;
    const auto ec = existing->s.handle_datagram(datagram);
    refresh(*existing);
    return ec;
  }
  if (!hello) {
    ++stats.dropped_not_client_hello;
    return {};
  }
  return on_client_hello(key, datagram, *hello, existing);
}

// ---- public interface ---------------------------------------------------------------------

listener::listener(const context& ctx, verifier v, listener_options options)
    : impl_(std::make_unique<impl>(ctx, std::move(v), options)) {}

listener::listener(listener&&) noexcept = default;
listener& listener::operator=(listener&&) noexcept = default;
listener::~listener() = default;

std::error_code listener::handle_datagram(std::span<const std::byte> peer,
                                          std::span<const std::byte> datagram) {
  impl_->forget_dead();
  try {
    return impl_->on_datagram(peer, datagram);
  } catch (const std::exception&) {
    // Only allocation can fail here; the datagram is lost, as the network may lose it.
    return errc::crypto_failure;
  }
}

void listener::handle_timeout() {
  impl_->forget_dead();
  const auto now = clock::now();
  std::vector<impl::entry*> due;
  for (auto it = impl_->timers.begin(); it != impl_->timers.end() && it->first <= now; ++it) {
    due.push_back(it->second);
  }
  for (impl::entry* e : due) {
    if (e->s.state() == state::connected && now - e->last_activity >= impl_->options.idle_timeout) {
      ++impl_->stats.sessions_expired;
      e->s.close();  // a close_notify, which end() passes on
      impl_->end(*e, errc::idle_timeout);
      continue;
    }
    static_cast<void>(e->s.handle_timeout());
    impl_->refresh(*e);
  }
}

std::error_code listener::send(std::span<const std::byte> peer, std::span<const std::byte> data) {
  impl_->forget_dead();
  const auto found = impl_->peers.find(as_key(peer));
  if (found == impl_->peers.end()) return errc::not_connected;
  impl::entry& e = *found->second;
  e.last_activity = std::chrono::steady_clock::now();
  const auto ec = e.s.send(data);
  impl_->refresh(e);
  return ec;
}

void listener::close(std::span<const std::byte> peer) {
  impl_->forget_dead();
  const auto found = impl_->peers.find(as_key(peer));
  if (found == impl_->peers.end()) return;
  found->second->s.close();
  impl_->refresh(*found->second);
}

std::optional<peer_event> listener::poll() {
  impl_->forget_dead();
  if (!impl_->own.empty()) {
    impl_->current_own = std::move(impl_->own.front());
    impl_->own.pop_front();
    const auto& o = impl_->current_own;
    const auto peer = as_peer(o.peer);
    if (o.kind == detail::output_kind::transmit) return peer_event{peer, transmit{o.bytes}};
    return peer_event{peer, closed{o.reason}};
  }
  while (!impl_->ready.empty()) {
    impl::entry* e = impl_->ready.front();
    if (auto ev = e->s.poll()) {
      if (std::holds_alternative<closed>(*ev)) {
        e->dead = true;
        impl_->dead.push_back(e);
      }
      return peer_event{as_peer(e->peer), std::move(*ev)};
    }
    impl_->ready.pop_front();
    e->ready = false;
  }
  return std::nullopt;
}

std::optional<std::chrono::steady_clock::time_point> listener::next_timeout() const {
  if (impl_->timers.empty()) return std::nullopt;
  return impl_->timers.begin()->first;
}

const session* listener::find(std::span<const std::byte> peer) const {
  const auto found = impl_->peers.find(as_key(peer));
  return found == impl_->peers.end() ? nullptr : &found->second->s;
}

listener_stats listener::stats() const noexcept {
  auto s = impl_->stats;
  s.sessions = impl_->peers.size();
  return s;
}

}  // namespace dtlspp
