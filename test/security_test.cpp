// test/security_test.cpp: hostile datagrams (invariant: bad input is dropped). Garbage, truncated,
// forged, replayed, stale and oversized datagrams are dropped and counted, never throw, and never
// change a session's state, during the handshake or after it.
#include <catch2/catch.hpp>

#include <fmt/format.h>
#include <openssl/ssl.h>

#include <fstream>
#include <iterator>
#include <random>
#include <string>
#include <vector>

#include "harness.hpp"

using namespace dtlspp::test;
using namespace std::chrono_literals;
using dtlspp::errc;
using dtlspp::session_stats;
using dtlspp::state;

namespace {

using counter = std::uint64_t session_stats::*;

// hostile is one datagram to inject and the counter it should move: none for what is
// well-formed on the wire and left to OpenSSL, which discards it without a trace (a stale or
// future epoch on a handshake or alert record, a repeated handshake message).
struct hostile {
  std::string what;
  bytes data;
  counter counted = nullptr;
  bool any_counter = false;  // some drop counter moves, which one depends on the bytes
};

std::uint64_t total_dropped(const session_stats& s) {
  return s.datagrams_dropped_malformed + s.datagrams_dropped_oversize +
         s.datagrams_dropped_unexpected + s.records_discarded;
}

// garbage returns random datagrams: any first byte, then first bytes in the DTLS range 20..63
// (RFC 7983) with a random rest.
std::vector<hostile> garbage(std::mt19937_64& rng) {
  std::vector<hostile> out;
  for (int i = 0; i < 20; ++i) {
    auto data = random_bytes(rng, 1 + rng() % 1400);
    out.push_back({fmt::format("random bytes #{}", i), std::move(data)});
  }
  for (int i = 0; i < 20; ++i) {
    auto data = random_bytes(rng, 1 + rng() % 1400);
    data[0] = static_cast<std::byte>(20 + rng() % 44);
    out.push_back({fmt::format("random bytes from {} #{}", std::to_integer<int>(data[0]), i),
                   std::move(data)});
  }
  for (auto& h : out)
    h.any_counter = true;
  return out;
}

// mutations returns broken copies of real, a datagram whose first record is a real record.
// foreign says that the target never receives real's handshake messages: then a broken copy may
// count as unexpected (the first record) rather than malformed (a later one).
std::vector<hostile> mutations(const bytes& real, bool foreign = false) {
  using s = session_stats;
  std::vector<hostile> out;
  const auto records = parse_records(real);
  if (records.empty()) throw std::logic_error("mutations needs a datagram of records");
  const record& first = records.front();
  const bool encrypted = first.epoch > 0;

  out.push_back({"an empty datagram", {}, &s::datagrams_dropped_malformed});
  {
    bytes huge(64 * 1024);
    std::copy_n(real.begin(), std::min(real.size(), huge.size()), huge.begin());
    out.push_back({"a 64 KiB datagram", std::move(huge), &s::datagrams_dropped_oversize});
  }

  // Truncated: cut anywhere that does not fall on a record boundary.
  for (std::size_t cut : {std::size_t{1}, std::size_t{5}, std::size_t{12}, std::size_t{13},
                          std::size_t{14}, real.size() / 2, real.size() - 1}) {
    bool boundary = false;
    for (const auto& r : records)
      boundary |= r.offset == cut;
    if (cut == 0 || cut >= real.size() || boundary) continue;
    out.push_back({fmt::format("cut to {} of {} bytes", cut, real.size()),
                   bytes(real.begin(), real.begin() + static_cast<std::ptrdiff_t>(cut)),
                   &s::datagrams_dropped_malformed});
  }

  // Record length fields that the datagram cannot hold.
  const std::size_t length_at = first.offset + record_length_at;
  for (std::uint64_t length : {std::uint64_t{real.size()}, std::uint64_t{0xFFFF},
                               std::uint64_t{first.fragment.size() + 1}}) {
    if (length == first.fragment.size()) continue;
    bytes b = real;
    put_be(b, length_at, length, 2);
    out.push_back({fmt::format("record length {} in {} bytes", length, real.size()), std::move(b),
                   &s::datagrams_dropped_malformed});
  }
  if (records.size() == 1 && first.fragment.size() > 0) {
    // A record one byte short leaves a one-byte "record" behind it.
    bytes b = real;
    put_be(b, length_at, first.fragment.size() - 1, 2);
    out.push_back({"record length one short", std::move(b), &s::datagrams_dropped_malformed});
  }

  // Not DTLS 1.x: the TLS 1.2 version number, an unknown content type.
  {
    bytes b = real;
    put_be(b, first.offset + 1, 0x0303, 2);
    out.push_back({"TLS 1.2 version field", std::move(b), &s::datagrams_dropped_malformed});
  }
  {
    bytes b = real;
    b[first.offset] = std::byte{24 + 10};
    out.push_back({"content type 34", std::move(b), &s::datagrams_dropped_malformed});
  }

  // Handshake fragments whose offset and length do not fit the message (RFC 6347 4.2.2).
  if (first.type == content_type::handshake && !encrypted &&
      first.fragment.size() >= handshake_header_size) {
    const std::size_t hs = first.offset + record_header_size;
    const auto message_length = get_be(real, hs + handshake_length_at, 3);
    const auto fragment_length = get_be(real, hs + handshake_fragment_length_at, 3);
    {
      bytes b = real;
      put_be(b, hs + handshake_fragment_offset_at, message_length, 3);
      out.push_back(
          {"fragment offset at the message length", std::move(b), &s::datagrams_dropped_malformed});
    }
    {
      bytes b = real;
      put_be(b, hs + handshake_length_at, fragment_length - 1, 3);
      out.push_back(
          {"fragment longer than its message", std::move(b), &s::datagrams_dropped_malformed});
    }
    {
      bytes b = real;
      put_be(b, hs + handshake_fragment_length_at, 0xFFFFFF, 3);
      out.push_back(
          {"fragment length beyond the record", std::move(b), &s::datagrams_dropped_malformed});
    }
    {
      bytes b = real;
      put_be(b, hs + handshake_length_at, 0xFFFFFF, 3);
      out.push_back({"message length of 16 MiB", std::move(b), &s::datagrams_dropped_malformed});
    }
  }

  // Wrong epoch. Application data in epoch 0 (plaintext) is malformed and dropped before
  // OpenSSL; in another epoch OpenSSL does not deliver it and it counts as discarded. A handshake
  // record from another epoch is OpenSSL's to drop (or buffer and drop) in silence.
  for (std::uint64_t epoch :
       {std::uint64_t{0}, std::uint64_t{1}, std::uint64_t{2}, std::uint64_t{0xFFFF}}) {
    if (epoch == first.epoch) continue;
    bytes b = real;
    put_be(b, first.offset + record_epoch_at, epoch, 2);
    counter epoch_counter = nullptr;
    if (first.type == content_type::application_data) {
      epoch_counter = epoch == 0 ? &s::datagrams_dropped_malformed : &s::records_discarded;
    }
    out.push_back(
        {fmt::format("epoch {} instead of {}", epoch, first.epoch), std::move(b), epoch_counter});
  }

  if (first.type == content_type::application_data) {
    // Forged: the AEAD tag fails (RFC 5288: the header is authenticated data).
    bytes flipped = real;
    flipped.back() ^= std::byte{0x01};
    out.push_back({"one ciphertext bit flipped", std::move(flipped), &s::records_discarded});
    bytes renumbered = real;
    put_be(renumbered, first.offset + record_sequence_at, first.sequence + 1000, 6);
    out.push_back({"sequence number changed", std::move(renumbered), &s::records_discarded});
  }
  if (foreign) {
    for (auto& h : out) {
      if (h.counted == &s::datagrams_dropped_malformed) {
        h.counted = nullptr;
        h.any_counter = true;
      }
    }
  }
  return out;
}

// plaintext_alert returns an epoch-0 alert record (RFC 5246 section 7.2).
bytes plaintext_alert(std::uint8_t level, std::uint8_t description) {
  bytes b(record_header_size + 2);
  put_be(b, 0, content_type::alert, 1);
  put_be(b, 1, 0xFEFD, 2);  // DTLS 1.2
  put_be(b, record_epoch_at, 0, 2);
  put_be(b, record_sequence_at, 99, 6);
  put_be(b, record_length_at, 2, 2);
  b[13] = static_cast<std::byte>(level);
  b[14] = static_cast<std::byte>(description);
  return b;
}

// inject_all injects each hostile datagram into `to` and checks that it was dropped: no
// exception, no error, no state change, no event (a counted drop never reaches OpenSSL, so
// nothing at all comes out), and the expected counter moved.
void inject_all(pair& p, side to, const std::vector<hostile>& catalogue) {
  for (const auto& h : catalogue) {
    CAPTURE(name(to), h.what, h.data.size());
    const auto state_before = p.at(to).state();
    const auto stats_before = p.at(to).stats();
    const auto& log = p.events(to);
    const auto events_before = log.order.size();
    const auto connected_before = log.connected;
    const auto received_before = log.received.size();

    std::error_code ec;
    REQUIRE_NOTHROW(ec = p.inject(to, h.data));
    CHECK_FALSE(ec);
    // Nothing happened: no state change, no event of any kind (not even a datagram out).
    CHECK(p.at(to).state() == state_before);
    CHECK_FALSE(p.at(to).error());
    CHECK(log.order.size() == events_before);
    CHECK(log.closed.empty());
    CHECK(log.connected == connected_before);
    CHECK(log.received.size() == received_before);

    const auto stats_after = p.at(to).stats();
    CHECK(stats_after.datagrams_in == stats_before.datagrams_in + 1);
    CHECK(stats_after.records_received == stats_before.records_received);
    if (h.counted) {
      CHECK(stats_after.*h.counted == stats_before.*h.counted + 1);
    } else if (h.any_counter) {
      CHECK(total_dropped(stats_after) == total_dropped(stats_before) + 1);
    }
  }
}

}  // namespace

