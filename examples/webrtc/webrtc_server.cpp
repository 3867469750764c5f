// webrtc_server: a browser's WebRTC stack against dtlspp, on 127.0.0.1.
//
// One program, one poll loop, two sockets (and the HTTP connections):
//   - HTTP (TCP): GET / serves index.html, whose script calls getUserMedia, makes an
//     RTCPeerConnection and POSTs its offer; POST /offer answers it; GET /status is JSON of what
//     this server saw (the page polls it).
//   - UDP: one socket for everything WebRTC puts on a 5-tuple, told apart by the first byte
//     (dtlspp::classify, RFC 7983): STUN binding requests, answered as an ICE-lite agent (RFC 8445
//     section 2.5, RFC 8489); DTLS, fed to a dtlspp::session in role::server (the answer says
//     a=setup:passive, RFC 5763 section 5) that pins the browser's a=fingerprint; and SRTP/SRTCP,
//     decrypted by libsrtp2 with the keys the handshake exported (RFC 5764 section 4.2).
//
// dtlspp's core stays DTLS-only: ICE, SDP and SRTP are this application's business, and are kept
// as small as a browser allows. One peer connection at a time: a new offer replaces the previous.
//
//   webrtc_server [--http-port N] [--udp-port N] [--page index.html] [--wrong-fingerprint]
//
// --wrong-fingerprint puts another certificate's fingerprint in the answer: the browser must then
// refuse the handshake, and nothing is decrypted (the negative test).
#include <dtlspp/dtlspp.hpp>
#include <dtlspp/io/loop.hpp>
#include <dtlspp/io/udp.hpp>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <poll.h>
#include <srtp2/srtp.h>
#include <sys/socket.h>
#include <unistd.h>
#include <zlib.h>

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdint>
#include <cstring>
#include <deque>
#include <fstream>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#ifndef DTLSPP_WEBRTC_PAGE
#define DTLSPP_WEBRTC_PAGE "examples/webrtc/index.html"
#endif

namespace {

using namespace std::chrono_literals;
using steady = std::chrono::steady_clock;

volatile std::sig_atomic_t stop_requested = 0;
const steady::time_point started = steady::now();

// log prints one line with the time since start and keeps the last lines for GET /status.
std::deque<std::string> recent_log;
template <class... Args>
void log(fmt::format_string<Args...> format, Args&&... args) {
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(steady::now() - started);
  auto line = fmt::format("[{:7.3f}] ", ms.count() / 1000.0) +
              fmt::format(format, std::forward<Args>(args)...);
  fmt::print("{}\n", line);
  std::fflush(stdout);
  recent_log.push_back(std::move(line));
  if (recent_log.size() > 40) recent_log.pop_front();
}

// random_token returns n characters from [A-Za-z0-9], all ice-chars (RFC 8839 section 5.4).
std::string random_token(std::size_t n) {
  static constexpr std::string_view alphabet =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
  std::vector<unsigned char> bytes(n);
  if (RAND_bytes(bytes.data(), static_cast<int>(n)) != 1) throw std::runtime_error("RAND_bytes");
  std::string out;
  for (const auto b : bytes)
    out += alphabet[b % alphabet.size()];  // 256 % 62 bias: irrelevant for ICE credentials
  return out;
}

std::string json_string(std::string_view s) {
  std::string out = "\"";
  for (const char c : s) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          out += fmt::format("\\u{:04x}", static_cast<unsigned>(c));
        } else {
          out += c;
        }
    }
  }
  return out + "\"";
}

std::uint16_t be16(const std::byte* p) {
  return static_cast<std::uint16_t>(std::to_integer<unsigned>(p[0]) << 8 |
                                    std::to_integer<unsigned>(p[1]));
}
std::uint32_t be32(const std::byte* p) {
  return static_cast<std::uint32_t>(be16(p)) << 16 | be16(p + 2);
}
void put16(std::vector<std::byte>& v, std::uint16_t x) {
  v.push_back(std::byte(x >> 8));
  v.push_back(std::byte(x & 0xff));
}
void put32(std::vector<std::byte>& v, std::uint32_t x) {
  put16(v, static_cast<std::uint16_t>(x >> 16));
  put16(v, static_cast<std::uint16_t>(x & 0xffff));
}
void set16(std::vector<std::byte>& v, std::size_t at, std::uint16_t x) {
  v[at] = std::byte(x >> 8);
  v[at + 1] = std::byte(x & 0xff);
}

// ---------------------------------------------------------------------------------------------
// SDP: what the answer needs from the browser's offer (RFC 8866, RFC 8829 section 5.3).

struct media_section {
  std::string kind, port, proto, mid;
  std::vector<std::string> formats;
};

struct offer {
  std::vector<media_section> sections;
  bool bundle = false;
  // From the first m-section (or the session level, where the browser put it there):
  std::string ice_ufrag, ice_pwd;
  std::vector<std::string> fingerprint_lines;  // "sha-256 AB:CD:..."
  std::vector<dtlspp::fingerprint> fingerprints;
  int payload_type = -1;     // the first format of the first m-line: the browser's preferred codec
  std::string rtpmap, fmtp;  // of payload_type
  std::vector<std::uint32_t> ssrcs;  // a=ssrc lines, when the browser sends them
};

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

