// bench/endpoints.hpp: dtlspp and raw OpenSSL behind one shape, and the handshake pump.
//
// Both endpoint kinds take datagrams with handle_datagram(), write theirs onto a wire, and say
// connected / failed; the harness around them (wires, pump, loops) is shared code, so the
// difference measured is the libraries'.
#pragma once

#include <dtlspp/dtlspp.hpp>

#include <cstdint>
#include <optional>
#include <span>
#include <variant>

#include "raw_dtls.hpp"
#include "wire.hpp"

namespace bench {

// dtlspp_end drives a dtlspp::session with the documented loop: after every input, drain
// poll() until it is empty; a transmit goes onto the wire (the copy that stands for sendto()).
class dtlspp_end {
 public:
  dtlspp_end(const dtlspp::context& ctx, dtlspp::role r, const dtlspp::fingerprint& peer, wire& out)
      : session(ctx, r, dtlspp::expect({peer})), output(&out) {
    drain();  // a client's first flight is queued at construction
  }

  void handle_datagram(std::span<const std::byte> datagram) {
    static_cast<void>(session.handle_datagram(datagram));
    drain();
  }

  bool send(std::span<const std::byte> data) {
    const bool ok = !session.send(data);
    drain();
    return ok;
  }

  void drain() {
    while (auto e = session.poll()) {
      if (const auto* t = std::get_if<dtlspp::transmit>(&*e)) {
        output->push(t->datagram);
      } else if (const auto* r = std::get_if<dtlspp::received>(&*e)) {
        ++records_received;
        bytes_received += r->data.size();
      } else if (std::holds_alternative<dtlspp::connected>(*e)) {
        connected = true;
      } else {
        failed = true;
      }
    }
  }

  dtlspp::session session;
  wire* output;
  bool connected = false;
  bool failed = false;
  std::uint64_t records_received = 0;
  std::uint64_t bytes_received = 0;
};

// deliver hands every datagram on `in`, oldest first, to `to`; returns how many.
template <class End>
std::size_t deliver(wire& in, End& to) {
  std::size_t n = 0;
  for (; !in.empty(); in.pop(), ++n)
    to.handle_datagram(in.front());
  return n;
}

// complete_handshake runs the exchange between a client (whose first flight is on c2s) and a
// server until both are connected and nothing is in flight. A flight is one turn's batch of
// datagrams from one side; flights counts them. False on failure or a stall.
template <class End>
bool complete_handshake(End& client, End& server, wire& c2s, wire& s2c, std::uint64_t& flights) {
  for (int turn = 0; turn < 16; ++turn) {
    if (client.failed || server.failed) return false;
    if (client.connected && server.connected && c2s.empty() && s2c.empty()) return true;
    wire& w = turn % 2 == 0 ? c2s : s2c;
    if (w.empty()) continue;
    ++flights;
    if (turn % 2 == 0) {
      deliver(c2s, server);
    } else {
      deliver(s2c, client);
    }
  }
  return false;
}

// ---- the sides under test --------------------------------------------------------------------

// dtlspp_side: one context per peer, built once, and the peers' fingerprints.
struct dtlspp_side {
  using end = dtlspp_end;
  const dtlspp::context& client_ctx;
  const dtlspp::context& server_ctx;
  dtlspp::fingerprint client_fp;
  dtlspp::fingerprint server_fp;

  void make(std::optional<end>& client, std::optional<end>& server, wire& c2s, wire& s2c) const {
    client.emplace(client_ctx, dtlspp::role::client, server_fp, c2s);
    server.emplace(server_ctx, dtlspp::role::server, client_fp, s2c);
  }
  static SSL* ssl(end& e) { return static_cast<SSL*>(e.session.native_handle()); }
};

// raw_side: one raw::context per peer, built once, with the same identities as dtlspp's.
struct raw_side {
  using end = raw::endpoint;
  const raw::context& client_ctx;
  const raw::context& server_ctx;
  raw::sha256 client_fp;
  raw::sha256 server_fp;

  void make(std::optional<end>& client, std::optional<end>& server, wire& c2s, wire& s2c) const {
    client.emplace(client_ctx, true, server_fp, c2s);
    server.emplace(server_ctx, false, client_fp, s2c);
  }
  static SSL* ssl(end& e) { return e.ssl(); }
};

}  // namespace bench
