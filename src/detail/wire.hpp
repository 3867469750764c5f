// src/detail/wire.hpp: the DTLS 1.2 wire format, read and written without OpenSSL.
//
// Record layer (RFC 6347 section 4.1): type(1) version(2) epoch(2) sequence_number(6) length(2),
// then `length` bytes. Handshake fragment (section 4.2.2): msg_type(1) length(3) message_seq(2)
// fragment_offset(3) fragment_length(3), then the fragment. Numbers are big-endian.
// Everything here is bounds-checked, allocation-free where it reads, and never throws where it
// reads: it sees bytes from anyone on the network.
//
// Header-only: the core, the socket layer's tracer and the tests each compile what they use (the
// core's symbols are hidden, so nothing of this is shared at link time).
#pragma once

#include <fmt/format.h>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace dtlspp::detail::wire {

// RFC 5246 section 6.2.1 content types.
namespace content {
inline constexpr std::uint8_t change_cipher_spec = 20;
inline constexpr std::uint8_t alert = 21;
inline constexpr std::uint8_t handshake = 22;
inline constexpr std::uint8_t application_data = 23;
}  // namespace content

// RFC 5246 section 7.4 (and RFC 6347 section 4.2.1) handshake message types.
namespace handshake {
inline constexpr std::uint8_t hello_request = 0;
inline constexpr std::uint8_t client_hello = 1;
inline constexpr std::uint8_t server_hello = 2;
inline constexpr std::uint8_t hello_verify_request = 3;
inline constexpr std::uint8_t certificate = 11;
inline constexpr std::uint8_t server_key_exchange = 12;
inline constexpr std::uint8_t certificate_request = 13;
inline constexpr std::uint8_t server_hello_done = 14;
inline constexpr std::uint8_t certificate_verify = 15;
inline constexpr std::uint8_t client_key_exchange = 16;
inline constexpr std::uint8_t finished = 20;
}  // namespace handshake

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
// Where each field starts within its header, for code that edits datagrams (tests, fuzzers).
inline constexpr std::size_t record_epoch_at = 3;
inline constexpr std::size_t record_sequence_at = 5;
inline constexpr std::size_t record_length_at = 11;
inline constexpr std::size_t handshake_length_at = 1;
inline constexpr std::size_t handshake_message_seq_at = 4;
inline constexpr std::size_t handshake_fragment_offset_at = 6;
inline constexpr std::size_t handshake_fragment_length_at = 9;
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

// fragment is one handshake message fragment (RFC 6347 section 4.2.2), borrowed.
struct fragment {
  std::uint8_t type = 0;
  std::uint32_t length = 0;  // of the whole message
  std::uint16_t message_seq = 0;
  std::uint32_t offset = 0;
  std::span<const std::byte> body;
};

// next_fragment takes the whole fragment at the head of bytes (a plaintext handshake record's
// body) off it; empty (bytes unchanged) when bytes does not start with one.
inline std::optional<fragment> next_fragment(std::span<const std::byte>& bytes) noexcept {
  reader r(bytes);
  fragment out;
  out.type = static_cast<std::uint8_t>(r.number(1));
  out.length = static_cast<std::uint32_t>(r.number(3));
  out.message_seq = static_cast<std::uint16_t>(r.number(2));
  out.offset = static_cast<std::uint32_t>(r.number(3));
  out.body = r.vector(3);
  if (!r.ok()) return std::nullopt;
  bytes = r.rest();
  return out;
}

// content_name and handshake_name name a record's content type and a handshake message type.
inline std::string_view content_name(std::uint8_t type) noexcept {
  switch (type) {
    case content::change_cipher_spec:
      return "change_cipher_spec";
    case content::alert:
      return "alert";
    case content::handshake:
      return "handshake";
    case content::application_data:
      return "application_data";
    default:
      return "unknown";
  }
}

inline std::string_view handshake_name(std::uint8_t type) noexcept {
  switch (type) {
    case handshake::hello_request:
      return "hello_request";
    case handshake::client_hello:
      return "client_hello";
    case handshake::server_hello:
      return "server_hello";
    case handshake::hello_verify_request:
      return "hello_verify_request";
    case handshake::certificate:
      return "certificate";
    case handshake::server_key_exchange:
      return "server_key_exchange";
    case handshake::certificate_request:
      return "certificate_request";
    case handshake::server_hello_done:
      return "server_hello_done";
    case handshake::certificate_verify:
      return "certificate_verify";
    case handshake::client_key_exchange:
      return "client_key_exchange";
    case handshake::finished:
      return "finished";
    default:
      return "unknown";
  }
}

