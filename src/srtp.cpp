// src/srtp.cpp: SRTP profile names and sizes, and the exported key layout.
#include "dtlspp/srtp.hpp"

#include <openssl/crypto.h>

#include <algorithm>
#include <array>
#include <cctype>

#include "dtlspp/error.hpp"
#include "dtlspp/session.hpp"

namespace dtlspp {
namespace {

struct profile_info {
  srtp_profile profile;
  std::string_view name;      // OpenSSL's spelling (SSL_CTX_set_tlsext_use_srtp)
  std::string_view rfc_name;  // the IANA registry's
  std::size_t key;
  std::size_t salt;
};

constexpr std::array<profile_info, 4> profiles{{
    {srtp_profile::aes128_cm_sha1_80, "SRTP_AES128_CM_SHA1_80", "SRTP_AES128_CM_HMAC_SHA1_80", 16,
     14},
    {srtp_profile::aes128_cm_sha1_32, "SRTP_AES128_CM_SHA1_32", "SRTP_AES128_CM_HMAC_SHA1_32", 16,
     14},
    {srtp_profile::aead_aes_128_gcm, "SRTP_AEAD_AES_128_GCM", "SRTP_AEAD_AES_128_GCM", 16, 12},
    {srtp_profile::aead_aes_256_gcm, "SRTP_AEAD_AES_256_GCM", "SRTP_AEAD_AES_256_GCM", 32, 12},
}};

// info returns p's row; a value outside the enumeration gets a row named "unknown" whose sizes
// are 0, which every user of a profile refuses.
const profile_info& info(srtp_profile p) noexcept {
  static constexpr profile_info unknown{srtp_profile{0}, "unknown", "unknown", 0, 0};
  const auto* it = std::ranges::find(profiles, p, &profile_info::profile);
  return it != profiles.end() ? *it : unknown;
}

bool iequals(std::string_view a, std::string_view b) noexcept {
  return std::ranges::equal(a, b, [](char x, char y) {
    return std::toupper(static_cast<unsigned char>(x)) ==
           std::toupper(static_cast<unsigned char>(y));
  });
}

}  // namespace

std::string_view name(srtp_profile p) noexcept {
  return info(p).name;
}
std::size_t master_key_size(srtp_profile p) noexcept {
  return info(p).key;
}
std::size_t master_salt_size(srtp_profile p) noexcept {
  return info(p).salt;
}

std::optional<srtp_profile> parse_srtp_profile(std::string_view text) noexcept {
  for (const auto& p : profiles) {
    if (iequals(text, p.name) || iequals(text, p.rfc_name)) return p.profile;
  }
  return std::nullopt;
}

srtp_keys::srtp_keys(srtp_profile p, dtlspp::role local, std::vector<std::byte> exported)
    : profile_(p), local_is_client_(local == role::client), bytes_(std::move(exported)) {
  if (master_key_size(p) == 0 || (local != role::client && local != role::server)) {
    wipe();
    throw error(errc::invalid_argument, "not an SRTP protection profile or a role");
  }
  if (bytes_.size() != 2 * (master_key_size(p) + master_salt_size(p))) {
    wipe();
    throw error(errc::invalid_argument, "SRTP keying material has the wrong size for its profile");
  }
}

srtp_keys::srtp_keys(srtp_keys&& other) noexcept
    : profile_(other.profile_),
      local_is_client_(other.local_is_client_),
      bytes_(std::move(other.bytes_)) {
  other.bytes_.clear();
}

srtp_keys& srtp_keys::operator=(srtp_keys&& other) noexcept {
  if (this != &other) {
    wipe();
    profile_ = other.profile_;
    local_is_client_ = other.local_is_client_;
    bytes_ = std::move(other.bytes_);
    other.bytes_.clear();
  }
  return *this;
}

srtp_keys::~srtp_keys() {
  wipe();
}

void srtp_keys::wipe() noexcept {
  if (!bytes_.empty()) OPENSSL_cleanse(bytes_.data(), bytes_.size());
}

// RFC 5764 section 4.2: client_write_SRTP_master_key[key] | server_write_SRTP_master_key[key] |
// client_write_SRTP_master_salt[salt] | server_write_SRTP_master_salt[salt].
std::span<const std::byte> srtp_keys::client_key() const noexcept {
  if (bytes_.empty()) return {};  // moved from
  return raw().subspan(0, master_key_size(profile_));
}
std::span<const std::byte> srtp_keys::server_key() const noexcept {
  if (bytes_.empty()) return {};  // moved from
  return raw().subspan(master_key_size(profile_), master_key_size(profile_));
}
std::span<const std::byte> srtp_keys::client_salt() const noexcept {
  if (bytes_.empty()) return {};  // moved from
  return raw().subspan(2 * master_key_size(profile_), master_salt_size(profile_));
}
std::span<const std::byte> srtp_keys::server_salt() const noexcept {
  if (bytes_.empty()) return {};  // moved from
  return raw().subspan(2 * master_key_size(profile_) + master_salt_size(profile_),
                       master_salt_size(profile_));
}

std::span<const std::byte> srtp_keys::local_key() const noexcept {
  return local_is_client_ ? client_key() : server_key();
}
std::span<const std::byte> srtp_keys::local_salt() const noexcept {
  return local_is_client_ ? client_salt() : server_salt();
}
std::span<const std::byte> srtp_keys::remote_key() const noexcept {
  return local_is_client_ ? server_key() : client_key();
}
std::span<const std::byte> srtp_keys::remote_salt() const noexcept {
  return local_is_client_ ? server_salt() : client_salt();
}

}  // namespace dtlspp
