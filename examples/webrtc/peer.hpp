// peer.hpp: one browser's peer connection as the server keeps it: what the offer and answer
// fixed, what ICE proved, its DTLS association (its own dtlspp::session when dtlspp is the DTLS
// client; the listener's otherwise), its SRTP sink and its data channels.
#pragma once

#include <dtlspp/dtlspp.hpp>
#include <dtlspp/io/udp.hpp>

#include <deque>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "data_channel.hpp"
#include "dtls_probe.hpp"
#include "sdp.hpp"
#include "srtp_sink.hpp"
#include "util.hpp"

namespace webrtc {

struct ice_stats {
  std::uint64_t requests = 0, responses = 0, rejected = 0, nominations = 0;
  std::string last_reject;
};

struct peer_connection {
  int id = 0;
  offer remote;
  dtlspp::role dtls_role = dtlspp::role::server;  // this end's: client answers a=setup:active
  std::string ice_ufrag = random_token(8), ice_pwd = random_token(24);
  std::string answer_fingerprint;  // what the answer told the browser to expect
  steady::time_point created = steady::now();

  // ICE (RFC 8445): the addresses whose binding requests checked out; `address` is where DTLS
  // goes, the nominated one once the browser nominates.
  std::set<std::string> checked;
  std::optional<dtlspp::io::endpoint> address;
  ice_stats ice;
  std::optional<steady::time_point> last_consent;  // the last request that checked out (RFC 7675)

  // DTLS. client is set when dtlspp is the DTLS client; a server-role association lives in the
  // listener, found by `address`.
  std::optional<dtlspp::session> client;
  std::string dtls_state = "waiting for ICE";
  std::string dtls_error, dtls_error_code;
  std::string cipher, srtp_profile, peer_fingerprint;
  std::optional<double> handshake_ms;
  std::uint64_t retransmissions = 0;  // ours (dtlspp's), from session_stats
  std::uint64_t dtls_in = 0, dtls_out = 0, records_unexpected = 0;
  dtls_probe probe;
  int hello_drops_left = 0;     // --drop-hellos: transmissions of the ClientHello still to ignore
  bool dropping_hello = false;  // the current transmission is being ignored
  std::vector<bytes> records;   // received application records waiting to go to SCTP

  // SRTP (RFC 5764 section 4.2): keys from the handshake, for the browser's packets.
  std::optional<srtp_sink> srtp;
  std::uint64_t media_before_keys = 0;

  // Data channels (RFC 8831), over SCTP over this DTLS association.
  std::unique_ptr<data_channel::channels> channels;
  std::uint64_t echoed = 0, echo_failed = 0;
  std::vector<std::string> channel_history;  // "opened 1 'reliable' (ordered, reliable)"...

  // ended says whether this peer connection is over (its browser closed it, consent expired, a
  // failure); a ended one keeps its status for the page and the tests.
  bool ended = false;
  std::string end_reason;
  std::optional<double> ended_after_s;

  std::deque<std::string> log;  // this peer connection's own lines

  bool dtls_connected() const noexcept { return dtls_state == "connected"; }
};

// peer_json gives a peer connection's whole status as a JSON object.
std::string peer_json(const peer_connection& pc, steady::time_point now);

}  // namespace webrtc
