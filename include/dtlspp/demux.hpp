// dtlspp/demux.hpp: which protocol a datagram on a shared WebRTC port belongs to.
#pragma once

#include <cstddef>
#include <span>

namespace dtlspp {

// packet_kind is the class RFC 7983 section 7 gives a datagram by its first byte.
enum class packet_kind { stun, zrtp, dtls, turn_channel, rtp_rtcp, unknown };

// classify applies RFC 7983 section 7 (updating RFC 5764 section 5.1.2): first byte 0-3 STUN,
// 16-19 ZRTP, 20-63 DTLS, 64-79 TURN channel, 128-191 RTP or RTCP; anything else, and an empty
// datagram, is unknown and should be dropped. Reads one byte; never throws.
constexpr packet_kind classify(std::span<const std::byte> datagram) noexcept {
  if (datagram.empty()) return packet_kind::unknown;
  const auto b = std::to_integer<unsigned>(datagram[0]);
  if (b <= 3) return packet_kind::stun;
  if (b >= 16 && b <= 19) return packet_kind::zrtp;
  if (b >= 20 && b <= 63) return packet_kind::dtls;
  if (b >= 64 && b <= 79) return packet_kind::turn_channel;
  if (b >= 128 && b <= 191) return packet_kind::rtp_rtcp;
  return packet_kind::unknown;
}

}  // namespace dtlspp
