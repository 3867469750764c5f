// src/detail/datagram_bio.hpp: the BIO between OpenSSL and a session, one datagram at a time.
//
// OpenSSL's BIO_s_mem would merge a flight's records into one blob on output (and
// BIO_s_dgram_mem only exists from OpenSSL 3.2), so dtlspp has its own BIO (DESIGN invariant 3):
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
#pragma once

#include <cstdint>
#include <span>

#include "detail/openssl.hpp"
#include "detail/output_queue.hpp"

namespace dtlspp::detail {

// datagram_channel is the state the BIO works on; the session owns it.
struct datagram_channel {
  std::span<const std::byte> input;  // the datagram being handled; empty once read
  output_queue* output = nullptr;    // where written datagrams go
  std::size_t mtu = 0;               // no datagram written is larger, where records allow
  std::uint64_t datagrams_out = 0;
  std::uint64_t bytes_out = 0;
};

// make_datagram_bio returns a BIO over channel, borrowed: channel must outlive the BIO (and the
// SSL it is given to). Throws dtlspp::error(errc::crypto_failure) if OpenSSL cannot allocate.
handle<BIO> make_datagram_bio(datagram_channel& channel);

}  // namespace dtlspp::detail
