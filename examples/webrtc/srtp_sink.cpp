#include "srtp_sink.hpp"

#include <fmt/format.h>
#include <openssl/crypto.h>
#include <srtp2/srtp.h>

#include <cstring>
#include <stdexcept>
#include <vector>

#include "util.hpp"

namespace webrtc {

namespace {

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

}  // namespace

srtp_library::srtp_library() {
  if (srtp_init() != srtp_err_status_ok) throw std::runtime_error("srtp_init failed");
}

srtp_library::~srtp_library() {
  srtp_shutdown();
}

bool srtp_library::available(dtlspp::srtp_profile p) {
  const std::vector<std::byte> zeros(32 + 14);
  const auto size = dtlspp::master_key_size(p), salt = dtlspp::master_salt_size(p);
  std::string why;
  return srtp_sink::make(p, std::span(zeros).first(size), std::span(zeros).subspan(size, salt), why)
      .has_value();
}

void srtp_sink::deleter::operator()(srtp_ctx_t_* s) const noexcept {
  srtp_dealloc(s);
}

std::optional<srtp_sink> srtp_sink::make(dtlspp::srtp_profile p, std::span<const std::byte> key,
                                         std::span<const std::byte> salt, std::string& why) {
  // libsrtp takes the master key and salt concatenated.
  std::vector<unsigned char> master(key.size() + salt.size());
  std::memcpy(master.data(), key.data(), key.size());
  std::memcpy(master.data() + key.size(), salt.data(), salt.size());
  srtp_policy_t policy{};
  if (!set_crypto_policy(p, policy)) return why = "unknown profile", std::nullopt;
  policy.ssrc.type = ssrc_any_inbound;
  policy.key = master.data();
  policy.window_size = 1024;
  policy.allow_repeat_tx = 0;
  policy.next = nullptr;
  srtp_t session = nullptr;
  const auto status = srtp_create(&session, &policy);
  OPENSSL_cleanse(master.data(), master.size());
  if (status != srtp_err_status_ok) {
    why = fmt::format("libsrtp error {}", static_cast<int>(status));
    return std::nullopt;
  }
  return srtp_sink(session);
}

bool srtp_sink::unprotect(std::span<std::byte> packet) {
  if (packet.size() < 12) return false;
  // RFC 5761 section 4: RTCP packet types 192-223 in the second byte; RTP otherwise.
  const auto second = std::to_integer<unsigned>(packet[1]);
  const bool rtcp = second >= 192 && second <= 223;
  int size = static_cast<int>(packet.size());
  const auto status = rtcp ? srtp_unprotect_rtcp(session_.get(), packet.data(), &size)
                           : srtp_unprotect(session_.get(), packet.data(), &size);
  if (status != srtp_err_status_ok) {
    ++(rtcp ? stats_.rtcp_failed : stats_.rtp_failed);
    stats_.last_error = fmt::format("{} unprotect: libsrtp error {}", rtcp ? "SRTCP" : "SRTP",
                                    static_cast<int>(status));
    return false;
  }
  if (rtcp) {
    ++stats_.rtcp_ok;
    return true;
  }
  ++stats_.rtp_ok;
  ++stats_.payload_types[static_cast<int>(second & 0x7f)];
  stats_.ssrcs.insert(be32(packet.data() + 8));
  stats_.rtp_payload_bytes += static_cast<std::size_t>(size) - 12;
  return true;
}

}  // namespace webrtc
