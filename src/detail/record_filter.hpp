// src/detail/record_filter.hpp: a cheap look at a datagram before OpenSSL sees it.
//
// Until the Finished messages, nothing in a DTLS 1.2 handshake is authenticated, and OpenSSL
// turns several malformed or unexpected plaintext messages into fatal errors. What cannot be
// part of a well-formed exchange is dropped here and counted instead (invariant: bad input is
// dropped): impossible record or fragment lengths, a message type the role never receives, a
// plaintext warning alert, and, for a client, a ServerHello that no server answering its
// ClientHello could send (another version than DTLS 1.2, a cipher suite it did not offer, a
// compression method other than null).
//
// What one forged datagram can still do, and no filter can prevent in DTLS 1.2:
// - a fatal alert in plaintext ends a handshake: a real peer sends exactly that when its own
//   handshake fails, and the two cannot be told apart (RFC 6347 section 4.1.2.7 lets
//   implementations drop invalid records, not alerts);
// - a well-formed plaintext handshake message with believable contents (a ServerHello with an
//   offered suite, a Certificate, a ServerKeyExchange...) that arrives before the real one is
//   taken for it, and the handshake fails later (at the signature or the Finished check),
//   since the transcript is only verified at the end (RFC 5246 section 7.4.9).
// An attacker who can see the ClientHello and answer before the server can therefore stop a
// handshake, never complete one (the fingerprint check and the Finished MAC still hold).
// Records that are well-formed but forged, replayed or stale in an epoch > 0 go to OpenSSL,
// which discards them (RFC 6347 section 4.1.2.7).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>

#include "detail/wire.hpp"
#include "dtlspp/session.hpp"

namespace dtlspp::detail {

// RFC 6347 section 4.1: DTLSCiphertext.length is at most 2^14 + 2048.
inline constexpr std::size_t max_record_body = 16384 + 2048;
// A datagram longer than this cannot be one a DTLS peer sends: OpenSSL reads at most one maximal
// record per datagram into its buffer.
inline constexpr std::size_t max_datagram_size = wire::record_header_size + max_record_body;
// OpenSSL refuses handshake messages longer than its certificate list limit (100 KiB, as
// SSL_MAX_CERT_LIST_DEFAULT); one claiming more is dropped before OpenSSL sees it.
inline constexpr std::size_t max_handshake_message = 100 * 1024;

enum class datagram_verdict { accept, malformed, oversize, unexpected };

struct datagram_summary {
  datagram_verdict verdict = datagram_verdict::accept;
  std::size_t application_records = 0;  // records of content type application_data
};

// filter_policy is what the filter knows of the session: its role and, for a client, the
// cipher suites its ClientHello offers (their IANA values).
struct filter_policy {
  role r = role::client;
  std::span<const std::uint16_t> offered_suites;
};

// record_size returns the size of the DTLS record at the start of bytes, header included, or 0
// when bytes does not start with a whole record header and body.
std::size_t record_size(std::span<const std::byte> bytes) noexcept;

// inspect checks the record framing of a datagram (RFC 6347 section 4.1) and, for plaintext
// handshake records (epoch 0), the framing of each handshake fragment (section 4.2.2), that the
// role may receive its message type (RFC 5246 section 7.3) and the ServerHello's fixed fields
// (section 7.4.1.3). Never throws; reads only datagram.
datagram_summary inspect(std::span<const std::byte> datagram, const filter_policy& policy) noexcept;

// inspect_encrypted returns inspect's summary of a datagram that is one well-framed record of
// an epoch > 0, an established association's record, which the policy does not concern: inline,
// for the per-record path. Nothing for any other datagram (inspect reads those). Never throws.
inline std::optional<datagram_summary> inspect_encrypted(
    std::span<const std::byte> datagram) noexcept {
  if (datagram.size() < wire::record_header_size) return std::nullopt;
  const auto at = [&](std::size_t i) { return std::to_integer<unsigned>(datagram[i]); };
  const unsigned type = at(0);
  const std::size_t length = at(wire::record_length_at) << 8 | at(wire::record_length_at + 1);
  const bool encrypted = (at(wire::record_epoch_at) | at(wire::record_epoch_at + 1)) != 0;
  if (wire::record_header_size + length != datagram.size() || length > max_record_body ||
      !encrypted || type < wire::content::change_cipher_spec ||
      type > wire::content::application_data || at(1) != wire::dtls_major_version) {
    return std::nullopt;
  }
  return datagram_summary{datagram_verdict::accept,
                          type == wire::content::application_data ? 1U : 0U};
}

}  // namespace dtlspp::detail
