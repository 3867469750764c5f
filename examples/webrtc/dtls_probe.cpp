#include "dtls_probe.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <utility>

namespace webrtc {

namespace {

constexpr std::uint8_t content_handshake = 22, msg_client_hello = 1;

std::string version_name(std::uint16_t v) {
  switch (v) {
    case 0xfefc:
      return "DTLS 1.3";
    case 0xfefd:
      return "DTLS 1.2";
    case 0xfeff:
      return "DTLS 1.0";
    case 0x0303:
      return "TLS 1.2 (0x0303)";
    case 0x0304:
      return "TLS 1.3 (0x0304)";
    default:
      return fmt::format("{:#06x}", v);
  }
}

std::string group_name(std::uint16_t g) {
  switch (g) {
    case 0x0017:
      return "P-256";
    case 0x0018:
      return "P-384";
    case 0x0019:
      return "P-521";
    case 0x001d:
      return "X25519";
    case 0x001e:
      return "X448";
    case 0x11ec:
      return "X25519MLKEM768";
    case 0x0100:
      return "ffdhe2048";
    case 0x0101:
      return "ffdhe3072";
    case 0x6399:
      return "X25519Kyber768Draft00";
    default:
      return fmt::format("{:#06x}", g);
  }
}

std::string suite_name(std::uint16_t s) {
  switch (s) {
    case 0x1301:
      return "TLS_AES_128_GCM_SHA256";
    case 0x1302:
      return "TLS_AES_256_GCM_SHA384";
    case 0x1303:
      return "TLS_CHACHA20_POLY1305_SHA256";
    case 0xc02b:
      return "ECDHE-ECDSA-AES128-GCM-SHA256";
    case 0xc02c:
      return "ECDHE-ECDSA-AES256-GCM-SHA384";
    case 0xc02f:
      return "ECDHE-RSA-AES128-GCM-SHA256";
    case 0xc030:
      return "ECDHE-RSA-AES256-GCM-SHA384";
    case 0xcca9:
      return "ECDHE-ECDSA-CHACHA20-POLY1305";
    case 0xcca8:
      return "ECDHE-RSA-CHACHA20-POLY1305";
    case 0xc009:
      return "ECDHE-ECDSA-AES128-SHA";
    case 0xc00a:
      return "ECDHE-ECDSA-AES256-SHA";
    case 0xc013:
      return "ECDHE-RSA-AES128-SHA";
    case 0xc014:
      return "ECDHE-RSA-AES256-SHA";
    case 0x009c:
      return "AES128-GCM-SHA256";
    case 0x002f:
      return "AES128-SHA";
    case 0x0035:
      return "AES256-SHA";
    default:
      return fmt::format("{:#06x}", s);
  }
}

std::string srtp_name(std::uint16_t p) {
  switch (p) {
    case 0x0001:
      return "SRTP_AES128_CM_SHA1_80";
    case 0x0002:
      return "SRTP_AES128_CM_SHA1_32";
    case 0x0007:
      return "SRTP_AEAD_AES_128_GCM";
    case 0x0008:
      return "SRTP_AEAD_AES_256_GCM";
    default:
      return fmt::format("{:#06x}", p);
  }
}

// reader walks a ClientHello body; every read checks the bounds and sets `ok` false past them.
struct reader {
  std::span<const std::byte> b;
  std::size_t at = 0;
  bool ok = true;
  bool has(std::size_t n) { return ok = ok && at + n <= b.size(); }
  std::size_t u8() { return has(1) ? std::to_integer<std::size_t>(b[at++]) : 0; }
  std::size_t u16() {
    if (!has(2)) return 0;
    at += 2;
    return be16(b.data() + at - 2);
  }
  std::span<const std::byte> take(std::size_t n) {
    if (!has(n)) return {};
    at += n;
    return b.subspan(at - n, n);
  }
};

std::vector<std::uint16_t> u16_list(std::span<const std::byte> b) {
  std::vector<std::uint16_t> out;
  for (std::size_t i = 0; i + 1 < b.size(); i += 2)
    out.push_back(be16(b.data() + i));
  return out;
}

// parse_client_hello fills the lists of s from a whole ClientHello body (RFC 6347 section
// 4.2.1, RFC 8446 section 4.2 for the extensions).
void parse_client_hello(std::span<const std::byte> body, client_hello_summary& s) {
  reader r{body};
  const auto legacy = r.u16();
  r.take(32);      // random
  r.take(r.u8());  // session_id
  r.take(r.u8());  // cookie
  for (const auto c : u16_list(r.take(r.u16())))
    s.cipher_suites.push_back(suite_name(c));
  r.take(r.u8());  // compression methods
  auto extensions = reader{r.take(r.u16())};
  while (r.ok && extensions.ok && extensions.at + 4 <= extensions.b.size()) {
    const auto type = extensions.u16();
    auto data = reader{extensions.take(extensions.u16())};
    if (type == 0x002b) {  // supported_versions
      for (const auto v : u16_list(data.take(data.u8())))
        s.versions.push_back(version_name(v));
    } else if (type == 0x000a) {  // supported_groups
      for (const auto g : u16_list(data.take(data.u16())))
        s.groups.push_back(group_name(g));
    } else if (type == 0x0033) {  // key_share
      auto shares = reader{data.take(data.u16())};
      while (shares.ok && shares.at + 4 <= shares.b.size()) {
        const auto group = shares.u16();
        const auto key = shares.take(shares.u16());
        s.key_shares.push_back(
            fmt::format("{} ({} B)", group_name(static_cast<std::uint16_t>(group)), key.size()));
      }
    } else if (type == 0x000e) {  // use_srtp
      for (const auto p : u16_list(data.take(data.u16())))
        s.srtp_profiles.push_back(srtp_name(p));
    }
  }
  if (s.versions.empty()) s.versions.push_back(version_name(static_cast<std::uint16_t>(legacy)));
}

std::string string_list(const std::vector<std::string>& v) {
  std::vector<std::string> quoted;
  for (const auto& s : v)
    quoted.push_back(json_string(s));
  return json_list(quoted);
}

}  // namespace

std::optional<std::size_t> client_hello_offset(std::span<const std::byte> d) {
  for (std::size_t pos = 0; pos + 13 <= d.size();) {
    const auto type = std::to_integer<std::uint8_t>(d[pos]);
    const auto epoch = be16(d.data() + pos + 3);
    const std::size_t length = be16(d.data() + pos + 11);
    if (pos + 13 + length > d.size()) break;
    const auto record = d.subspan(pos + 13, length);
    pos += 13 + length;
    if (type != content_handshake || epoch != 0 || record.size() < 12) continue;
    if (std::to_integer<std::uint8_t>(record[0]) == msg_client_hello)
      return be32(record.data() + 5) & 0xffffff;
  }
  return std::nullopt;
}

void dtls_probe::observe(std::span<const std::byte> d, steady::time_point at) {
  bool counted = false;
  bool repeated = false;
  steady::time_point first_time{};
  // A datagram holds one or more records (RFC 6347 section 4.1.1): type, version, epoch, seq (6),
  // length; handshake records in epoch 0 are plaintext: type, length (3), message_seq, offset
  // (3), fragment length (3), fragment.
  ++datagrams_;
  for (std::size_t pos = 0; pos + 13 <= d.size();) {
    const auto type = std::to_integer<std::uint8_t>(d[pos]);
    const auto epoch = be16(d.data() + pos + 3);
    const std::size_t length = be16(d.data() + pos + 11);
    if (pos + 13 + length > d.size()) break;
    auto record = d.subspan(pos + 13, length);
    pos += 13 + length;
    if (type != content_handshake || epoch != 0) continue;
    if (!counted) {
      ++handshake_datagrams_;
      handshake_bytes_ += d.size();
      counted = true;
    }
    while (record.size() >= 12) {
      const auto msg_type = std::to_integer<std::uint8_t>(record[0]);
      const std::size_t total = be32(record.data()) & 0xffffff;
      const auto seq = be16(record.data() + 4);
      const std::size_t offset = be32(record.data() + 5) & 0xffffff;
      const std::size_t fragment = be32(record.data() + 8) & 0xffffff;
      if (12 + fragment > record.size()) break;
      const auto key = std::pair{seq, offset};
      const auto [it, first] = seen_.emplace(key, at);
      if (!first && !repeated) {
        repeated = true;
        first_time = it->second;
      }
      on_fragment(msg_type, seq, total, offset, record.subspan(12, fragment), d.size(), first);
      record = record.subspan(12 + fragment);
    }
  }
  if (repeated)
    retransmission_delays_ms_.push_back(
        std::chrono::duration<double, std::milli>(at - first_time).count());
}

void dtls_probe::on_fragment(std::uint8_t type, std::uint16_t seq, std::size_t total,
                             std::size_t offset, std::span<const std::byte> body,
                             std::size_t datagram_size, bool first_sighting) {
  // The first ClientHello (message_seq 0: no cookie exchange with an ICE-proven peer).
  if (type != msg_client_hello || seq != 0 || hello_ || total > 65536) return;
  if (hello_body_.empty()) {
    hello_body_.resize(total);
    hello_have_.assign(total, false);
    pending_.length = total;
  }
  if (total != hello_body_.size() || offset + body.size() > total) return;
  if (first_sighting) {
    ++pending_.fragments;
    if (std::exchange(hello_datagram_, datagrams_) != datagrams_) ++pending_.datagrams;
    pending_.largest_datagram = std::max(pending_.largest_datagram, datagram_size);
  }
  std::copy(body.begin(), body.end(), hello_body_.begin() + static_cast<std::ptrdiff_t>(offset));
  std::fill(hello_have_.begin() + static_cast<std::ptrdiff_t>(offset),
            hello_have_.begin() + static_cast<std::ptrdiff_t>(offset + body.size()), true);
  if (std::find(hello_have_.begin(), hello_have_.end(), false) != hello_have_.end()) return;
  parse_client_hello(hello_body_, pending_);
  hello_ = std::move(pending_);
}

std::string dtls_probe::to_json() const {
  std::string delays;
  for (const auto d : retransmission_delays_ms_)
    delays += fmt::format("{}{:.0f}", delays.empty() ? "" : ",", d);
  std::string j = fmt::format(
      "{{\"handshake_datagrams\":{},\"handshake_bytes\":{},\"retransmissions\":{},"
      "\"retransmission_delays_ms\":[{}]",
      handshake_datagrams_, handshake_bytes_, retransmissions(), delays);
  if (hello_) {
    j += fmt::format(
        ",\"client_hello\":{{\"length\":{},\"fragments\":{},\"datagrams\":{},"
        "\"largest_datagram\":{},\"versions\":{},\"groups\":{},\"key_shares\":{},"
        "\"cipher_suites\":{},\"srtp_profiles\":{}}}",
        hello_->length, hello_->fragments, hello_->datagrams, hello_->largest_datagram,
        string_list(hello_->versions), string_list(hello_->groups), string_list(hello_->key_shares),
        string_list(hello_->cipher_suites), string_list(hello_->srtp_profiles));
  }
  return j + "}";
}

}  // namespace webrtc
