// demo: dtlspp over real UDP on loopback, in one process and one io::loop (dtlspp_io).
//
// Alice runs an io::server (a listener on one UDP socket: stateless cookies, a session per
// peer); every client is an io::client on its own connected socket. Bob makes a
// fresh identity, and he and Alice pin each other's fingerprint, as two WebRTC peers do after
// swapping SDP. They handshake over 127.0.0.1, exchange messages both ways and agree on DTLS-SRTP
// keys. Mallory, who has the wrong certificate, is refused. Ten clients then connect at once.
// A summary of the handshake ends the run. `./run demo` runs this.
#include <dtlspp/dtlspp.hpp>
#include <dtlspp/io/client.hpp>
#include <dtlspp/io/loop.hpp>
#include <dtlspp/io/server.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace {

using namespace std::chrono_literals;
using steady = std::chrono::steady_clock;

std::string hex(std::span<const std::byte> bytes) {
  std::string out;
  for (const auto b : bytes)
    out += fmt::format("{:02X}", std::to_integer<unsigned>(b));
  return out;
}

// outcome is what one end of an association saw.
struct outcome {
  std::vector<std::string> received;
  bool connected = false;
  std::optional<std::error_code> closed;
  std::string error;
};

std::string text(std::span<const std::byte> bytes) {
  return {reinterpret_cast<const char*>(bytes.data()), bytes.size()};
}

// client is one io::client (its own connected UDP socket) aimed at Alice, and what it saw.
struct client {
  std::string name;
  dtlspp::io::client io;
  outcome seen;

  client(std::string n, const dtlspp::context& ctx, const dtlspp::io::endpoint& alice,
         dtlspp::verifier v, bool quiet)
      : name(std::move(n)), io(ctx, alice, std::move(v)) {
    io.on_event([this, quiet](const dtlspp::event& e) {
      if (const auto* r = std::get_if<dtlspp::received>(&e)) {
        seen.received.push_back(text(r->data));
        fmt::print("  {} received: {}\n", name, seen.received.back());
      } else if (std::holds_alternative<dtlspp::connected>(e)) {
        seen.connected = true;
        if (!quiet) fmt::print("  {} connected: {}\n", name, io.session().cipher_name());
      } else if (const auto* c = std::get_if<dtlspp::closed>(&e)) {
        seen.closed = c->reason;
        seen.error = io.session().error_message();
        if (c->reason) fmt::print("  {} failed: {}\n", name, seen.error);
      }
    });
  }

  void send(std::string_view line) {
    if (auto ec = io.send(line)) fmt::print("  {} cannot send: {}\n", name, ec.message());
  }
};

// network is Alice's io::server (a listener on one UDP socket) and the clients, in one io::loop.
class network {
 public:
  network(const dtlspp::context& alice_ctx, dtlspp::verifier alice_verifier)
      : alice_(alice_ctx, "127.0.0.1", "0", std::move(alice_verifier)) {
    alice_.on_event([this](const dtlspp::io::endpoint& peer, const dtlspp::event& e) {
      auto& seen = alice_seen_[peer.port()];
      if (const auto* r = std::get_if<dtlspp::received>(&e)) {
        seen.received.push_back(text(r->data));
        fmt::print("  alice received from {}: {}\n", peer.to_string(), seen.received.back());
      } else if (std::holds_alternative<dtlspp::connected>(e)) {
        seen.connected = true;
      } else if (const auto* c = std::get_if<dtlspp::closed>(&e)) {
        seen.closed = c->reason;
        const auto* s = alice_.find(peer);
        seen.error = s != nullptr ? std::string(s->error_message()) : c->reason.message();
        if (c->reason) fmt::print("  alice refused {}: {}\n", peer.to_string(), seen.error);
      }
    });
    loop_.add(alice_);
  }
  network(const network&) = delete;
  network& operator=(const network&) = delete;
  ~network() {
    for (auto& c : clients_)
      loop_.remove(c->io);
    loop_.remove(alice_);
  }

  const dtlspp::io::endpoint& address() const { return alice_.local_endpoint(); }
  const dtlspp::listener& alice() const { return alice_.listener(); }

