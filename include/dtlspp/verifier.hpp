// dtlspp/verifier.hpp: how the application decides whether the peer is who it expected.
//
// DTLS the WebRTC way: both peers present self-signed certificates, so X.509 path validation
// proves nothing. Authentication is a comparison with a fingerprint received out of band (an SDP
// a=fingerprint line, RFC 8122), made by a verifier the application gives every session.
#pragma once

#include "dtlspp/export.hpp"

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "dtlspp/certificate.hpp"
#include "dtlspp/fingerprint.hpp"

namespace dtlspp {

// verdict is a verifier's answer. defer lets the handshake finish on the wire while the
// application waits for the peer's fingerprint (it arrives late in many signalling flows);
// nothing is released until session::verify_peer settles it.
enum class verdict { accept, reject, defer };

// name returns the enumerator's identifier ("accept"), "unknown" outside the enumeration;
// parse_verdict reads it back, in any case, and gives nothing for anything else.
DTLSPP_API std::string_view name(verdict v) noexcept;
DTLSPP_API std::optional<verdict> parse_verdict(std::string_view text) noexcept;

// verifier decides on the peer's certificate. It is called once per handshake, from inside
// session::handle_datagram, on the thread driving that session; it must not call back into
// that session. An exception it throws is caught and counts as reject.
class DTLSPP_API verifier {
 public:
  using function = std::function<verdict(const certificate& peer)>;

  // verifier wraps any callable taking const certificate& and returning a verdict. An empty
  // std::function throws dtlspp::error(errc::invalid_argument): verification is never off.
  template <class F>
  requires std::is_invocable_r_v<verdict, F&, const certificate&> &&
      (!std::is_same_v<std::remove_cvref_t<F>, verifier>)verifier(F f)
      : verifier(function(std::move(f)), {}) {}

  verdict operator()(const certificate& peer) const { return decide_(peer); }

  // expected returns the fingerprints an expect() verifier compares with; empty otherwise.
  const std::vector<fingerprint>& expected() const noexcept { return expected_; }

  // rejection_message explains a rejection of peer: the expected and the actual fingerprints
  // for expect(), the actual sha-256 fingerprint for any other verifier.
  std::string rejection_message(const certificate& peer) const;

 private:
  friend DTLSPP_API verifier expect(std::vector<fingerprint> any_of);
  verifier(function f, std::vector<fingerprint> expected);
  function decide_;
  std::vector<fingerprint> expected_;
};

// expect accepts a peer whose certificate matches any of any_of, each in its own algorithm, and
// rejects every other (RFC 8122 section 5: several a=fingerprint lines may name one
// certificate). Throws dtlspp::error(errc::invalid_argument) when any_of is empty.
DTLSPP_API verifier expect(std::vector<fingerprint> any_of);

// dangerous_accept_any accepts every certificate: the peer is not authenticated and anyone on
// the path can read and forge the traffic. For tests and tools that print the fingerprint for a
// human to compare; never the default.
DTLSPP_API verifier dangerous_accept_any();

}  // namespace dtlspp
