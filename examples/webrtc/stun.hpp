// stun.hpp: STUN binding requests as an ICE-lite agent sees them (RFC 8489, RFC 8445 section
// 7.3 for the responder's checks, RFC 7675 for consent freshness).
//
// An ICE-lite agent never sends checks; it answers the full agent's binding requests, each
// authenticated with short-term credentials: USERNAME is "<our ufrag>:<their ufrag>" and
// MESSAGE-INTEGRITY is an HMAC-SHA1 keyed with our ice-pwd. A request that checks out proves
// that the peer at its source address knows the credentials the answer gave it: that address
// may then get DTLS.
#pragma once

#include <dtlspp/io/udp.hpp>

#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "util.hpp"

namespace webrtc::stun {

// binding_request is a well-formed binding request whose integrity is not checked yet: the
// USERNAME tells which peer connection's password checks it.
struct binding_request {
  std::string username;
  bool use_candidate = false;  // the controlling agent nominates this pair (RFC 8445 8.1.1)
  std::size_t integrity_at = 0;
  std::span<const std::byte> message;  // the whole request (borrowed from the caller)
};

// parse_binding_request reads a binding request with USERNAME, MESSAGE-INTEGRITY and a correct
// FINGERPRINT (RFC 8489 section 14.7); empty with `why` set for anything else.
std::optional<binding_request> parse_binding_request(std::span<const std::byte> m,
                                                     std::string& why);

// integrity_ok checks the request's MESSAGE-INTEGRITY with password (RFC 8489 section 14.5),
// in constant time.
bool integrity_ok(const binding_request& r, std::string_view password);

// success_response builds the binding success response to r, from `to`'s address
// (XOR-MAPPED-ADDRESS, section 14.2), with MESSAGE-INTEGRITY keyed by password and FINGERPRINT.
bytes success_response(const binding_request& r, const dtlspp::io::endpoint& to,
                       std::string_view password);

}  // namespace webrtc::stun
