// fuzz_listener: a listener fed datagrams from a handful of peer addresses: the first byte of
// each datagram picks the peer (one of 4), the rest is the datagram.
#include <dtlspp/listener.hpp>

#include "fuzz_common.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  fuzz::reader in({data, size});
  dtlspp::listener l(fuzz::contexts::get().server, dtlspp::dangerous_accept_any());
  while (auto d = in.next()) {
    if (d->empty()) continue;
    const std::array<std::byte, 4> peer{(*d)[0], std::byte{1}, std::byte{2}, std::byte{3}};
    static_cast<void>(l.handle_datagram(peer, d->subspan(1)));
    while (l.poll()) {
    }
    static_cast<void>(l.send(peer, std::as_bytes(std::span("ping", 4))));
    while (l.poll()) {
    }
  }
  l.handle_timeout();
  while (l.poll()) {
  }
  return 0;
}
