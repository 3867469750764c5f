// demo: dtlspp over real UDP on loopback, in one process and one poll loop.
//
// Alice runs a listener (one UDP socket, stateless cookies, a session per peer). Bob makes a
// fresh identity, and he and Alice pin each other's fingerprint, as two WebRTC peers do after
// swapping SDP. They handshake over 127.0.0.1, exchange messages both ways and agree on DTLS-SRTP
// keys. Mallory, who has the wrong certificate, is refused. Ten clients then connect at once.
// A summary of the handshake ends the run. `./run demo` runs this.
#include <dtlspp/dtlspp.hpp>
#include <dtlspp/io/loop.hpp>
#include <dtlspp/io/udp.hpp>

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

// client is one client session over its own UDP socket, aimed at Alice.
struct client {
  std::string name;
  dtlspp::session session;
  dtlspp::io::udp_socket socket;
  dtlspp::io::endpoint alice;
  outcome seen;
  bool quiet = false;

  void flush() {
    dtlspp::io::pump(session, socket, alice, [&](const dtlspp::event& e) {
      if (const auto* r = std::get_if<dtlspp::received>(&e)) {
        seen.received.emplace_back(reinterpret_cast<const char*>(r->data.data()), r->data.size());
        fmt::print("  {} received: {}\n", name, seen.received.back());
      } else if (std::holds_alternative<dtlspp::connected>(e)) {
        seen.connected = true;
        if (!quiet) fmt::print("  {} connected: {}\n", name, session.cipher_name());
      } else if (const auto* c = std::get_if<dtlspp::closed>(&e)) {
        seen.closed = c->reason;
        seen.error = session.error_message();
        if (c->reason) fmt::print("  {} failed: {}\n", name, seen.error);
      }
    });
  }

  void send(std::string_view text) {
    if (auto ec = session.send(std::as_bytes(std::span(text)))) {
      fmt::print("  {} cannot send: {}\n", name, ec.message());
    }
    flush();
  }
};

// network is the demo's poll loop: Alice's listener on one socket, and the clients.
class network {
 public:
  explicit network(const dtlspp::context& alice_ctx, dtlspp::verifier alice_verifier)
      : socket_(
            dtlspp::io::udp_socket::bind(dtlspp::io::endpoint::resolve("127.0.0.1", "0").front())),
        alice_(alice_ctx, std::move(alice_verifier)) {}

  dtlspp::io::endpoint address() const { return socket_.local_endpoint(); }
  dtlspp::listener& alice() { return alice_; }

  client& add_client(std::string name, const dtlspp::context& ctx, dtlspp::verifier v,
                     bool quiet = false) {
    const auto to = address();
    clients_.push_back(
        std::unique_ptr<client>(new client{std::move(name),
                                           dtlspp::session(ctx, dtlspp::role::client, std::move(v)),
                                           dtlspp::io::udp_socket::for_peer(to),
                                           to,
                                           {},
                                           quiet}));
    clients_.back()->flush();  // the ClientHello
    return *clients_.back();
  }

  // at_alice returns what Alice saw of client c (clients' sockets are bound to the wildcard
  // address, so they are matched by port: all are on loopback).
  outcome& at_alice(const client& c) { return alice_seen_[c.socket.local_endpoint().port()]; }

  // alice_send sends text from Alice to client c.
  void alice_send(const client& c, std::string_view text) {
    const auto peer = peer_of(c);
    if (auto ec = alice_.send(peer.bytes(), std::as_bytes(std::span(text)))) {
      fmt::print("  alice cannot send: {}\n", ec.message());
    }
    flush_alice();
  }

  // alice_session returns Alice's session with c, or null.
  const dtlspp::session* alice_session(const client& c) { return alice_.find(peer_of(c).bytes()); }

  // run moves datagrams and fires timers until done() or the time limit.
  template <class F>
  bool run_until(F done, std::chrono::milliseconds limit = 10s) {
    const auto end = steady::now() + limit;
    while (!done() && steady::now() < end) {
      std::vector<int> fds{socket_.fd()};
      dtlspp::io::deadline next = dtlspp::io::earliest(end, alice_.next_timeout());
      for (const auto& c : clients_) {
        fds.push_back(c->socket.fd());
        next = dtlspp::io::earliest(next, c->session.next_timeout());
      }
      const auto ready = dtlspp::io::wait_readable(fds, next);
      for (const int fd : ready)
        on_readable(fd);
      fire_timers();
    }
    return done();
  }

 private:
  dtlspp::io::endpoint peer_of(const client& c) const {
    const std::string port = std::to_string(c.socket.local_endpoint().port());
    return dtlspp::io::endpoint::resolve("127.0.0.1", port).front();
  }

  void fire_timers() {
    const auto now = steady::now();
    if (const auto t = alice_.next_timeout(); t && *t <= now) {
      alice_.handle_timeout();
      flush_alice();
    }
    for (auto& c : clients_) {
      if (const auto t = c->session.next_timeout(); t && *t <= now) {
        static_cast<void>(c->session.handle_timeout());
        c->flush();
      }
    }
  }

  void flush_alice() {
    while (auto e = alice_.poll()) {
      const auto peer = dtlspp::io::endpoint::from_sockaddr(e->peer.data(), e->peer.size());
      auto& seen = alice_seen_[peer.port()];
      if (const auto* t = std::get_if<dtlspp::transmit>(&e->event)) {
        socket_.send_to(t->datagram, peer);
      } else if (const auto* r = std::get_if<dtlspp::received>(&e->event)) {
        seen.received.emplace_back(reinterpret_cast<const char*>(r->data.data()), r->data.size());
        fmt::print("  alice received from {}: {}\n", peer.to_string(), seen.received.back());
      } else if (std::holds_alternative<dtlspp::connected>(e->event)) {
        seen.connected = true;
      } else if (const auto* c = std::get_if<dtlspp::closed>(&e->event)) {
        seen.closed = c->reason;
        const auto* s = alice_.find(e->peer);
        seen.error = s != nullptr ? std::string(s->error_message()) : c->reason.message();
        if (c->reason) fmt::print("  alice refused {}: {}\n", peer.to_string(), seen.error);
      }
    }
  }

  void on_readable(int fd) {
    std::array<std::byte, 65536> buffer;
    if (fd == socket_.fd()) {
      while (auto d = socket_.receive(buffer)) {
        static_cast<void>(
            alice_.handle_datagram(d->from.bytes(), std::span(buffer.data(), d->size)));
        flush_alice();
      }
      return;
    }
    for (auto& c : clients_) {
      if (c->socket.fd() != fd) continue;
      while (auto d = c->socket.receive(buffer)) {
        static_cast<void>(c->session.handle_datagram(std::span(buffer.data(), d->size)));
        c->flush();
      }
    }
  }

  dtlspp::io::udp_socket socket_;
  dtlspp::listener alice_;
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
  const auto bob_handshake = bob.session.stats();
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
  const auto b_keys = bob.session.srtp_keying_material();
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
  bob.session.close();
  bob.flush();
  net.run_until([&] { return net.at_alice(bob).closed.has_value(); });
  fmt::print("  alice saw bob close: {}\n",
             net.at_alice(bob).closed == std::error_code{} ? "cleanly" : "NOT cleanly");

  fmt::print("\nSummary\n");
  fmt::print("  handshake time:     {:.1f} ms over loopback, with the cookie exchange\n",
             std::chrono::duration<double, std::milli>(handshake_time).count());
  fmt::print("  cipher:             {}\n", bob.session.cipher_name());
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
