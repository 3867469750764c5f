#include "peer.hpp"

#include <fmt/format.h>

namespace webrtc {

std::string peer_json(const peer_connection& pc, steady::time_point now) {
  auto strings = [](const auto& list) {
    std::vector<std::string> out;
    for (const auto& s : list)
      out.push_back(json_string(s));
    return json_list(out);
  };
  const auto* media = pc.remote.media_index ? &pc.remote.sections[*pc.remote.media_index] : nullptr;
  std::string j = fmt::format(
      "{{\"id\":{},\"age_s\":{:.3f},\"dtls_role\":{},\"offer_setup\":{},\"media\":{},"
      "\"data_channel\":{},\"browser_fingerprints\":{},\"answer_fingerprint\":{},",
      pc.id, std::chrono::duration<double>(now - pc.created).count(),
      json_string(pc.dtls_role == dtlspp::role::client ? "client" : "server"),
      json_string(pc.remote.setup), json_string(media ? media->kind : ""),
      pc.remote.data_index.has_value(), strings(pc.remote.fingerprint_lines),
      json_string(pc.answer_fingerprint));
  j += fmt::format(
      "\"ice\":{{\"requests\":{},\"responses\":{},\"rejected\":{},\"nominations\":{},"
      "\"address\":{},\"last_reject\":{},\"consent_age_s\":{}}},",
      pc.ice.requests, pc.ice.responses, pc.ice.rejected, pc.ice.nominations,
      json_string(pc.address ? pc.address->to_string() : ""), json_string(pc.ice.last_reject),
      pc.last_consent
          ? fmt::format("{:.3f}", std::chrono::duration<double>(now - *pc.last_consent).count())
          : "null");
  j += fmt::format(
      "\"dtls\":{{\"state\":{},\"error\":{},\"error_code\":{},\"cipher\":{},\"srtp_profile\":{},"
      "\"peer_fingerprint\":{},\"handshake_ms\":{},\"retransmissions\":{},\"datagrams_in\":{},"
      "\"datagrams_out\":{},\"records_unexpected\":{},\"browser\":{}}},",
      json_string(pc.dtls_state), json_string(pc.dtls_error), json_string(pc.dtls_error_code),
      json_string(pc.cipher), json_string(pc.srtp_profile), json_string(pc.peer_fingerprint),
      pc.handshake_ms ? fmt::format("{:.1f}", *pc.handshake_ms) : "null", pc.retransmissions,
      pc.dtls_in, pc.dtls_out, pc.records_unexpected, pc.probe.to_json());
  std::vector<std::string> pts, ssrcs, offer_ssrcs;
  srtp_stats s = pc.srtp ? pc.srtp->stats() : srtp_stats{};
  for (const auto& [pt, n] : s.payload_types)
    pts.push_back(fmt::format("\"{}\":{}", pt, n));
  for (const auto x : s.ssrcs)
    ssrcs.push_back(std::to_string(x));
  if (media)
    for (const auto x : media->ssrcs)
      offer_ssrcs.push_back(std::to_string(x));
  j += fmt::format(
      "\"srtp\":{{\"rtp_ok\":{},\"rtp_failed\":{},\"rtcp_ok\":{},\"rtcp_failed\":{},"
      "\"before_keys\":{},\"payload_bytes\":{},\"payload_types\":{{{}}},\"ssrcs\":{},"
      "\"offer_payload_type\":{},\"offer_ssrcs\":{},\"last_error\":{}}},",
      s.rtp_ok, s.rtp_failed, s.rtcp_ok, s.rtcp_failed, pc.media_before_keys, s.rtp_payload_bytes,
      fmt::join(pts, ","), json_list(ssrcs), pc.remote.payload_type, json_list(offer_ssrcs),
      json_string(s.last_error));
  std::vector<std::string> channels;
  if (pc.channels) {
    for (const auto& [stream, c] : pc.channels->all())
      channels.push_back(fmt::format(
          "{{\"stream\":{},\"label\":{},\"protocol\":{},\"type\":{},\"reliability\":{},"
          "\"ordered\":{},\"describe\":{},\"messages_in\":{},\"messages_out\":{},\"bytes_in\":{},"
          "\"bytes_out\":{}}}",
          stream, json_string(c.params.label), json_string(c.params.protocol),
          static_cast<unsigned>(c.params.type), c.params.reliability, !c.params.unordered(),
          json_string(c.params.describe()), c.messages_in, c.messages_out, c.bytes_in,
          c.bytes_out));
  }
  const auto* a = pc.channels ? &pc.channels->association() : nullptr;
  j += fmt::format(
      "\"sctp\":{{\"up\":{},\"packets_in\":{},\"packets_out\":{},\"largest_packet_out\":{},"
      "\"packet_limit\":{},\"packets_over_limit\":{},"
      "\"echoed\":{},\"echo_failed\":{},\"channels\":{},\"history\":{}}},",
      a && a->is_up(), a ? a->stats().packets_in : 0, a ? a->stats().packets_out : 0,
      a ? a->stats().largest_packet_out : 0, a ? a->packet_limit() : 0,
      a ? a->stats().packets_over_limit : 0, pc.echoed, pc.echo_failed, json_list(channels),
      strings(pc.channel_history));
  j += fmt::format(
      "\"ended\":{},\"end_reason\":{},\"ended_after_s\":{},"
      "\"log\":{}}}",
      pc.ended, json_string(pc.end_reason),
      pc.ended_after_s ? fmt::format("{:.3f}", *pc.ended_after_s) : "null", strings(pc.log));
  return j;
}

}  // namespace webrtc
