// src/detail/datagram_bio.hpp: the BIO between OpenSSL and a session, one datagram at a time.
//
// OpenSSL's BIO_s_mem would merge a flight's records into one blob on output (and
// BIO_s_dgram_mem only exists from OpenSSL 3.2), so dtlspp has its own BIO (invariant: datagram
// boundaries):
// - write: every BIO_write is one datagram, appended to the channel's output queue as a
//   transmit. During the handshake OpenSSL buffers a flight's records and writes them in one
//   call, packed to the MTU. Warning: OpenSSL 3.0's packing (dtls1_do_write) does not count the
//   AEAD expansion of an encrypted Finished (24 bytes for AES-GCM), so a packed flight can exceed
//   the MTU by that much (seen: 1519 bytes at MTU 1500). A write larger than the MTU is therefore
//   split at record boundaries, which RFC 6347 section 4.1.1 allows: any datagram may carry any
//   whole records.
// - read: serves the one datagram the session is handling, whole, then reports "retry" (empty,
//   would block) until the next one. A read buffer smaller than the datagram gets the head and
//   the rest is discarded, as recvfrom() does.
// - the retransmission timer: OpenSSL tells the read BIO each time it starts or stops its timer
//   (BIO_CTRL_DGRAM_SET_NEXT_TIMEOUT). The BIO turns that into an expiry on the caller's clock:
//   the `now` of the input being handled plus the duration the timer callback chose. So the
//   expiry is fixed when the timer is armed and does not move as time passes.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <span>

#include "detail/openssl.hpp"
#include "detail/output_queue.hpp"

namespace dtlspp::detail {

// datagram_channel is the state the BIO works on; the session owns it.
struct datagram_channel {
  using clock = std::chrono::steady_clock;

  // The session this channel belongs to: how OpenSSL's callbacks find their session, through
  // the SSL's read BIO (channel_of). An SSL ex_data slot would cost every session two more heap
  // blocks (~100 bytes) for the same pointer.
  void* owner = nullptr;
  std::span<const std::byte> input;  // the datagram being handled; empty once read
  output_queue* output = nullptr;    // where written datagrams go
  std::size_t mtu = 0;               // no datagram written is larger, where records allow
  std::uint64_t datagrams_out = 0;
  std::uint64_t bytes_out = 0;

  // The retransmission timer on the caller's clock. `now` is the time of the input being
  // handled (the session sets it first); `timer_duration` is what the timer callback last
  // returned; `retransmit_at` is set when OpenSSL starts its timer and cleared when it stops it.
  clock::time_point now{};
  std::chrono::microseconds timer_duration{0};
  std::optional<clock::time_point> retransmit_at;

  // What the peer can still read in plaintext: until we send change_cipher_spec our records
  // are in epoch 0, and a plaintext alert with the next epoch 0 sequence number reaches the
  // peer (RFC 6347 section 4.1).
  bool cipher_changed = false;
  bool starved = false;  // a read found `input` empty since the session last fed it
  std::uint64_t next_plaintext_sequence = 0;
};

// emit queues datagram as one transmit of channel, counted like a datagram OpenSSL wrote: for
// the few records a session writes itself. Throws std::bad_alloc.
void emit(datagram_channel& channel, std::span<const std::byte> datagram);

// make_datagram_bio returns a BIO over channel, borrowed: channel must outlive the BIO (and the
// SSL it is given to). Throws dtlspp::error(errc::crypto_failure) if OpenSSL cannot allocate.
handle<BIO> make_datagram_bio(datagram_channel& channel);

// channel_of returns the channel behind ssl's read BIO, or null when that BIO is not one of
// make_datagram_bio's (none yet, or replaced through a native handle).
datagram_channel* channel_of(const SSL* ssl) noexcept;

}  // namespace dtlspp::detail