// parse_offer reads the attributes the answer depends on; it throws std::runtime_error naming
// what is missing.
offer parse_offer(std::string_view sdp) {
  offer o;
  std::string session_ufrag, session_pwd;
  std::vector<std::string> session_fps;
  std::vector<std::string> first_fps;
  int section = -1;
  std::map<int, std::string> rtpmaps, fmtps;
  for (const auto& line : split_lines(sdp)) {
    if (line.starts_with("m=")) {
      auto w = split_words(std::string_view(line).substr(2));
      if (w.size() < 4) throw std::runtime_error("malformed m-line: " + line);
      o.sections.push_back({w[0], w[1], w[2], "", {w.begin() + 3, w.end()}});
      ++section;
      continue;
    }
    if (!line.starts_with("a=")) continue;
    const std::string_view a = std::string_view(line).substr(2);
    const auto colon = a.find(':');
    const std::string_view name = a.substr(0, colon);
    const std::string_view value = colon == std::string_view::npos ? "" : a.substr(colon + 1);
    if (section < 0) {
      if (name == "group" && value.starts_with("BUNDLE")) o.bundle = true;
      if (name == "ice-ufrag") session_ufrag = value;
      if (name == "ice-pwd") session_pwd = value;
      if (name == "fingerprint") session_fps.emplace_back(value);
      continue;
    }
    if (name == "mid") o.sections[section].mid = value;
    if (section != 0) continue;
    if (name == "ice-ufrag") o.ice_ufrag = value;
    if (name == "ice-pwd") o.ice_pwd = value;
    if (name == "fingerprint") first_fps.emplace_back(value);
    if (name == "rtpmap" || name == "fmtp") {
      const auto space = value.find(' ');
      if (space == std::string_view::npos) continue;
      const int pt = std::atoi(std::string(value.substr(0, space)).c_str());
      (name == "rtpmap" ? rtpmaps : fmtps)[pt] = value.substr(space + 1);
    }
    if (name == "ssrc") {
      const auto ssrc = std::strtoul(std::string(value).c_str(), nullptr, 10);
      if (std::find(o.ssrcs.begin(), o.ssrcs.end(), ssrc) == o.ssrcs.end())
        o.ssrcs.push_back(static_cast<std::uint32_t>(ssrc));
    }
  }
  if (o.sections.empty()) throw std::runtime_error("the offer has no m-line");
  if (o.ice_ufrag.empty()) o.ice_ufrag = session_ufrag;
  if (o.ice_pwd.empty()) o.ice_pwd = session_pwd;
  o.fingerprint_lines = first_fps.empty() ? session_fps : first_fps;
  if (o.ice_ufrag.empty() || o.ice_pwd.empty())
    throw std::runtime_error("the offer has no a=ice-ufrag/a=ice-pwd");
  for (const auto& line : o.fingerprint_lines) {
    if (auto fp = dtlspp::fingerprint::parse(line)) o.fingerprints.push_back(*fp);
  }
  if (o.fingerprints.empty()) throw std::runtime_error("the offer has no usable a=fingerprint");
  const auto& first = o.sections.front();
  if (first.kind != "audio" && first.kind != "video")
    throw std::runtime_error("the first m-line is " + first.kind + ", not audio or video");
  if (first.proto.find("SAVP") == std::string::npos)
    throw std::runtime_error("the first m-line is not SRTP: " + first.proto);
  o.payload_type = std::atoi(first.formats.front().c_str());
  o.rtpmap = rtpmaps[o.payload_type];
  o.fmtp = fmtps[o.payload_type];
  if (o.rtpmap.empty() && o.payload_type >= 96)
    throw std::runtime_error(fmt::format("no a=rtpmap for payload type {}", o.payload_type));
  return o;
}

// make_answer answers the first m-section as an ICE-lite, DTLS-passive, receive-only peer with
// one codec (the offer's first), and rejects any other m-section (port 0, RFC 8829 section
// 5.3.1).
std::string make_answer(const offer& o, const std::string& ufrag, const std::string& pwd,
                        const std::string& fingerprint, std::uint16_t udp_port) {
  const auto& m = o.sections.front();
  std::string s;
  s += fmt::format("v=0\r\no=dtlspp {} 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n",
                   std::chrono::system_clock::now().time_since_epoch().count() / 1000);
  if (o.bundle) s += fmt::format("a=group:BUNDLE {}\r\n", m.mid);
  s += "a=ice-lite\r\n";
  s += fmt::format("m={} {} {} {}\r\n", m.kind, udp_port, m.proto, o.payload_type);
  s += "c=IN IP4 127.0.0.1\r\n";
  s += fmt::format("a=ice-ufrag:{}\r\na=ice-pwd:{}\r\n", ufrag, pwd);
  s += fmt::format("a=fingerprint:{}\r\n", fingerprint);
  s += "a=setup:passive\r\n";
  if (!m.mid.empty()) s += fmt::format("a=mid:{}\r\n", m.mid);
  s += "a=recvonly\r\na=rtcp-mux\r\n";
  if (!o.rtpmap.empty()) s += fmt::format("a=rtpmap:{} {}\r\n", o.payload_type, o.rtpmap);
  if (!o.fmtp.empty()) s += fmt::format("a=fmtp:{} {}\r\n", o.payload_type, o.fmtp);
  s += fmt::format("a=candidate:1 1 udp 2130706431 127.0.0.1 {} typ host\r\n", udp_port);
  s += "a=end-of-candidates\r\n";
  for (std::size_t i = 1; i < o.sections.size(); ++i) {
    const auto& r = o.sections[i];
    s += fmt::format("m={} 0 {} {}\r\nc=IN IP4 0.0.0.0\r\n", r.kind, r.proto, r.formats.front());
    if (!r.mid.empty()) s += fmt::format("a=mid:{}\r\n", r.mid);
    s += "a=inactive\r\n";
  }
  return s;
}

