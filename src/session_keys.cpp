// src/session_keys.cpp: keying material a session exports (RFC 5705, RFC 5764).
#include <fmt/format.h>

#include <algorithm>
#include <array>

#include "detail/session_impl.hpp"
#include "dtlspp/session.hpp"
#include "dtlspp/srtp.hpp"

namespace dtlspp {
namespace {

// Labels the TLS 1.2 PRF uses itself; an exporter label starting with one of them could
// reproduce protocol secrets (RFC 5705 section 4, RFC 7627 section 4), and OpenSSL refuses them.
constexpr std::array<std::string_view, 5> reserved_labels{"client finished", "server finished",
                                                          "master secret", "key expansion",
                                                          "extended master secret"};

// RFC 5705 section 4: the length is a uint16.
constexpr std::size_t max_export = 65535;
// OpenSSL 3.0's TLS 1.2 PRF takes a seed of at most 1024 bytes (TLS1_PRF_MAXBUF): the label,
// both randoms (64 bytes), and with a context its 2-byte length and the context itself.
constexpr std::size_t max_seed = 1024;
constexpr std::size_t randoms_size = 64;

std::size_t seed_size(std::string_view label, std::span<const std::byte> context) noexcept {
  return label.size() + randoms_size + (context.empty() ? 0 : 2 + context.size());
}

bool reserved(std::string_view label) noexcept {
  return std::ranges::any_of(reserved_labels,
                             [&](std::string_view r) { return label.starts_with(r); });
}

}  // namespace

std::optional<dtlspp::srtp_profile> session::srtp_profile() const noexcept {
  if (!impl_ || impl_->state != dtlspp::state::connected) return std::nullopt;
  const SRTP_PROTECTION_PROFILE* p = SSL_get_selected_srtp_profile(impl_->ssl.get());
  if (p == nullptr) return std::nullopt;
  return static_cast<dtlspp::srtp_profile>(p->id);
}

std::optional<srtp_keys> session::srtp_keying_material() const {
  const auto profile = srtp_profile();
  if (!profile) return std::nullopt;
  const std::size_t size = 2 * (master_key_size(*profile) + master_salt_size(*profile));
  // RFC 5764 section 4.2: the exporter with label "EXTRACTOR-dtls_srtp" and no context.
  return srtp_keys(*profile, impl_->role, export_keying_material("EXTRACTOR-dtls_srtp", size));
}

std::vector<std::byte> session::export_keying_material(std::string_view label, std::size_t length,
                                                       std::span<const std::byte> context) const {
  if (!impl_ || impl_->state != dtlspp::state::connected) {
    throw dtlspp::error(errc::not_connected,
                        "keying material is available once the peer is verified");
  }
  if (label.empty() || reserved(label)) {
    throw dtlspp::error(errc::invalid_argument,
                        fmt::format("exporter label \"{}\" is empty or reserved", label));
  }
  if (length == 0 || length > max_export) {
    throw dtlspp::error(errc::invalid_argument, "exporter length must be 1 to 65535 bytes");
  }
  if (seed_size(label, context) > max_seed) {
    throw dtlspp::error(errc::invalid_argument,
                        "exporter label and context are too long: OpenSSL's PRF takes at most "
                        "958 bytes of them together");
  }
  ERR_clear_error();
  std::vector<std::byte> out(length);
  const auto ctx = detail::as_uchars(context);
  detail::expect_one(
      SSL_export_keying_material(impl_->ssl.get(), reinterpret_cast<unsigned char*>(out.data()),
                                 out.size(), label.data(), label.size(), ctx.data(), ctx.size(),
                                 context.empty() ? 0 : 1),
      "SSL_export_keying_material");
  return out;
}

}  // namespace dtlspp
