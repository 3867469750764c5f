// fuzz/fuzz_common.hpp: what the libFuzzer targets share: contexts made once, a reader that cuts
// the fuzzer's bytes into datagrams, and a pair brought to connected on the test-support
// library's in-memory network (test/support/harness.hpp).
#pragma once

#include <dtlspp/dtlspp.hpp>

#include <cstddef>
#include <cstdint>
#include <deque>
#include <optional>
#include <span>
#include <vector>

#include "harness.hpp"

namespace fuzz {

using bytes = std::vector<std::byte>;

// contexts returns a client and a server context, built once per process (building one costs
// milliseconds: not per input).
struct contexts {
  dtlspp::context client, server;
  static const contexts& get() {
    static const contexts instance{dtlspp::context(options()), dtlspp::context(options())};
    return instance;
  }
  static dtlspp::context_options options() {
    dtlspp::context_options o;
    o.retransmit.initial = std::chrono::milliseconds(20);
    return o;
  }
};

// reader cuts input into datagrams: a 2-byte big-endian length, then that many bytes (or what
// is left).
class reader {
 public:
  explicit reader(std::span<const std::uint8_t> input) : rest_(std::as_bytes(input)) {}
  std::optional<std::span<const std::byte>> next() {
    if (rest_.size() < 2) return std::nullopt;
    const std::size_t n =
        (std::to_integer<std::size_t>(rest_[0]) << 8) | std::to_integer<std::size_t>(rest_[1]);
    rest_ = rest_.subspan(2);
    const auto d = rest_.first(std::min(n, rest_.size()));
    rest_ = rest_.subspan(d.size());
    return d;
  }
  std::optional<std::byte> byte() {
    if (rest_.empty()) return std::nullopt;
    const auto b = rest_[0];
    rest_ = rest_.subspan(1);
    return b;
  }

 private:
  std::span<const std::byte> rest_;
};

// drain polls s until it is empty, putting its datagrams on `wire` (if given).
inline void drain(dtlspp::session& s, std::deque<bytes>* wire) {
  while (auto e = s.poll()) {
    if (const auto* t = std::get_if<dtlspp::transmit>(&*e); t != nullptr && wire != nullptr) {
      wire->emplace_back(t->datagram.begin(), t->datagram.end());
    }
  }
}

// connected_pair returns a client and a server that completed a handshake on the tests'
// in-memory network (no loss), each expecting the other's fingerprint. A pair that did not
// connect would fuzz the wrong states: the process stops at once.
inline dtlspp::test::pair connected_pair() {
  dtlspp::test::pair p(contexts::get().client, contexts::get().server);
  if (!p.handshake()) __builtin_trap();
  return p;
}

}  // namespace fuzz