// ---------------------------------------------------------------------------------------------
// STUN (RFC 8489) for an ICE-lite agent: answer binding requests with short-term credentials.

constexpr std::uint32_t magic_cookie = 0x2112A442;
constexpr std::uint16_t attr_username = 0x0006, attr_message_integrity = 0x0008,
                        attr_xor_mapped_address = 0x0020, attr_use_candidate = 0x0025,
                        attr_fingerprint = 0x8028;
constexpr std::uint32_t fingerprint_xor = 0x5354554e;  // RFC 8489 section 14.7

std::uint32_t stun_crc(std::span<const std::byte> bytes) {
  return static_cast<std::uint32_t>(crc32(0L, reinterpret_cast<const Bytef*>(bytes.data()),
                                          static_cast<uInt>(bytes.size()))) ^
         fingerprint_xor;
}

std::array<unsigned char, 20> hmac_sha1(std::string_view key, std::span<const std::byte> bytes) {
  std::array<unsigned char, 20> mac{};
  unsigned int size = 0;
  HMAC(EVP_sha1(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size(), mac.data(), &size);
  return mac;
}

struct ice_stats {
  std::uint64_t requests = 0, responses = 0, rejected = 0, nominations = 0;
  std::string last_reject;
};

struct stun_result {
  std::vector<std::byte> response;
  bool nominated = false;
};

// answer_binding checks a binding request (USERNAME "ours:theirs", MESSAGE-INTEGRITY keyed with
// our ice-pwd, FINGERPRINT) and builds the success response with XOR-MAPPED-ADDRESS; empty with
// `why` set when the request is not for us or does not check out.
std::optional<stun_result> answer_binding(std::span<const std::byte> m,
                                          const dtlspp::io::endpoint& from,
                                          const std::string& expected_username,
                                          const std::string& pwd, std::string& why) {
  if (m.size() < 20 || be32(m.data() + 4) != magic_cookie) return why = "not STUN", std::nullopt;
  const auto type = be16(m.data());
  const std::size_t length = be16(m.data() + 2);
  if (length + 20 != m.size() || length % 4 != 0) return why = "bad STUN length", std::nullopt;
  if (type != 0x0001) return why = fmt::format("STUN type {:#06x} ignored", type), std::nullopt;
  std::optional<std::string> username;
  std::optional<std::size_t> integrity_at, fingerprint_at;
  bool use_candidate = false;
  for (std::size_t at = 20; at + 4 <= m.size();) {
    const auto t = be16(m.data() + at);
    const std::size_t l = be16(m.data() + at + 2);
    if (at + 4 + l > m.size()) return why = "truncated STUN attribute", std::nullopt;
    if (fingerprint_at) return why = "attribute after FINGERPRINT", std::nullopt;
    if (t == attr_fingerprint && l == 4) {
      fingerprint_at = at;
    } else if (!integrity_at) {  // attributes after MESSAGE-INTEGRITY are ignored (section 14.5)
      if (t == attr_username) username.emplace(reinterpret_cast<const char*>(m.data() + at + 4), l);
      if (t == attr_message_integrity && l == 20) integrity_at = at;
      if (t == attr_use_candidate) use_candidate = true;
    }
    at += 4 + (l + 3) / 4 * 4;
  }
  if (fingerprint_at &&
      be32(m.data() + *fingerprint_at + 4) != stun_crc(m.subspan(0, *fingerprint_at)))
    return why = "bad FINGERPRINT", std::nullopt;
  if (!username || *username != expected_username)
    return why = fmt::format("USERNAME '{}' is not '{}'", username.value_or(""), expected_username),
           std::nullopt;
  if (!integrity_at) return why = "no MESSAGE-INTEGRITY", std::nullopt;
  // The HMAC covers the message up to MESSAGE-INTEGRITY, with the header's length counting up to
  // and including it (RFC 8489 section 14.5).
  std::vector<std::byte> covered(m.begin(), m.begin() + static_cast<std::ptrdiff_t>(*integrity_at));
  set16(covered, 2, static_cast<std::uint16_t>(*integrity_at + 24 - 20));
  const auto mac = hmac_sha1(pwd, covered);
  if (CRYPTO_memcmp(mac.data(), m.data() + *integrity_at + 4, mac.size()) != 0)
    return why = "bad MESSAGE-INTEGRITY", std::nullopt;

  stun_result r;
  r.nominated = use_candidate;
  auto& out = r.response;
  put16(out, 0x0101);  // Binding success response
  put16(out, 0);
  put32(out, magic_cookie);
  out.insert(out.end(), m.begin() + 8, m.begin() + 20);  // transaction ID
  const auto* sa = static_cast<const sockaddr*>(from.sockaddr_data());
  put16(out, attr_xor_mapped_address);
  if (sa->sa_family == AF_INET) {
    const auto* in = static_cast<const sockaddr_in*>(from.sockaddr_data());
    put16(out, 8);
    put16(out, 0x0001);
    put16(out, static_cast<std::uint16_t>(ntohs(in->sin_port) ^ (magic_cookie >> 16)));
    put32(out, ntohl(in->sin_addr.s_addr) ^ magic_cookie);
  } else {
    const auto* in6 = static_cast<const sockaddr_in6*>(from.sockaddr_data());
    put16(out, 20);
    put16(out, 0x0002);
    put16(out, static_cast<std::uint16_t>(ntohs(in6->sin6_port) ^ (magic_cookie >> 16)));
    std::array<std::byte, 16> mask;  // cookie then transaction ID (section 14.2)
    for (int i = 0; i < 4; ++i)
      mask[i] = std::byte((magic_cookie >> (24 - 8 * i)) & 0xff);
    std::copy(m.begin() + 8, m.begin() + 20, mask.begin() + 4);
    for (int i = 0; i < 16; ++i)
      out.push_back(std::byte(in6->sin6_addr.s6_addr[i]) ^ mask[i]);
  }
  set16(out, 2, static_cast<std::uint16_t>(out.size() + 24 - 20));
  const auto out_mac = hmac_sha1(pwd, out);
  put16(out, attr_message_integrity);
  put16(out, 20);
  for (const auto b : out_mac)
    out.push_back(std::byte(b));
  set16(out, 2, static_cast<std::uint16_t>(out.size() + 8 - 20));
  const auto crc = stun_crc(out);
  put16(out, attr_fingerprint);
  put16(out, 4);
  put32(out, crc);
  return r;
}

// ---------------------------------------------------------------------------------------------
// SRTP (libsrtp2): one inbound session keyed with the browser's half of the exported keys.

struct srtp_deleter {
  void operator()(srtp_ctx_t_* s) const noexcept { srtp_dealloc(s); }
};
using srtp_handle = std::unique_ptr<srtp_ctx_t_, srtp_deleter>;

// set_crypto_policy picks libsrtp's policy for a DTLS-SRTP profile (RFC 5764 section 4.1.2:
// SRTCP keeps an 80-bit tag with the _32 profile; RFC 7714 for AEAD).
bool set_crypto_policy(dtlspp::srtp_profile p, srtp_policy_t& policy) {
  switch (p) {
    case dtlspp::srtp_profile::aes128_cm_sha1_80:
      srtp_crypto_policy_set_rtp_default(&policy.rtp);
      srtp_crypto_policy_set_rtcp_default(&policy.rtcp);
      return true;
    case dtlspp::srtp_profile::aes128_cm_sha1_32:
      srtp_crypto_policy_set_aes_cm_128_hmac_sha1_32(&policy.rtp);
      srtp_crypto_policy_set_rtcp_default(&policy.rtcp);
      return true;
    case dtlspp::srtp_profile::aead_aes_128_gcm:
      srtp_crypto_policy_set_aes_gcm_128_16_auth(&policy.rtp);
      srtp_crypto_policy_set_aes_gcm_128_16_auth(&policy.rtcp);
      return true;
    case dtlspp::srtp_profile::aead_aes_256_gcm:
      srtp_crypto_policy_set_aes_gcm_256_16_auth(&policy.rtp);
      srtp_crypto_policy_set_aes_gcm_256_16_auth(&policy.rtcp);
      return true;
  }
  return false;
}

// make_inbound_srtp makes a libsrtp session that unprotects any SSRC with key | salt. Empty when
// libsrtp refuses (a profile its crypto backend lacks); `status` says why.
srtp_handle make_inbound_srtp(dtlspp::srtp_profile p, std::span<const std::byte> key,
                              std::span<const std::byte> salt, srtp_err_status_t& status) {
  std::vector<unsigned char> master(key.size() + salt.size());
  std::memcpy(master.data(), key.data(), key.size());
  std::memcpy(master.data() + key.size(), salt.data(), salt.size());
  srtp_policy_t policy{};
  if (!set_crypto_policy(p, policy)) return status = srtp_err_status_bad_param, nullptr;
  policy.ssrc.type = ssrc_any_inbound;
  policy.key = master.data();
  policy.window_size = 1024;
  policy.allow_repeat_tx = 0;
  policy.next = nullptr;
  srtp_t session = nullptr;
  status = srtp_create(&session, &policy);
  OPENSSL_cleanse(master.data(), master.size());
  return srtp_handle(status == srtp_err_status_ok ? session : nullptr);
}

// profile_available asks libsrtp whether its crypto backend has p (Debian builds it with NSS).
bool profile_available(dtlspp::srtp_profile p) {
  const std::vector<std::byte> zeros(32 + 14);
  srtp_err_status_t status;
  const auto size = dtlspp::master_key_size(p), salt = dtlspp::master_salt_size(p);
  return make_inbound_srtp(p, std::span(zeros).first(size), std::span(zeros).subspan(size, salt),
                           status) != nullptr;
}

// ---------------------------------------------------------------------------------------------
// One peer connection: what the offer/answer fixed and what the UDP socket saw since.

struct media_stats {
  std::uint64_t rtp_ok = 0, rtp_failed = 0, rtcp_ok = 0, rtcp_failed = 0, before_keys = 0;
  std::uint64_t rtp_payload_bytes = 0;
  std::map<int, std::uint64_t> payload_types;  // decrypted RTP packets by payload type
  std::set<std::uint32_t> ssrcs;
  std::string last_error;
};

struct peer_connection {
  int id = 0;
  offer remote;
  std::string ufrag = random_token(8), pwd = random_token(24);
  std::string answer_fingerprint;
  std::optional<dtlspp::session> dtls;
  std::optional<dtlspp::io::endpoint> peer;  // the address ICE proved, where DTLS goes
  std::set<std::string> checked;             // addresses whose binding requests checked out
  ice_stats ice;
  std::uint64_t dtls_datagrams_in = 0, dtls_datagrams_out = 0, dropped_unchecked = 0;
  std::string dtls_state = "new";
  std::string dtls_error;
  std::optional<dtlspp::srtp_profile> profile;
  srtp_handle srtp;
  media_stats media;
};

// ---------------------------------------------------------------------------------------------
// A minimal HTTP/1.1 server: one request per connection, Connection: close.

struct http_connection {
  int fd;
  std::string in;
  steady::time_point opened = steady::now();
};

struct http_request {
  std::string method, path, body;
};

// parse_request returns the request once the head and a Content-Length body are all in.
std::optional<http_request> parse_request(const std::string& in) {
  const auto head_end = in.find("\r\n\r\n");
  if (head_end == std::string::npos) return std::nullopt;
  http_request r;
  std::istringstream head(in.substr(0, head_end));
  std::string line;
  std::getline(head, line);
  std::istringstream first(line);
  first >> r.method >> r.path;
  std::size_t length = 0;
  while (std::getline(head, line)) {
    std::string lower = line;
    std::transform(lower.begin(), lower.end(), lower.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    if (lower.starts_with("content-length:")) length = std::stoul(line.substr(15));
  }
  if (in.size() < head_end + 4 + length) return std::nullopt;
  r.body = in.substr(head_end + 4, length);
  return r;
}

void send_all(int fd, std::string_view data) {
  const auto deadline = steady::now() + 2s;
  while (!data.empty() && steady::now() < deadline) {
    const auto n = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL);
    if (n > 0) {
      data.remove_prefix(static_cast<std::size_t>(n));
    } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) {
      pollfd p{fd, POLLOUT, 0};
      ::poll(&p, 1, 100);
    } else {
      return;
    }
  }
}

