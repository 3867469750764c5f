// bench/listener_rig.hpp: section 6's harness: a dtlspp::listener with the clients that
// handshake through it, the wire that carries the clients' datagrams with their addresses, and
// the clock of one thread's run.
#pragma once

#include <dtlspp/dtlspp.hpp>

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "bench.hpp"
#include "endpoints.hpp"

namespace bench {

// peer_address is a client's address as the listener sees it: 16 synthetic bytes (the size of a
// sockaddr_in), the client's number in the first 8, the rig's tag in the 9th, the rest zero.
using peer_address = std::array<std::byte, 16>;

peer_address address_of(std::uint64_t client, std::uint8_t tag);

// addressed_wire carries the clients' datagrams to the listener, each with its sender's number
// (the source address recvfrom() would give). Fixed storage, like wire: pushing is the copy
// that stands for sendto(), and nothing on it allocates.
class addressed_wire {
 public:
  explicit addressed_wire(std::size_t capacity) : slots_(capacity) {}

  // push copies a datagram from client `from` onto the wire; a datagram too large for a slot,
  // or a full wire, ends the program.
  void push(std::uint64_t from, std::span<const std::byte> datagram);
  bool empty() const noexcept { return count_ == 0; }
  // from and front are the oldest datagram's sender and bytes, valid until pop().
  std::uint64_t from() const noexcept { return slots_[head_].from; }
  std::span<const std::byte> front() const noexcept {
    return {slots_[head_].bytes.data(), slots_[head_].size};
  }
  void pop() noexcept {
    head_ = (head_ + 1) % slots_.size();
    --count_;
  }

  std::uint64_t datagrams = 0;
  std::uint64_t bytes = 0;

 private:
  static constexpr std::size_t slot_size = 2048;  // > any datagram at MTU 1200
  struct slot {
    std::uint64_t from = 0;
    std::size_t size = 0;
    std::array<std::byte, slot_size> bytes;
  };
  std::vector<slot> slots_;
  std::size_t head_ = 0;
  std::size_t count_ = 0;
};

// listener_batch: how many clients handshake through a listener at once.
constexpr int listener_batch = 32;

// listener_rig is one listener (cookies on by default) and the clients that handshake through
// it, listener_batch at a time. Driven with the documented loops: after each input to the
// listener or a client, drain its poll(); the listener's transmits go straight to the client
// whose address they carry, the clients' go onto an addressed_wire. Each client is a
// dtlspp::session in role::client with the server's fingerprint pinned; it is destroyed once
// its batch is connected on both sides and nothing is in flight, while the listener keeps the
// server sessions. The listener's own calls are timed apart (wall clock: steady_clock, which
// costs ~20 ns), to tell its share of the work from the clients'. Anything unexpected (a
// failure, an event out of place, a peer outside the batch) ends the program.
class listener_rig {
 public:
  // listener_rig builds the harness; open() makes the listener. side gives the contexts and
  // the fingerprints, made on the main thread and only read here.
  listener_rig(const dtlspp_side& side, std::uint8_t tag)
      : side_(side), tag_(tag), c2s_(4 * listener_batch), clients_(listener_batch) {}

  // open makes the listener, for at least max_sessions sessions (the other options default).
  void open(std::size_t max_sessions, bool cookies = true);

  // handshake completes n more handshakes.
  void handshake(int n);

  std::optional<dtlspp::listener> listener;
  double listener_seconds = 0;  // wall-clock time spent inside the listener's calls
  std::uint64_t s2c_datagrams = 0, s2c_bytes = 0;
  std::uint64_t c2s_datagrams() const { return c2s_.datagrams; }
  std::uint64_t c2s_bytes() const { return c2s_.bytes; }

 private:
  struct client {
    std::optional<dtlspp::session> session;
    bool connected = false;
  };

  void batch(int k);
  void feed_listener();
  void drain_listener();
  void to_client(std::span<const std::byte> peer, std::span<const std::byte> datagram);
  void drain_client(int i);

  const dtlspp_side& side_;
  std::uint8_t tag_;
  addressed_wire c2s_;
  std::vector<client> clients_;
  std::uint64_t next_ = 0;  // the next client's number
  std::uint64_t base_ = 0;  // the number of the batch's first client
  int size_ = 0;            // clients in the batch
  int servers_connected_ = 0;
};

// ---- one thread's run ----------------------------------------------------------------------

// thread_usage is this thread's CPU time (user + kernel), kernel time and minor page faults
// (the kernel mapping fresh memory) so far.
struct thread_usage {
  double cpu = 0;
  double system = 0;
  std::uint64_t faults = 0;
};

thread_usage usage_now();

// thread_run is what one thread did in a timed configuration.
struct thread_run {
  clock::time_point start, end;
  thread_usage used;            // during the run
  double listener_seconds = 0;  // wall-clock seconds inside the listener's calls
  int handshakes = 0;
  double datagrams = 0, bytes = 0;  // per handshake, both directions (listener runs)
  dtlspp::listener_stats stats;
  double wall() const { return std::chrono::duration<double>(end - start).count(); }
};

// run_clock times one thread's run of n handshakes: wall clock and usage from construction to
// finish().
struct run_clock {
  thread_run r;
  thread_usage u0 = usage_now();
  explicit run_clock(int n) {
    r.handshakes = n;
    r.start = clock::now();
  }
  thread_run finish();
};

}  // namespace bench
