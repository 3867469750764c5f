// udp_server PORT CERT KEY CLIENT_FINGERPRINT...: a complete DTLS echo server over UDP for many
// pinned clients at once, IPv6 and IPv4 on one socket; SIGINT or SIGTERM stops it (README, "UDP").
#include <dtlspp/dtlspp.hpp>
#include <dtlspp/io/files.hpp>
#include <dtlspp/io/server.hpp>

#include <csignal>
#include <cstdio>
#include <vector>

static dtlspp::io::server* server_to_stop;  // stop() is safe in a signal handler

int main(int argc, char** argv) try {
  if (argc < 5) return std::fputs("usage: udp_server PORT CERT KEY CLIENT_FP...\n", stderr), 2;
  dtlspp::context_options options;
  options.identity = dtlspp::io::load_identity(argv[2], argv[3]);
  const dtlspp::context ctx(options);
  std::vector<dtlspp::fingerprint> clients;
  for (int i = 4; i < argc; ++i)
    clients.push_back(dtlspp::fingerprint::parse(argv[i]).value());

  dtlspp::io::server server(ctx, "", argv[1], dtlspp::expect(clients));  // "": [::], IPv4 too
  std::setvbuf(stdout, nullptr, _IOLBF, 0);  // one line at a time, even into a pipe
  std::printf("listening on %s\n", server.local_endpoint().to_string().c_str());
  server_to_stop = &server;
  for (const int s : {SIGINT, SIGTERM})
    std::signal(s, [](int) { server_to_stop->stop(); });
  server.run([&](const dtlspp::io::endpoint& peer, const dtlspp::event& e) {
    const auto who = peer.to_string();
    if (std::holds_alternative<dtlspp::connected>(e)) {
      std::printf("%s connected\n", who.c_str());
    } else if (const auto* r = std::get_if<dtlspp::received>(&e)) {
      std::printf("%s: %.*s\n", who.c_str(), int(r->data.size()), (const char*)r->data.data());
      if (server.send(peer, r->data)) server.close(peer);  // the echo
    } else if (const auto* c = std::get_if<dtlspp::closed>(&e)) {
      std::printf("%s closed: %s\n", who.c_str(),
                  c->reason ? c->reason.message().c_str() : "clean");
    }
  });
  std::puts("stopped");
} catch (const std::exception& e) {
  return std::fprintf(stderr, "udp_server: %s\n", e.what()), 1;
}