void respond(int fd, int status, std::string_view type, std::string_view body) {
  const char* reason = status == 200 ? "OK" : status == 404 ? "Not Found" : "Bad Request";
  send_all(fd, fmt::format("HTTP/1.1 {} {}\r\nContent-Type: {}\r\nContent-Length: {}\r\n"
                           "Cache-Control: no-store\r\nConnection: close\r\n\r\n{}",
                           status, reason, type, body.size(), body));
}

int listen_tcp(std::uint16_t port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) throw std::runtime_error(std::strerror(errno));
  const int one = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || ::listen(fd, 16) != 0)
    throw std::runtime_error(
        fmt::format("cannot listen on 127.0.0.1:{}: {}", port, std::strerror(errno)));
  return fd;
}

std::uint16_t local_port(int fd) {
  sockaddr_in a{};
  socklen_t size = sizeof a;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &size);
  return ntohs(a.sin_port);
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read " + path);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

// ---------------------------------------------------------------------------------------------

struct options {
  std::uint16_t http_port = 8080;
  std::uint16_t udp_port = 0;
  std::string page = DTLSPP_WEBRTC_PAGE;
  bool wrong_fingerprint = false;
  // srtp_profiles to accept, most preferred first; empty: AES-128-GCM (when libsrtp has it),
  // then AES-128-CM-HMAC-SHA1-80.
  std::vector<dtlspp::srtp_profile> srtp_profiles;
};

