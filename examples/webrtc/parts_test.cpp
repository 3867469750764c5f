// parts_test: the WebRTC example's parts without a browser: STUN against RFC 5769's test vectors,
// SDP offers shaped as Chromium's and Firefox's, DCEP messages (RFC 8832), and a browser-sized
// ClientHello in fragments through a real dtlspp::listener.
#define CATCH_CONFIG_MAIN
#include <catch2/catch.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <zlib.h>

#include <dtlspp/dtlspp.hpp>

#include <algorithm>
#include <array>
#include <initializer_list>
#include <string>
#include <vector>

#include "data_channel.hpp"
#include "sdp.hpp"
#include "stun.hpp"
#include "util.hpp"

namespace {

using webrtc::bytes;

bytes hex_bytes(std::initializer_list<unsigned> values) {
  bytes out;
  for (const auto v : values)
    out.push_back(std::byte(v));
  return out;
}

// RFC 5769 section 2.1: a binding request with SOFTWARE ("STUN test client"), PRIORITY,
// ICE-CONTROLLED, USERNAME "evtj:h6vY", MESSAGE-INTEGRITY keyed with "VOkJxbRl1RmTxUk/WvJxBt", and
// FINGERPRINT.
const bytes rfc5769_request = hex_bytes({
    0x00, 0x01, 0x00, 0x58, 0x21, 0x12, 0xa4, 0x42, 0xb7, 0xe7, 0xa7, 0x01, 0xbc, 0x34, 0xd6, 0x86,
    0xfa, 0x87, 0xdf, 0xae, 0x80, 0x22, 0x00, 0x10, 0x53, 0x54, 0x55, 0x4e, 0x20, 0x74, 0x65, 0x73,
    0x74, 0x20, 0x63, 0x6c, 0x69, 0x65, 0x6e, 0x74, 0x00, 0x24, 0x00, 0x04, 0x6e, 0x00, 0x01, 0xff,
    0x80, 0x29, 0x00, 0x08, 0x93, 0x2f, 0xf9, 0xb1, 0x51, 0x26, 0x3b, 0x36, 0x00, 0x06, 0x00, 0x09,
    0x65, 0x76, 0x74, 0x6a, 0x3a, 0x68, 0x36, 0x76, 0x59, 0x20, 0x20, 0x20, 0x00, 0x08, 0x00, 0x14,
    0x9a, 0xea, 0xa7, 0x0c, 0xbf, 0xd8, 0xcb, 0x56, 0x78, 0x1e, 0xf2, 0xb5, 0xb2, 0xd3, 0xf2, 0x49,
    0xc1, 0xb5, 0x71, 0xa2, 0x80, 0x28, 0x00, 0x04, 0xe5, 0x7a, 0x3b, 0xcf,
});
constexpr auto rfc5769_password = "VOkJxbRl1RmTxUk/WvJxBt";

// attribute returns the value of the first STUN attribute of type t in m.
bytes attribute(const bytes& m, std::uint16_t t) {
  for (std::size_t at = 20; at + 4 <= m.size();) {
    const auto type = webrtc::be16(m.data() + at);
    const std::size_t length = webrtc::be16(m.data() + at + 2);
    if (type == t) return bytes(m.begin() + at + 4, m.begin() + at + 4 + length);
    at += 4 + (length + 3) / 4 * 4;
  }
  return {};
}

}  // namespace

TEST_CASE("a binding request from RFC 5769 parses, and its integrity checks with its password only",
          "[webrtc][stun]") {
  std::string why;
  const auto r = webrtc::stun::parse_binding_request(rfc5769_request, why);
  INFO(why);
  REQUIRE(r);
  CHECK(r->username == "evtj:h6vY");
  CHECK_FALSE(r->use_candidate);
  CHECK(webrtc::stun::integrity_ok(*r, rfc5769_password));
  CHECK_FALSE(webrtc::stun::integrity_ok(*r, "VOkJxbRl1RmTxUk/WvJxBu"));
}