TEST_CASE("hostile datagrams during the handshake are dropped without changing it", "[security]") {
  std::mt19937_64 rng(2024);
  pair p(client_context(), server_context());

  // Before the server heard anything: break the client's real ClientHello in every way.
  const bytes hello = p.net().wire(direction::client_to_server).at(0).data;
  REQUIRE(has_handshake(hello, handshake_type::client_hello));
  inject_all(p, side::server, mutations(hello));
  inject_all(p, side::server, garbage(rng));
  // The client, waiting for the server's flight, gets the same, and a ClientHello it never
  // receives as a client.
  inject_all(p, side::client, mutations(hello, true));
  inject_all(p, side::client, garbage(rng));
  inject_all(
      p, side::client,
      {{"a ClientHello to the client", hello, &session_stats::datagrams_dropped_unexpected}});
  REQUIRE(p.net().delivered(direction::client_to_server) == 0);

  // Mid-handshake: the server answered the real ClientHello; its flight is in flight.
  REQUIRE(p.step());
  REQUIRE(p.net().delivered(direction::client_to_server) == 1);
  REQUIRE(!p.net().wire(direction::server_to_client).empty());
  const bytes server_hello = p.net().wire(direction::server_to_client).at(0).data;
  REQUIRE(has_handshake(server_hello, handshake_type::server_hello));
  inject_all(p, side::client, mutations(server_hello));
  inject_all(p, side::server, mutations(server_hello, true));
  // A repeated ClientHello is the client's retransmission to OpenSSL: no counter, no change.
  inject_all(p, side::server, {{"the ClientHello again", hello}});

  const bool ok = p.handshake();
  INFO(p.trace());
  REQUIRE(ok);
  for (side s : all_sides) {
    CAPTURE(name(s));
    CHECK(p.events(s).errors.empty());
    CHECK(p.events(s).connected == 1);
  }
  CHECK(p.transfer(side::client, "unharmed"));
  CHECK(p.transfer(side::server, "unharmed"));
}

