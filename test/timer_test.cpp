// test/timer_test.cpp: the loop contract of session.hpp: next_timeout() is a fixed point in
// time, handle_timeout(now) acts on the caller's clock, and both ways an application reads its
// clock around them make handshakes complete under loss. RFC 6347 section 4.2.4.1 (timer
// values, backoff) and the handshake deadline.
#include <catch2/catch.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <vector>

#include "harness.hpp"

using namespace dtlspp::test;
using namespace std::chrono_literals;
using dtlspp::errc;
using dtlspp::key_type;
using dtlspp::state;

namespace {

// loop_shape is where an application's loop reads its clock: before asking next_timeout()
// (the shape that used to lose every retransmission), or after.
enum class loop_shape { clock_first, clock_after };

std::string_view name(loop_shape s) {
  return s == loop_shape::clock_first ? "clock read before next_timeout()"
                                      : "clock read after next_timeout()";
}

dtlspp::context_options lossy_options() {
  auto o = quick_options();
  o.retransmit = {.initial = 20ms, .maximum = 150ms};
  o.handshake_timeout = 60s;
  return o;
}

// run_timers is the timer half of an application's loop, written the natural way for each
// shape, over every side of every pair. Returns whether any handle_timeout() was called.
bool run_timers(std::span<pair> pairs, loop_shape shape) {
  bool fired = false;
  for (auto& p : pairs) {
    for (side s : all_sides) {
      auto& session = p.at(s);
      steady::time_point time;
      std::optional<steady::time_point> due;
      if (shape == loop_shape::clock_first) {
        time = now();
        due = session.next_timeout();
      } else {
        due = session.next_timeout();
        time = now();
      }
      if (!due || *due > time) continue;
      static_cast<void>(session.handle_timeout(time));
      p.drain(s);
      fired = true;
    }
  }
  return fired;
}

// handshake_all runs pairs until every one has connected or ended, with the loop an
// application writes: deliver what arrives, sleep until the earliest timer, run what is due.
// Returns how many connected.
std::size_t handshake_all(std::span<pair> pairs, loop_shape shape,
                          std::chrono::milliseconds limit) {
  const auto done = [](const pair& p) {
    return p.connected() || p.terminal(side::client) || p.terminal(side::server);
  };
  const auto end = now() + limit;
  while (now() < end && !std::ranges::all_of(pairs, done)) {
    for (auto& p : pairs)
      p.deliver_all();
    std::optional<steady::time_point> earliest;
    for (const auto& p : pairs) {
      if (auto t = p.next_timeout()) earliest = earliest ? std::min(*earliest, *t) : *t;
    }
    if (!earliest) break;
    advance_to(std::min(*earliest, end));
    run_timers(pairs, shape);
  }
  return static_cast<std::size_t>(std::ranges::count_if(pairs, &pair::connected));
}

std::vector<pair> lossy_pairs(std::size_t count, std::uint64_t first_seed) {
  const auto o = lossy_options();
  const auto client_ctx = client_context(key_type::ecdsa_p256, o);
  const auto server_ctx = server_context(key_type::ecdsa_p256, o);
  std::vector<pair> pairs;
  pairs.reserve(count);
  for (std::size_t i = 0; i < count; ++i) {
    network_options net;
    net.seed = first_seed + i;
    net.to_server.loss = 0.3;
    net.to_client.loss = 0.3;
    pairs.emplace_back(client_ctx, server_ctx, std::move(net));
  }
  return pairs;
}

}  // namespace

TEST_CASE("next_timeout is a fixed point that does not move as time passes", "[timer]") {
  network_options net;
  net.to_server.loss = 1.0;
  pair p(client_context(), server_context(), std::move(net));
  const auto first = p.client().next_timeout();
  REQUIRE(first);
  CHECK(*first == p.created() + 20ms);  // quick_options: the initial timer is 20 ms
  advance(10ms);
  CHECK(p.client().next_timeout() == first);
  advance(30ms);  // past it: it stays where it was, in the past, until handle_timeout
  CHECK(p.client().next_timeout() == first);
  CHECK(*p.client().next_timeout() < now());
}

TEST_CASE("handle_timeout before next_timeout does nothing, at it retransmits", "[timer]") {
  network_options net;
  net.to_server.loss = 1.0;
  pair p(client_context(), server_context(), std::move(net));
  const auto due = *p.client().next_timeout();
  advance_to(due - 1ms);
  CHECK_FALSE(p.handle_timeout(side::client));
  CHECK(p.net().wire(direction::client_to_server).size() == 1);
  CHECK(p.client().next_timeout() == due);
  advance_to(due);
  CHECK_FALSE(p.handle_timeout(side::client));
  CHECK(p.net().wire(direction::client_to_server).size() == 2);
  CHECK(p.client().stats().retransmissions == 1);
  // RFC 6347 section 4.2.4.1: the timer doubles.
  CHECK(p.client().next_timeout() == due + 40ms);
}

