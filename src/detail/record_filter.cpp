// src/detail/record_filter.cpp: DTLS record and handshake framing checks.
#include "detail/record_filter.hpp"

#include <cstdint>

namespace dtlspp::detail {
namespace {

// RFC 5246 section 6.2.1 content types: change_cipher_spec 20, alert 21, handshake 22,
// application_data 23.
constexpr unsigned change_cipher_spec = 20;
constexpr unsigned alert = 21;
constexpr unsigned handshake = 22;
constexpr unsigned alert_level_fatal = 2;
constexpr unsigned application_data = 23;

// RFC 6347 section 4.1: DTLS versions are the one's complement of TLS's: major byte 254.
constexpr unsigned dtls_major_version = 0xFE;
constexpr std::size_t handshake_header_size = 12;

std::uint32_t read_be(std::span<const std::byte> b, std::size_t at, std::size_t n) noexcept {
  std::uint32_t v = 0;
  for (std::size_t i = 0; i < n; ++i)
    v = (v << 8) | std::to_integer<std::uint32_t>(b[at + i]);
  return v;
}

// RFC 5246 section 7.4 HandshakeType values each role can receive in plaintext (the Finished
// message is always encrypted). A server never receives hello_request or server_hello; a client
// never receives client_hello.
bool receivable(unsigned type, role r) noexcept {
  switch (type) {
    case 0:   // hello_request: OpenSSL answers no_renegotiation
    case 2:   // server_hello
    case 3:   // hello_verify_request (RFC 6347 section 4.2.1)
    case 12:  // server_key_exchange
    case 13:  // certificate_request
    case 14:  // server_hello_done
      return r == role::client;
    case 1:   // client_hello
    case 15:  // certificate_verify
    case 16:  // client_key_exchange
      return r == role::server;
    case 11:  // certificate
      return true;
    default:
      return false;
  }
}

datagram_verdict inspect_handshake(std::span<const std::byte> body, role r) noexcept {
  while (!body.empty()) {
    if (body.size() < handshake_header_size) return datagram_verdict::malformed;
    const unsigned type = read_be(body, 0, 1);
    const std::size_t length = read_be(body, 1, 3);
    const std::size_t fragment_offset = read_be(body, 6, 3);
    const std::size_t fragment_length = read_be(body, 9, 3);
    if (length > max_handshake_message || fragment_offset + fragment_length > length ||
        fragment_length > body.size() - handshake_header_size) {
      return datagram_verdict::malformed;
    }
    if (!receivable(type, r)) return datagram_verdict::unexpected;
    body = body.subspan(handshake_header_size + fragment_length);
  }
  return datagram_verdict::accept;
}

// inspect_plaintext checks a record of epoch 0, which nobody authenticated: what OpenSSL would
// turn into a fatal error is dropped here instead, so that one forged datagram cannot end a
// handshake (except a fatal alert, which a real peer sends in epoch 0 when its handshake fails).
datagram_verdict inspect_plaintext(unsigned type, std::span<const std::byte> body,
                                   role r) noexcept {
  switch (type) {
    case handshake:
      return inspect_handshake(body, r);
    case change_cipher_spec:
      // RFC 5246 section 7.1: one byte, of value 1.
      return body.size() == 1 && body[0] == std::byte{1} ? datagram_verdict::accept
                                                         : datagram_verdict::malformed;
    case alert:
      // RFC 5246 section 7.2: level and description. A plaintext warning is either noise or a
      // forgery (a peer's close_notify comes encrypted once the handshake is done).
      if (body.size() != 2) return datagram_verdict::malformed;
      return body[0] == std::byte{alert_level_fatal} ? datagram_verdict::accept
                                                     : datagram_verdict::unexpected;
    default:
      return datagram_verdict::malformed;  // application data is never plaintext
  }
}

}  // namespace

std::size_t record_size(std::span<const std::byte> bytes) noexcept {
  if (bytes.size() < record_header_size) return 0;
  const std::size_t size = record_header_size + read_be(bytes, 11, 2);
  return size <= bytes.size() ? size : 0;
}

datagram_summary inspect(std::span<const std::byte> datagram, role r) noexcept {
  datagram_summary summary;
  if (datagram.size() > max_datagram_size) {
    summary.verdict = datagram_verdict::oversize;
    return summary;
  }
  if (datagram.empty()) summary.verdict = datagram_verdict::malformed;
  while (!datagram.empty() && summary.verdict == datagram_verdict::accept) {
    if (datagram.size() < record_header_size) {
      summary.verdict = datagram_verdict::malformed;
      break;
    }
    const unsigned type = read_be(datagram, 0, 1);
    const unsigned major = read_be(datagram, 1, 1);
    const unsigned epoch = read_be(datagram, 3, 2);
    const std::size_t length = read_be(datagram, 11, 2);
    if (type < change_cipher_spec || type > application_data || major != dtls_major_version ||
        length > max_record_body || length > datagram.size() - record_header_size) {
      summary.verdict = datagram_verdict::malformed;
      break;
    }
    const auto body = datagram.subspan(record_header_size, length);
    if (epoch == 0) summary.verdict = inspect_plaintext(type, body, r);
    if (type == application_data) ++summary.application_records;
    datagram = datagram.subspan(record_header_size + length);
  }
  return summary;
}

}  // namespace dtlspp::detail
