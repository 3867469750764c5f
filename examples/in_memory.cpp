// in_memory: a complete DTLS client and server in one process, no sockets: the poll loop every
// dtlspp application writes, with two std::deque "wires" in place of UDP. The README quotes it.
#include <dtlspp/dtlspp.hpp>

#include <cstdio>
#include <deque>
#include <string>
#include <vector>

using wire = std::deque<std::vector<std::byte>>;
using inbox = std::vector<std::string>;

// drain hands every output of s to its place: datagrams onto the wire, records to the inbox.
// Call it after every input to a session (handle_datagram, handle_timeout, send, close).
static void drain(dtlspp::session& s, wire& out, inbox& got, const char* who) {
  while (auto e = s.poll()) {
    if (auto* t = std::get_if<dtlspp::transmit>(&*e)) {
      out.emplace_back(t->datagram.begin(), t->datagram.end());  // sendto() in a real program
    } else if (auto* r = std::get_if<dtlspp::received>(&*e)) {
      got.emplace_back(reinterpret_cast<const char*>(r->data.data()), r->data.size());
      std::printf("%s received: %s\n", who, got.back().c_str());
    } else if (std::holds_alternative<dtlspp::connected>(*e)) {
      std::printf("%s connected: %s\n", who, std::string(s.cipher_name()).c_str());
    } else if (auto* c = std::get_if<dtlspp::closed>(&*e)) {
      std::printf("%s closed: %s\n", who, c->reason ? c->reason.message().c_str() : "clean");
    }
  }
}

// deliver feeds every datagram on the wire to s.
static void deliver(wire& in, dtlspp::session& s, wire& out, inbox& got, const char* who) {
  for (; !in.empty(); in.pop_front()) {
    if (auto ec = s.handle_datagram(in.front())) std::printf("%s: %s\n", who, ec.message().c_str());
    drain(s, out, got, who);
  }
}

int main() {
  // Each peer has its own identity (a fresh P-256 certificate per context) and learns the
  // other's fingerprint out of band, as from an SDP a=fingerprint line.
  dtlspp::context client_ctx, server_ctx;
  const auto client_fp = client_ctx.identity().fingerprint();
  const auto server_fp = server_ctx.identity().fingerprint();
  std::printf("client fingerprint: %s\n", client_fp.to_string().c_str());

  dtlspp::session client(client_ctx, dtlspp::role::client, dtlspp::expect({server_fp}));
  dtlspp::session server(server_ctx, dtlspp::role::server, dtlspp::expect({client_fp}));
  wire to_server, to_client;
  inbox client_got, server_got;
  drain(client, to_server, client_got, "client");  // the first flight is ready at construction

  while (client.state() == dtlspp::state::handshaking ||
         server.state() == dtlspp::state::handshaking) {
    // Nothing in flight: a real loop would wait for next_timeout() and call handle_timeout().
    if (to_server.empty() && to_client.empty()) return 1;
    deliver(to_server, server, to_client, server_got, "server");
    deliver(to_client, client, to_server, client_got, "client");
  }

  const std::string hello = "hello over DTLS";
  if (auto ec = client.send(std::as_bytes(std::span(hello)))) return 1;
  drain(client, to_server, client_got, "client");
  deliver(to_server, server, to_client, server_got, "server");  // server received: hello...

  client.close();  // queues close_notify
  drain(client, to_server, client_got, "client");
  deliver(to_server, server, to_client, server_got, "server");  // server closed: clean
  const bool ok = server_got == inbox{hello} && server.state() == dtlspp::state::closed;
  return ok ? 0 : 1;
}
