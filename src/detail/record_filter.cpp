// src/detail/record_filter.cpp: DTLS record and handshake framing checks.
#include "detail/record_filter.hpp"

#include <algorithm>

namespace dtlspp::detail {
namespace {

namespace content = wire::content;

// RFC 5246 section 7.4 handshake types, as far as the filter tells them apart.
constexpr unsigned server_hello = 2;

// RFC 5246 section 7.4 HandshakeType values each role can receive in plaintext (the Finished
// message is always encrypted). A server never receives hello_request or server_hello; a client
// never receives client_hello.
bool receivable(unsigned type, role r) noexcept {
  switch (type) {
    case 0:   // hello_request: OpenSSL answers no_renegotiation
    case 2:   // server_hello
    case 3:   // hello_verify_request (RFC 6347 section 4.2.1)
    case 12:  // server_key_exchange
    case 13:  // certificate_request
    case 14:  // server_hello_done
      return r == role::client;
    case 1:   // client_hello
    case 15:  // certificate_verify
    case 16:  // client_key_exchange
      return r == role::server;
    case 11:  // certificate
      return true;
    default:
      return false;
  }
}

// server_hello_plausible checks what a ServerHello answering our ClientHello must hold (RFC 5246
// section 7.4.1.3): server_version DTLS 1.2 (the only version offered), one of the offered
// cipher suites, the null compression method. Only a fragment that starts the message can be
// checked; later fragments pass.
bool server_hello_plausible(std::size_t fragment_offset, std::span<const std::byte> fragment,
                            const filter_policy& policy) noexcept {
  if (fragment_offset != 0) return true;
  wire::reader body(fragment);
  const auto version = body.number(2);
  body.take(32);   // random
  body.vector(1);  // session_id
  const auto suite = static_cast<std::uint16_t>(body.number(2));
  const auto compression = body.number(1);
  if (!body.ok()) return true;  // a first fragment too short to tell
  return version == wire::dtls_1_2 && compression == 0 &&
         std::ranges::find(policy.offered_suites, suite) != policy.offered_suites.end();
}

datagram_verdict inspect_handshake(std::span<const std::byte> body,
                                   const filter_policy& policy) noexcept {
  wire::reader r(body);
  while (!r.rest().empty()) {
    const auto type = static_cast<unsigned>(r.number(1));
    const auto length = r.number(3);
    r.number(2);  // message_seq
    const auto fragment_offset = r.number(3);
    const auto fragment = r.vector(3);
    if (!r.ok() || length > max_handshake_message || fragment_offset + fragment.size() > length) {
      return datagram_verdict::malformed;
    }
    if (!receivable(type, policy.r)) return datagram_verdict::unexpected;
    if (type == server_hello && !server_hello_plausible(fragment_offset, fragment, policy)) {
      return datagram_verdict::unexpected;
    }
  }
  return datagram_verdict::accept;
}

// inspect_plaintext checks a record of epoch 0, which nobody authenticated.
datagram_verdict inspect_plaintext(const wire::record& rec, const filter_policy& policy) noexcept {
  switch (rec.type) {
    case content::handshake:
      return inspect_handshake(rec.body, policy);
    case content::change_cipher_spec:
      // RFC 5246 section 7.1: one byte, of value 1.
      return rec.body.size() == 1 && rec.body[0] == std::byte{1} ? datagram_verdict::accept
                                                                 : datagram_verdict::malformed;
    case content::alert:
      // RFC 5246 section 7.2: level and description. A plaintext warning is either noise or a
      // forgery (a peer's close_notify comes encrypted once the handshake is done).
      if (rec.body.size() != 2) return datagram_verdict::malformed;
      return rec.body[0] == std::byte{wire::alert::fatal} ? datagram_verdict::accept
                                                          : datagram_verdict::unexpected;
    default:
      return datagram_verdict::malformed;  // application data is never plaintext
  }
}

bool well_framed(const wire::record& rec) noexcept {
  return rec.type >= content::change_cipher_spec && rec.type <= content::application_data &&
         (rec.version >> 8) == wire::dtls_major_version && rec.body.size() <= max_record_body;
}

}  // namespace

std::size_t record_size(std::span<const std::byte> bytes) noexcept {
  const std::size_t before = bytes.size();
  if (!wire::next_record(bytes)) return 0;
  return before - bytes.size();
}

datagram_summary inspect(std::span<const std::byte> datagram,
                         const filter_policy& policy) noexcept {
  datagram_summary summary;
  if (datagram.size() > max_datagram_size) {
    summary.verdict = datagram_verdict::oversize;
    return summary;
  }
  if (datagram.empty()) summary.verdict = datagram_verdict::malformed;
  while (!datagram.empty() && summary.verdict == datagram_verdict::accept) {
    const auto rec = wire::next_record(datagram);
    if (!rec || !well_framed(*rec)) {
      summary.verdict = datagram_verdict::malformed;
      break;
    }
    if (rec->epoch == 0) summary.verdict = inspect_plaintext(*rec, policy);
    if (rec->type == content::application_data) ++summary.application_records;
  }
  return summary;
}

}  // namespace dtlspp::detail
