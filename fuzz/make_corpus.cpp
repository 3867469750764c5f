// make_corpus: writes the seed corpora in fuzz/corpus/ from a real in-memory handshake and
// exchange, in the input formats of the fuzz targets (fuzz_common.hpp). Built beside them; run
// it from the repository root: build-fuzz/fuzz/make_corpus fuzz/corpus
#include <dtlspp/dtlspp.hpp>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "fuzz_common.hpp"

namespace {

using fuzz::bytes;

void write(const std::filesystem::path& file, const bytes& content) {
  std::ofstream out(file, std::ios::binary);
  out.write(reinterpret_cast<const char*>(content.data()), static_cast<long>(content.size()));
}

// framed is mode (or no mode) followed by each datagram with its 2-byte length.
bytes framed(std::optional<std::uint8_t> mode, const std::vector<bytes>& datagrams,
             std::optional<std::byte> prefix = std::nullopt) {
  bytes out;
  if (mode) out.push_back(static_cast<std::byte>(*mode));
  for (const auto& d : datagrams) {
    const std::size_t n = d.size() + (prefix ? 1 : 0);
    out.push_back(static_cast<std::byte>(n >> 8));
    out.push_back(static_cast<std::byte>(n & 0xFF));
    if (prefix) out.push_back(*prefix);
    out.insert(out.end(), d.begin(), d.end());
  }
  return out;
}

// listener_program is an input of fuzz_listener (see its run()): options, then real clients 0
// and 1 handshaking through the listener as time passes, then `tail`.
bytes listener_program(std::uint8_t options, std::initializer_list<int> tail) {
  bytes out{static_cast<std::byte>(options)};
  for (int round = 0; round < 8; ++round) {
    for (const int op : {2, 0, 2, 1, 1, 3})
      out.push_back(static_cast<std::byte>(op));
  }
  for (const int b : tail)
    out.push_back(static_cast<std::byte>(b));
  return out;
}

void write_listener_programs(const std::filesystem::path& dir) {
  // cookies on: data through with_session, a restart of client 0, replays, a long silence.
  write(dir / "restart", listener_program(1, {5, 0, 3, 3, 0, 2, 0, 1, 3, 2,   0, 1, 3,
                                              2, 0, 4, 0, 1, 4, 1, 2, 1, 255, 2, 1}));
  // a deferring verifier: client 0 accepted, client 1 rejected, then time runs out.
  write(dir / "deferred", listener_program(3, {5, 0, 0, 5, 1, 1, 1, 200, 1, 255}));
  // no cookies: a restart mid-handshake and a close.
  write(dir / "no-cookies", listener_program(0, {3, 1, 2, 1, 1, 3, 2, 1, 5, 0, 2, 1, 50}));
}

}  // namespace

int main(int argc, char** argv) {
  const std::filesystem::path root = argc > 1 ? argv[1] : "fuzz/corpus";
  for (const char* t : {"fuzz_session", "fuzz_listener", "fuzz_fingerprint", "fuzz_pem"}) {
    std::filesystem::create_directories(root / t);
  }
  dtlspp::test::use_virtual_time();
  const auto& ctx = fuzz::contexts::get();
  using dtlspp::test::direction;
  dtlspp::test::pair p(ctx.client, dtlspp::dangerous_accept_any(), ctx.server,
                       dtlspp::dangerous_accept_any());
  if (!p.handshake()) {
    std::fprintf(stderr, "make_corpus: the handshake failed\n");
    return 1;
  }
  const auto sent = [&](direction d, std::size_t from = 0) {
    std::vector<bytes> out;
    const auto& wire = p.net().wire(d);
    for (std::size_t i = from; i < wire.size(); ++i)
      out.push_back(wire[i].data);
    return out;
  };
  const auto client_sent = sent(direction::client_to_server);
  const auto server_sent = sent(direction::server_to_client);
  static_cast<void>(p.send(dtlspp::test::side::client, "hello"));
  p.close(dtlspp::test::side::client);
  const auto after = sent(direction::client_to_server, client_sent.size());

  write(root / "fuzz_session" / "server-handshake", framed(0, client_sent));
  write(root / "fuzz_session" / "client-handshake", framed(1, server_sent));
  write(root / "fuzz_session" / "server-after", framed(2, after));
  write(root / "fuzz_session" / "client-after", framed(3, server_sent));
  write_listener_programs(root / "fuzz_listener");
  const auto fp = ctx.client.identity().fingerprint().to_string();
  write(root / "fuzz_fingerprint" / "sha-256",
        bytes(reinterpret_cast<const std::byte*>(fp.data()),
              reinterpret_cast<const std::byte*>(fp.data()) + fp.size()));
  const auto pem = ctx.client.identity().certificate_pem();
  const auto key = ctx.client.identity().private_key_pem();
  const auto der = ctx.client.identity().certificate().der();
  auto with_header = [](std::uint8_t mode, std::uint8_t cut, std::string_view s) {
    bytes out{std::byte{mode}, std::byte{cut}};
    for (const char c : s)
      out.push_back(static_cast<std::byte>(c));
    return out;
  };
  write(root / "fuzz_pem" / "certificate", with_header(0, 0, pem));
  bytes der_seed{std::byte{1}, std::byte{0}};
  der_seed.insert(der_seed.end(), der.begin(), der.end());
  write(root / "fuzz_pem" / "der", der_seed);
  const auto both = pem + key;
  write(root / "fuzz_pem" / "identity",
        with_header(2, static_cast<std::uint8_t>(256 * pem.size() / both.size() + 1), both));
  std::printf("corpus written to %s\n", root.c_str());
}