TEST_CASE("hostile datagrams after the handshake are dropped without changing it", "[security]") {
  std::mt19937_64 rng(4048);
  pair p(client_context(), server_context());
  REQUIRE(p.handshake());
  const bytes hello = p.net().wire(direction::client_to_server).at(0).data;
  const bytes server_hello = p.net().wire(direction::server_to_client).at(0).data;

  for (side to : all_sides) {
    CAPTURE(name(to));
    // A real application record from the peer, already delivered.
    REQUIRE(p.transfer(other(to), "sample"));
    const auto received = p.events(to).received.size();
    const bytes record = p.net().wire(from(other(to))).back().data;
    REQUIRE(has_record(record, content_type::application_data));

    inject_all(p, to, mutations(record));
    inject_all(p, to, garbage(rng));
    inject_all(p, to,
               {{"the application record again", record, &session_stats::records_discarded}});
    // Old handshake messages, well-formed but from the finished epoch 0.
    inject_all(p, to,
               {{"a ClientHello replayed", hello}, {"a ServerHello replayed", server_hello}});
    inject_all(p, to, mutations(to == side::server ? hello : server_hello));
    inject_all(p, to, mutations(to == side::server ? server_hello : hello, true));
    // Plaintext alerts: anyone on the path can forge them, so after the handshake they do not
    // count (RFC 6347 section 4.1.2.7: records from another epoch are discarded).
    inject_all(p, to,
               {{"a plaintext fatal handshake_failure alert", plaintext_alert(2, 40)},
                {"a plaintext close_notify", plaintext_alert(1, 0)}});

    CHECK(p.at(to).state() == state::connected);
    CHECK(p.events(to).received.size() == received);
    CHECK(p.transfer(side::client, "still flowing"));
    CHECK(p.transfer(side::server, "still flowing"));
  }
  for (side s : all_sides) {
    CHECK(p.events(s).errors.empty());
    CHECK(p.events(s).closed.empty());
    CHECK(p.events(s).connected == 1);
  }
}