TEST_CASE("a binding request with a changed byte or a bad FINGERPRINT is refused",
          "[webrtc][stun]") {
  std::string why;
  auto bad_crc = rfc5769_request;
  bad_crc.back() ^= std::byte{1};
  CHECK_FALSE(webrtc::stun::parse_binding_request(bad_crc, why));
  CHECK(why == "bad FINGERPRINT");
  auto changed = rfc5769_request;
  changed[30] ^= std::byte{1};  // inside SOFTWARE: FINGERPRINT catches it first
  CHECK_FALSE(webrtc::stun::parse_binding_request(changed, why));
  const auto truncated = bytes(rfc5769_request.begin(), rfc5769_request.end() - 4);
  CHECK_FALSE(webrtc::stun::parse_binding_request(truncated, why));
  auto response_type = rfc5769_request;
  response_type[1] = std::byte{0x01};
  response_type[0] = std::byte{0x01};
  CHECK_FALSE(webrtc::stun::parse_binding_request(response_type, why));
}

TEST_CASE("the success response carries RFC 5769's XOR-MAPPED-ADDRESS, integrity and fingerprint",
          "[webrtc][stun]") {
  std::string why;
  const auto r = webrtc::stun::parse_binding_request(rfc5769_request, why);
  REQUIRE(r);
  // RFC 5769 section 2.2 answers this request from 192.0.2.1:32853.
  const auto to = dtlspp::io::endpoint::resolve("192.0.2.1", "32853").front();
  const auto response = webrtc::stun::success_response(*r, to, rfc5769_password);
  CHECK(webrtc::be16(response.data()) == 0x0101);
  CHECK(std::equal(response.begin() + 8, response.begin() + 20, rfc5769_request.begin() + 8));
  CHECK(attribute(response, 0x0020) == hex_bytes({0x00, 0x01, 0xa1, 0x47, 0xe1, 0x12, 0xa6, 0x43}));
  // MESSAGE-INTEGRITY is checked the way a request's is; FINGERPRINT is the CRC-32 of all before
  // it, XORed with 0x5354554e (RFC 8489 sections 14.5 and 14.7).
  const std::size_t integrity_at = response.size() - 8 - 24;
  REQUIRE(webrtc::be16(response.data() + integrity_at) == 0x0008);
  const webrtc::stun::binding_request as_request{"", false, integrity_at, response};
  CHECK(webrtc::stun::integrity_ok(as_request, rfc5769_password));
  const auto crc = static_cast<std::uint32_t>(crc32(
      0L, reinterpret_cast<const Bytef*>(response.data()), static_cast<uInt>(response.size() - 8)));
  CHECK(webrtc::be32(response.data() + response.size() - 4) == (crc ^ 0x5354554eU));
}

namespace {

std::string offer_text(const std::string& fingerprint, bool firefox) {
  // Shaped as the browsers' offers: audio, a data channel and video, bundled; Firefox puts
  // a=fingerprint at the session level.
  std::string s = "v=0\r\no=- 4611 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\na=group:BUNDLE 0 1 2\r\n";
  const auto fp = "a=fingerprint:" + fingerprint + "\r\n";
  if (firefox) s += fp;
  const auto transport =
      std::string("a=ice-ufrag:7f1e\r\na=ice-pwd:0123456789abcdef0123456789\r\n") +
      (firefox ? "" : fp) + "a=setup:actpass\r\n";
  s += "m=audio 9 UDP/TLS/RTP/SAVPF 111 63\r\nc=IN IP4 0.0.0.0\r\n" + transport +
       "a=mid:0\r\na=sendrecv\r\na=rtcp-mux\r\na=rtpmap:111 opus/48000/2\r\n"
       "a=fmtp:111 minptime=10;useinbandfec=1\r\na=rtpmap:63 red/48000/2\r\n"
       "a=ssrc:1234 cname:x\r\n";
  s += "m=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\nc=IN IP4 0.0.0.0\r\n" + transport +
       "a=mid:1\r\na=sctp-port:5000\r\na=max-message-size:262144\r\n";
  s += "m=video 9 UDP/TLS/RTP/SAVPF 96\r\nc=IN IP4 0.0.0.0\r\n" + transport +
       "a=mid:2\r\na=rtpmap:96 VP8/90000\r\n";
  return s;
}

bool has_line(const std::string& sdp, const std::string& line) {
  return sdp.find(line + "\r\n") != std::string::npos;
}

}  // namespace