class server {
 public:
  explicit server(const options& o)
      : options_(o),
        context_(make_context()),
        udp_(dtlspp::io::udp_socket::bind(
            dtlspp::io::endpoint::resolve("127.0.0.1", std::to_string(o.udp_port)).front())),
        http_fd_(listen_tcp(o.http_port)) {}

  ~server() {
    for (const auto& c : http_)
      ::close(c.fd);
    ::close(http_fd_);
  }

  std::uint16_t http_port() const { return local_port(http_fd_); }
  std::uint16_t udp_port() const { return udp_.local_endpoint().port(); }
  std::string fingerprint() const { return context_.identity().fingerprint().to_string(); }

  void run() {
    while (stop_requested == 0) {
      std::vector<int> fds{http_fd_, udp_.fd()};
      for (const auto& c : http_)
        fds.push_back(c.fd);
      dtlspp::io::deadline next = steady::now() + 1s;
      if (pc_ && pc_->dtls) next = dtlspp::io::earliest(next, pc_->dtls->next_timeout());
      for (const int fd : dtlspp::io::wait_readable(fds, next)) {
        if (fd == http_fd_) {
          accept_http();
        } else if (fd == udp_.fd()) {
          read_udp();
        } else {
          read_http(fd);
        }
      }
      if (pc_ && pc_->dtls) {
        if (const auto t = pc_->dtls->next_timeout(); t && *t <= steady::now()) {
          static_cast<void>(pc_->dtls->handle_timeout());
          drain_dtls();
        }
      }
      std::erase_if(http_, [](const http_connection& c) {
        if (steady::now() - c.opened < 10s) return false;
        ::close(c.fd);
        return true;
      });
    }
  }

 private:
  dtlspp::context make_context() {
    dtlspp::context_options o;
    // Browsers offer AES-GCM first and AES-CM as the mandatory fallback (RFC 8827 section 6.5).
    auto wanted = options_.srtp_profiles;
    if (wanted.empty())
      wanted = {dtlspp::srtp_profile::aead_aes_128_gcm, dtlspp::srtp_profile::aes128_cm_sha1_80};
    for (const auto p : wanted) {
      if (profile_available(p)) {
        o.srtp_profiles.push_back(p);
      } else {
        log("srtp: libsrtp cannot do {}; not offered", dtlspp::name(p));
      }
    }
    if (o.srtp_profiles.empty()) throw std::runtime_error("no SRTP profile left to offer");
    o.require_srtp = true;
    // libwebrtc starts its own timer at 50 ms; loopback needs no more than that.
    o.retransmit.initial = 100ms;
    o.handshake_timeout = 20s;
    return dtlspp::context(std::move(o));
  }