TEST_CASE("an application record fed twice is delivered once and counted as discarded",
          "[security][session]") {
  pair p(client_context(), server_context());
  REQUIRE(p.handshake());
  REQUIRE(p.transfer(side::client, "once"));
  const bytes record = p.net().wire(direction::client_to_server).back().data;
  const auto before = p.server().stats();

  CHECK_FALSE(p.inject(side::server, record));
  CHECK(p.events(side::server).texts() == std::vector<std::string>{"once"});
  const auto after = p.server().stats();
  CHECK(after.records_received == before.records_received);
  CHECK(after.records_discarded == before.records_discarded + 1);
  CHECK(p.transfer(side::client, "twice"));
  CHECK(p.events(side::server).texts() == std::vector<std::string>{"once", "twice"});
}

TEST_CASE("a plaintext alert injected after the handshake is ignored", "[security]") {
  pair p(client_context(), server_context());
  REQUIRE(p.handshake());
  for (side s : all_sides) {
    CAPTURE(name(s));
    CHECK_FALSE(p.inject(s, plaintext_alert(2, 40)));  // fatal handshake_failure
    CHECK_FALSE(p.inject(s, plaintext_alert(2, 42)));  // fatal bad_certificate
    CHECK_FALSE(p.inject(s, plaintext_alert(1, 0)));   // close_notify
    CHECK(p.at(s).state() == state::connected);
    CHECK(p.events(s).closed.empty());
  }
  CHECK(p.transfer(side::client, "ignored"));
  CHECK(p.transfer(side::server, "ignored"));
}

TEST_CASE("hostile datagrams fed to a failed session return its sticky error", "[security]") {
  pair p(client_context(), dtlspp::expect({stranger()}), server_context(),
         dtlspp::expect({client_context().identity().fingerprint()}));
  REQUIRE_FALSE(p.handshake());
  std::mt19937_64 rng(99);
  const bytes hello = p.net().wire(direction::client_to_server).at(0).data;
  for (const auto& h : mutations(hello)) {
    CAPTURE(h.what);
    std::error_code ec;
    REQUIRE_NOTHROW(ec = p.inject(side::client, h.data));
    CHECK(ec == errc::fingerprint_mismatch);
  }
  for (const auto& h : garbage(rng)) {
    std::error_code ec;
    REQUIRE_NOTHROW(ec = p.inject(side::server, h.data));
    CHECK(ec == errc::peer_alert);
  }
}

namespace {

// plaintext_record builds one epoch-0 record of content type `type` carrying body.
bytes plaintext_record(std::uint8_t type, std::initializer_list<int> body) {
  bytes r{static_cast<std::byte>(type), std::byte{0xFE}, std::byte{0xFD}};
  r.resize(13);  // epoch 0, sequence number 0
  put_be(r, 11, body.size(), 2);
  for (const int b : body)
    r.push_back(static_cast<std::byte>(b));
  return r;
}

}  // namespace

