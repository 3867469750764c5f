// src/io/trace.cpp: the datagram describer.
#include "dtlspp/io/trace.hpp"

#include <fmt/format.h>

#include <cstdint>
#include <string_view>

namespace dtlspp::io {
namespace {

std::uint64_t read_be(std::span<const std::byte> b, std::size_t at, std::size_t n) {
  std::uint64_t v = 0;
  for (std::size_t i = 0; i < n; ++i)
    v = (v << 8) | std::to_integer<std::uint64_t>(b[at + i]);
  return v;
}

std::string_view content_name(std::uint64_t type) {
  switch (type) {
    case 20:
      return "change_cipher_spec";
    case 21:
      return "alert";
    case 22:
      return "handshake";
    case 23:
      return "application_data";
    default:
      return "unknown";
  }
}

// RFC 5246 section 7.4 and RFC 6347 section 4.2.1 handshake message names.
std::string_view handshake_name(std::uint64_t type) {
  switch (type) {
    case 0:
      return "hello_request";
    case 1:
      return "client_hello";
    case 2:
      return "server_hello";
    case 3:
      return "hello_verify_request";
    case 11:
      return "certificate";
    case 12:
      return "server_key_exchange";
    case 13:
      return "certificate_request";
    case 14:
      return "server_hello_done";
    case 15:
      return "certificate_verify";
    case 16:
      return "client_key_exchange";
    case 20:
      return "finished";
    default:
      return "unknown";
  }
}

std::string describe_body(std::uint64_t type, std::uint64_t epoch,
                          std::span<const std::byte> body) {
  if (type == 22 && epoch == 0 && body.size() >= 12) {
    // msg_type(1) length(3) message_seq(2) fragment_offset(3) fragment_length(3)
    return fmt::format("{} {}+{}/{}", handshake_name(read_be(body, 0, 1)), read_be(body, 6, 3),
                       read_be(body, 9, 3), read_be(body, 1, 3));
  }
  if (type == 21 && epoch == 0 && body.size() == 2) {
    return fmt::format("level {} description {}", read_be(body, 0, 1), read_be(body, 1, 1));
  }
  return fmt::format("{} B", body.size());
}

}  // namespace

std::string describe(std::span<const std::byte> datagram) {
  std::string out = fmt::format("{} B:", datagram.size());
  while (!datagram.empty()) {
    // type(1) version(2) epoch(2) sequence_number(6) length(2)
    if (datagram.size() < 13 || read_be(datagram, 11, 2) > datagram.size() - 13) {
      out += fmt::format(" garbage({} B)", datagram.size());
      break;
    }
    const auto type = read_be(datagram, 0, 1);
    const auto epoch = read_be(datagram, 3, 2);
    const auto length = static_cast<std::size_t>(read_be(datagram, 11, 2));
    out += fmt::format(" {}(e{} s{} {})", content_name(type), epoch, read_be(datagram, 5, 6),
                       describe_body(type, epoch, datagram.subspan(13, length)));
    datagram = datagram.subspan(13 + length);
  }
  return out;
}

}  // namespace dtlspp::io