  client& add_client(std::string name, const dtlspp::context& ctx, dtlspp::verifier v,
                     bool quiet = false) {
    clients_.push_back(
        std::make_unique<client>(std::move(name), ctx, address(), std::move(v), quiet));
    loop_.add(clients_.back()->io);  // its ClientHello goes out at the next run
    return *clients_.back();
  }

  // at_alice returns what Alice saw of client c (all are on 127.0.0.1: keyed by port).
  outcome& at_alice(const client& c) { return alice_seen_[c.io.socket().local_endpoint().port()]; }

  // alice_send sends text from Alice to client c.
  void alice_send(const client& c, std::string_view line) {
    if (auto ec = alice_.send(c.io.socket().local_endpoint(), line)) {
      fmt::print("  alice cannot send: {}\n", ec.message());
    }
  }

  // alice_session returns Alice's session with c, or null.
  const dtlspp::session* alice_session(const client& c) {
    return alice_.find(c.io.socket().local_endpoint());
  }

  // run_until drives everything until done() or the time limit.
  template <class F>
  bool run_until(F done, std::chrono::milliseconds limit = 10s) {
    return loop_.run_until(done, steady::now() + limit);
  }

 private:
  dtlspp::io::loop loop_;
  dtlspp::io::server alice_;
  std::vector<std::unique_ptr<client>> clients_;
  std::map<std::uint16_t, outcome> alice_seen_;  // by client port
};

dtlspp::context make_context(const dtlspp::identity* id = nullptr) {
  dtlspp::context_options o;
  if (id != nullptr) o.identity = *id;
  o.srtp_profiles = {dtlspp::srtp_profile::aead_aes_128_gcm,
                     dtlspp::srtp_profile::aes128_cm_sha1_80};
  return dtlspp::context(o);  // without an identity: a fresh ECDSA P-256 one
}

}  // namespace

