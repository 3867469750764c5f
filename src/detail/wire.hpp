// src/detail/wire.hpp: the DTLS 1.2 wire format, read and written without OpenSSL.
//
// Record layer (RFC 6347 section 4.1): type(1) version(2) epoch(2) sequence_number(6) length(2),
// then `length` bytes. Handshake fragment (section 4.2.2): msg_type(1) length(3) message_seq(2)
// fragment_offset(3) fragment_length(3), then the fragment. Numbers are big-endian.
// Everything here is bounds-checked, allocation-free where it reads, and never throws where it
// reads: it sees bytes from anyone on the network.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <vector>

namespace dtlspp::detail::wire {

// RFC 5246 section 6.2.1 content types.
namespace content {
inline constexpr std::uint8_t change_cipher_spec = 20;
inline constexpr std::uint8_t alert = 21;
inline constexpr std::uint8_t handshake = 22;
inline constexpr std::uint8_t application_data = 23;
}  // namespace content

// RFC 5246 section 7.2 alert levels and the descriptions dtlspp sends itself.
namespace alert {
inline constexpr std::uint8_t warning = 1;
inline constexpr std::uint8_t fatal = 2;
inline constexpr std::uint8_t bad_certificate = 42;
inline constexpr std::uint8_t user_canceled = 90;
}  // namespace alert

// RFC 6347 section 4.1: DTLS versions are the one's complement of TLS's.
inline constexpr std::uint16_t dtls_1_0 = 0xFEFF;
inline constexpr std::uint16_t dtls_1_2 = 0xFEFD;
inline constexpr std::uint8_t dtls_major_version = 0xFE;

inline constexpr std::size_t record_header_size = 13;
inline constexpr std::size_t handshake_header_size = 12;
inline constexpr std::uint64_t max_sequence = (std::uint64_t{1} << 48) - 1;

// reader takes fields off the front of a span. A read past the end yields zeros and empty
// spans and clears ok(), so a parser reads every field and checks once at the end.
class reader {
 public:
  explicit reader(std::span<const std::byte> bytes) noexcept : rest_(bytes) {}

  std::span<const std::byte> take(std::size_t n) noexcept {
    if (!ok_ || n > rest_.size()) {
      ok_ = false;
      return {};
    }
    const auto out = rest_.first(n);
    rest_ = rest_.subspan(n);
    return out;
  }
  // number reads a big-endian unsigned integer of `width` bytes (at most 8).
  std::uint64_t number(std::size_t width) noexcept {
    std::uint64_t v = 0;
    for (const auto b : take(width))
      v = (v << 8) | std::to_integer<std::uint64_t>(b);
    return v;
  }
  // vector reads an opaque vector whose length prefix is length_width bytes (RFC 5246 4.3).
  std::span<const std::byte> vector(std::size_t length_width) noexcept {
    return take(static_cast<std::size_t>(number(length_width)));
  }
  std::span<const std::byte> rest() const noexcept { return rest_; }
  bool ok() const noexcept { return ok_; }

 private:
  std::span<const std::byte> rest_;
  bool ok_ = true;
};

// put_be appends value as a big-endian integer of `width` bytes.
inline void put_be(std::vector<std::byte>& out, std::uint64_t value, std::size_t width) {
  for (std::size_t i = width; i-- > 0;)
    out.push_back(static_cast<std::byte>(value >> (8 * i)));
}

// record is one record's header and body, borrowed from the datagram.
struct record {
  std::uint8_t type = 0;
  std::uint16_t version = 0;
  std::uint16_t epoch = 0;
  std::uint64_t sequence = 0;
  std::span<const std::byte> body;
};

// next_record takes the whole record at the head of bytes off it; empty (bytes unchanged) when
// bytes does not start with a whole record header and body.
inline std::optional<record> next_record(std::span<const std::byte>& bytes) noexcept {
  reader r(bytes);
  record out;
  out.type = static_cast<std::uint8_t>(r.number(1));
  out.version = static_cast<std::uint16_t>(r.number(2));
  out.epoch = static_cast<std::uint16_t>(r.number(2));
  out.sequence = r.number(6);
  out.body = r.vector(2);
  if (!r.ok()) return std::nullopt;
  bytes = r.rest();
  return out;
}

// alert_record writes a plaintext (epoch 0) alert record with the given sequence number.
inline std::vector<std::byte> alert_record(std::uint8_t level, std::uint8_t description,
                                           std::uint64_t sequence) {
  std::vector<std::byte> out;
  out.reserve(record_header_size + 2);
  put_be(out, content::alert, 1);
  put_be(out, dtls_1_2, 2);
  put_be(out, 0, 2);  // epoch
  put_be(out, sequence, 6);
  put_be(out, 2, 2);  // length
  put_be(out, level, 1);
  put_be(out, description, 1);
  return out;
}

}  // namespace dtlspp::detail::wire
