// src/detail/client_hello.cpp: ClientHello fields and the HelloVerifyRequest.
#include "detail/client_hello.hpp"

#include <cstdint>

#include "detail/record_filter.hpp"

namespace dtlspp::detail {
namespace {

// reader takes length-prefixed fields off the front of a span, failing softly.
struct reader {
  std::span<const std::byte> rest;
  bool ok = true;

  std::span<const std::byte> take(std::size_t n) noexcept {
    if (!ok || n > rest.size()) {
      ok = false;
      return {};
    }
    const auto out = rest.first(n);
    rest = rest.subspan(n);
    return out;
  }
  std::size_t number(std::size_t width) noexcept {
    std::size_t v = 0;
    for (const auto b : take(width))
      v = (v << 8) | std::to_integer<std::size_t>(b);
    return v;
  }
  std::span<const std::byte> vector(std::size_t length_width) noexcept {
    return take(number(length_width));
  }
};

constexpr std::byte handshake_content{22};
constexpr std::byte client_hello_type{1};
constexpr std::byte hello_verify_request_type{3};
constexpr std::size_t handshake_header_size = 12;

void put(std::vector<std::byte>& out, std::uint64_t value, std::size_t width) {
  for (std::size_t i = width; i-- > 0;)
    out.push_back(static_cast<std::byte>(value >> (8 * i)));
}

}  // namespace

std::optional<client_hello> parse_client_hello(std::span<const std::byte> datagram) noexcept {
  const std::size_t size = record_size(datagram);
  if (size == 0 || datagram[0] != handshake_content) return std::nullopt;
  reader record{datagram.first(size)};
  record.take(3);                                  // type, version
  if (record.number(2) != 0) return std::nullopt;  // epoch 0: plaintext
  client_hello hello;
  hello.record_sequence = record.take(6);
  reader handshake{record.vector(2)};
  const auto type = handshake.take(1);
  const std::size_t length = handshake.number(3);
  hello.message_sequence = handshake.take(2);
  const std::size_t fragment_offset = handshake.number(3);
  const std::size_t fragment_length = handshake.number(3);
  if (!handshake.ok || type[0] != client_hello_type || fragment_offset != 0 ||
      fragment_length != length || length > handshake.rest.size()) {
    return std::nullopt;
  }
  reader body{handshake.rest.first(length)};
  const auto parameters_begin = body.rest.data();
  body.take(2 + 32);  // client_version, random
  body.vector(1);     // session_id
  hello.parameters = std::span(parameters_begin, body.rest.data());
  hello.cookie = body.vector(1);
  const auto suites_begin = body.rest.data();
  body.vector(2);  // cipher_suites
  body.vector(1);  // compression_methods
  hello.cipher_suites_and_compression = std::span(suites_begin, body.rest.data());
  if (!body.ok) return std::nullopt;
  return hello;
}

std::vector<std::byte> hello_verify_request(const client_hello& hello,
                                            std::span<const std::byte> cookie) {
  // RFC 6347 section 4.2.1: server_version is DTLS 1.0 (0xFEFF) whatever will be negotiated.
  constexpr std::uint64_t dtls_1_0 = 0xFEFF;
  const std::size_t body = 2 + 1 + cookie.size();
  std::vector<std::byte> out;
  out.reserve(wire::record_header_size + handshake_header_size + body);
  out.push_back(handshake_content);
  put(out, dtls_1_0, 2);
  put(out, 0, 2);  // epoch
  out.insert(out.end(), hello.record_sequence.begin(), hello.record_sequence.end());
  put(out, handshake_header_size + body, 2);
  out.push_back(hello_verify_request_type);
  put(out, body, 3);
  put(out, 0, 2);  // message_seq
  put(out, 0, 3);  // fragment_offset
  put(out, body, 3);
  put(out, dtls_1_0, 2);
  put(out, cookie.size(), 1);
  out.insert(out.end(), cookie.begin(), cookie.end());
  return out;
}

}  // namespace dtlspp::detail
