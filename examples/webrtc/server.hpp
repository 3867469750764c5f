// server.hpp: the WebRTC example's server: HTTP for the page and the offer/answer exchange, and
// one UDP socket for every peer connection's ICE, DTLS, SRTP and SCTP, on one thread and one
// poll loop.
//
// Each datagram is told apart by its first byte (RFC 7983, dtlspp::classify) and by its source
// address: a STUN binding request names its peer connection in USERNAME and, once it checks out,
// binds its source address to that peer connection (ICE-lite, RFC 8445 section 2.5); DTLS and
// SRTP are accepted only from such addresses. Where dtlspp is the DTLS server (a=setup:passive)
// a dtlspp::listener holds every association, keyed by address, without cookies (ICE has proved
// the address, RFC 9147 section 5.1), and its verifier accepts a certificate that some offer
// named; once connected, the association's certificate must be the one its own peer
// connection's offer named. Where dtlspp is the DTLS client (a=setup:active) each peer
// connection has its own dtlspp::session, started when ICE proves the browser's address.
#pragma once

#include <dtlspp/dtlspp.hpp>
#include <dtlspp/io/udp.hpp>

#include <chrono>
#include <csignal>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "http.hpp"
#include "peer.hpp"
#include "sctp.hpp"

namespace webrtc {

struct server_options {
  std::string bind = "127.0.0.1";  // HTTP and UDP listen here
  std::string candidate;           // the address the answer's candidate names (default: bind)
  std::uint16_t http_port = 8080;
  std::uint16_t udp_port = 0;
  std::string page;                                  // index.html, found by main
  dtlspp::role default_role = dtlspp::role::server;  // when the page does not ask
  bool wrong_fingerprint = false;  // answer with another certificate's fingerprint
  int drop_hellos = 0;  // ignore each browser's first N ClientHellos (to watch it retransmit)
  std::vector<dtlspp::srtp_profile> srtp_profiles;
  std::chrono::seconds consent_timeout{30};  // RFC 7675 section 5.1
  std::size_t max_peer_connections = 64;
};

class server {
 public:
  // server binds its sockets and makes its identity. Throws std::runtime_error or
  // dtlspp::error when it cannot.
  explicit server(server_options o);
  ~server();

  std::uint16_t http_port() const noexcept { return http_.port(); }
  std::uint16_t udp_port() const { return udp_.local_endpoint().port(); }
  std::string fingerprint() const { return context_.identity().fingerprint().to_string(); }

  // run serves until *stop becomes true (a signal handler sets it).
  void run(const volatile std::sig_atomic_t* stop);

 private:
  http_response on_http(const http_request& r);
  http_response on_offer(const http_request& r);
  // status_json describes the server and every peer connection it keeps (or only `only`).
  std::string status_json(steady::time_point now, const peer_connection* only = nullptr) const;

  void read_udp();
  void on_stun(std::span<const std::byte> m, const dtlspp::io::endpoint& from,
               steady::time_point now);
  void on_dtls(std::span<const std::byte> d, const dtlspp::io::endpoint& from,
               steady::time_point now);
  void on_media(std::span<std::byte> p, const dtlspp::io::endpoint& from);
  bool ignore_hello(peer_connection& pc, std::span<const std::byte> d);

  void run_timers(steady::time_point now);
  void check_consent(steady::time_point now);

  // drain moves every DTLS output out (datagrams to the socket, events to their peer
  // connections), then hands received records to SCTP and SCTP's packets back to DTLS, until
  // nothing is left.
  void drain();
  bool drain_events();
  void on_event(peer_connection* pc, const dtlspp::event& e, const dtlspp::io::endpoint& to,
                const dtlspp::session* s);
  void on_connected(peer_connection& pc, const dtlspp::session& s);
  bool service_data_channels(peer_connection& pc);
  void send_record(peer_connection& pc, std::span<const std::byte> record);

  void end(peer_connection& pc, std::string reason);
  peer_connection* by_address(std::span<const std::byte> address) const;
  void pc_log(peer_connection& pc, std::string line);
  void forget_ended();

  server_options options_;
  dtlspp::context context_;
  std::vector<dtlspp::fingerprint> expected_;  // every live server-role offer's fingerprints
  dtlspp::listener listener_;
  dtlspp::io::udp_socket udp_;
  http_server http_;
  sctp::stack sctp_;
  int next_id_ = 1;
  std::map<int, std::unique_ptr<peer_connection>> pcs_;
  std::map<std::string, peer_connection*> by_ufrag_;
  std::map<std::string, peer_connection*> by_address_;  // sockaddr bytes
  std::uint64_t stun_unknown_ = 0, stun_malformed_ = 0, udp_unchecked_ = 0, udp_send_failed_ = 0;
  steady::time_point next_housekeeping_ = steady::now();
};

}  // namespace webrtc