int main() try {
  fmt::print("1. Each peer makes its own identity; the fingerprints travel out of band.\n");
  const auto alice_ctx = make_context();
  const auto bob_ctx = make_context();
  const auto mallory_ctx = make_context();
  const auto alice_fp = alice_ctx.identity().fingerprint();
  const auto bob_fp = bob_ctx.identity().fingerprint();
  fmt::print("  alice: {}\n  bob:   {}\n  (mallory: {})\n", alice_fp.to_string(),
             bob_fp.to_string(), mallory_ctx.identity().fingerprint().to_string());

  network net(alice_ctx, dtlspp::expect({bob_fp}));
  fmt::print("\n2. Bob connects to Alice's listener on {} (UDP), each pinning the other.\n",
             net.address().to_string());
  const auto started = steady::now();
  auto& bob = net.add_client("bob", bob_ctx, dtlspp::expect({alice_fp}));
  if (!net.run_until([&] { return bob.seen.connected && net.at_alice(bob).connected; })) {
    fmt::print("handshake failed\n");
    return 1;
  }
  const auto handshake_time = steady::now() - started;
  const auto bob_handshake = bob.io.session().stats();
  const auto alice_handshake = net.alice_session(bob)->stats();
  fmt::print("  alice sees bob as {}\n",
             net.alice_session(bob)->peer_certificate()->fingerprint().to_string());

  fmt::print("\n3. Messages both ways (each one record in one datagram).\n");
  bob.send("hello Alice, this is Bob");
  net.alice_send(bob, "hello Bob, Alice here");
  bob.send("DTLS keeps datagrams: no stream, no ordering, no duplicates");
  net.run_until(
      [&] { return net.at_alice(bob).received.size() == 2 && bob.seen.received.size() == 1; });

  fmt::print("\n4. DTLS-SRTP: both ends derive the same keys (RFC 5764).\n");
  const auto a_keys = net.alice_session(bob)->srtp_keying_material();
  const auto b_keys = bob.io.session().srtp_keying_material();
  const bool same_keys = a_keys && b_keys && std::ranges::equal(a_keys->raw(), b_keys->raw()) &&
                         std::ranges::equal(a_keys->local_key(), b_keys->remote_key());
  if (a_keys && b_keys) {
    fmt::print("  alice {}: local key {} salt {}\n", dtlspp::name(a_keys->profile()),
               hex(a_keys->local_key()), hex(a_keys->local_salt()));
    fmt::print("  bob   {}: local key {} salt {}\n", dtlspp::name(b_keys->profile()),
               hex(b_keys->local_key()), hex(b_keys->local_salt()));
  }
  fmt::print("  keys match: {}\n", same_keys ? "yes" : "NO");

  fmt::print("\n5. Mallory, with the wrong certificate, connects as Bob.\n");
  auto& mallory = net.add_client("mallory", mallory_ctx, dtlspp::expect({alice_fp}));
  net.run_until([&] { return mallory.seen.closed && net.at_alice(mallory).closed; });
  const auto& alice_m = net.at_alice(mallory);
  const bool refused = mallory.seen.closed && *mallory.seen.closed && alice_m.closed &&
                       *alice_m.closed == dtlspp::errc::fingerprint_mismatch &&
                       alice_m.received.empty() && !alice_m.connected;

  fmt::print("\n6. Ten clients (Bob's identity) connect at once and each says hello.\n");
  std::vector<client*> crowd;
  for (int i = 0; i < 10; ++i) {
    crowd.push_back(&net.add_client(fmt::format("client {}", i), make_context(&bob_ctx.identity()),
                                    dtlspp::expect({alice_fp}), true));
  }
  net.run_until([&] {
    return std::ranges::all_of(
        crowd, [&](client* c) { return c->seen.connected && net.at_alice(*c).connected; });
  });
  for (auto* c : crowd)
    c->send(c->name + " says hello");
  net.run_until([&] {
    return std::ranges::all_of(crowd,
                               [&](client* c) { return net.at_alice(*c).received.size() == 1; });
  });
  const auto crowd_ok = std::ranges::all_of(
      crowd, [&](client* c) { return c->seen.connected && net.at_alice(*c).received.size() == 1; });
  const auto listener_stats = net.alice().stats();
  fmt::print(
      "  all ten connected and heard: {}; alice holds {} sessions, sent {} "
      "HelloVerifyRequests\n",
      crowd_ok ? "yes" : "NO", listener_stats.sessions, listener_stats.hello_verify_requests);

  fmt::print("\n7. Bob closes (close_notify).\n");
  bob.io.close();
  net.run_until([&] { return net.at_alice(bob).closed.has_value(); });
  fmt::print("  alice saw bob close: {}\n",
             net.at_alice(bob).closed == std::error_code{} ? "cleanly" : "NOT cleanly");

  fmt::print("\nSummary\n");
  fmt::print("  handshake time:     {:.1f} ms over loopback, with the cookie exchange\n",
             std::chrono::duration<double, std::milli>(handshake_time).count());
  fmt::print("  cipher:             {}\n", bob.io.session().cipher_name());
  fmt::print("  SRTP profile:       {}\n",
             a_keys ? std::string(dtlspp::name(a_keys->profile())) : "none");
  fmt::print("  handshake traffic:  bob sent {} datagrams ({} B); alice's session sent {} ({} B)\n",
             bob_handshake.datagrams_out, bob_handshake.bytes_out, alice_handshake.datagrams_out,
             alice_handshake.bytes_out);
  fmt::print("                      after her listener's stateless HelloVerifyRequest\n");
  fmt::print("  alice fingerprint:  {}\n  bob fingerprint:    {}\n", alice_fp.to_string(),
             bob_fp.to_string());
  fmt::print("  mallory refused:    {}\n", refused ? "yes" : "NO");
  const bool ok = same_keys && refused && crowd_ok && net.at_alice(bob).received.size() == 2 &&
                  bob.seen.received.size() == 1 && net.at_alice(bob).closed == std::error_code{};
  fmt::print("\ndemo {}\n", ok ? "succeeded" : "FAILED");
  return ok ? 0 : 1;
} catch (const std::exception& e) {
  fmt::print(stderr, "demo: {}\n", e.what());
  return 1;
}