TEST_CASE("an offer as Chromium and Firefox shape it is read, and answered in either DTLS role",
          "[webrtc][sdp]") {
  const auto fp = dtlspp::identity::generate().fingerprint().to_string();
  for (const bool firefox : {false, true}) {
    INFO((firefox ? "Firefox" : "Chromium") << "-shaped offer");
    const auto o = webrtc::parse_offer(offer_text(fp, firefox));
    CHECK(o.ice_ufrag == "7f1e");
    CHECK(o.setup == "actpass");
    REQUIRE(o.fingerprints.size() == 1);
    CHECK(o.fingerprints[0].to_string() == fp);
    CHECK(o.media_index == 0);
    CHECK(o.data_index == 1);
    CHECK(o.payload_type == 111);
    CHECK(o.sections[0].ssrcs == std::vector<std::uint32_t>{1234});
    CHECK(o.sections[1].sctp_port == 5000);
    for (const auto role : {dtlspp::role::server, dtlspp::role::client}) {
      const auto a =
          webrtc::make_answer(o, {"ufrag", "pwd", "sha-256 AA", role, "127.0.0.1", 4242});
      CHECK(has_line(a, "a=ice-lite"));
      CHECK(has_line(a, "a=group:BUNDLE 0 1"));  // the rejected video is not bundled
      CHECK(has_line(a, "m=audio 4242 UDP/TLS/RTP/SAVPF 111"));
      CHECK(has_line(a, "a=rtpmap:111 opus/48000/2"));
      CHECK(has_line(a, "a=recvonly"));
      CHECK(has_line(a, "m=application 4242 UDP/DTLS/SCTP webrtc-datachannel"));
      CHECK(has_line(a, "a=sctp-port:5000"));
      CHECK(has_line(a, "m=video 0 UDP/TLS/RTP/SAVPF 96"));
      CHECK(has_line(a, "a=candidate:1 1 udp 2130706431 127.0.0.1 4242 typ host"));
      CHECK(has_line(a, role == dtlspp::role::server ? "a=setup:passive" : "a=setup:active"));
      CHECK_FALSE(has_line(a, role == dtlspp::role::server ? "a=setup:active" : "a=setup:passive"));
    }
  }
}

TEST_CASE("an offer's a=setup limits the answer's role, and an unusable offer is refused",
          "[webrtc][sdp]") {
  const auto fp = dtlspp::identity::generate().fingerprint().to_string();
  auto text = offer_text(fp, false);
  for (std::size_t at; (at = text.find("a=setup:actpass")) != std::string::npos;)
    text.replace(at, 15, "a=setup:active");
  const auto o = webrtc::parse_offer(text);
  CHECK(webrtc::can_answer_as(o, dtlspp::role::server));
  CHECK_FALSE(webrtc::can_answer_as(o, dtlspp::role::client));
  CHECK_THROWS(webrtc::parse_offer("v=0\r\ns=-\r\n"));
  auto no_fingerprint = offer_text(fp, true);
  no_fingerprint.erase(no_fingerprint.find("a=fingerprint:"), 14 + fp.size() + 2);
  CHECK_THROWS_WITH(webrtc::parse_offer(no_fingerprint), Catch::Contains("fingerprint"));
}

TEST_CASE("DATA_CHANNEL_OPEN messages are read as RFC 8832 lays them out", "[webrtc][dcep]") {
  // type 0x03, channel type, priority, reliability, label length, protocol length, label, protocol
  const auto reliable = hex_bytes({0x03, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x05, 0x00,
                                   0x04, 'h',  'e',  'l',  'l',  'o',  'c',  'h',  'a',  't'});
  const auto o = webrtc::data_channel::parse_open(reliable);
  REQUIRE(o);
  CHECK(o->label == "hello");
  CHECK(o->protocol == "chat");
  CHECK_FALSE(o->unordered());
  CHECK(o->describe() == "ordered, reliable");
  const auto unordered =
      hex_bytes({0x03, 0x81, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00});
  const auto u = webrtc::data_channel::parse_open(unordered);
  REQUIRE(u);
  CHECK(u->unordered());
  CHECK(u->describe() == "unordered, at most 0 retransmissions");
  auto long_label = reliable;
  long_label[9] = std::byte{6};  // says 6 bytes of label, has 5
  CHECK_FALSE(webrtc::data_channel::parse_open(long_label));
  auto bad_type = reliable;
  bad_type[1] = std::byte{0x03};
  CHECK_FALSE(webrtc::data_channel::parse_open(bad_type));
}

