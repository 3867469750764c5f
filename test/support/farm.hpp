// test/support/farm.hpp: one listener and many client sessions on an in-memory network.
//
// Every client has an address (address(n)); what a client sends goes to the listener from that
// address, what the listener sends to an address goes to its client (or is counted and dropped
// when nobody is there). The network can lose datagrams, each way, drawn from a seeded
// generator. Time is the test's (virtual_time.hpp): pump() moves it to the earliest timer and
// runs what is due, reading the clock first as an application's loop does.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "dtlspp/listener.hpp"
#include "harness.hpp"

namespace dtlspp::test {

// address returns the opaque peer address of client n: 16 bytes, n big-endian in the first 4.
bytes address(std::uint32_t n);

// first_client_hello returns the first datagram of a fresh client of ctx: a ClientHello
// without a cookie.
bytes first_client_hello(const context& ctx);

class farm {
 public:
  // farm builds a listener with options o over a server context with policy co; the listener
  // verifies clients with v (default: expect the client context's fingerprint), the clients
  // expect the server's.
  explicit farm(listener_options o = {}, context_options co = quick_options(),
                std::optional<verifier> v = std::nullopt);

  struct client {
    std::unique_ptr<session> s;
    std::vector<std::string> received;
    bool connected = false;
    std::vector<bytes> outbox;  // sent, not yet delivered
    std::vector<bytes> sent;    // every datagram it ever sent, for replays
  };

  // add_client makes (or remakes: a restart) the client at address n and queues its first
  // flight.
  client& add_client(std::uint32_t n);

  // pump delivers everything in flight, then moves time to the earliest timer and runs what
  // is due (fire_timers), until nothing is left to do or `limit` of test time has passed.
  void pump(std::chrono::milliseconds limit = std::chrono::seconds{3});
  // deliver_all delivers what is in flight, and what that causes, without moving time.
  void deliver_all();
  // fire_timers calls handle_timeout on the listener and every client whose time has come.
  void fire_timers();
  // to_listener hands d to the listener as if it came from address n, then drains it.
  std::error_code to_listener(std::uint32_t n, std::span<const std::byte> d);

  void drain_listener();
  void drain_client(client& c);

  // set_loss makes each datagram, either way, lost with probability p.
  void set_loss(double p, std::uint64_t seed = 1);

  listener& l() { return listener_; }
  client& at(std::uint32_t n) { return clients_.at(address(n)); }
  std::size_t datagrams_out() const { return datagrams_out_; }
  std::size_t largest_reply() const { return largest_reply_; }
  int server_connected(std::uint32_t n) { return server_connected_[address(n)]; }
  std::vector<std::string>& server_received(std::uint32_t n) {
    return server_received_[address(n)];
  }
  std::vector<std::error_code>& server_closed(std::uint32_t n) {
    return server_closed_[address(n)];
  }
  const context& client_ctx() const { return client_ctx_; }
  const context& server_ctx() const { return server_ctx_; }

 private:
  bool lost();

  context server_ctx_, client_ctx_;
  listener listener_;
  std::map<bytes, client> clients_;
  std::map<bytes, int> server_connected_;
  std::map<bytes, std::vector<std::string>> server_received_;
  std::map<bytes, std::vector<std::error_code>> server_closed_;
  std::size_t datagrams_out_ = 0, largest_reply_ = 0;
  double loss_ = 0;
  std::mt19937_64 rng_{1};
};

}  // namespace dtlspp::test
