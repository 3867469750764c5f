#include "stun.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <sys/socket.h>
#include <zlib.h>

#include <algorithm>
#include <array>

namespace webrtc::stun {

namespace {

constexpr std::uint32_t magic_cookie = 0x2112A442;
constexpr std::uint16_t binding_request_type = 0x0001, binding_success_type = 0x0101;
constexpr std::uint16_t attr_username = 0x0006, attr_message_integrity = 0x0008,
                        attr_xor_mapped_address = 0x0020, attr_use_candidate = 0x0025,
                        attr_fingerprint = 0x8028;
constexpr std::uint32_t fingerprint_xor = 0x5354554e;  // RFC 8489 section 14.7

std::uint32_t fingerprint_of(std::span<const std::byte> b) {
  return static_cast<std::uint32_t>(
             crc32(0L, reinterpret_cast<const Bytef*>(b.data()), static_cast<uInt>(b.size()))) ^
         fingerprint_xor;
}

std::array<unsigned char, 20> hmac_sha1(std::string_view key, std::span<const std::byte> b) {
  std::array<unsigned char, 20> mac{};
  unsigned int size = 0;
  HMAC(EVP_sha1(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(b.data()), b.size(), mac.data(), &size);
  return mac;
}

void put_xor_mapped_address(bytes& out, std::span<const std::byte> transaction_id,
                            const dtlspp::io::endpoint& to) {
  put16(out, attr_xor_mapped_address);
  if (to.family() == AF_INET) {
    const auto* in = static_cast<const sockaddr_in*>(to.sockaddr_data());
    put16(out, 8);
    put16(out, 0x0001);
    put16(out, static_cast<std::uint16_t>(ntohs(in->sin_port) ^ (magic_cookie >> 16)));
    put32(out, ntohl(in->sin_addr.s_addr) ^ magic_cookie);
    return;
  }
  const auto* in6 = static_cast<const sockaddr_in6*>(to.sockaddr_data());
  put16(out, 20);
  put16(out, 0x0002);
  put16(out, static_cast<std::uint16_t>(ntohs(in6->sin6_port) ^ (magic_cookie >> 16)));
  std::array<std::byte, 16> mask;  // the cookie, then the transaction ID (section 14.2)
  for (int i = 0; i < 4; ++i)
    mask[i] = std::byte((magic_cookie >> (24 - 8 * i)) & 0xff);
  std::copy(transaction_id.begin(), transaction_id.end(), mask.begin() + 4);
  for (int i = 0; i < 16; ++i)
    out.push_back(std::byte(in6->sin6_addr.s6_addr[i]) ^ mask[i]);
}

}  // namespace

std::optional<binding_request> parse_binding_request(std::span<const std::byte> m,
                                                     std::string& why) {
  if (m.size() < 20 || be32(m.data() + 4) != magic_cookie) return why = "not STUN", std::nullopt;
  const auto type = be16(m.data());
  const std::size_t length = be16(m.data() + 2);
  if (length + 20 != m.size() || length % 4 != 0) return why = "bad STUN length", std::nullopt;
  if (type != binding_request_type)
    return why = fmt::format("STUN type {:#06x} ignored", type), std::nullopt;
  binding_request r;
  r.message = m;
  std::optional<std::size_t> integrity_at, fingerprint_at;
  bool has_username = false;
  for (std::size_t at = 20; at + 4 <= m.size();) {
    const auto t = be16(m.data() + at);
    const std::size_t l = be16(m.data() + at + 2);
    if (at + 4 + l > m.size()) return why = "truncated STUN attribute", std::nullopt;
    if (fingerprint_at) return why = "attribute after FINGERPRINT", std::nullopt;
    if (t == attr_fingerprint && l == 4) {
      fingerprint_at = at;
    } else if (!integrity_at) {  // attributes after MESSAGE-INTEGRITY are ignored (14.5)
      if (t == attr_username) {
        r.username = as_text(m.subspan(at + 4, l));
        has_username = true;
      }
      if (t == attr_message_integrity && l == 20) integrity_at = at;
      if (t == attr_use_candidate) r.use_candidate = true;
    }
    at += 4 + (l + 3) / 4 * 4;
  }
  if (fingerprint_at &&
      be32(m.data() + *fingerprint_at + 4) != fingerprint_of(m.first(*fingerprint_at)))
    return why = "bad FINGERPRINT", std::nullopt;
  if (!has_username) return why = "no USERNAME", std::nullopt;
  if (!integrity_at) return why = "no MESSAGE-INTEGRITY", std::nullopt;
  r.integrity_at = *integrity_at;
  return r;
}

bool integrity_ok(const binding_request& r, std::string_view password) {
  // The HMAC covers the message up to MESSAGE-INTEGRITY, with the header's length counting up to
  // and including it (RFC 8489 section 14.5).
  bytes covered(r.message.begin(), r.message.begin() + static_cast<std::ptrdiff_t>(r.integrity_at));
  set16(covered, 2, static_cast<std::uint16_t>(r.integrity_at + 24 - 20));
  const auto mac = hmac_sha1(password, covered);
  return CRYPTO_memcmp(mac.data(), r.message.data() + r.integrity_at + 4, mac.size()) == 0;
}

bytes success_response(const binding_request& r, const dtlspp::io::endpoint& to,
                       std::string_view password) {
  bytes out;
  put16(out, binding_success_type);
  put16(out, 0);
  put32(out, magic_cookie);
  const auto transaction_id = r.message.subspan(8, 12);
  out.insert(out.end(), transaction_id.begin(), transaction_id.end());
  put_xor_mapped_address(out, transaction_id, to);
  set16(out, 2, static_cast<std::uint16_t>(out.size() + 24 - 20));
  const auto mac = hmac_sha1(password, out);
  put16(out, attr_message_integrity);
  put16(out, 20);
  for (const auto b : mac)
    out.push_back(std::byte(b));
  set16(out, 2, static_cast<std::uint16_t>(out.size() + 8 - 20));
  const auto crc = fingerprint_of(out);
  put16(out, attr_fingerprint);
  put16(out, 4);
  put32(out, crc);
  return out;
}

}  // namespace webrtc::stun