// describe_record renders one record's contents: a plaintext handshake record's fragments
// ("client_hello 0+130/130"), a plaintext alert ("level 2 description 42"), else its size.
inline std::string describe_record(const record& r) {
  std::span<const std::byte> body = r.body;
  if (r.type == content::handshake && r.epoch == 0) {
    std::string out;
    while (auto f = next_fragment(body)) {
      if (!out.empty()) out += ", ";
      out +=
          fmt::format("{} {}+{}/{}", handshake_name(f->type), f->offset, f->body.size(), f->length);
    }
    if (!body.empty() || out.empty())
      out += fmt::format("{}{} B", out.empty() ? "" : " +", body.size());
    return out;
  }
  if (r.type == content::alert && r.epoch == 0 && body.size() == 2) {
    return fmt::format("level {} description {}", std::to_integer<int>(body[0]),
                       std::to_integer<int>(body[1]));
  }
  return fmt::format("{} B", body.size());
}

// describe renders a datagram's records on one line, e.g.
// "155 B: handshake(e0 s0 client_hello 0+130/130)" or "42 B: application_data(e1 s1 29 B)".
// Bytes that are not a whole record end the line with "garbage(N B)".
inline std::string describe(std::span<const std::byte> datagram) {
  std::string out = fmt::format("{} B:", datagram.size());
  while (!datagram.empty()) {
    const auto r = next_record(datagram);
    if (!r) {
      out += fmt::format(" garbage({} B)", datagram.size());
      break;
    }
    out += fmt::format(" {}(e{} s{} {})", content_name(r->type), r->epoch, r->sequence,
                       describe_record(*r));
  }
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

// client_hello views the fields of a ClientHello inside a datagram (borrowed from it). A
// ClientHello may come in fragments (RFC 6347 section 4.2.2): browsers' ClientHellos with
// post-quantum key shares outgrow one datagram. The fields below all lie before the extensions,
// so the first fragment holds them.
struct client_hello {
  std::span<const std::byte> record_sequence;   // 6 bytes: the HelloVerifyRequest reuses it
  std::span<const std::byte> message_sequence;  // 2 bytes: 0 for a first ClientHello
  std::span<const std::byte> parameters;        // client_version, random and session_id (RFC 6347
                                                // section 4.2.1 hashes these into the cookie)
  std::span<const std::byte> cookie;
  std::span<const std::byte> cipher_suites_and_compression;  // also in the cookie
  std::uint32_t length = 0;                                  // of the whole message
  bool whole = true;  // false: the first fragment of a longer message
};

// client_hello_fragment is a ClientHello fragment alone in the first record of a datagram.
struct client_hello_fragment {
  record rec;
  fragment frag;
};

// first_client_hello_fragment reads the first record of datagram as a plaintext (epoch 0)
// handshake record holding one ClientHello fragment; empty for anything else.
inline std::optional<client_hello_fragment> first_client_hello_fragment(
    std::span<const std::byte> datagram) noexcept {
  const auto rec = next_record(datagram);
  if (!rec || rec->type != content::handshake || rec->epoch != 0) return std::nullopt;
  std::span<const std::byte> body = rec->body;
  const auto frag = next_fragment(body);
  if (!frag || frag->type != handshake::client_hello || !body.empty() ||
      frag->offset + frag->body.size() > frag->length) {
    return std::nullopt;
  }
  return client_hello_fragment{*rec, *frag};
}

// parse_client_hello reads the first record of datagram as a plaintext (epoch 0) ClientHello
// (RFC 5246 section 7.4.1.2 with the DTLS cookie, RFC 6347 section 4.2.1): the whole message
// in one fragment, or, with first_fragment, also the first fragment of a longer one; empty for
// anything else. Reads only datagram; never throws.
inline std::optional<client_hello> parse_client_hello(std::span<const std::byte> datagram,
                                                      bool first_fragment = false) noexcept {
  const auto f = first_client_hello_fragment(datagram);
  if (!f || f->frag.offset != 0) return std::nullopt;
  client_hello hello;
  hello.length = f->frag.length;
  hello.whole = f->frag.body.size() == f->frag.length;
  if (!hello.whole && !first_fragment) return std::nullopt;
  // The ClientHello's record sequence number and message_seq, as they appear on the wire.
  hello.record_sequence = datagram.subspan(record_sequence_at, 6);
  hello.message_sequence = datagram.subspan(record_header_size + handshake_message_seq_at, 2);
  reader r(f->frag.body);
  const auto parameters_begin = r.rest().data();
  r.take(2 + 32);  // client_version, random
  r.vector(1);     // session_id
  hello.parameters = std::span(parameters_begin, r.rest().data());
  hello.cookie = r.vector(1);
  const auto suites_begin = r.rest().data();
  r.vector(2);  // cipher_suites
  r.vector(1);  // compression_methods
  hello.cipher_suites_and_compression = std::span(suites_begin, r.rest().data());
  if (!r.ok()) return std::nullopt;
  return hello;
}

// hello_joiner puts a fragmented ClientHello back together (RFC 6347 section 4.2.2), in any
// order, overlaps and repeats included. Each fragment must agree with the first one it saw on
// the message's length and message_seq; the message is at most max_length bytes: joined() makes
// it one record, and OpenSSL's DTLSv1_listen reads at most 2^14 bytes, record header included.
class hello_joiner {
 public:
  static constexpr std::uint32_t max_length =
      16 * 1024 - record_header_size - handshake_header_size;

  // add takes one fragment; false when it does not belong to this message (or is too long).
  bool add(const client_hello_fragment& f) {
    if (message_.empty()) {
      if (f.frag.length == 0 || f.frag.length > max_length) return false;
      message_.resize(f.frag.length);
      have_.assign(f.frag.length, false);
      message_seq_ = f.frag.message_seq;
    }
    if (f.frag.length != message_.size() || f.frag.message_seq != message_seq_) return false;
    if (f.frag.offset == 0) {
      first_version_ = f.rec.version;
      first_sequence_ = f.rec.sequence;
      have_first_ = true;
    }
    for (std::size_t i = 0; i < f.frag.body.size(); ++i) {
      message_[f.frag.offset + i] = f.frag.body[i];
      if (!have_[f.frag.offset + i]) {
        have_[f.frag.offset + i] = true;
        ++count_;
      }
    }
    return true;
  }

  bool complete() const noexcept {
    return !message_.empty() && count_ == message_.size() && have_first_;
  }

  // joined writes the whole ClientHello as one record, with the first fragment's record header
  // (its sequence number: a HelloVerifyRequest answers it). Only once complete().
  std::vector<std::byte> joined() const {
    std::vector<std::byte> out;
    out.reserve(record_header_size + handshake_header_size + message_.size());
    put_be(out, content::handshake, 1);
    put_be(out, first_version_, 2);
    put_be(out, 0, 2);  // epoch
    put_be(out, first_sequence_, 6);
    put_be(out, handshake_header_size + message_.size(), 2);
    put_be(out, handshake::client_hello, 1);
    put_be(out, message_.size(), 3);
    put_be(out, message_seq_, 2);
    put_be(out, 0, 3);  // fragment_offset
    put_be(out, message_.size(), 3);
    out.insert(out.end(), message_.begin(), message_.end());
    return out;
  }

 private:
  std::vector<std::byte> message_;
  std::vector<bool> have_;
  std::size_t count_ = 0;
  std::uint16_t message_seq_ = 0;
  bool have_first_ = false;
  std::uint16_t first_version_ = 0;
  std::uint64_t first_sequence_ = 0;
};

// hello_verify_request writes the HelloVerifyRequest answering hello with cookie: version
// DTLS 1.0 in the record and the message as RFC 6347 section 4.2.1 asks, the ClientHello's
// record sequence number, message_seq 0.
inline std::vector<std::byte> hello_verify_request(const client_hello& hello,
                                                   std::span<const std::byte> cookie) {
  // RFC 6347 section 4.2.1: server_version is DTLS 1.0 (0xFEFF) whatever will be negotiated;
  // the record reuses the ClientHello's sequence number, the message has message_seq 0.
  const std::size_t body = 2 + 1 + cookie.size();
  std::vector<std::byte> out;
  out.reserve(record_header_size + handshake_header_size + body);
  put_be(out, content::handshake, 1);
  put_be(out, dtls_1_0, 2);
  put_be(out, 0, 2);  // epoch
  out.insert(out.end(), hello.record_sequence.begin(), hello.record_sequence.end());
  put_be(out, handshake_header_size + body, 2);
  put_be(out, handshake::hello_verify_request, 1);
  put_be(out, body, 3);
  put_be(out, 0, 2);  // message_seq
  put_be(out, 0, 3);  // fragment_offset
  put_be(out, body, 3);
  put_be(out, dtls_1_0, 2);
  put_be(out, cookie.size(), 1);
  out.insert(out.end(), cookie.begin(), cookie.end());
  return out;
}

}  // namespace dtlspp::detail::wire