TEST_CASE("forged plaintext records that OpenSSL would make fatal cannot end a handshake",
          "[security]") {
  // Each of these, injected mid-handshake, made OpenSSL fail the handshake before the record
  // filter dropped them: a change_cipher_spec that is not the byte 1, an alert of the wrong
  // length, application data in epoch 0, and plaintext warning alerts.
  const std::vector<hostile> forgeries{
      {"change_cipher_spec of value 2", plaintext_record(content_type::change_cipher_spec, {2}),
       &session_stats::datagrams_dropped_malformed},
      {"change_cipher_spec of 2 bytes", plaintext_record(content_type::change_cipher_spec, {1, 1}),
       &session_stats::datagrams_dropped_malformed},
      {"alert of 3 bytes", plaintext_record(content_type::alert, {2, 40, 0}),
       &session_stats::datagrams_dropped_malformed},
      {"application data in epoch 0", plaintext_record(content_type::application_data, {'h', 'i'}),
       &session_stats::datagrams_dropped_malformed},
      {"warning no_renegotiation", plaintext_record(content_type::alert, {1, 100}),
       &session_stats::datagrams_dropped_unexpected},
      {"warning close_notify", plaintext_record(content_type::alert, {1, 0}),
       &session_stats::datagrams_dropped_unexpected},
  };
  const side target = GENERATE(side::client, side::server);
  CAPTURE(name(target));
  pair p(client_context(), server_context());
  REQUIRE(p.step());  // the server has the ClientHello and answered: both are mid-handshake
  inject_all(p, target, forgeries);
  const bool ok = p.handshake();
  INFO(p.trace());
  REQUIRE(ok);
  CHECK(p.transfer(side::client, "unharmed"));
}

TEST_CASE("a HelloVerifyRequest sent to a server is dropped as unexpected", "[security]") {
  pair p(client_context(), server_context());
  // A HelloVerifyRequest: record header, handshake header (type 3), version and a cookie.
  bytes hvr = plaintext_record(content_type::handshake,
                               {3, 0, 0, 5, 0, 0, 0, 0, 0, 0, 0, 5, 0xFE, 0xFF, 2, 0xAB, 0xCD});
  inject_all(
      p, side::server,
      {{"a HelloVerifyRequest to the server", hvr, &session_stats::datagrams_dropped_unexpected}});
  REQUIRE(p.handshake());
}

TEST_CASE("a peer presenting a chain of 100 certificates is verified by its leaf alone",
          "[security]") {
  // The verifier pins the leaf; the chain behind it is never built or trusted, and its size is
  // bounded by OpenSSL's certificate list limit (100 KiB), here about 35 KiB in 30 datagrams.
  const dtlspp::context server_ctx = make_context(dtlspp::identity::generate());
  for (int i = 0; i < 99; ++i) {
    const auto extra = dtlspp::identity::generate();
    REQUIRE(SSL_CTX_add1_chain_cert(server_ctx.native_handle(),
                                    extra.certificate().native_handle()) == 1);
  }
  pair p(client_context(), server_ctx);
  const bool ok = p.handshake();
  INFO(p.trace());
  REQUIRE(ok);
  CHECK(p.events(side::server).largest_transmit <= 1200);
  CHECK(p.net().wire(direction::server_to_client).size() > 25);
  CHECK(*p.client().peer_certificate() == server_ctx.identity().certificate());
  CHECK(p.transfer(side::server, "through a long chain"));
}

TEST_CASE("a peer whose certificate has a 16384-bit RSA key is handled", "[security]") {
  // The key is large but legal; its cost falls on the peer that signs with it. The verifier
  // sees it like any other certificate, and the flights stay within the MTU.
  const auto read = [](const char* name) {
    std::ifstream in(std::string(DTLSPP_TEST_DATA) + "/" + name);
    return std::string(std::istreambuf_iterator<char>(in), {});
  };
  const auto big = dtlspp::identity::from_pem(read("rsa16384.crt"), read("rsa16384.key"));
  const dtlspp::context server_ctx = make_context(big);
  pair p(client_context(), server_ctx);
  const bool ok = p.handshake(std::chrono::seconds(60));
  INFO(p.trace());
  REQUIRE(ok);
  CHECK(p.events(side::server).largest_transmit <= 1200);
  CHECK(*p.client().peer_certificate() == big.certificate());
  CHECK(p.transfer(side::client, "to a very large key"));
}

