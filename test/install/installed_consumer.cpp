// installed_consumer: a program built against an installed dtlspp (headers, library, and the
// opt-in dtlspp/fmt.hpp), once with pkg-config and once with CMake's find_package(dtlspp).
#include <dtlspp/dtlspp.hpp>
#include <dtlspp/fmt.hpp>

#include <fmt/format.h>

#include <deque>
#include <string>
#include <string_view>
#include <vector>

namespace {

using wire = std::deque<std::vector<std::byte>>;

void drain(dtlspp::session& s, wire& out, std::string& got) {
  while (auto e = s.poll()) {
    if (const auto* t = std::get_if<dtlspp::transmit>(&*e)) {
      out.emplace_back(t->datagram.begin(), t->datagram.end());
    } else if (const auto* r = std::get_if<dtlspp::received>(&*e)) {
      got.assign(reinterpret_cast<const char*>(r->data.data()), r->data.size());
    }
  }
}

bool deliver(wire& in, dtlspp::session& s, wire& out, std::string& got) {
  for (; !in.empty(); in.pop_front()) {
    if (s.handle_datagram(in.front())) {
      fmt::print(stderr, "installed_consumer: {} session failed: {}\n", s.role(),
                 s.error_message());
      return false;
    }
    drain(s, out, got);
  }
  return true;
}

}  // namespace

int main() {
  const dtlspp::context client_ctx, server_ctx;
  dtlspp::session client(client_ctx, dtlspp::role::client,
                         dtlspp::expect({server_ctx.identity().fingerprint()}));
  dtlspp::session server(server_ctx, dtlspp::role::server,
                         dtlspp::expect({client_ctx.identity().fingerprint()}));
  wire to_server, to_client;
  std::string at_client, at_server;
  drain(client, to_server, at_client);
  for (int round = 0;
       client.state() != dtlspp::state::connected || server.state() != dtlspp::state::connected;
       ++round) {
    if (round == 10 || !deliver(to_server, server, to_client, at_server) ||
        !deliver(to_client, client, to_server, at_client)) {
      fmt::print(stderr, "installed_consumer: client {}, server {}\n", client.state(),
                 server.state());
      return 1;
    }
  }
  const std::string_view hello = "hello from an installed dtlspp";
  if (client.send(std::as_bytes(std::span(hello)))) return 1;
  drain(client, to_server, at_client);
  if (!deliver(to_server, server, to_client, at_server) || at_server != hello) return 1;

  fmt::print("installed_consumer: {} {}; peer {}\n", client.role(), client.state(),
             *client.peer_certificate());
  fmt::print("installed_consumer: server received \"{}\"\n", at_server);
  return 0;
}