  void accept_http() {
    while (true) {
      const int fd = ::accept4(http_fd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
      if (fd < 0) return;
      http_.push_back({fd, {}});
    }
  }

  void read_http(int fd) {
    auto it = std::find_if(http_.begin(), http_.end(), [&](auto& c) { return c.fd == fd; });
    if (it == http_.end()) return;
    std::array<char, 16384> buffer;
    bool done = false;
    while (true) {
      const auto n = ::recv(fd, buffer.data(), buffer.size(), 0);
      if (n > 0) {
        it->in.append(buffer.data(), static_cast<std::size_t>(n));
        if (it->in.size() > (1 << 20)) done = true;
        continue;
      }
      if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)) done = true;
      break;
    }
    if (auto request = parse_request(it->in)) {
      handle(fd, *request);
      done = true;
    }
    if (done) {
      ::close(fd);
      http_.erase(it);
    }
  }

  void handle(int fd, const http_request& r) {
    try {
      if (r.method == "GET" &&
          (r.path == "/" || r.path.starts_with("/?") || r.path == "/index.html")) {
        respond(fd, 200, "text/html; charset=utf-8", read_file(options_.page));
      } else if (r.method == "POST" && r.path == "/offer") {
        respond(fd, 200, "application/sdp", on_offer(r.body));
      } else if (r.method == "GET" && r.path == "/status") {
        respond(fd, 200, "application/json", status_json());
      } else {
        respond(fd, 404, "text/plain", "not found\n");
      }
    } catch (const std::exception& e) {
      log("http {} {}: {}", r.method, r.path, e.what());
      respond(fd, 400, "text/plain", std::string(e.what()) + "\n");
    }
  }

  std::string on_offer(const std::string& sdp) {
    auto pc = std::make_unique<peer_connection>();
    pc->id = pc_ ? pc_->id + 1 : 1;
    pc->remote = parse_offer(sdp);
    const auto& first = pc->remote.sections.front();
    log("offer {}: m={} mid={} payload type {} ({}), {} m-line(s), browser ice-ufrag {}", pc->id,
        first.kind, first.mid, pc->remote.payload_type, pc->remote.rtpmap,
        pc->remote.sections.size(), pc->remote.ice_ufrag);
    for (const auto& fp : pc->remote.fingerprint_lines)
      log("offer {}: browser a=fingerprint:{}", pc->id, fp);
    pc->answer_fingerprint = fingerprint();
    if (options_.wrong_fingerprint) {
      pc->answer_fingerprint = dtlspp::identity::generate().fingerprint().to_string();
      log("offer {}: --wrong-fingerprint: answering with {} instead of ours", pc->id,
          pc->answer_fingerprint);
    }
    // a=setup:passive: the browser is the DTLS client, this end the server (RFC 5763 section 5).
    pc->dtls.emplace(context_, dtlspp::role::server, dtlspp::expect(pc->remote.fingerprints));
    pc->dtls_state = "waiting for ICE";
    const auto answer =
        make_answer(pc->remote, pc->ufrag, pc->pwd, pc->answer_fingerprint, udp_port());
    pc_ = std::move(pc);
    log("answer {}: ice-lite, ufrag {}, setup passive, candidate 127.0.0.1:{}", pc_->id, pc_->ufrag,
        udp_port());
    return answer;
  }

  void read_udp() {
    std::array<std::byte, 65536> buffer;
    while (auto d = udp_.receive(buffer)) {
      const auto datagram = std::span<const std::byte>(buffer.data(), d->size);
      if (!pc_) continue;
      switch (dtlspp::classify(datagram)) {
        case dtlspp::packet_kind::stun:
          on_stun(datagram, d->from);
          break;
        case dtlspp::packet_kind::dtls:
          on_dtls(datagram, d->from);
          break;
        case dtlspp::packet_kind::rtp_rtcp:
          on_media(std::span(buffer.data(), d->size), d->from);
          break;
        default:
          break;
      }
    }
  }

  void on_stun(std::span<const std::byte> m, const dtlspp::io::endpoint& from) {
    auto& pc = *pc_;
    std::string why;
    ++pc.ice.requests;
    const auto r = answer_binding(m, from, pc.ufrag + ":" + pc.remote.ice_ufrag, pc.pwd, why);
    if (!r) {
      ++pc.ice.rejected;
      if (pc.ice.last_reject != why) log("stun from {}: dropped: {}", from.to_string(), why);
      pc.ice.last_reject = why;
      return;
    }
    udp_.send_to(r->response, from);
    ++pc.ice.responses;
    const bool first = pc.checked.insert(from.to_string()).second;
    if (first) log("ice: binding request from {} checks out; answered", from.to_string());
    if (r->nominated) ++pc.ice.nominations;
    if (!pc.peer || (r->nominated && !(*pc.peer == from))) {
      if (r->nominated || !pc.peer) {
        if (r->nominated) log("ice: {} nominated (USE-CANDIDATE)", from.to_string());
        pc.peer = from;
      }
    }
  }

  bool checked(const dtlspp::io::endpoint& from) {
    if (pc_->checked.contains(from.to_string())) return true;
    ++pc_->dropped_unchecked;
    return false;
  }

  void on_dtls(std::span<const std::byte> d, const dtlspp::io::endpoint& from) {
    if (!checked(from) || !pc_->dtls) return;
    if (pc_->dtls_datagrams_in++ == 0) {
      log("dtls: first datagram from {} ({} bytes): the ClientHello", from.to_string(), d.size());
      pc_->dtls_state = "handshaking";
    }
    pc_->peer = from;
    static_cast<void>(pc_->dtls->handle_datagram(d));
    drain_dtls();
  }

  void drain_dtls() {
    auto& pc = *pc_;
    while (auto e = pc.dtls->poll()) {
      if (const auto* t = std::get_if<dtlspp::transmit>(&*e)) {
        if (pc.peer) udp_.send_to(t->datagram, *pc.peer);
        ++pc.dtls_datagrams_out;
      } else if (std::holds_alternative<dtlspp::connected>(*e)) {
        on_connected();
      } else if (const auto* c = std::get_if<dtlspp::closed>(&*e)) {
        pc.dtls_state = c->reason ? "failed" : "closed";
        pc.dtls_error = c->reason ? std::string(pc.dtls->error_message()) : "";
        pc.srtp.reset();
        log("dtls: {}{}{}", pc.dtls_state, pc.dtls_error.empty() ? "" : ": ", pc.dtls_error);
      }
    }
  }

  void on_connected() {
    auto& pc = *pc_;
    pc.dtls_state = "connected";
    pc.profile = pc.dtls->srtp_profile();
    const auto* peer = pc.dtls->peer_certificate();
    log("dtls: connected, {}, browser certificate {} (pinned)", pc.dtls->cipher_name(),
        peer ? peer->fingerprint().to_string() : "?");
    const auto keys = pc.dtls->srtp_keying_material();
    if (!keys) {
      log("dtls: no SRTP profile agreed");
      return;
    }
    srtp_err_status_t status;
    pc.srtp = make_inbound_srtp(keys->profile(), keys->remote_key(), keys->remote_salt(), status);
    log("srtp: {} keys exported; libsrtp {}", dtlspp::name(keys->profile()),
        pc.srtp ? "ready" : fmt::format("refused them (error {})", static_cast<int>(status)));
  }

  void on_media(std::span<std::byte> packet, const dtlspp::io::endpoint& from) {
    auto& pc = *pc_;
    auto& m = pc.media;
    if (!checked(from)) return;
    if (!pc.srtp) {
      ++m.before_keys;
      return;
    }
    if (packet.size() < 12) return;
    // RFC 5761 section 4: RTCP packet types 192-223 in the second byte; RTP otherwise.
    const auto second = std::to_integer<unsigned>(packet[1]);
    const bool rtcp = second >= 192 && second <= 223;
    int size = static_cast<int>(packet.size());
    const auto status = rtcp ? srtp_unprotect_rtcp(pc.srtp.get(), packet.data(), &size)
                             : srtp_unprotect(pc.srtp.get(), packet.data(), &size);
    if (status != srtp_err_status_ok) {
      ++(rtcp ? m.rtcp_failed : m.rtp_failed);
      m.last_error = fmt::format("{} unprotect: libsrtp error {}", rtcp ? "SRTCP" : "SRTP",
                                 static_cast<int>(status));
      if (m.rtp_failed + m.rtcp_failed <= 3) log("srtp: {}", m.last_error);
      return;
    }
    if (rtcp) {
      ++m.rtcp_ok;
      if (m.rtcp_ok == 1) log("srtp: first SRTCP packet authenticated and decrypted");
      return;
    }
    ++m.rtp_ok;
    const int pt = static_cast<int>(second & 0x7f);
    const auto ssrc = be32(packet.data() + 8);
    ++m.payload_types[pt];
    m.ssrcs.insert(ssrc);
    m.rtp_payload_bytes += static_cast<std::size_t>(size) - 12;
    if (m.rtp_ok == 1 || m.rtp_ok % 250 == 0)
      log("srtp: {} RTP packet(s) authenticated and decrypted (payload type {}, SSRC {})", m.rtp_ok,
          pt, ssrc);
  }

  std::string status_json() const {
    std::string j = "{";
    j += fmt::format("\"server_fingerprint\":{},", json_string(fingerprint()));
    j += fmt::format("\"wrong_fingerprint_mode\":{},", options_.wrong_fingerprint);
    j += fmt::format("\"udp\":{},", json_string(fmt::format("127.0.0.1:{}", udp_port())));
    std::string profiles;
    for (const auto p : context_.options().srtp_profiles)
      profiles += (profiles.empty() ? "" : ",") + json_string(dtlspp::name(p));
    j += fmt::format("\"srtp_profiles_offered\":[{}],", profiles);
    std::string lines;
    for (const auto& l : recent_log)
      lines += (lines.empty() ? "" : ",") + json_string(l);
    j += fmt::format("\"log\":[{}]", lines);
    if (!pc_) return j + ",\"offers\":0}";
    const auto& pc = *pc_;
    const auto& m = pc.media;
    j += fmt::format(",\"offers\":{},", pc.id);
    j += fmt::format("\"kind\":{},\"mid\":{},", json_string(pc.remote.sections.front().kind),
                     json_string(pc.remote.sections.front().mid));
    std::string fps;
    for (const auto& f : pc.remote.fingerprint_lines)
      fps += (fps.empty() ? "" : ",") + json_string(f);
    j += fmt::format("\"browser_fingerprints\":[{}],", fps);
    j += fmt::format("\"answer_fingerprint\":{},", json_string(pc.answer_fingerprint));
    j += fmt::format(
        "\"ice\":{{\"requests\":{},\"responses\":{},\"rejected\":{},\"nominations\":{},"
        "\"peer\":{},\"last_reject\":{}}},",
        pc.ice.requests, pc.ice.responses, pc.ice.rejected, pc.ice.nominations,
        json_string(pc.peer ? pc.peer->to_string() : ""), json_string(pc.ice.last_reject));
    const auto* cert = pc.dtls ? pc.dtls->peer_certificate() : nullptr;
    j += fmt::format(
        "\"dtls\":{{\"state\":{},\"error\":{},\"cipher\":{},\"srtp_profile\":{},"
        "\"peer_fingerprint\":{},\"datagrams_in\":{},\"datagrams_out\":{}}},",
        json_string(pc.dtls_state), json_string(pc.dtls_error),
        json_string(pc.dtls ? pc.dtls->cipher_name() : ""),
        json_string(pc.profile ? dtlspp::name(*pc.profile) : ""),
        json_string(cert ? cert->fingerprint().to_string() : ""), pc.dtls_datagrams_in,
        pc.dtls_datagrams_out);
    std::string pts, ssrcs, offer_ssrcs;
    for (const auto& [pt, n] : m.payload_types)
      pts += fmt::format("{}\"{}\":{}", pts.empty() ? "" : ",", pt, n);
    for (const auto s : m.ssrcs)
      ssrcs += fmt::format("{}{}", ssrcs.empty() ? "" : ",", s);
    for (const auto s : pc.remote.ssrcs)
      offer_ssrcs += fmt::format("{}{}", offer_ssrcs.empty() ? "" : ",", s);
    const bool pt_ok = m.rtp_ok > 0 && m.payload_types.size() == 1 &&
                       m.payload_types.begin()->first == pc.remote.payload_type;
    const bool ssrc_ok =
        m.rtp_ok > 0 && (pc.remote.ssrcs.empty() ||
                         std::all_of(m.ssrcs.begin(), m.ssrcs.end(), [&](std::uint32_t s) {
                           return std::find(pc.remote.ssrcs.begin(), pc.remote.ssrcs.end(), s) !=
                                  pc.remote.ssrcs.end();
                         }));
    j += fmt::format(
        "\"srtp\":{{\"rtp_ok\":{},\"rtp_failed\":{},\"rtcp_ok\":{},\"rtcp_failed\":{},"
        "\"before_keys\":{},\"payload_bytes\":{},\"payload_types\":{{{}}},\"ssrcs\":[{}],"
        "\"offer_payload_type\":{},\"offer_rtpmap\":{},\"offer_ssrcs\":[{}],"
        "\"payload_type_matches\":{},\"ssrc_matches\":{},\"last_error\":{}}},",
        m.rtp_ok, m.rtp_failed, m.rtcp_ok, m.rtcp_failed, m.before_keys, m.rtp_payload_bytes, pts,
        ssrcs, pc.remote.payload_type, json_string(pc.remote.rtpmap), offer_ssrcs, pt_ok, ssrc_ok,
        json_string(m.last_error));
    j += fmt::format("\"dropped_unchecked\":{}}}", pc.dropped_unchecked);
    return j;
  }

  options options_;
  dtlspp::context context_;
  dtlspp::io::udp_socket udp_;
  int http_fd_;
  std::vector<http_connection> http_;
  std::unique_ptr<peer_connection> pc_;
};

