// src/detail/datagram_bio.cpp: the BIO_METHOD behind make_datagram_bio.
#include "detail/datagram_bio.hpp"

#include "detail/record_filter.hpp"
#include "detail/wire.hpp"

#include <algorithm>
#include <cstring>

#include <sys/time.h>
#include <new>

namespace dtlspp::detail {
namespace {

datagram_channel& channel_of(BIO* bio) noexcept {
  return *static_cast<datagram_channel*>(BIO_get_data(bio));
}

// note_plaintext follows our own plaintext records: the next epoch 0 sequence number, and
// whether change_cipher_spec went out (after it, the peer reads our records in epoch 1).
// Application data is never in epoch 0, so the per-record path looks at two bytes only.
void note_plaintext(datagram_channel& ch, std::span<const std::byte> datagram) noexcept {
  while (auto r = wire::next_record(datagram)) {
    if (r->epoch != 0) return;
    ch.next_plaintext_sequence = std::max(ch.next_plaintext_sequence, r->sequence + 1);
    if (r->type == wire::content::change_cipher_spec) ch.cipher_changed = true;
  }
}

// queue appends datagram to the channel's output as one transmit and counts it: the whole of
// emit, inlined into bio_write, which runs once per record sent.
inline void queue(datagram_channel& ch, std::span<const std::byte> datagram) {
  if (!ch.cipher_changed) note_plaintext(ch, datagram);
  ch.output->push(output_kind::transmit, datagram);
  ++ch.datagrams_out;
  ch.bytes_out += datagram.size();
}

// take_datagram returns the longest run of whole records at the head of bytes that fits in
// mtu; at least one record (a record larger than the MTU cannot be split), or all of bytes
// when they do not parse as records.
std::span<const std::byte> take_datagram(std::span<const std::byte> bytes, std::size_t mtu) {
  std::size_t size = record_size(bytes);
  if (size == 0) return bytes;
  while (size < bytes.size()) {
    const std::size_t next = record_size(bytes.subspan(size));
    if (next == 0 || size + next > mtu) break;
    size += next;
  }
  return bytes.first(size);
}

// queue_split queues bytes, larger than the MTU, as datagrams split at record boundaries
// (take_datagram). Throws std::bad_alloc.
[[gnu::noinline]] void queue_split(datagram_channel& ch, std::span<const std::byte> bytes) {
  while (!bytes.empty()) {
    const auto datagram = take_datagram(bytes, ch.mtu);
    queue(ch, datagram);
    bytes = bytes.subspan(datagram.size());
  }
}

int bio_write(BIO* bio, const char* data, int size) noexcept {
  BIO_clear_retry_flags(bio);
  if (size < 0) return -1;
  datagram_channel& ch = channel_of(bio);
  const auto bytes = std::as_bytes(std::span(data, static_cast<std::size_t>(size)));
  try {
    if (bytes.size() <= ch.mtu) [[likely]] {
      queue(ch, bytes);
    } else {
      queue_split(ch, bytes);
    }
  } catch (const std::bad_alloc&) {
    return -1;  // OpenSSL reports the write as failed; no exception crosses its frame
  }
  return size;
}

int bio_read(BIO* bio, char* out, int size) noexcept {
  BIO_clear_retry_flags(bio);
  datagram_channel& ch = channel_of(bio);
  if (ch.input.empty()) {
    // Nothing to read is "would block", not end of file: without the retry flag SSL_get_error
    // would report SSL_ERROR_SYSCALL.
    BIO_set_retry_read(bio);
    ch.starved = true;
    return -1;
  }
  const std::size_t n = std::min(ch.input.size(), static_cast<std::size_t>(std::max(size, 0)));
  std::memcpy(out, ch.input.data(), n);
  ch.input = {};  // a datagram is read once, whole or truncated
  return static_cast<int>(n);
}

// on_next_timeout follows OpenSSL's retransmission timer (dtls1_start_timer and
// dtls1_stop_timer pass its expiry on OpenSSL's clock, all zero when stopped) onto the caller's
// clock: armed at the time of the input being handled, for the duration the timer callback set.
void on_next_timeout(datagram_channel& ch, const void* expiry) noexcept {
  const auto* tv = static_cast<const timeval*>(expiry);
  if (tv == nullptr || (tv->tv_sec == 0 && tv->tv_usec == 0)) {
    ch.retransmit_at.reset();
  } else {
    ch.retransmit_at = ch.now + ch.timer_duration;
  }
}

// set_next_timeout and pending answer the two commands that read the channel, out of line so
// that bio_ctrl answers the others (OpenSSL sends two per record) without a stack frame.
[[gnu::noinline]] long set_next_timeout(BIO* bio, const void* expiry) noexcept {
  on_next_timeout(channel_of(bio), expiry);
  return 0;
}

[[gnu::noinline]] long pending(BIO* bio) noexcept {
  return static_cast<long>(channel_of(bio).input.size());
}

long bio_ctrl(BIO* bio, int cmd, long, void* ptr) noexcept {
  switch (cmd) {
    case BIO_CTRL_DGRAM_SET_NEXT_TIMEOUT:
      return set_next_timeout(bio, ptr);
    case BIO_CTRL_FLUSH:
      return 1;
    case BIO_CTRL_PENDING:
      return pending(bio);
    case BIO_CTRL_WPENDING:
      return 0;
    // The MTU counts the UDP payload: no per-datagram overhead to subtract.
    case BIO_CTRL_DGRAM_GET_MTU_OVERHEAD:
      return 0;
    // SSL_OP_NO_QUERY_MTU is set, so OpenSSL does not ask; 0 would mean "unknown" if it did.
    case BIO_CTRL_DGRAM_QUERY_MTU:
      return 0;
    default:
      return 0;
  }
}

int bio_create(BIO* bio) noexcept {
  BIO_set_init(bio, 0);
  return 1;
}

int bio_destroy(BIO*) noexcept {
  return 1;
}

// datagram_method is the process-wide BIO_METHOD and its type (BIO_method_type of its BIOs),
// made once, thread-safely (a function-local static; invariant: one thread per session, no
// global mutable state).
struct datagram_method {
  int type = 0;
  handle<BIO_METHOD> method;
};

const datagram_method& method() {
  static const datagram_method instance = [] {
    const int index = BIO_get_new_index();
    if (index == -1) fail(errc::crypto_failure, "BIO_get_new_index");
    datagram_method d{index | BIO_TYPE_SOURCE_SINK, nullptr};
    d.method.reset(expect_ptr(BIO_meth_new(d.type, "dtlspp datagram"), "BIO_meth_new"));
    BIO_METHOD* m = d.method.get();
    expect_one(BIO_meth_set_write(m, bio_write), "BIO_meth_set_write");
    expect_one(BIO_meth_set_read(m, bio_read), "BIO_meth_set_read");
    expect_one(BIO_meth_set_ctrl(m, bio_ctrl), "BIO_meth_set_ctrl");
    expect_one(BIO_meth_set_create(m, bio_create), "BIO_meth_set_create");
    expect_one(BIO_meth_set_destroy(m, bio_destroy), "BIO_meth_set_destroy");
    return d;
  }();
  return instance;
}

}  // namespace

void emit(datagram_channel& ch, std::span<const std::byte> datagram) {
  queue(ch, datagram);
}

handle<BIO> make_datagram_bio(datagram_channel& channel) {
  handle<BIO> bio(expect_ptr(BIO_new(method().method.get()), "BIO_new"));
  BIO_set_data(bio.get(), &channel);
  BIO_set_init(bio.get(), 1);
  return bio;
}

datagram_channel* channel_of(const SSL* ssl) noexcept {
  BIO* bio = SSL_get_rbio(ssl);
  if (bio == nullptr || BIO_method_type(bio) != method().type) return nullptr;
  return static_cast<datagram_channel*>(BIO_get_data(bio));
}

}  // namespace dtlspp::detail
