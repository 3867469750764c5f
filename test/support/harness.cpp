// test/support/harness.cpp: the in-memory network and the two-peer pair of the unit tests.
#include "harness.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <stdexcept>
#include <thread>
#include <utility>
#include <variant>

namespace dtlspp::test {
namespace {

using namespace std::chrono_literals;

// A session that never runs dry, or a network that never goes idle, is a bug in the session or
// the test: stop it instead of hanging the suite.
constexpr std::size_t max_events_per_drain = 100000;
constexpr std::size_t max_deliveries_per_flush = 100000;

template <class... F>
struct overloaded : F... {
  using F::operator()...;
};
template <class... F>
overloaded(F...) -> overloaded<F...>;

}  // namespace

// ---- Bytes ----------------------------------------------------------------------------------

bytes to_bytes(std::string_view text) {
  const auto b = std::as_bytes(std::span(text.data(), text.size()));
  return {b.begin(), b.end()};
}

std::string to_text(std::span<const std::byte> data) {
  return {reinterpret_cast<const char*>(data.data()), data.size()};
}

bytes random_bytes(std::mt19937_64& rng, std::size_t n) {
  bytes out(n);
  for (auto& b : out)
    b = static_cast<std::byte>(rng() & 0xFF);
  return out;
}

// ---- Identities and contexts ----------------------------------------------------------------

const identity& cached_identity(key_type k, int n) {
  static std::map<std::pair<key_type, int>, identity> cache;
  const auto key = std::pair{k, n};
  auto it = cache.find(key);
  if (it == cache.end()) it = cache.emplace(key, identity::generate({.key = k})).first;
  return it->second;
}

context_options quick_options() {
  context_options o;
  o.retransmit = {.initial = 20ms, .maximum = 200ms};
  o.handshake_timeout = 10s;
  return o;
}

context make_context(const identity& id, context_options o) {
  o.identity = id;
  return context(std::move(o));
}

context client_context(key_type k, context_options o) {
  return make_context(cached_identity(k, 0), std::move(o));
}

context server_context(key_type k, context_options o) {
  return make_context(cached_identity(k, 1), std::move(o));
}

fingerprint stranger(hash_algorithm a) {
  return cached_identity(key_type::ecdsa_p256, 2).fingerprint(a);
}

// ---- Records --------------------------------------------------------------------------------

std::uint64_t get_be(std::span<const std::byte> data, std::size_t at, std::size_t width) {
  if (at + width > data.size()) throw std::out_of_range("get_be past the end");
  std::uint64_t v = 0;
  for (std::size_t i = 0; i < width; ++i)
    v = (v << 8) | std::to_integer<std::uint64_t>(data[at + i]);
  return v;
}

void put_be(bytes& data, std::size_t at, std::uint64_t value, std::size_t width) {
  if (at + width > data.size()) throw std::out_of_range("put_be past the end");
  for (std::size_t i = 0; i < width; ++i) {
    data[at + width - 1 - i] = static_cast<std::byte>(value & 0xFF);
    value >>= 8;
  }
}

std::optional<std::uint8_t> record::handshake_msg_type() const {
  if (type != content_type::handshake || epoch != 0 || fragment.empty()) return std::nullopt;
  return std::to_integer<std::uint8_t>(fragment[0]);
}

std::vector<record> parse_records(std::span<const std::byte> datagram) {
  std::vector<record> out;
  const std::size_t size = datagram.size();
  std::span<const std::byte> rest = datagram;
  while (auto r = detail::wire::next_record(rest)) {
    const std::size_t end = size - rest.size();
    out.push_back({r->type, r->version, r->epoch, r->sequence,
                   end - record_header_size - r->body.size(), r->body});
  }
  return out;
}

bool has_record(std::span<const std::byte> datagram, std::uint8_t t) {
  return std::ranges::any_of(parse_records(datagram), [t](const record& r) { return r.type == t; });
}

bool has_handshake(std::span<const std::byte> datagram, std::uint8_t m) {
  return std::ranges::any_of(parse_records(datagram),
                             [m](const record& r) { return r.handshake_msg_type() == m; });
}

// ---- Network --------------------------------------------------------------------------------

side other(side s) noexcept {
  return s == side::client ? side::server : side::client;
}

direction from(side sender) noexcept {
  return sender == side::client ? direction::client_to_server : direction::server_to_client;
}

side receiver(direction d) noexcept {
  return d == direction::client_to_server ? side::server : side::client;
}

std::string_view name(side s) noexcept {
  return s == side::client ? "client" : "server";
}

std::string_view name(direction d) noexcept {
  return d == direction::client_to_server ? "client->server" : "server->client";
}

std::function<bool(const datagram&)> drop_nth(direction d, std::size_t n) {
  return [d, n](const datagram& dg) { return dg.dir == d && dg.index == n; };
}

std::function<bool(std::span<const datagram>)> drop_first_flight_with(direction d, std::uint8_t t) {
  return [d, t, done = false](std::span<const datagram> flight) mutable {
    if (done || flight.empty() || flight.front().dir != d) return false;
    const bool hit =
        std::ranges::any_of(flight, [t](const datagram& dg) { return has_record(dg.data, t); });
    done = hit;
    return hit;
  };
}

network::network(network_options options) : options_(std::move(options)) {}

// draw returns the k-th random number of the datagram sent at `index` in d: a function of the
// seed, the direction, the index and k only (splitmix64), so that the fate of one datagram does
// not depend on how many were sent before it (a flight one datagram longer, because an ECDSA
// signature came out a byte longer, shifts nothing else).
std::uint64_t network::draw(direction d, std::size_t index, int k) const noexcept {
  std::uint64_t z = options_.seed ^ (static_cast<std::uint64_t>(d) << 62) ^
                    (static_cast<std::uint64_t>(index) << 3) ^ static_cast<std::uint64_t>(k);
  z += 0x9E3779B97F4A7C15ULL;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

double network::uniform(direction d, std::size_t index, int k) const noexcept {
  // 53 random bits: the same numbers on every platform, unlike std::uniform_real_distribution.
  return static_cast<double>(draw(d, index, k) >> 11) * 0x1.0p-53;
}

void network::send(direction d, std::vector<bytes> flight) {
  lane& l = at(d);
  const link& model = d == direction::client_to_server ? options_.to_server : options_.to_client;
  const std::size_t first = l.wire.size();
  const std::size_t flight_index = l.flights++;
  for (auto& data : flight) {
    l.wire.push_back(datagram{d, l.wire.size(), flight_index, std::move(data), false});
  }
  const auto sent = std::span(l.wire).subspan(first);
  const bool drop_flight = options_.drop_flight && options_.drop_flight(sent);

  struct out {
    bytes data;
    int hold;  // deliveries to wait for, 0 = none
  };
  std::vector<out> survivors;
  for (auto& dg : sent) {
    const bool chosen = options_.drop && options_.drop(dg);
    if (drop_flight || chosen || uniform(d, dg.index, 0) < model.loss) {
      dg.dropped = true;
      ++l.dropped;
      continue;
    }
    const bool hold = uniform(d, dg.index, 2) < model.reordering;
    survivors.push_back({dg.data, hold ? 1 + static_cast<int>(draw(d, dg.index, 3) % 3) : 0});
    if (uniform(d, dg.index, 1) < model.duplication) survivors.push_back({dg.data, 0});
  }
  if (options_.reverse_flights) std::ranges::reverse(survivors);
  for (auto& s : survivors) {
    if (s.hold > 0) {
      l.held_back.push_back({std::move(s.data), s.hold});
    } else {
      l.in_flight.push_back(std::move(s.data));
    }
  }
}

std::optional<bytes> network::receive(direction d) {
  lane& l = at(d);
  if (l.in_flight.empty()) {
    if (l.held_back.empty()) return std::nullopt;
    // Nothing overtakes it any more: the oldest held datagram comes out.
    l.in_flight.push_back(std::move(l.held_back.front().data));
    l.held_back.erase(l.held_back.begin());
  }
  bytes data = std::move(l.in_flight.front());
  l.in_flight.pop_front();
  ++l.delivered;
  // One more datagram has overtaken each held one; release those that waited long enough.
  for (auto it = l.held_back.begin(); it != l.held_back.end();) {
    if (--it->after <= 0) {
      l.in_flight.push_back(std::move(it->data));
      it = l.held_back.erase(it);
    } else {
      ++it;
    }
  }
  return data;
}

bool network::idle(direction d) const noexcept {
  return at(d).in_flight.empty() && at(d).held_back.empty();
}

bool network::idle() const noexcept {
  return idle(direction::client_to_server) && idle(direction::server_to_client);
}

const std::vector<datagram>& network::wire(direction d) const noexcept {
  return at(d).wire;
}

std::size_t network::flights(direction d) const noexcept {
  return at(d).flights;
}

std::uint64_t network::delivered(direction d) const noexcept {
  return at(d).delivered;
}

std::uint64_t network::dropped(direction d) const noexcept {
  return at(d).dropped;
}

// ---- Pair -----------------------------------------------------------------------------------

std::vector<std::string> observed::texts() const {
  std::vector<std::string> out;
  for (const auto& r : received)
    out.push_back(to_text(r));
  return out;
}

pair::pair(context client_ctx, context server_ctx, network_options net)
    : pair(client_ctx, expect({server_ctx.identity().fingerprint()}), server_ctx,
           expect({client_ctx.identity().fingerprint()}), std::move(net)) {}

pair::pair(context client_ctx, verifier client_verifier, context server_ctx,
           verifier server_verifier, network_options net)
    : client_context_(std::move(client_ctx)),
      server_context_(std::move(server_ctx)),
      net_(std::move(net)),
      created_(now()),
      client_(client_context_, role::client, std::move(client_verifier), created_),
      server_(server_context_, role::server, std::move(server_verifier), created_) {
  drain(side::client);  // the ClientHello
  drain(side::server);
}

void pair::drain(side s) {
  dtlspp::session& ses = at(s);
  observed& log = logs_[index(s)];
  std::vector<bytes> flight;
  for (std::size_t n = 0;; ++n) {
    if (n == max_events_per_drain) throw std::runtime_error("poll() never ran dry");
    auto e = ses.poll();
    if (!e) break;
    std::visit(overloaded{
                   [&](const dtlspp::transmit& t) {
                     flight.emplace_back(t.datagram.begin(), t.datagram.end());
                     ++log.datagrams_out;
                     log.bytes_out += t.datagram.size();
                     log.largest_transmit = std::max(log.largest_transmit, t.datagram.size());
                     log.order.push_back(event_kind::transmit);
                   },
                   [&](const dtlspp::received& r) {
                     log.received.emplace_back(r.data.begin(), r.data.end());
                     log.order.push_back(event_kind::received);
                   },
                   [&](const dtlspp::connected&) {
                     ++log.connected;
                     log.order.push_back(event_kind::connected);
                   },
                   [&](const dtlspp::closed& c) {
                     log.closed.push_back(c.reason);
                     log.order.push_back(event_kind::closed);
                   },
               },
               *e);
  }
  if (!flight.empty()) net_.send(from(s), std::move(flight));
}

std::error_code pair::feed(side to, std::span<const std::byte> datagram) {
  observed& log = logs_[index(to)];
  ++log.datagrams_in;
  log.bytes_in += datagram.size();
  const std::error_code ec = at(to).handle_datagram(datagram, now());
  if (ec) log.errors.push_back(ec);
  drain(to);
  return ec;
}

std::error_code pair::send(side from_side, std::span<const std::byte> data) {
  const std::error_code ec = at(from_side).send(data);
  drain(from_side);
  return ec;
}

std::error_code pair::send(side from_side, std::string_view text) {
  return send(from_side, to_bytes(text));
}

std::error_code pair::handle_timeout(side s) {
  observed& log = logs_[index(s)];
  ++log.timeouts;
  const std::error_code ec = at(s).handle_timeout(now());
  if (ec) log.errors.push_back(ec);
  drain(s);
  return ec;
}

void pair::close(side s) {
  at(s).close();
  drain(s);
}

void pair::verify_peer(side s, verdict v) {
  at(s).verify_peer(v, now());
  drain(s);
}

std::error_code pair::inject(side to, std::span<const std::byte> datagram) {
  ++logs_[index(to)].injected;
  return feed(to, datagram);
}

bool pair::deliver_one() {
  for (int i = 0; i < 2; ++i) {
    const direction d = next_direction_;
    next_direction_ = d == direction::client_to_server ? direction::server_to_client
                                                       : direction::client_to_server;
    if (auto dg = net_.receive(d)) {
      static_cast<void>(feed(receiver(d), *dg));
      return true;
    }
  }
  return false;
}

bool pair::fire_due_timers() {
  bool happened = false;
  // As an application's loop does: read the clock, then call handle_timeout on each side whose
  // next_timeout() has come.
  const auto time = now();
  for (side s : {side::client, side::server}) {
    const auto t = at(s).next_timeout();
    if (!t || *t > time) continue;
    const auto events_before = logs_[index(s)].order.size();
    const auto state_before = at(s).state();
    static_cast<void>(handle_timeout(s));
    happened |= logs_[index(s)].order.size() != events_before || at(s).state() != state_before;
  }
  return happened;
}

bool pair::step() {
  if (deliver_one()) return true;
  return fire_due_timers();
}

bool pair::wait(steady::time_point limit) const {
  const auto t = next_timeout();
  if (!t) return false;
  advance_to(std::min(*t, limit));
  return true;
}

bool pair::pump_until(const std::function<bool()>& done, std::chrono::milliseconds max_wall) {
  const auto deadline = now() + max_wall;
  for (;;) {
    if (done()) return true;
    if (now() >= deadline) return false;
    if (step()) continue;
    if (!wait(deadline)) return done();  // stalled: nothing in flight, no timer running
  }
}

bool pair::handshake(std::chrono::milliseconds max_wall) {
  pump_until([&] { return connected() || terminal(side::client) || terminal(side::server); },
             max_wall);
  deliver_all();
  return connected();
}

void pair::deliver_all() {
  for (std::size_t n = 0; deliver_one(); ++n) {
    if (n == max_deliveries_per_flush) throw std::runtime_error("the network never went idle");
  }
}

bool pair::transfer(side from_side, std::string_view text) {
  const auto& peer = logs_[index(other(from_side))].received;
  const std::size_t before = peer.size();
  if (send(from_side, text)) return false;
  deliver_all();
  return peer.size() == before + 1 && to_text(peer.back()) == text;
}

std::optional<steady::time_point> pair::next_timeout() const {
  const auto a = client_.next_timeout();
  const auto b = server_.next_timeout();
  if (!a) return b;
  if (!b) return a;
  return std::min(*a, *b);
}

bool pair::connected() const noexcept {
  return client_.state() == state::connected && server_.state() == state::connected;
}

bool pair::terminal(side s) const noexcept {
  const auto st = at(s).state();
  return st == state::failed || st == state::closed;
}

std::string pair::trace() const {
  std::vector<const datagram*> all;
  for (auto d : {direction::client_to_server, direction::server_to_client}) {
    for (const auto& dg : net_.wire(d))
      all.push_back(&dg);
  }
  // Interleaving by flight is not the true order across directions; list per direction.
  std::string out;
  for (const auto* dg : all) {
    out += fmt::format("{} #{} flight {}{}: {}\n", name(dg->dir), dg->index, dg->flight,
                       dg->dropped ? " (dropped)" : "", describe(dg->data));
  }
  for (side s : {side::client, side::server}) {
    out += fmt::format("{}: {} '{}'\n", name(s), name(at(s).state()), at(s).error_message());
  }
  return out;
}

// ---- Many pairs -----------------------------------------------------------------------------

bool pump_all(std::span<pair> pairs, const std::function<bool(const pair&)>& done,
              std::chrono::milliseconds max_wall) {
  const auto deadline = now() + max_wall;
  for (;;) {
    bool all_done = true;
    bool progressed = false;
    for (auto& p : pairs) {
      if (done(p)) continue;
      all_done = false;
      progressed |= p.step();
    }
    if (all_done) return true;
    if (now() >= deadline) return false;
    if (progressed) continue;
    std::optional<steady::time_point> earliest;
    for (const auto& p : pairs) {
      if (done(p)) continue;
      if (auto t = p.next_timeout()) earliest = earliest ? std::min(*earliest, *t) : *t;
    }
    if (!earliest) return false;  // the pairs left are stalled
    advance_to(std::min(*earliest, deadline));
  }
}

}  // namespace dtlspp::test
