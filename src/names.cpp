// src/names.cpp: names of the public enumerations that have no standard spelling of their own.
// Each name is the enumerator's identifier (hash algorithms and SRTP profiles use their RFC and
// OpenSSL spellings, in fingerprint.cpp and srtp.cpp).
#include "detail/enum_names.hpp"
#include "dtlspp/error.hpp"
#include "dtlspp/identity.hpp"
#include "dtlspp/session.hpp"
#include "dtlspp/verifier.hpp"

namespace dtlspp {
namespace {

using std::pair;

constexpr detail::enum_names role_names{pair{role::client, "client"}, pair{role::server, "server"}};

constexpr detail::enum_names state_names{
    pair{state::handshaking, "handshaking"}, pair{state::connected, "connected"},
    pair{state::closed, "closed"}, pair{state::failed, "failed"}};

constexpr detail::enum_names verdict_names{pair{verdict::accept, "accept"},
                                           pair{verdict::reject, "reject"},
                                           pair{verdict::defer, "defer"}};

constexpr detail::enum_names key_type_names{
    pair{key_type::ecdsa_p256, "ecdsa_p256"}, pair{key_type::ecdsa_p384, "ecdsa_p384"},
    pair{key_type::ed25519, "ed25519"}, pair{key_type::rsa_2048, "rsa_2048"},
    pair{key_type::rsa_3072, "rsa_3072"}};

constexpr detail::enum_names errc_names{
    pair{errc::invalid_argument, "invalid_argument"},
    pair{errc::malformed_input, "malformed_input"},
    pair{errc::key_mismatch, "key_mismatch"},
    pair{errc::unsupported, "unsupported"},
    pair{errc::crypto_failure, "crypto_failure"},
    pair{errc::handshake_timeout, "handshake_timeout"},
    pair{errc::fingerprint_mismatch, "fingerprint_mismatch"},
    pair{errc::peer_alert, "peer_alert"},
    pair{errc::protocol_error, "protocol_error"},
    pair{errc::closed, "closed"},
    pair{errc::not_connected, "not_connected"},
    pair{errc::message_too_large, "message_too_large"},
    pair{errc::no_common_srtp_profile, "no_common_srtp_profile"},
    pair{errc::peer_restarted, "peer_restarted"},
    pair{errc::idle_timeout, "idle_timeout"}};

}  // namespace

std::string_view name(role r) noexcept {
  return role_names.name(r);
}
std::optional<role> parse_role(std::string_view text) noexcept {
  return role_names.parse(text);
}

std::string_view name(state s) noexcept {
  return state_names.name(s);
}
std::optional<state> parse_state(std::string_view text) noexcept {
  return state_names.parse(text);
}

std::string_view name(verdict v) noexcept {
  return verdict_names.name(v);
}
std::optional<verdict> parse_verdict(std::string_view text) noexcept {
  return verdict_names.parse(text);
}

std::string_view name(key_type k) noexcept {
  return key_type_names.name(k);
}
std::optional<key_type> parse_key_type(std::string_view text) noexcept {
  return key_type_names.parse(text);
}

std::string_view name(errc e) noexcept {
  return errc_names.name(e);
}
std::optional<errc> parse_errc(std::string_view text) noexcept {
  return errc_names.parse(text);
}

}  // namespace dtlspp
