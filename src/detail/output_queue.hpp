// src/detail/output_queue.hpp: the session's outputs in order, in slots whose buffers are reused.
//
// Every datagram OpenSSL writes is copied into the buffer of the slot at the tail, and every
// record it decrypts is read straight into a spare buffer that then becomes the tail slot's
// (prepare, then commit): a received record is copied once, by OpenSSL. poll() hands out a view
// of the oldest slot. Buffers keep their capacity and only change hands, so once the queue and
// its buffers have grown to the session's working set (a handshake flight, the largest
// datagram), no output allocates: zero allocations per record in steady state.
//
// A view stays valid until the next call on the session (session.hpp's span rule): a slot is
// written again only by a later push, and every push happens inside a call on the session.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <optional>
#include <span>
#include <utility>
#include <vector>

#include "dtlspp/session.hpp"

namespace dtlspp::detail {

// output_kind names an output; closed is for the listener's own queue (a session's closed
// event is made by session::poll, never queued).
enum class output_kind : unsigned char { transmit, received, connected, closed };

class output_queue {
 public:
  // push appends an output carrying a copy of bytes. Throws std::bad_alloc (only while the
  // queue or the tail's buffer grows).
  void push(output_kind kind, std::span<const std::byte> bytes = {}) {
    slot& s = tail(bytes.size());
    if (!bytes.empty()) std::memcpy(s.bytes.data(), bytes.data(), bytes.size());
    append(s, kind, bytes.size());
  }

  // push_buffer appends an output that takes over buffer (a record held back while the peer
  // was being verified). Throws std::bad_alloc.
  void push_buffer(output_kind kind, std::vector<std::byte>&& buffer) {
    slot& s = tail(0);
    s.bytes.swap(buffer);
    append(s, kind, s.bytes.size());
  }

  // prepare returns a buffer of at least `capacity` bytes for a record to be decrypted into.
  // It is no slot's yet: outputs pushed while OpenSSL fills it (a flight retransmitted in
  // answer to the peer's) come before it. Valid until commit() or the next prepare(). Throws
  // std::bad_alloc (only while the buffer grows).
  std::span<std::byte> prepare(std::size_t capacity) {
    if (reading_.size() < capacity) [[unlikely]]
      grow(reading_, capacity);
    return reading_;
  }

  // commit appends the first `size` bytes of the prepared buffer as an output of kind.
  // Throws std::bad_alloc (only while the queue grows).
  void commit(output_kind kind, std::size_t size) {
    slot& s = tail(0);
    s.bytes.swap(reading_);  // the slot's old buffer is the next one to read into
    append(s, kind, size);
  }

  // prepared returns what prepare() handed out, for a record that is not committed.
  std::span<const std::byte> prepared(std::size_t size) const noexcept {
    return std::span<const std::byte>(reading_).first(size);
  }

  bool empty() const noexcept { return head_ == tail_; }

  // pop returns the oldest output as an event whose span stays valid until the next call on
  // the session.
  std::optional<event> pop() noexcept {
    if (head_ == tail_) return std::nullopt;
    const slot& s = slots_[head_++];
    // Empty now: the next output starts again at the first slot. That is in a later call on the
    // session, when this view is no longer valid.
    if (head_ == tail_) head_ = tail_ = 0;
    const std::span<const std::byte> view(s.bytes.data(), s.size);
    switch (s.kind) {
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

  // trim_reading frees the buffer prepare() hands out if it is longer than capacity (it grew
  // for a datagram that turned out to hold no record): the next prepare() allocates it again.
  void trim_reading(std::size_t capacity) noexcept {
    if (reading_.size() > capacity) std::vector<std::byte>().swap(reading_);
  }

  // release frees every buffer and the slots while the queue is empty (an idle session): the
  // next outputs allocate them again.
  void release() noexcept {
    if (!empty()) return;
    std::vector<slot>().swap(slots_);
    std::vector<std::byte>().swap(reading_);
    head_ = tail_ = 0;
  }

 private:
  // 32 bytes with libstdc++'s vector: slots are found by shifts, not multiplications. An
  // output is one datagram or one record (BIO_write's size is an int), so 32 bits hold its size.
  struct slot {
    output_kind kind = output_kind::transmit;
    std::uint32_t size = 0;        // the output's bytes: the first `size` of `bytes`
    std::vector<std::byte> bytes;  // its size is the buffer's usable capacity
  };

  // grow makes buffer at least `capacity` bytes long. Its old content is not kept: clearing
  // first spares the copy a plain resize would make. Out of line: in steady state no output
  // grows a buffer, and the callers stay small.
  [[gnu::noinline]] static void grow(std::vector<std::byte>& buffer, std::size_t capacity) {
    buffer.clear();
    buffer.resize(capacity);
  }

  // add_slot appends an empty slot (out of line, as grow).
  [[gnu::noinline]] void add_slot() { slots_.emplace_back(); }

  // tail returns the slot after the last output, its buffer at least `capacity` bytes long.
  slot& tail(std::size_t capacity) {
    if (tail_ == slots_.size()) [[unlikely]]
      add_slot();
    slot& s = slots_[tail_];
    if (s.bytes.size() < capacity) [[unlikely]]
      grow(s.bytes, capacity);
    return s;
  }

  void append(slot& s, output_kind kind, std::size_t size) noexcept {
    s.kind = kind;
    s.size = static_cast<std::uint32_t>(size);
    ++tail_;
  }

  std::vector<slot> slots_;
  std::size_t head_ = 0;  // the oldest output not yet popped
  std::size_t tail_ = 0;  // one past the newest output
  std::vector<std::byte> reading_;
};

}  // namespace dtlspp::detail
