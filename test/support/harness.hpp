// test/support/harness.hpp: an in-memory network for two dtlspp sessions, the core of the unit
// tests.
//
// pair runs a client and a server session on one thread, with no sockets. Every transmit a
// session hands out goes through a network that can lose, duplicate, reorder and drop chosen
// datagrams and that records every datagram put on the wire in each direction.
//
// Time comes from virtual_time.hpp: every call into a session passes test::now(), and when
// nothing is in flight the pair moves the clock to the earliest next_timeout() (advance_to) and
// calls handle_timeout() on each side whose time has come, reading the clock first, as an
// application's loop does. On virtual time (the unit suite) OpenSSL reads the same clock, so
// delivery and processing take no time and timers fire exactly when due.
//
// What a seed fixes: whether the datagram sent at index i in direction d is lost, duplicated or
// held back is a function of (seed, d, i) alone. On virtual time the run is then the same every
// time, as long as every flight has the same number of datagrams; an ECDSA signature one byte
// shorter can shift a record across the MTU boundary of a packed flight, and OpenSSL's random
// values (keys, nonces) differ in every run whatever the seed. With real time, timers fire when
// the machine gets to them, and a run also depends on its speed.
//
// Nothing here uses Catch2: tests and the threads test link it as a plain library.
#pragma once

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <optional>
#include <random>
#include <span>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "detail/wire.hpp"
#include "dtlspp/dtlspp.hpp"
#include "virtual_time.hpp"

namespace dtlspp::test {

using bytes = std::vector<std::byte>;

// to_bytes copies text into bytes; to_text does the reverse (for readable assertions).
bytes to_bytes(std::string_view text);
std::string to_text(std::span<const std::byte> data);

// random_bytes returns n bytes drawn from rng.
bytes random_bytes(std::mt19937_64& rng, std::size_t n);

// ---- Errors -------------------------------------------------------------------------------

// thrown is what catch_error saw: whether f threw a dtlspp::error, its code and its what().
struct thrown {
  bool threw = false;
  std::error_code code;
  std::string what;
};

// catch_error runs f and reports the dtlspp::error it threw; any other exception escapes and
// fails the test.
template <class F>
thrown catch_error(F&& f) {
  try {
    f();
  } catch (const dtlspp::error& e) {
    return {true, e.code(), e.what()};
  }
  return {};
}

// ---- Identities and contexts --------------------------------------------------------------

// all_key_types lists every key_type, for loops over them.
inline constexpr std::array all_key_types{key_type::ecdsa_p256, key_type::ecdsa_p384,
                                          key_type::ed25519, key_type::rsa_2048,
                                          key_type::rsa_3072};

// cached_identity returns an identity of key type k, generated once per process for each (k, n):
// RSA keys take hundreds of milliseconds to make. Distinct n give distinct certificates of one
// key type (a "wrong" peer). Not thread-safe: tests run on one thread.
const identity& cached_identity(key_type k, int n = 0);

// quick_options returns the policy of the unit tests: retransmission from 20 ms doubling up to
// 200 ms, a 10 s handshake deadline. Not less than 15 ms: OpenSSL rounds a remaining time under
// 15 ms to "expired", so a shorter initial timer resends every flight at once from inside
// OpenSSL's own read path, even on a lossless link.
context_options quick_options();

// make_context builds a context presenting id with options o.
context make_context(const identity& id, context_options o = quick_options());

// client_context and server_context build the two ends' contexts, each presenting its own
// cached identity of key type k (identities 0 and 1: the ends never share a certificate).
context client_context(key_type k = key_type::ecdsa_p256, context_options o = quick_options());
context server_context(key_type k = key_type::ecdsa_p256, context_options o = quick_options());

// stranger returns the fingerprint of a certificate that no test context presents.
fingerprint stranger(hash_algorithm a = hash_algorithm::sha256);

// ---- Records on the wire (RFC 6347 section 4.1) --------------------------------------------

// The wire format is src/detail/wire.hpp's, under the names the tests use.
namespace content_type = dtlspp::detail::wire::content;
namespace handshake_type = dtlspp::detail::wire::handshake;
using dtlspp::detail::wire::handshake_fragment_length_at;
using dtlspp::detail::wire::handshake_fragment_offset_at;
using dtlspp::detail::wire::handshake_header_size;
using dtlspp::detail::wire::handshake_length_at;
using dtlspp::detail::wire::record_epoch_at;
using dtlspp::detail::wire::record_header_size;
using dtlspp::detail::wire::record_length_at;
using dtlspp::detail::wire::record_sequence_at;

// record is one record found in a datagram; fragment borrows from the datagram.
struct record {
  std::uint8_t type = 0;
  std::uint16_t version = 0;
  std::uint16_t epoch = 0;
  std::uint64_t sequence = 0;
  std::size_t offset = 0;  // of the record header within the datagram
  std::span<const std::byte> fragment;

