// src/detail/output_queue.hpp: the session's outputs in order, with buffers that are reused.
//
// Every datagram OpenSSL writes and every record it decrypts is copied into a buffer taken from
// a pool of spare buffers; poll() hands out a view of the oldest and keeps that buffer alive
// until the next poll(), which returns it to the pool. Once the queue and the pool have grown
// to the session's working set, no call allocates (issue "Benchmarks": zero allocations per
// record in steady state).
#pragma once

#include <cstddef>
#include <optional>
#include <span>
#include <system_error>
#include <utility>
#include <vector>

#include "dtlspp/session.hpp"

namespace dtlspp::detail {

enum class output_kind : unsigned char { transmit, received, connected, closed };

class output_queue {
 public:
  // take_buffer returns an empty buffer from the pool (or a new one), holding `bytes`.
  std::vector<std::byte> take_buffer(std::span<const std::byte> bytes) {
    std::vector<std::byte> buffer;
    if (!spare_.empty()) {
      buffer = std::move(spare_.back());
      spare_.pop_back();
    }
    buffer.assign(bytes.begin(), bytes.end());
    return buffer;
  }

  // push appends an output carrying a copy of bytes.
  void push(output_kind kind, std::span<const std::byte> bytes = {}) {
    push_buffer(kind, take_buffer(bytes));
  }

  // push_buffer appends an output that owns buffer (from take_buffer).
  void push_buffer(output_kind kind, std::vector<std::byte> buffer) {
    items_.push_back(item{kind, std::move(buffer)});
  }

  // recycle returns a buffer taken with take_buffer to the pool; one that owns no memory (moved
  // from) is not worth keeping. If the pool cannot grow, the buffer is simply freed.
  void recycle(std::vector<std::byte>&& buffer) noexcept {
    if (buffer.capacity() == 0) return;
    buffer.clear();
    try {
      spare_.push_back(std::move(buffer));
    } catch (const std::bad_alloc&) {
    }
  }

  bool empty() const noexcept { return head_ == items_.size(); }

  // pop returns the oldest output as an event whose span stays valid until the next pop().
  std::optional<event> pop() noexcept {
    recycle(std::move(current_));
    if (empty()) return std::nullopt;
    item& next = items_[head_++];
    current_ = std::move(next.bytes);
    const output_kind kind = next.kind;
    if (empty()) {
      // Every item was moved out: clearing frees nothing and keeps the capacity.
      items_.clear();
      head_ = 0;
    }
    const std::span<const std::byte> view(current_);
    switch (kind) {
      case output_kind::transmit:
        return transmit{view};
      case output_kind::received:
        return received{view};
      case output_kind::connected:
        return connected{};
      case output_kind::closed:
        break;  // never queued: a session's closed event is made by session::poll()
    }
    return std::nullopt;
  }

 private:
  struct item {
    output_kind kind;
    std::vector<std::byte> bytes;
  };
  std::vector<item> items_;
  std::size_t head_ = 0;
  std::vector<std::byte> current_;
  std::vector<std::vector<std::byte>> spare_;
};

}  // namespace dtlspp::detail
