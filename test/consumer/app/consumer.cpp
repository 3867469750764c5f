// consumer: a client and a server in one process, as a project that depends on dtlspp writes
// them; built by test/consumer (meson subproject) and test/install (pkg-config, CMake). With
// CONSUMER_WITH_FMT (the install test's builds) it also prints through the opt-in
// <dtlspp/fmt.hpp> formatters, which need {fmt}.
#include <dtlspp/dtlspp.hpp>

#ifdef CONSUMER_WITH_FMT
#include <dtlspp/fmt.hpp>

#include <fmt/format.h>
#endif

#include <cstdio>
#include <deque>
#include <string>
#include <string_view>
#include <vector>

namespace {

using wire = std::deque<std::vector<std::byte>>;

// drain moves s's datagrams onto the wire and keeps the records it decrypted.
void drain(dtlspp::session& s, wire& out, std::vector<std::string>& records) {
  while (auto e = s.poll()) {
    if (const auto* t = std::get_if<dtlspp::transmit>(&*e)) {
      out.emplace_back(t->datagram.begin(), t->datagram.end());
    } else if (const auto* r = std::get_if<dtlspp::received>(&*e)) {
      records.emplace_back(reinterpret_cast<const char*>(r->data.data()), r->data.size());
    }
  }
}

bool deliver(wire& in, dtlspp::session& s, wire& out, std::vector<std::string>& records) {
  for (; !in.empty(); in.pop_front()) {
    if (s.handle_datagram(in.front())) {
      std::fprintf(stderr, "consumer: %.*s\n", static_cast<int>(s.error_message().size()),
                   s.error_message().data());
      return false;
    }
    drain(s, out, records);
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
  std::vector<std::string> at_client, at_server;

  drain(client, to_server, at_client);
  for (int round = 0;
       client.state() != dtlspp::state::connected || server.state() != dtlspp::state::connected;
       ++round) {
    if (round == 10 || !deliver(to_server, server, to_client, at_server) ||
        !deliver(to_client, client, to_server, at_client)) {
      std::fprintf(stderr, "consumer: the handshake did not complete\n");
      return 1;
    }
  }

  const std::string_view ping = "ping from the consumer", pong = "pong from the consumer";
  if (client.send(std::as_bytes(std::span(ping)))) return 1;
  drain(client, to_server, at_client);
  if (!deliver(to_server, server, to_client, at_server)) return 1;
  if (server.send(std::as_bytes(std::span(pong)))) return 1;
  drain(server, to_client, at_server);
  if (!deliver(to_client, client, to_server, at_client)) return 1;

  if (at_server != std::vector<std::string>{std::string(ping)} ||
      at_client != std::vector<std::string>{std::string(pong)}) {
    std::fprintf(stderr, "consumer: records did not arrive as sent\n");
    return 1;
  }
  std::printf("consumer: %s, server got \"%s\", client got \"%s\"\n",
              std::string(client.cipher_name()).c_str(), at_server[0].c_str(),
              at_client[0].c_str());
#ifdef CONSUMER_WITH_FMT
  fmt::print("consumer: {} {}; peer {}\n", client.role(), client.state(),
             *client.peer_certificate());
#endif
  return 0;
}