void usage() {
  fmt::print(
      "usage: webrtc_server [--http-port N] [--udp-port N] [--page FILE] [--srtp P1,P2]\n"
      "                     [--wrong-fingerprint]\n"
      "  --http-port N        serve the page on http://127.0.0.1:N/ (default 8080, 0 picks one)\n"
      "  --udp-port N         ICE, DTLS and SRTP on 127.0.0.1:N (default 0: picks one)\n"
      "  --page FILE          the page to serve (default {})\n"
      "  --srtp P1,P2         DTLS-SRTP profiles to accept, preferred first (default\n"
      "                       SRTP_AEAD_AES_128_GCM,SRTP_AES128_CM_SHA1_80)\n"
      "  --wrong-fingerprint  answer with another certificate's fingerprint (the browser must\n"
      "                       then refuse the connection)\n",
      DTLSPP_WEBRTC_PAGE);
}

}  // namespace

int main(int argc, char** argv) try {
  options o;
  for (int i = 1; i < argc; ++i) {
    const std::string_view a = argv[i];
    const auto value = [&]() -> std::string {
      if (i + 1 >= argc) throw std::runtime_error(fmt::format("{} needs a value", a));
      return argv[++i];
    };
    if (a == "--http-port") {
      o.http_port = static_cast<std::uint16_t>(std::stoul(value()));
    } else if (a == "--udp-port") {
      o.udp_port = static_cast<std::uint16_t>(std::stoul(value()));
    } else if (a == "--page") {
      o.page = value();
    } else if (a == "--srtp") {
      std::istringstream list(value());
      for (std::string name; std::getline(list, name, ',');) {
        const auto p = dtlspp::parse_srtp_profile(name);
        if (!p) throw std::runtime_error("unknown SRTP profile " + name);
        o.srtp_profiles.push_back(*p);
      }
    } else if (a == "--wrong-fingerprint") {
      o.wrong_fingerprint = true;
    } else if (a == "-h" || a == "--help") {
      usage();
      return 0;
    } else {
      usage();
      return 2;
    }
  }
  struct sigaction sa {};
  sa.sa_handler = [](int) { stop_requested = 1; };
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
  if (srtp_init() != srtp_err_status_ok) throw std::runtime_error("srtp_init failed");

  server s(o);
  fmt::print("webrtc_server: open http://127.0.0.1:{}/ in a browser\n", s.http_port());
  fmt::print("webrtc_server: ICE-lite, DTLS and SRTP on udp 127.0.0.1:{}\n", s.udp_port());
  fmt::print("webrtc_server: dtlspp fingerprint {}\n", s.fingerprint());
  std::fflush(stdout);
  s.run();
  fmt::print("webrtc_server: stopped\n");
  srtp_shutdown();
  return 0;
} catch (const std::exception& e) {
  fmt::print(stderr, "webrtc_server: {}\n", e.what());
  return 1;
}
