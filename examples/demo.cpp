// demo: dtlspp over real UDP on loopback, in one process and one poll loop.
//
// Alice (server) and Bob (client) make fresh identities and pin each other's fingerprint, as two
// WebRTC peers do after swapping SDP. They handshake over 127.0.0.1, exchange messages both ways
// and agree on DTLS-SRTP keys. Then Mallory, who has the wrong certificate, tries to connect as
// Bob and is refused. A summary of the handshake ends the run. `./run demo` runs this.
#include <dtlspp/dtlspp.hpp>
#include <dtlspp/io/loop.hpp>
#include <dtlspp/io/udp.hpp>

#include <fmt/format.h>

#include <array>
#include <chrono>
#include <map>
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

// peer is one named end: a session over its own UDP socket, talking to one address.
struct peer {
  std::string name;
  dtlspp::session session;
  dtlspp::io::udp_socket* socket;
  dtlspp::io::endpoint remote;
  std::vector<std::string> received;
  bool connected = false;
  std::optional<std::error_code> closed;

  // flush sends the session's datagrams and records its events.
  void flush() {
    dtlspp::io::pump(session, *socket, remote, [&](const dtlspp::event& e) {
      if (const auto* r = std::get_if<dtlspp::received>(&e)) {
        received.emplace_back(reinterpret_cast<const char*>(r->data.data()), r->data.size());
        fmt::print("  {} received: {}\n", name, received.back());
      } else if (std::holds_alternative<dtlspp::connected>(e)) {
        connected = true;
        fmt::print("  {} connected: {}, peer {}\n", name, session.cipher_name(),
                   session.peer_certificate()->fingerprint().to_string());
      } else if (const auto* c = std::get_if<dtlspp::closed>(&e)) {
        closed = c->reason;
        if (c->reason) {
          fmt::print("  {} failed: {}\n", name, session.error_message());
        } else {
          fmt::print("  {} closed cleanly\n", name);
        }
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

// network is the demo's poll loop: Alice's listening socket, one socket per client, and the
// server sessions Alice opens for each new client address (no cookies: see the listener issue).
class network {
 public:
  network(const dtlspp::context& alice_ctx, dtlspp::verifier alice_verifier)
      : alice_ctx_(alice_ctx),
        alice_verifier_(std::move(alice_verifier)),
        alice_socket_(
            dtlspp::io::udp_socket::bind(dtlspp::io::endpoint::resolve("127.0.0.1", "0").front())) {
  }

  dtlspp::io::endpoint alice_address() const { return alice_socket_.local_endpoint(); }

  // client makes a client peer with its own socket, aimed at Alice.
  peer& client(std::string name, const dtlspp::context& ctx, dtlspp::verifier v) {
    sockets_.push_back(std::make_unique<dtlspp::io::udp_socket>(
        dtlspp::io::udp_socket::for_peer(alice_address())));
    clients_.push_back(
        std::make_unique<peer>(peer{std::move(name), dtlspp::session(ctx, dtlspp::role::client, v),
                                    sockets_.back().get(), alice_address()}));
    clients_.back()->flush();  // the ClientHello
    return *clients_.back();
  }

  // alice returns the server peer talking to client c (after c's first datagram arrived).
  peer* alice_for(const peer& c) {
    // Clients' sockets are bound to the wildcard address: match them by port (all on loopback).
    const auto it = alice_.find(c.socket->local_endpoint().port());
    return it == alice_.end() ? nullptr : it->second.get();
  }

  // run moves datagrams and fires timers until done() or the deadline.
  template <class F>
  bool run_until(F done, std::chrono::milliseconds limit = 10s) {
    const auto end = steady::now() + limit;
    while (!done() && steady::now() < end) {
      std::vector<int> fds{alice_socket_.fd()};
      for (const auto& s : sockets_)
        fds.push_back(s->fd());
      dtlspp::io::deadline next = end;
      for (auto* p : everyone())
        next = dtlspp::io::earliest(next, p->session.next_timeout());
      const auto ready = dtlspp::io::wait_readable(fds, next);
      for (const int fd : ready)
        on_readable(fd);
      for (auto* p : everyone()) {
        const auto t = p->session.next_timeout();
        if (t && *t <= steady::now()) {
          static_cast<void>(p->session.handle_timeout());
          p->flush();
        }
      }
    }
    return done();
  }

 private:
  std::vector<peer*> everyone() {
    std::vector<peer*> all;
    for (auto& c : clients_)
      all.push_back(c.get());
    for (auto& [_, a] : alice_)
      all.push_back(a.get());
    return all;
  }

  void on_readable(int fd) {
    std::array<std::byte, 65536> buffer;
    if (fd == alice_socket_.fd()) {
      while (auto d = alice_socket_.receive(buffer)) {
        auto& session = alice_[d->from.port()];
        if (!session) {
          session = std::make_unique<peer>(
              peer{"alice", dtlspp::session(alice_ctx_, dtlspp::role::server, alice_verifier_),
                   &alice_socket_, d->from});
        }
        static_cast<void>(session->session.handle_datagram(std::span(buffer.data(), d->size)));
        session->flush();
      }
      return;
    }
    for (auto& c : clients_) {
      if (c->socket->fd() != fd) continue;
      while (auto d = c->socket->receive(buffer)) {
        static_cast<void>(c->session.handle_datagram(std::span(buffer.data(), d->size)));
        c->flush();
      }
    }
  }

  const dtlspp::context& alice_ctx_;
  dtlspp::verifier alice_verifier_;
  dtlspp::io::udp_socket alice_socket_;
  std::vector<std::unique_ptr<dtlspp::io::udp_socket>> sockets_;
  std::vector<std::unique_ptr<peer>> clients_;
  std::map<std::uint16_t, std::unique_ptr<peer>> alice_;  // by client port
};

dtlspp::context make_context() {
  dtlspp::context_options o;
  o.srtp_profiles = {dtlspp::srtp_profile::aead_aes_128_gcm,
                     dtlspp::srtp_profile::aes128_cm_sha1_80};
  return dtlspp::context(o);  // a fresh ECDSA P-256 identity
}

bool show_srtp(const peer& p) {
  const auto keys = p.session.srtp_keying_material();
  if (!keys) {
    fmt::print("  {}: no SRTP\n", p.name);
    return false;
  }
  fmt::print("  {} SRTP {}: local key {} salt {}\n", p.name, dtlspp::name(keys->profile()),
             hex(keys->local_key()), hex(keys->local_salt()));
  return true;
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
  fmt::print("\n2. Bob connects to Alice on {} (UDP), each pinning the other.\n",
             net.alice_address().to_string());
  const auto started = steady::now();
  auto& bob = net.client("bob", bob_ctx, dtlspp::expect({alice_fp}));
  if (!net.run_until([&] {
        const auto* a = net.alice_for(bob);
        return bob.connected && a != nullptr && a->connected;
      })) {
    fmt::print("handshake failed\n");
    return 1;
  }
  const auto handshake_time = steady::now() - started;
  auto& alice = *net.alice_for(bob);
  const auto bob_handshake = bob.session.stats();
  const auto alice_handshake = alice.session.stats();

  fmt::print("\n3. Messages both ways (each one record in one datagram).\n");
  bob.send("hello Alice, this is Bob");
  alice.send("hello Bob, Alice here");
  bob.send("DTLS keeps datagrams: no stream, no ordering, no duplicates");
  net.run_until([&] { return alice.received.size() == 2 && bob.received.size() == 1; });

  fmt::print("\n4. DTLS-SRTP: both ends derive the same keys (RFC 5764).\n");
  const bool srtp = show_srtp(alice) && show_srtp(bob);
  const auto a_keys = alice.session.srtp_keying_material();
  const auto b_keys = bob.session.srtp_keying_material();
  const bool same_keys = srtp && std::ranges::equal(a_keys->raw(), b_keys->raw()) &&
                         std::ranges::equal(a_keys->local_key(), b_keys->remote_key());
  fmt::print("  keys match: {}\n", same_keys ? "yes" : "NO");

  fmt::print("\n5. Mallory, with the wrong certificate, connects as Bob.\n");
  auto& mallory = net.client("mallory", mallory_ctx, dtlspp::expect({alice_fp}));
  net.run_until([&] {
    const auto* a = net.alice_for(mallory);
    return mallory.closed && a != nullptr && a->closed;
  });
  const auto* alice_m = net.alice_for(mallory);
  const bool refused = mallory.closed && *mallory.closed && alice_m != nullptr && alice_m->closed &&
                       *alice_m->closed == dtlspp::errc::fingerprint_mismatch &&
                       alice_m->received.empty();

  fmt::print("\n6. Bob closes (close_notify).\n");
  bob.session.close();
  bob.flush();
  net.run_until([&] { return alice.closed.has_value(); });

  fmt::print("\nSummary\n");
  fmt::print("  handshake time:     {:.1f} ms over loopback\n",
             std::chrono::duration<double, std::milli>(handshake_time).count());
  fmt::print("  cipher:             {}\n", bob.session.cipher_name());
  fmt::print("  SRTP profile:       {}\n",
             a_keys ? std::string(dtlspp::name(a_keys->profile())) : "none");
  fmt::print("  handshake traffic:  bob sent {} datagrams ({} B), alice sent {} ({} B)\n",
             bob_handshake.datagrams_out, bob_handshake.bytes_out, alice_handshake.datagrams_out,
             alice_handshake.bytes_out);
  fmt::print("  alice fingerprint:  {}\n  bob fingerprint:    {}\n", alice_fp.to_string(),
             bob_fp.to_string());
  fmt::print("  mallory refused:    {}\n", refused ? "yes" : "NO");
  const bool ok = same_keys && refused && alice.received.size() == 2 && bob.received.size() == 1;
  fmt::print("\ndemo {}\n", ok ? "succeeded" : "FAILED");
  return ok ? 0 : 1;
} catch (const std::exception& e) {
  fmt::print(stderr, "demo: {}\n", e.what());
  return 1;
}
