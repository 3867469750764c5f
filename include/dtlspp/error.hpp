// dtlspp/error.hpp: the error codes of dtlspp and the one exception type.
//
// Two paths, two models. Setup (generating an identity, loading PEM, building a context or a
// session) throws dtlspp::error. The per-datagram path (session::handle_datagram, send,
// handle_timeout) never throws: it returns a std::error_code whose category is
// dtlspp::error_category() and whose value is a dtlspp::errc.
#pragma once

#include "dtlspp/export.hpp"

#include <optional>
#include <string>
#include <string_view>
#include <system_error>

namespace dtlspp {

// errc names what a caller can act on. Values are stable; 0 is never an error.
enum class errc {
  invalid_argument = 1,    // a caller passed a value outside the documented range
  malformed_input,         // PEM or DER that does not parse, or is empty, binary or truncated
  key_mismatch,            // the private key does not belong to the certificate
  unsupported,             // a valid input dtlspp does not handle (encrypted PEM, unknown key)
  crypto_failure,          // OpenSSL refused an operation (out of memory, internal error)
  handshake_timeout,       // the handshake did not complete before its deadline
  fingerprint_mismatch,    // the verifier rejected the peer's certificate
  peer_alert,              // the peer sent a fatal alert
  protocol_error,          // the peer broke the DTLS protocol, or negotiation failed
  closed,                  // the session was closed cleanly (close_notify); nothing more to do
  not_connected,           // application data or keys asked for before the peer is verified
  message_too_large,       // a send does not fit in one record at the configured MTU
  no_common_srtp_profile,  // require_srtp is set and the peers share no SRTP profile
  peer_restarted,          // a listener's peer began a new association from the same address
  idle_timeout,            // a listener ended a session that was idle too long
};

// name returns the enumerator's identifier ("handshake_timeout"), "unknown" outside the
// enumeration; parse_errc reads it back, in any case, and gives nothing for anything else. The
// category's message() is the sentence for people ("handshake timed out").
DTLSPP_API std::string_view name(errc e) noexcept;
DTLSPP_API std::optional<errc> parse_errc(std::string_view text) noexcept;

// error_category returns the category of errc values; its name() is "dtlspp". Thread-safe.
DTLSPP_API const std::error_category& error_category() noexcept;

// make_error_code makes errc usable wherever std::error_code is (found by ADL).
DTLSPP_API std::error_code make_error_code(errc e) noexcept;

// error is the one exception dtlspp throws, only from setup functions. code() is an errc;
// what() names the operation and, where OpenSSL failed, every reason in its error queue.
class DTLSPP_API error : public std::system_error {
 public:
  error(errc e, const std::string& what);
};

}  // namespace dtlspp

template <>
struct std::is_error_code_enum<dtlspp::errc> : std::true_type {};