  // handshake_msg_type returns the message type of a plaintext handshake record (epoch 0).
  std::optional<std::uint8_t> handshake_msg_type() const;
};

// parse_records splits a datagram into records, stopping at the first that does not fit.
std::vector<record> parse_records(std::span<const std::byte> datagram);

// has_record tells whether datagram holds a record of content type t.
bool has_record(std::span<const std::byte> datagram, std::uint8_t t);

// has_handshake tells whether datagram holds a plaintext handshake record of message type m.
bool has_handshake(std::span<const std::byte> datagram, std::uint8_t m);

// describe renders a datagram's records on one line (wire::describe).
using dtlspp::detail::wire::describe;

// get_be and put_be read and write a big-endian integer of `width` bytes at `at`.
std::uint64_t get_be(std::span<const std::byte> data, std::size_t at, std::size_t width);
void put_be(bytes& data, std::size_t at, std::uint64_t value, std::size_t width);

// ---- Network model ------------------------------------------------------------------------

// side names one end of a pair; direction one way across the network.
enum class side { client, server };
enum class direction { client_to_server, server_to_client };

// all_sides lists both sides, for loops over them.
inline constexpr std::array all_sides{side::client, side::server};

side other(side s) noexcept;
direction from(side sender) noexcept;  // the direction in which sender's datagrams travel
side receiver(direction d) noexcept;   // the side that receives datagrams travelling in d
std::string_view name(side s) noexcept;
std::string_view name(direction d) noexcept;
using dtlspp::name;  // of key_type, state, role...

// datagram is one datagram a session put on the wire, as the network recorded it.
struct datagram {
  direction dir = direction::client_to_server;
  std::size_t index = 0;   // position among all datagrams sent in dir, from 0
  std::size_t flight = 0;  // position of the flight that carried it (one drain of poll())
  bytes data;
  bool dropped = false;  // lost, or dropped by a predicate: never delivered
};

// link is what one direction of the network does to each datagram, independently.
struct link {
  double loss = 0;         // probability that a datagram is lost
  double duplication = 0;  // probability that a datagram is delivered twice
  double reordering = 0;   // probability that a datagram is held back behind 1 to 3 later ones
};

// network_options configure a network. The predicates see every datagram (or flight) once, in
// the order it was sent, before loss is drawn; they may keep state (a mutable lambda).
struct network_options {
  std::uint64_t seed = 1;
  link to_server;  // client to server
  link to_client;  // server to client
  // reverse_flights delivers each flight's surviving datagrams last to first.
  bool reverse_flights = false;
  // drop drops the datagrams for which it returns true.
  std::function<bool(const datagram&)> drop;
  // drop_flight drops every datagram of the flights for which it returns true.
  std::function<bool(std::span<const datagram>)> drop_flight;
};

// drop_nth returns a drop predicate for the n-th datagram (from 0) sent in d.
std::function<bool(const datagram&)> drop_nth(direction d, std::size_t n);

// drop_first_flight_with returns a drop_flight predicate for the first flight sent in d that
// holds a record of content type t: change_cipher_spec from the server is its final flight.
std::function<bool(std::span<const datagram>)> drop_first_flight_with(direction d, std::uint8_t t);

// network carries datagrams between the two sides of a pair. Deterministic: the same seed and
// the same sequence of sent datagrams give the same deliveries.
class network {
 public:
  explicit network(network_options options = {});

  // send records a flight (the datagrams of one drain of poll(), in order) sent in d and puts
  // the datagrams that survive the model in flight.
  void send(direction d, std::vector<bytes> flight);

  // receive takes the next datagram due in d, or nothing when none is in flight. A datagram
  // held back for reordering comes out once enough later ones have, or when it is the last.
  std::optional<bytes> receive(direction d);

  // idle tells whether nothing is in flight (in d, or at all).
  bool idle(direction d) const noexcept;
  bool idle() const noexcept;

  // wire returns every datagram sent in d, in order, dropped ones included.
  const std::vector<datagram>& wire(direction d) const noexcept;

  // flights returns how many flights were sent in d.
  std::size_t flights(direction d) const noexcept;

  std::uint64_t delivered(direction d) const noexcept;
  std::uint64_t dropped(direction d) const noexcept;

  // options may be changed between steps (stop the loss once a test has seen enough).
  network_options& options() noexcept { return options_; }
  const network_options& options() const noexcept { return options_; }

 private:
  struct held {
    bytes data;
    int after;  // deliveries in this direction before it is released
  };
  struct lane {
    std::vector<datagram> wire;
    std::deque<bytes> in_flight;
    std::vector<held> held_back;
    std::size_t flights = 0;
    std::uint64_t delivered = 0;
    std::uint64_t dropped = 0;
  };
  std::uint64_t draw(direction d, std::size_t index, int k) const noexcept;
  double uniform(direction d, std::size_t index, int k) const noexcept;
  lane& at(direction d) noexcept { return lanes_[static_cast<std::size_t>(d)]; }
  const lane& at(direction d) const noexcept { return lanes_[static_cast<std::size_t>(d)]; }

