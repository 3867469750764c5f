// demux_test: RFC 7983 section 7 first-byte classification, at every boundary.
#include <catch2/catch.hpp>

#include <array>

#include "dtlspp/demux.hpp"

using dtlspp::packet_kind;

namespace {

packet_kind kind_of(unsigned first) {
  const std::array<std::byte, 2> d{static_cast<std::byte>(first), std::byte{0}};
  return dtlspp::classify(d);
}

}  // namespace

TEST_CASE("classify follows RFC 7983 at every boundary byte", "[demux]") {
  struct row {
    unsigned first;
    packet_kind kind;
  };
  const row table[] = {
      {0, packet_kind::stun},          {3, packet_kind::stun},
      {4, packet_kind::unknown},       {15, packet_kind::unknown},
      {16, packet_kind::zrtp},         {19, packet_kind::zrtp},
      {20, packet_kind::dtls},         {63, packet_kind::dtls},
      {64, packet_kind::turn_channel}, {79, packet_kind::turn_channel},
      {80, packet_kind::unknown},      {127, packet_kind::unknown},
      {128, packet_kind::rtp_rtcp},    {191, packet_kind::rtp_rtcp},
      {192, packet_kind::unknown},     {255, packet_kind::unknown},
  };
  for (const auto& r : table) {
    CAPTURE(r.first);
    CHECK(kind_of(r.first) == r.kind);
  }
}

TEST_CASE("classify covers all 256 first bytes consistently with the ranges", "[demux]") {
  for (unsigned b = 0; b < 256; ++b) {
    CAPTURE(b);
    const auto k = kind_of(b);
    if (b <= 3)
      CHECK(k == packet_kind::stun);
    else if (b >= 16 && b <= 19)
      CHECK(k == packet_kind::zrtp);
    else if (b >= 20 && b <= 63)
      CHECK(k == packet_kind::dtls);
    else if (b >= 64 && b <= 79)
      CHECK(k == packet_kind::turn_channel);
    else if (b >= 128 && b <= 191)
      CHECK(k == packet_kind::rtp_rtcp);
    else
      CHECK(k == packet_kind::unknown);
  }
}

TEST_CASE("an empty datagram is unknown, and classify is usable at compile time", "[demux]") {
  CHECK(dtlspp::classify({}) == packet_kind::unknown);
  constexpr std::array<std::byte, 1> handshake{std::byte{22}};
  static_assert(dtlspp::classify(handshake) == packet_kind::dtls);
}
