// test/wire_test.cpp: the DTLS 1.2 wire module (src/detail/wire.hpp): bounds-checked reading,
// records and handshake fragments (RFC 6347 sections 4.1 and 4.2.2), the ClientHello's fields
// and the HelloVerifyRequest (section 4.2.1), and the one-line describer.
#include <catch2/catch.hpp>

#include <array>
#include <random>

#include "detail/record_filter.hpp"
#include "detail/wire.hpp"
#include "farm.hpp"

using namespace dtlspp::test;
namespace wire = dtlspp::detail::wire;

namespace {

bytes of(std::initializer_list<int> values) {
  bytes out;
  for (const int v : values)
    out.push_back(static_cast<std::byte>(v));
  return out;
}

}  // namespace

TEST_CASE("the reader takes fields in order and fails softly past the end", "[wire]") {
  const bytes b = of({0x01, 0x02, 0x03, 0xAA, 0xBB, 0xCC, 0x09});
  wire::reader r(b);
  CHECK(r.number(2) == 0x0102);
  CHECK(r.vector(1).size() == 3);  // a length byte of 3, then AA BB CC
  CHECK(r.number(1) == 0x09);
  CHECK(r.ok());
  CHECK(r.rest().empty());
  CHECK(r.number(4) == 0);  // past the end: zero, and no longer ok
  CHECK_FALSE(r.ok());
  CHECK(r.take(1).empty());
  const bytes claims_five = of({5, 1, 2});  // a vector that claims 5 bytes and holds 2
  wire::reader short_vector(claims_five);
  CHECK(short_vector.vector(1).empty());
  CHECK_FALSE(short_vector.ok());
}

TEST_CASE("put_be writes big-endian integers of any width", "[wire]") {
  bytes out;
  wire::put_be(out, 0x010203, 3);
  wire::put_be(out, 0xFEFD, 2);
  wire::put_be(out, 0, 1);
  CHECK(out == of({0x01, 0x02, 0x03, 0xFE, 0xFD, 0x00}));
  wire::reader r(out);
  CHECK(r.number(3) == 0x010203);
  CHECK(r.number(2) == wire::dtls_1_2);
}

TEST_CASE("next_record takes whole records and refuses truncated ones", "[wire]") {
  // Two records: an alert (2 bytes) and an empty application_data record.
  const bytes two = of({21, 0xFE, 0xFD, 0, 1, 0, 0, 0, 0, 0, 7, 0, 2, 2, 40,  //
                        23, 0xFE, 0xFD, 0, 1, 0, 0, 0, 0, 0, 8, 0, 0});
  std::span<const std::byte> rest = two;
  const auto a = wire::next_record(rest);
  REQUIRE(a);
  CHECK(a->type == wire::content::alert);
  CHECK(a->version == wire::dtls_1_2);
  CHECK(a->epoch == 1);
  CHECK(a->sequence == 7);
  CHECK(a->body.size() == 2);
  const auto b = wire::next_record(rest);
  REQUIRE(b);
  CHECK(b->type == wire::content::application_data);
  CHECK(b->body.empty());
  CHECK(rest.empty());
  CHECK_FALSE(wire::next_record(rest));

  for (std::size_t cut = 1; cut < 15; ++cut) {
    CAPTURE(cut);
    std::span<const std::byte> truncated = std::span(two).first(15 - cut);
    const auto before = truncated.size();
    CHECK_FALSE(wire::next_record(truncated));
    CHECK(truncated.size() == before);  // untouched on failure
  }
}