  network_options options_;
  std::array<lane, 2> lanes_;
};

// ---- Two peers ----------------------------------------------------------------------------

// event_kind names an event in observed::order.
enum class event_kind { transmit, received, connected, closed };

// observed is everything one side's poll() handed out, copied (spans die with the next call),
// and what the pair moved in and out of that side.
struct observed {
  std::size_t connected = 0;                       // connected events
  std::vector<bytes> received;                     // each received event's data, in order
  std::vector<std::error_code> closed;             // each closed event's reason, in order
  std::vector<event_kind> order;                   // every event's kind, in order
  std::vector<std::error_code> errors;             // non-empty codes returned by handle_* calls
  std::uint64_t datagrams_in = 0, bytes_in = 0;    // handed to handle_datagram (injected too)
  std::uint64_t datagrams_out = 0, bytes_out = 0;  // transmits polled
  std::uint64_t injected = 0;                      // datagrams fed with pair::inject
  std::uint64_t timeouts = 0;                      // handle_timeout calls
  std::size_t largest_transmit = 0;

  // texts returns the received payloads as strings.
  std::vector<std::string> texts() const;
};

// pair is a client and a server session joined by a network. The sessions are public through
// client(), server() and at(): call their const members freely; an input made directly on a
// session must be followed by drain(side), which the pair's own input members do.
class pair {
 public:
  // pair builds both sessions, each expecting the other context's sha-256 fingerprint.
  pair(context client_ctx, context server_ctx, network_options net = {});
  // pair builds both sessions with the given verifiers.
  pair(context client_ctx, verifier client_verifier, context server_ctx, verifier server_verifier,
       network_options net = {});

  pair(pair&&) = default;
  pair& operator=(pair&&) = default;

  dtlspp::session& at(side s) noexcept { return s == side::client ? client_ : server_; }
  const dtlspp::session& at(side s) const noexcept { return s == side::client ? client_ : server_; }
  dtlspp::session& client() noexcept { return client_; }
  dtlspp::session& server() noexcept { return server_; }
  const observed& events(side s) const noexcept { return logs_[index(s)]; }
  const dtlspp::context& ctx(side s) const noexcept {
    return s == side::client ? client_context_ : server_context_;
  }
  network& net() noexcept { return net_; }
  const network& net() const noexcept { return net_; }
  steady::time_point created() const noexcept { return created_; }

  // Inputs, each followed by a drain of that side's poll(); transmits go onto the network.
  std::error_code send(side from, std::span<const std::byte> data);
  std::error_code send(side from, std::string_view text);
  std::error_code handle_timeout(side s);
  void close(side s);
  void verify_peer(side s, verdict v);
  // inject feeds datagram to `to` as if it came off the wire, past the network model.
  std::error_code inject(side to, std::span<const std::byte> datagram);

  // drain polls s until it is empty, recording its events and sending its transmits.
  void drain(side s);

  // step does one thing without waiting: deliver one datagram (alternating directions), or,
  // when nothing is in flight, call handle_timeout on each side whose timer is due. Returns
  // whether anything happened (a datagram moved, or a timer produced output).
  bool step();

  // wait moves time (advance_to) to the earliest next_timeout() or limit, whichever comes
  // first. Returns false, without waiting, when no timer runs.
  bool wait(steady::time_point limit) const;

  // pump_until steps, and waits when there is nothing to do, until done() holds (true), max_wall
  // of test time passes, or nothing is in flight and no timer runs (false unless done()).
  bool pump_until(const std::function<bool()>& done,
                  std::chrono::milliseconds max_wall = std::chrono::seconds{10});

  // handshake pumps until both sides are connected or one has failed or closed; then it
  // delivers what is in flight (an alert reaches the peer). Returns whether both connected.
  bool handshake(std::chrono::milliseconds max_wall = std::chrono::seconds{10});

  // deliver_all delivers datagrams, and what they cause, until nothing is in flight. No timers.
  void deliver_all();

  // transfer sends text from one side and delivers it: true when the peer's newest received
  // payload is then exactly text (and only one more arrived).
  bool transfer(side from, std::string_view text);

  // next_timeout returns the earlier of the two sides' next_timeout().
  std::optional<steady::time_point> next_timeout() const;

  bool connected() const noexcept;       // both sides in state connected
  bool terminal(side s) const noexcept;  // s failed or closed

  // trace lists every datagram on the wire, for an INFO when a test fails.
  std::string trace() const;

 private:
  static std::size_t index(side s) noexcept { return s == side::client ? 0 : 1; }
  bool deliver_one();
  bool fire_due_timers();
  std::error_code feed(side to, std::span<const std::byte> datagram);

  dtlspp::context client_context_;
  dtlspp::context server_context_;
  network net_;
  steady::time_point created_;
  dtlspp::session client_;
  dtlspp::session server_;
  std::array<observed, 2> logs_;
  direction next_direction_ = direction::client_to_server;
};

// pump_all steps many pairs round-robin on this thread, waiting only when none has anything to
// do, until done(p) holds for every pair (true), max_wall runs out or all left are stalled.
bool pump_all(std::span<pair> pairs, const std::function<bool(const pair&)>& done,
              std::chrono::milliseconds max_wall);

}  // namespace dtlspp::test
