// src/detail/record_filter.hpp: a cheap look at a datagram before OpenSSL sees it.
//
// OpenSSL drops most bad records silently, but not all: a plaintext handshake fragment with
// impossible lengths, or a message type the role never receives, is a fatal error inside the
// handshake, so one forged datagram could end an association. Anything that cannot be part of a
// well-formed exchange is dropped here and counted instead (DESIGN invariant 9). Records that
// are well-formed but forged, replayed or stale still go to OpenSSL, which discards them.
#pragma once

#include <cstddef>
#include <span>

#include "dtlspp/session.hpp"

namespace dtlspp::detail {

// RFC 6347 section 4.1: DTLSCiphertext.length is at most 2^14 + 2048; a record adds 13 bytes.
inline constexpr std::size_t max_record_body = 16384 + 2048;
inline constexpr std::size_t record_header_size = 13;
// A datagram longer than this cannot be one a DTLS peer sends: OpenSSL reads at most one maximal
// record per datagram into its buffer.
inline constexpr std::size_t max_datagram_size = record_header_size + max_record_body;
// OpenSSL refuses handshake messages longer than its certificate list limit (100 KiB, as
// SSL_MAX_CERT_LIST_DEFAULT); one claiming more is dropped before OpenSSL sees it.
inline constexpr std::size_t max_handshake_message = 100 * 1024;

enum class datagram_verdict { accept, malformed, oversize, unexpected };

struct datagram_summary {
  datagram_verdict verdict = datagram_verdict::accept;
  std::size_t application_records = 0;  // records of content type application_data
};

// record_size returns the size of the DTLS record at the start of bytes, header included, or 0
// when bytes does not start with a whole record header and body.
std::size_t record_size(std::span<const std::byte> bytes) noexcept;

// inspect checks the record framing of a datagram (RFC 6347 section 4.1) and, for plaintext
// handshake records (epoch 0), the framing of each handshake fragment (section 4.2.2) and that
// r may receive its message type (RFC 5246 section 7.3). Never throws; reads only datagram.
datagram_summary inspect(std::span<const std::byte> datagram, role r) noexcept;

}  // namespace dtlspp::detail
