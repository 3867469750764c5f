// dtls_probe.hpp: what a browser's DTLS handshake looks like on the wire, for the status page
// and the tests' report: its ClientHello (size, fragments, offered versions, groups, key shares,
// cipher suites, SRTP profiles) and its retransmissions. It reads plaintext handshake records
// (epoch 0) only and never changes what dtlspp receives.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "util.hpp"

namespace webrtc {

struct client_hello_summary {
  std::size_t length = 0;     // the handshake message body (RFC 6347 section 4.2.2)
  std::size_t fragments = 0;  // in the first transmission
  std::size_t datagrams = 0;
  std::size_t largest_datagram = 0;
  std::vector<std::string> versions;       // supported_versions, or the legacy version
  std::vector<std::string> groups;         // supported_groups
  std::vector<std::string> key_shares;     // key_share (DTLS 1.3)
  std::vector<std::string> cipher_suites;  // names where known, hex otherwise
  std::vector<std::string> srtp_profiles;  // use_srtp (RFC 5764 section 4.1.1)
};

// dtls_probe watches the datagrams of one DTLS association from the peer.
// client_hello_offset returns the fragment offset of the first ClientHello fragment in a
// datagram (0 for an unfragmented one), or nothing when it carries none.
std::optional<std::size_t> client_hello_offset(std::span<const std::byte> datagram);

class dtls_probe {
 public:
  // observe reads one datagram from the peer, received `at`.
  void observe(std::span<const std::byte> datagram, steady::time_point at);

  // client_hello is the peer's ClientHello, once every fragment of it arrived (a peer that is
  // the DTLS server sends none).
  const std::optional<client_hello_summary>& client_hello() const noexcept { return hello_; }

  // retransmissions counts datagrams that repeated a handshake fragment already received, and
  // retransmission_delays_ms when each came, after the first transmission of what it repeated.
  std::size_t retransmissions() const noexcept { return retransmission_delays_ms_.size(); }
  const std::vector<double>& retransmission_delays_ms() const noexcept {
    return retransmission_delays_ms_;
  }
  std::size_t handshake_datagrams() const noexcept { return handshake_datagrams_; }
  std::size_t handshake_bytes() const noexcept { return handshake_bytes_; }

  // to_json gives all of it as a JSON object.
  std::string to_json() const;

 private:
  void on_fragment(std::uint8_t type, std::uint16_t seq, std::size_t total, std::size_t offset,
                   std::span<const std::byte> body, std::size_t datagram_size, bool first_sighting);
  std::map<std::pair<std::uint16_t, std::size_t>, steady::time_point> seen_;  // (seq, offset)
  bytes hello_body_;
  std::vector<bool> hello_have_;
  client_hello_summary pending_;
  std::optional<client_hello_summary> hello_;
  std::vector<double> retransmission_delays_ms_;
  std::size_t handshake_datagrams_ = 0, handshake_bytes_ = 0;
  std::size_t datagrams_ = 0, hello_datagram_ = 0;  // to count the datagrams a hello spans
};

}  // namespace webrtc
