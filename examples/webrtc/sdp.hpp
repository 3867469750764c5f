// sdp.hpp: the browser's offer, read as far as the answer needs, and the answer (RFC 8866 for
// SDP, RFC 8829 for JSEP's offer/answer rules, RFC 8843 for BUNDLE).
//
// The answer accepts at most one audio or video m-section (receive-only, the offer's first
// codec) and one data channel m-section (RFC 8841), bundled on one ICE/DTLS transport, and
// rejects every other m-section with port 0. The answerer is ICE-lite (RFC 8445 section 2.5)
// with one host candidate.
#pragma once

#include <dtlspp/fingerprint.hpp>
#include <dtlspp/session.hpp>

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace webrtc {

// media_description is one m-section of the offer, with its own attributes.
struct media_description {
  std::string kind, port, proto, mid;
  std::vector<std::string> formats;
  std::map<int, std::string> rtpmap, fmtp;  // by payload type
  std::vector<std::uint32_t> ssrcs;         // a=ssrc lines, when the browser sends them
  std::optional<std::uint16_t> sctp_port;   // a=sctp-port (RFC 8841 section 5)
  std::optional<std::size_t> max_message_size;
};

// offer is what the answer depends on. Transport attributes (ICE credentials, fingerprints,
// a=setup) come from the first m-section, or from the session level where the browser put them
// there (Firefox puts a=fingerprint there).
struct offer {
  std::vector<media_description> sections;
  std::vector<std::string> bundle_mids;  // a=group:BUNDLE
  std::string ice_ufrag, ice_pwd;
  std::string setup;                           // actpass, active or passive (RFC 4145 section 4)
  std::vector<std::string> fingerprint_lines;  // "sha-256 AB:CD:..."
  std::vector<dtlspp::fingerprint> fingerprints;
  std::optional<std::size_t> media_index;  // the audio or video m-section the answer accepts
  std::optional<std::size_t> data_index;   // the data channel m-section the answer accepts
  int payload_type = -1;                   // media_index's first format: the preferred codec
};

// parse_offer reads an offer; throws std::runtime_error naming what is missing or malformed
// (no ICE credentials, no usable fingerprint, nothing the answer could accept).
offer parse_offer(std::string_view sdp);

// answer_parameters is this end's side of the answer.
struct answer_parameters {
  std::string ice_ufrag, ice_pwd;
  std::string fingerprint;  // "sha-256 AB:CD:..."
  dtlspp::role dtls_role;   // client answers a=setup:active, server a=setup:passive
  std::string address;      // the host candidate's IPv4 address
  std::uint16_t port;       // and port: ICE, DTLS, SRTP and SCTP all go there (bundled)
  std::size_t max_message_size = 262144;  // a=max-message-size (RFC 8841 section 6)
};

// can_answer_as says whether the offer's a=setup allows this end that DTLS role (RFC 5763
// section 5, RFC 8842 section 5.3): an actpass offer allows both.
bool can_answer_as(const offer& o, dtlspp::role r);

// make_answer answers o.
std::string make_answer(const offer& o, const answer_parameters& p);

}  // namespace webrtc
