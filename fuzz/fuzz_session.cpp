// fuzz_session: a session fed arbitrary datagram sequences, as client or server, before the
// handshake or after it (from a connected pair, so that the post-handshake paths are reached).
// The first byte picks the case; the rest is length-prefixed datagrams (fuzz_common.hpp).
// Time is the tests' virtual clock, which OpenSSL reads too (test/support/virtual_time.hpp).
#include "fuzz_common.hpp"

namespace vt = dtlspp::test;

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  vt::use_virtual_time();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  fuzz::reader in({data, size});
  const auto mode = in.byte();
  if (!mode) return 0;
  const auto& ctx = fuzz::contexts::get();
  auto feed = [&](dtlspp::session& s) {
    while (auto d = in.next()) {
      static_cast<void>(s.handle_datagram(*d, vt::now()));
      fuzz::drain(s, nullptr);
      static_cast<void>(s.send(std::as_bytes(std::span("ping", 4))));
      fuzz::drain(s, nullptr);
    }
    static_cast<void>(s.handle_timeout(vt::now()));
    s.close();
    fuzz::drain(s, nullptr);
  };
  switch (std::to_integer<unsigned>(*mode) % 4) {
    case 0: {
      dtlspp::session s(ctx.server, dtlspp::role::server, dtlspp::dangerous_accept_any(),
                        vt::now());
      feed(s);
      break;
    }
    case 1: {
      dtlspp::session s(ctx.client, dtlspp::role::client, dtlspp::dangerous_accept_any(),
                        vt::now());
      fuzz::drain(s, nullptr);
      feed(s);
      break;
    }
    case 2: {
      auto p = fuzz::connected_pair();
      feed(p.server());
      break;
    }
    default: {
      auto p = fuzz::connected_pair();
      feed(p.client());
      break;
    }
  }
  return 0;
}