TEST_CASE("a ClientHello in two overlapping fragments is reassembled", "[security]") {
  // RFC 6347 section 4.2.3: fragments may overlap; the receiver reassembles by offset.
  pair p(client_context(), server_context());
  const bytes hello = p.net().wire(direction::client_to_server).at(0).data;
  REQUIRE(has_handshake(hello, handshake_type::client_hello));
  const std::size_t length = get_be(hello, 13 + 1, 3);
  const bytes body(hello.begin() + 25, hello.end());
  REQUIRE(body.size() == length);
  // fragment builds one record holding body[offset, offset + size) as a handshake fragment.
  const auto fragment = [&](std::size_t offset, std::size_t size, std::uint64_t sequence) {
    bytes r(hello.begin(), hello.begin() + 25);  // record and handshake headers, then patch
    r.insert(r.end(), body.begin() + static_cast<long>(offset),
             body.begin() + static_cast<long>(offset + size));
    put_be(r, 5, sequence, 6);
    put_be(r, 11, 12 + size, 2);
    put_be(r, 13 + 6, offset, 3);
    put_be(r, 13 + 9, size, 3);
    return r;
  };
  const std::size_t half = length / 2;
  bytes datagram = fragment(0, half + 10, 100);
  const bytes second = fragment(half - 10, length - (half - 10), 101);
  datagram.insert(datagram.end(), second.begin(), second.end());
  REQUIRE(p.net().delivered(direction::client_to_server) == 0);  // the real one is in flight
  REQUIRE_FALSE(p.inject(side::server, datagram));
  CHECK(p.server().stats().datagrams_dropped_malformed == 0);
  // The server answered the two fragments: it reassembled them into the ClientHello.
  REQUIRE_FALSE(p.net().wire(direction::server_to_client).empty());
  CHECK(has_handshake(p.net().wire(direction::server_to_client).at(0).data,
                      handshake_type::server_hello));
  // The server answered the reassembled ClientHello: the handshake completes from here.
  const bool ok = p.handshake();
  INFO(p.trace());
  REQUIRE(ok);
  CHECK(p.transfer(side::client, "reassembled"));
}

namespace {

// forged_server_hello returns the server's real ServerHello record (the first record of its
// first flight), with edit applied to its body (the bytes after the 12-byte handshake header).
bytes forged_server_hello(const pair& p, const std::function<void(bytes&, std::size_t)>& edit) {
  const auto& first = p.net().wire(direction::server_to_client).at(0).data;
  const auto records = parse_records(first);
  REQUIRE(records.at(0).handshake_msg_type() == handshake_type::server_hello);
  bytes r(first.begin(),
          first.begin() + static_cast<long>(record_header_size + records[0].fragment.size()));
  const std::size_t body = record_header_size + handshake_header_size;
  const std::size_t session_id = std::to_integer<std::size_t>(r.at(body + 34));
  edit(r, body + 35 + session_id);  // where the cipher suite is
  return r;
}

}  // namespace

TEST_CASE("a forged ServerHello no server could send is dropped before OpenSSL sees it",
          "[security]") {
  // RFC 5246 section 7.4.1.3: the server answers with the version and one of the suites the
  // client offered, and the null compression method.
  pair p(client_context(), server_context());
  REQUIRE(p.step());  // the server answered the ClientHello; its flight is in flight
  const std::size_t version_at = record_header_size + handshake_header_size;
  const std::vector<hostile> forgeries{
      {"ServerHello offering DTLS 1.0",
       forged_server_hello(p, [&](bytes& r, std::size_t) { put_be(r, version_at, 0xFEFF, 2); }),
       &session_stats::datagrams_dropped_unexpected},
      {"ServerHello with a suite the client did not offer (RC4-SHA)",
       forged_server_hello(p, [](bytes& r, std::size_t suite) { put_be(r, suite, 0x0005, 2); }),
       &session_stats::datagrams_dropped_unexpected},
      {"ServerHello with deflate compression",
       forged_server_hello(p, [](bytes& r, std::size_t suite) { put_be(r, suite + 2, 1, 1); }),
       &session_stats::datagrams_dropped_unexpected},
  };
  inject_all(p, side::client, forgeries);
  const bool ok = p.handshake();
  INFO(p.trace());
  REQUIRE(ok);
  CHECK(p.transfer(side::server, "unharmed"));
}

TEST_CASE("a believable forged ServerHello that comes first still ends the handshake",
          "[security]") {
  // The documented DTLS 1.2 limit (record_filter.hpp): nothing is authenticated before the
  // Finished messages, so a well-formed ServerHello with a fresh random is taken for the real
  // one, and the handshake fails when the server's signature does not cover it. It fails; it
  // never completes with the forger.
  pair p(client_context(), server_context());
  REQUIRE(p.step());
  const bytes forged = forged_server_hello(p, [](bytes& r, std::size_t) {
    r.at(record_header_size + handshake_header_size + 2) ^= std::byte{0xFF};  // the random
  });
  static_cast<void>(p.inject(side::client, forged));
  CHECK(p.client().state() == state::handshaking);
  p.handshake();
  CHECK(p.client().state() == state::failed);
  CHECK_FALSE(p.connected());
  CHECK(p.events(side::client).connected == 0);
}
