// udp_client HOST PORT CERT KEY SERVER_FINGERPRINT: a complete DTLS client over UDP. It pins
// the server's fingerprint, sends one line, prints the echo and closes (README, "UDP").
#include <dtlspp/dtlspp.hpp>
#include <dtlspp/io/client.hpp>
#include <dtlspp/io/files.hpp>

#include <cstdio>

int main(int argc, char** argv) try {
  if (argc != 6) return std::fputs("usage: udp_client HOST PORT CERT KEY SERVER_FP\n", stderr), 2;
  dtlspp::context_options options;
  options.identity = dtlspp::io::load_identity(argv[3], argv[4]);
  const dtlspp::context ctx(options);
  const auto server_fp = dtlspp::fingerprint::parse(argv[5]).value();

  dtlspp::io::client client(ctx, argv[1], argv[2], dtlspp::expect({server_fp}));
  const auto reason = client.run([&](const dtlspp::event& e) {
    if (std::holds_alternative<dtlspp::connected>(e)) {
      if (client.send("hello from udp_client")) client.close();
    } else if (const auto* r = std::get_if<dtlspp::received>(&e)) {
      std::printf("echo: %.*s\n", int(r->data.size()), (const char*)r->data.data());
      client.close();  // close_notify; run() returns {} once it is out
    }
  });
  if (reason) std::fprintf(stderr, "udp_client: %s\n", reason.message().c_str());
  return reason ? 1 : 0;
} catch (const std::exception& e) {
  return std::fprintf(stderr, "udp_client: %s\n", e.what()), 1;
}