TEST_CASE("a real ClientHello parses, and its HelloVerifyRequest echoes what it must", "[wire]") {
  const bytes hello = first_client_hello(client_context());
  const auto parsed = wire::parse_client_hello(hello);
  REQUIRE(parsed);
  CHECK(parsed->cookie.empty());
  CHECK(parsed->parameters.size() >= 2 + 32 + 1);
  CHECK(get_be(parsed->message_sequence, 0, 2) == 0);
  const std::array<std::byte, 32> cookie{std::byte{0xC0}};
  const auto hvr = wire::hello_verify_request(*parsed, cookie);
  const auto records = parse_records(hvr);
  REQUIRE(records.size() == 1);
  CHECK(records[0].type == content_type::handshake);
  CHECK(records[0].version == wire::dtls_1_0);  // RFC 6347 section 4.2.1
  CHECK(records[0].epoch == 0);
  CHECK(records[0].sequence == get_be(hello, wire::record_sequence_at, 6));
  CHECK(records[0].handshake_msg_type() == handshake_type::hello_verify_request);
  CHECK(hvr.size() == 60);
  CHECK(wire::describe(hvr) == "60 B: handshake(e0 s0 hello_verify_request 0+35/35)");

  // Cut anywhere, or fragmented, it is not a ClientHello the listener answers.
  for (std::size_t size = 0; size < hello.size(); ++size) {
    CAPTURE(size);
    CHECK_FALSE(wire::parse_client_hello(std::span(hello).first(size)));
  }
}

TEST_CASE("describe renders records, fragments, alerts and trailing garbage", "[wire]") {
  const bytes alert = wire::alert_record(wire::alert::fatal, wire::alert::bad_certificate, 9);
  CHECK(alert.size() == 15);
  CHECK(wire::describe(alert) == "15 B: alert(e0 s9 level 2 description 42)");
  bytes with_garbage = alert;
  with_garbage.push_back(std::byte{0x16});
  CHECK(wire::describe(with_garbage) == "16 B: alert(e0 s9 level 2 description 42) garbage(1 B)");
  const bytes encrypted = of({23, 0xFE, 0xFD, 0, 1, 0, 0, 0, 0, 0, 3, 0, 4, 1, 2, 3, 4});
  CHECK(wire::describe(encrypted) == "17 B: application_data(e1 s3 4 B)");
  CHECK(wire::describe({}) == "0 B:");
}

TEST_CASE("the record filter's inline path agrees with the full filter on single records",
          "[wire][filter]") {
  // inspect_encrypted answers for an established association's records without the policy; where
  // it answers, inspect must say the same, for both roles; it must answer for a well-framed
  // encrypted record. Records of every content type, version, epoch and length, right or off by
  // one, drawn from a fixed seed.
  namespace detail = dtlspp::detail;
  std::mt19937_64 rng(2026);
  const std::array<std::uint16_t, 1> suites{0xc02b};
  std::size_t answered = 0;
  for (int i = 0; i < 5000; ++i) {
    const std::size_t body = rng() % 3 == 0 ? rng() % 64 : rng() % (detail::max_record_body + 3);
    bytes d = random_bytes(rng, wire::record_header_size + body);
    d[0] = static_cast<std::byte>(18 + rng() % 8);
    d[1] = static_cast<std::byte>(rng() % 4 == 0 ? rng() : 0xfe);
    d[3] = static_cast<std::byte>(rng() % 2 == 0 ? 0 : rng());
    d[4] = static_cast<std::byte>(rng() % 3);
    const std::size_t claimed = body + (rng() % 4 == 0 ? rng() % 3 - 1 : 0);
    put_be(d, wire::record_length_at, claimed & 0xffff, 2);
    const auto fast = detail::inspect_encrypted(d);
    const bool well_framed = claimed == body && body <= detail::max_record_body &&
                             (d[3] != std::byte{0} || d[4] != std::byte{0}) &&
                             d[1] == std::byte{0xfe} && d[0] >= std::byte{20} &&
                             d[0] <= std::byte{23};
    CHECK(fast.has_value() == well_framed);
    if (!fast) continue;
    ++answered;
    for (const auto r : {dtlspp::role::client, dtlspp::role::server}) {
      const auto full = detail::inspect(d, {r, suites});
      CHECK(fast->verdict == full.verdict);
      CHECK(fast->application_records == full.application_records);
    }
  }
  CHECK(answered > 500);
}