namespace {

// split_client_hello rewrites a datagram holding one unfragmented ClientHello record as two
// datagrams, each one record with a part of the message (RFC 6347 section 4.2.3), the way a
// browser sends a ClientHello larger than its MTU: the first fragment, three quarters of the
// message, holds everything up to the extensions (the listener reads the cookie and the cipher
// suites from it).
std::pair<bytes, bytes> split_client_hello(std::span<const std::byte> d) {
  const std::size_t length = webrtc::be32(d.data() + 13) & 0xffffff;
  const auto body = d.subspan(25, length);
  const std::size_t half = length * 3 / 4;
  auto make = [&](std::size_t offset, std::size_t size, std::uint8_t sequence_bump) {
    bytes out(d.begin(), d.begin() + 25);
    out[10] = std::byte(std::to_integer<unsigned>(out[10]) + sequence_bump);
    webrtc::set16(out, 11, static_cast<std::uint16_t>(12 + size));
    for (int i = 0; i < 3; ++i) {
      out[19 + i] = std::byte((offset >> (16 - 8 * i)) & 0xff);
      out[22 + i] = std::byte((size >> (16 - 8 * i)) & 0xff);
    }
    out.insert(out.end(), body.begin() + static_cast<std::ptrdiff_t>(offset),
               body.begin() + static_cast<std::ptrdiff_t>(offset + size));
    return out;
  };
  return {make(0, half, 0), make(half, length - half, 1)};
}

}  // namespace

TEST_CASE("a ClientHello in two fragments completes a handshake through the listener",
          "[webrtc][fragments]") {
  const dtlspp::context server_ctx, client_ctx;
  dtlspp::listener_options options;
  options.cookies = false;  // ICE proves the address, as in the example
  dtlspp::listener listener(server_ctx, dtlspp::expect({client_ctx.identity().fingerprint()}),
                            options);
  dtlspp::session client(client_ctx, dtlspp::role::client,
                         dtlspp::expect({server_ctx.identity().fingerprint()}));
  const auto peer = webrtc::as_bytes("browser:5000");
  auto e = client.poll();
  REQUIRE(e);
  const auto* hello = std::get_if<dtlspp::transmit>(&*e);
  REQUIRE(hello);
  const auto [first, second] = split_client_hello(hello->datagram);

  // The listener keeps the first fragment and begins the handshake with the second.
  CHECK_FALSE(listener.handle_datagram(peer, first));
  CHECK(listener.find(peer) == nullptr);
  CHECK_FALSE(listener.handle_datagram(peer, second));
  REQUIRE(listener.find(peer) != nullptr);
  bool client_connected = false, server_connected = false;
  for (int round = 0; round < 10 && !(client_connected && server_connected); ++round) {
    std::vector<bytes> to_client, to_server;
    while (auto pe = listener.poll()) {
      if (const auto* t = std::get_if<dtlspp::transmit>(&pe->event))
        to_client.emplace_back(t->datagram.begin(), t->datagram.end());
      server_connected |= std::holds_alternative<dtlspp::connected>(pe->event);
    }
    for (const auto& d : to_client)
      CHECK_FALSE(client.handle_datagram(d));
    while (auto ce = client.poll()) {
      if (const auto* t = std::get_if<dtlspp::transmit>(&*ce))
        to_server.emplace_back(t->datagram.begin(), t->datagram.end());
      client_connected |= std::holds_alternative<dtlspp::connected>(*ce);
    }
    for (const auto& d : to_server)
      CHECK_FALSE(listener.handle_datagram(peer, d));
  }
  CHECK(client_connected);
  CHECK(server_connected);
  CHECK(client.state() == dtlspp::state::connected);
}
