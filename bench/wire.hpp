// bench/wire.hpp: the in-memory network of the benchmarks, one direction of it.
//
// A wire is a FIFO of datagrams with fixed storage: pushing copies one datagram into a slot
// (this copy stands for sendto()), nothing on it ever allocates, and datagram boundaries are
// kept. dtlspp and the raw OpenSSL baseline use the same wires, so that the harness costs both
// the same. It also counts what crossed it: datagrams, bytes, and datagrams larger than the MTU.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <span>

namespace bench {

class wire {
 public:
  static constexpr std::size_t slot_size = 4096;  // > any datagram at MTU 1500
  static constexpr std::size_t slots = 64;        // > any handshake flight

  explicit wire(std::size_t mtu = 1200) : mtu_(mtu), storage_(new slot[slots]) {}

  // push copies datagram onto the wire. A datagram that does not fit a slot, or a full wire,
  // is a harness bug: abort loudly rather than measure something else.
  void push(std::span<const std::byte> datagram) noexcept {
    if (datagram.size() > slot_size || count_ == slots) {
      std::fprintf(stderr, "wire: datagram of %zu bytes or %zu queued\n", datagram.size(), count_);
      std::abort();
    }
    slot& s = storage_[(head_ + count_) % slots];
    std::memcpy(s.bytes.data(), datagram.data(), datagram.size());
    s.size = datagram.size();
    ++count_;
    ++datagrams;
    bytes += datagram.size();
    if (datagram.size() > mtu_) ++over_mtu;
  }

  bool empty() const noexcept { return count_ == 0; }
  std::size_t size() const noexcept { return count_; }

  // front is the oldest datagram, valid until pop().
  std::span<const std::byte> front() const noexcept {
    const slot& s = storage_[head_];
    return {s.bytes.data(), s.size};
  }
  void pop() noexcept {
    head_ = (head_ + 1) % slots;
    --count_;
  }
  void clear() noexcept { head_ = count_ = 0; }
  void reset_counters() noexcept { datagrams = bytes = over_mtu = 0; }

  std::uint64_t datagrams = 0;
  std::uint64_t bytes = 0;
  std::uint64_t over_mtu = 0;  // datagrams larger than the MTU the sender was configured with

 private:
  struct slot {
    std::array<std::byte, slot_size> bytes;
    std::size_t size = 0;
  };
  std::size_t mtu_;
  std::unique_ptr<slot[]> storage_;
  std::size_t head_ = 0;
  std::size_t count_ = 0;
};

}  // namespace bench
