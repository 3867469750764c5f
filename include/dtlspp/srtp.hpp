// dtlspp/srtp.hpp: DTLS-SRTP (RFC 5764) protection profiles and the keys DTLS exports for them.
#pragma once

#include "dtlspp/export.hpp"

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>
#include <vector>

namespace dtlspp {

enum class role;

// srtp_profile lists the SRTP protection profiles dtlspp negotiates, by their IANA values
// (RFC 5764 section 4.1.2, RFC 7714 section 14.2).
enum class srtp_profile : std::uint16_t {
  aes128_cm_sha1_80 = 0x0001,  // SRTP_AES128_CM_HMAC_SHA1_80
  aes128_cm_sha1_32 = 0x0002,  // SRTP_AES128_CM_HMAC_SHA1_32
  aead_aes_128_gcm = 0x0007,   // SRTP_AEAD_AES_128_GCM
  aead_aes_256_gcm = 0x0008,   // SRTP_AEAD_AES_256_GCM
};

// name returns the profile's name as OpenSSL and most tools spell it: "SRTP_AES128_CM_SHA1_80",
// "SRTP_AES128_CM_SHA1_32", "SRTP_AEAD_AES_128_GCM", "SRTP_AEAD_AES_256_GCM"; "unknown" for a
// value outside the enumeration.
DTLSPP_API std::string_view name(srtp_profile p) noexcept;

// parse_srtp_profile reads a name as name() gives it, or its RFC spelling
// ("SRTP_AES128_CM_HMAC_SHA1_80"), in either case; empty for anything else.
DTLSPP_API std::optional<srtp_profile> parse_srtp_profile(std::string_view text) noexcept;

// master_key_size and master_salt_size give the profile's SRTP master key and salt lengths in
// bytes (RFC 5764 section 4.1.2: 16 and 14 for the AES-CM profiles; RFC 7714 section 12:
// 16 or 32 and 12 for AEAD); 0 for a value outside the enumeration.
DTLSPP_API std::size_t master_key_size(srtp_profile p) noexcept;
DTLSPP_API std::size_t master_salt_size(srtp_profile p) noexcept;

// srtp_keys is the keying material a DTLS-SRTP association exports (RFC 5764 section 4.2): the
// label "EXTRACTOR-dtls_srtp", no context, 2 * (key + salt) bytes laid out as client key, server
// key, client salt, server salt. The local and remote views pick the halves for this end's
// role: an SRTP sender protects with its local key and salt. Move-only; the bytes are wiped
// (OPENSSL_cleanse) when it is destroyed or moved from. Spans are valid while *this lives.
class DTLSPP_API srtp_keys {
 public:
  // srtp_keys takes the export of profile p seen from role `local`. Throws
  // dtlspp::error(errc::invalid_argument) for a profile or role outside their enumerations, or
  // an export of the wrong size for p (the bytes are wiped first).
  srtp_keys(srtp_profile p, dtlspp::role local, std::vector<std::byte> exported);
  srtp_keys(srtp_keys&& other) noexcept;
  srtp_keys& operator=(srtp_keys&& other) noexcept;
  srtp_keys(const srtp_keys&) = delete;
  srtp_keys& operator=(const srtp_keys&) = delete;
  ~srtp_keys();

  srtp_profile profile() const noexcept { return profile_; }

  // raw returns the whole export: client key | server key | client salt | server salt.
  std::span<const std::byte> raw() const noexcept { return bytes_; }

  std::span<const std::byte> client_key() const noexcept;
  std::span<const std::byte> server_key() const noexcept;
  std::span<const std::byte> client_salt() const noexcept;
  std::span<const std::byte> server_salt() const noexcept;

  std::span<const std::byte> local_key() const noexcept;
  std::span<const std::byte> local_salt() const noexcept;
  std::span<const std::byte> remote_key() const noexcept;
  std::span<const std::byte> remote_salt() const noexcept;

 private:
  void wipe() noexcept;
  srtp_profile profile_;
  bool local_is_client_;
  std::vector<std::byte> bytes_;
};

}  // namespace dtlspp
