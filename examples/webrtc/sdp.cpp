#include "sdp.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <sstream>
#include <stdexcept>

namespace webrtc {

namespace {

std::vector<std::string> split_lines(std::string_view text) {
  std::vector<std::string> lines;
  std::size_t pos = 0;
  while (pos < text.size()) {
    auto end = text.find('\n', pos);
    if (end == std::string_view::npos) end = text.size();
    auto line = text.substr(pos, end - pos);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    lines.emplace_back(line);
    pos = end + 1;
  }
  return lines;
}

std::vector<std::string> split_words(std::string_view s) {
  std::vector<std::string> words;
  std::istringstream in{std::string(s)};
  for (std::string w; in >> w;)
    words.push_back(w);
  return words;
}

int to_int(std::string_view s) {
  return std::atoi(std::string(s).c_str());
}

// transport holds the transport attributes of one level (session or an m-section).
struct transport {
  std::string ufrag, pwd, setup;
  std::vector<std::string> fingerprints;
};

bool is_rtp_media(const media_description& m) {
  return (m.kind == "audio" || m.kind == "video") && m.proto.find("SAVP") != std::string::npos &&
         m.port != "0" && !m.formats.empty();
}

// RFC 8841 section 4: UDP/DTLS/SCTP (or TCP/DTLS/SCTP) with the webrtc-datachannel format.
bool is_data_channel(const media_description& m) {
  return m.kind == "application" && m.proto.ends_with("DTLS/SCTP") && m.port != "0" &&
         std::find(m.formats.begin(), m.formats.end(), "webrtc-datachannel") != m.formats.end();
}

void read_attribute(std::string_view name, std::string_view value, transport& t,
                    media_description* m) {
  if (name == "ice-ufrag") t.ufrag = value;
  if (name == "ice-pwd") t.pwd = value;
  if (name == "setup") t.setup = value;
  if (name == "fingerprint") t.fingerprints.emplace_back(value);
  if (!m) return;
  if (name == "mid") m->mid = value;
  if (name == "rtpmap" || name == "fmtp") {
    const auto space = value.find(' ');
    if (space == std::string_view::npos) return;
    (name == "rtpmap" ? m->rtpmap : m->fmtp)[to_int(value.substr(0, space))] =
        value.substr(space + 1);
  }
  if (name == "ssrc") {
    const auto ssrc =
        static_cast<std::uint32_t>(std::strtoul(std::string(value).c_str(), nullptr, 10));
    if (std::find(m->ssrcs.begin(), m->ssrcs.end(), ssrc) == m->ssrcs.end())
      m->ssrcs.push_back(ssrc);
  }
  if (name == "sctp-port") m->sctp_port = static_cast<std::uint16_t>(to_int(value));
  if (name == "max-message-size")
    m->max_message_size = std::strtoull(std::string(value).c_str(), nullptr, 10);
}

bool bundled(const offer& o, const media_description& m) {
  return std::find(o.bundle_mids.begin(), o.bundle_mids.end(), m.mid) != o.bundle_mids.end();
}

}  // namespace

offer parse_offer(std::string_view sdp) {
  offer o;
  transport session_level;
  std::vector<transport> levels;
  for (const auto& line : split_lines(sdp)) {
    if (line.starts_with("m=")) {
      auto w = split_words(std::string_view(line).substr(2));
      if (w.size() < 4) throw std::runtime_error("malformed m-line: " + line);
      o.sections.push_back({w[0], w[1], w[2], "", {w.begin() + 3, w.end()}, {}, {}, {}, {}, {}});
      levels.emplace_back();
      continue;
    }
    if (!line.starts_with("a=")) continue;
    const std::string_view a = std::string_view(line).substr(2);
    const auto colon = a.find(':');
    const auto name = a.substr(0, colon);
    const auto value = colon == std::string_view::npos ? std::string_view{} : a.substr(colon + 1);
    if (o.sections.empty()) {
      if (name == "group" && value.starts_with("BUNDLE")) {
        auto mids = split_words(value.substr(6));
        o.bundle_mids = std::move(mids);
      }
      read_attribute(name, value, session_level, nullptr);
    } else {
      read_attribute(name, value, levels.back(), &o.sections.back());
    }
  }
  if (o.sections.empty()) throw std::runtime_error("the offer has no m-line");
  const auto& first = levels.front();
  o.ice_ufrag = first.ufrag.empty() ? session_level.ufrag : first.ufrag;
  o.ice_pwd = first.pwd.empty() ? session_level.pwd : first.pwd;
  o.setup = first.setup.empty() ? session_level.setup : first.setup;
  o.fingerprint_lines =
      first.fingerprints.empty() ? session_level.fingerprints : first.fingerprints;
  if (o.ice_ufrag.empty() || o.ice_pwd.empty())
    throw std::runtime_error("the offer has no a=ice-ufrag/a=ice-pwd");
  for (const auto& line : o.fingerprint_lines) {
    if (auto fp = dtlspp::fingerprint::parse(line)) o.fingerprints.push_back(*fp);
  }
  if (o.fingerprints.empty()) throw std::runtime_error("the offer has no usable a=fingerprint");

  // One transport: without BUNDLE only the first acceptable m-section is taken.
  for (std::size_t i = 0; i < o.sections.size(); ++i) {
    const auto& m = o.sections[i];
    const bool may_add = (!o.media_index && !o.data_index) || bundled(o, m);
    if (!may_add) continue;
    if (!o.media_index && is_rtp_media(m)) o.media_index = i;
    if (!o.data_index && is_data_channel(m)) o.data_index = i;
  }
  if (!o.media_index && !o.data_index)
    throw std::runtime_error("the offer has neither SRTP audio/video nor a data channel");
  if (o.media_index) {
    const auto& m = o.sections[*o.media_index];
    o.payload_type = to_int(m.formats.front());
    if (!m.rtpmap.contains(o.payload_type) && o.payload_type >= 96)
      throw std::runtime_error(fmt::format("no a=rtpmap for payload type {}", o.payload_type));
  }
  return o;
}

bool can_answer_as(const offer& o, dtlspp::role r) {
  if (o.setup.empty() || o.setup == "actpass") return true;
  // The offerer's active means it is the DTLS client, so the answerer is the server.
  return o.setup == (r == dtlspp::role::server ? "active" : "passive");
}

std::string make_answer(const offer& o, const answer_parameters& p) {
  std::vector<std::size_t> accepted;
  for (const auto i : {o.media_index, o.data_index})
    if (i) accepted.push_back(*i);
  std::sort(accepted.begin(), accepted.end());
  const auto now = std::chrono::system_clock::now().time_since_epoch();
  std::string s =
      fmt::format("v=0\r\no=dtlspp {} 2 IN IP4 {}\r\ns=-\r\nt=0 0\r\n",
                  std::chrono::duration_cast<std::chrono::milliseconds>(now).count(), p.address);
  if (!o.bundle_mids.empty()) {
    s += "a=group:BUNDLE";
    for (const auto i : accepted)
      s += " " + o.sections[i].mid;
    s += "\r\n";
  }
  s += "a=ice-lite\r\n";
  // RFC 5763 section 5: setup:active makes this end the DTLS client, passive the server.
  const auto setup = p.dtls_role == dtlspp::role::client ? "active" : "passive";
  const auto transport_lines = fmt::format(
      "c=IN IP4 {0}\r\na=ice-ufrag:{1}\r\na=ice-pwd:{2}\r\na=fingerprint:{3}\r\na=setup:{4}\r\n",
      p.address, p.ice_ufrag, p.ice_pwd, p.fingerprint, setup);
  const auto candidate =
      fmt::format("a=candidate:1 1 udp 2130706431 {} {} typ host\r\na=end-of-candidates\r\n",
                  p.address, p.port);
  for (std::size_t i = 0; i < o.sections.size(); ++i) {
    const auto& m = o.sections[i];
    const auto mid = m.mid.empty() ? std::string() : fmt::format("a=mid:{}\r\n", m.mid);
    if (o.media_index == i) {
      s += fmt::format("m={} {} {} {}\r\n", m.kind, p.port, m.proto, o.payload_type);
      s += transport_lines + mid + "a=recvonly\r\na=rtcp-mux\r\n";
      if (m.rtpmap.contains(o.payload_type))
        s += fmt::format("a=rtpmap:{} {}\r\n", o.payload_type, m.rtpmap.at(o.payload_type));
      if (m.fmtp.contains(o.payload_type))
        s += fmt::format("a=fmtp:{} {}\r\n", o.payload_type, m.fmtp.at(o.payload_type));
      s += candidate;
    } else if (o.data_index == i) {
      // RFC 8841 section 5 and 6: the SCTP port this end listens on, and the largest message
      // it takes.
      s += fmt::format("m=application {} {} webrtc-datachannel\r\n", p.port, m.proto);
      s += transport_lines + mid;
      s += fmt::format("a=sctp-port:5000\r\na=max-message-size:{}\r\n", p.max_message_size);
      s += candidate;
    } else {
      // RFC 8829 section 5.3.1: a rejected m-section has port 0.
      s += fmt::format("m={} 0 {} {}\r\nc=IN IP4 0.0.0.0\r\n{}", m.kind, m.proto,
                       m.formats.empty() ? "0" : m.formats.front(), mid);
      if (m.kind != "application") s += "a=inactive\r\n";
    }
  }
  return s;
}

}  // namespace webrtc