TEST_CASE("both loop shapes complete 50 of 50 handshakes at 30% loss each way, on virtual time",
          "[timer][loss]") {
  const auto shape = GENERATE(loop_shape::clock_first, loop_shape::clock_after);
  CAPTURE(name(shape));
  auto pairs = lossy_pairs(50, 7000);
  const auto connected = handshake_all(pairs, shape, 60s);
  std::uint64_t retransmissions = 0;
  for (const auto& p : pairs) {
    if (!p.connected()) UNSCOPED_INFO("seed " << p.net().options().seed << ":\n" << p.trace());
    for (side s : all_sides)
      retransmissions += p.at(s).stats().retransmissions;
  }
  CHECK(connected == 50);
  CHECK(retransmissions > 0);
}

TEST_CASE("both loop shapes complete 50 of 50 handshakes at 30% loss each way, on real time",
          "[timer][loss][real-time]") {
  // The loop as an application writes it, on the real clocks (dtlspp's and OpenSSL's): the
  // result may take longer on a loaded machine, never differ.
  real_time scope;
  const auto shape = GENERATE(loop_shape::clock_first, loop_shape::clock_after);
  CAPTURE(name(shape));
  auto pairs = lossy_pairs(50, 9000);
  const auto connected = handshake_all(pairs, shape, 120s);
  for (const auto& p : pairs) {
    if (!p.connected()) UNSCOPED_INFO("seed " << p.net().options().seed << ":\n" << p.trace());
  }
  CHECK(connected == 50);
}

TEST_CASE("retransmissions double from the initial timer up to the maximum", "[timer]") {
  // RFC 6347 section 4.2.4.1; quick_options: 20 ms doubling to 200 ms.
  network_options net;
  net.to_server.loss = 1.0;
  pair p(client_context(), server_context(), std::move(net));
  std::vector<steady::duration> intervals;
  auto last = p.created();
  for (int i = 0; i < 8; ++i) {
    const auto due = *p.client().next_timeout();
    intervals.push_back(due - last);
    advance_to(due);
    REQUIRE_FALSE(p.handle_timeout(side::client));
    last = due;
  }
  const std::vector<steady::duration> expected{20ms, 40ms, 80ms, 160ms, 200ms, 200ms, 200ms, 200ms};
  CHECK(intervals == expected);
  CHECK(p.client().stats().retransmissions == 8);
  CHECK(p.net().wire(direction::client_to_server).size() == 9);
}

TEST_CASE("OpenSSL gives up after 12 retransmissions of one flight: handshake_timeout", "[timer]") {
  auto o = quick_options();
  o.handshake_timeout = 1h;  // so that OpenSSL's own limit comes first
  network_options net;
  net.to_server.loss = 1.0;
  pair p(client_context(key_type::ecdsa_p256, o), server_context(key_type::ecdsa_p256, o),
         std::move(net));
  REQUIRE(p.pump_until([&] { return p.terminal(side::client); }, 1h));
  CHECK(p.client().error() == errc::handshake_timeout);
  CHECK_THAT(std::string(p.client().error_message()),
             Catch::Matchers::Contains("12 retransmissions"));
  // The first ClientHello and 12 more; the 13th expiry gives up without sending.
  CHECK(p.net().wire(direction::client_to_server).size() == 13);
  CHECK(p.client().stats().retransmissions == 12);
  CHECK_FALSE(p.client().next_timeout());
}

TEST_CASE("the handshake deadline runs on the caller's clock", "[timer]") {
  auto o = quick_options();
  o.handshake_timeout = 1s;
  o.retransmit = {.initial = 10s, .maximum = 10s};  // no retransmission before the deadline
  const auto ctx = make_context(cached_identity(key_type::ecdsa_p256), o);
  const auto start = now();
  dtlspp::session s(ctx, dtlspp::role::client, dtlspp::dangerous_accept_any(), start);
  while (s.poll()) {
  }
  CHECK(s.next_timeout() == start + 1s);  // the deadline comes before the 10 s timer
  CHECK_FALSE(s.handle_timeout(start + 999ms));
  CHECK(s.state() == state::handshaking);
  // No real or OpenSSL time passes: only the caller's clock says the deadline has come.
  CHECK(s.handle_timeout(start + 1s) == errc::handshake_timeout);
  CHECK(s.state() == state::failed);
  CHECK_FALSE(s.next_timeout());
}

TEST_CASE("a caller's clock ahead of OpenSSL's makes handle_timeout wait, never spin", "[timer]") {
  // OpenSSL decides on its own clock whether a flight is due. A caller whose clock runs 5 s
  // ahead sees its timer due at once; handle_timeout then moves next_timeout() to when
  // OpenSSL's clock will agree, instead of leaving it in the past.
  network_options net;
  net.to_server.loss = 1.0;
  pair p(client_context(), server_context(), std::move(net));
  auto& client = p.client();
  const auto ahead = [] { return now() + 5s; };
  const auto due = *client.next_timeout();
  advance(5ms);  // OpenSSL's clock: 15 ms left
  CHECK_FALSE(client.handle_timeout(ahead()));
  p.drain(side::client);
  CHECK(client.stats().retransmissions == 0);
  const auto next = client.next_timeout();
  REQUIRE(next);
  CHECK(*next == ahead() + 15ms);
  CHECK(*next > due);
  advance(15ms);  // now OpenSSL agrees
  CHECK_FALSE(client.handle_timeout(ahead()));
  p.drain(side::client);
  CHECK(client.stats().retransmissions == 1);
}
