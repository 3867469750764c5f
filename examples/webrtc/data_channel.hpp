// data_channel.hpp: WebRTC data channels (RFC 8831) over an SCTP association, with the Data
// Channel Establishment Protocol (DCEP, RFC 8832) that opens them.
//
// A browser's createDataChannel() sends DATA_CHANNEL_OPEN on a stream of its choice (even ids
// from the DTLS client, odd from the DTLS server, RFC 8832 section 6); the other end answers
// DATA_CHANNEL_ACK on the same stream and the channel is open both ways, with the reliability
// the OPEN asked for. Messages carry their type in the SCTP payload protocol identifier (RFC 8831
// section 8): 51 text, 53 binary, 56 and 57 for an empty text or binary message (sent as one
// zero byte, since SCTP has no empty messages). A channel closes when either end resets its
// outgoing stream; the other end resets its own (RFC 8831 section 6.7).
//
// channels owns the sctp::association; it is sans-IO in the same way: feed DTLS records to
// handle_packet, send what next_packet gives as DTLS records, and drain poll() after each input.
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <variant>

#include "sctp.hpp"

namespace webrtc::data_channel {

// The DCEP channel types (RFC 8832 section 5.1); the 0x80 bit means unordered.
enum class channel_type : std::uint8_t {
  reliable = 0x00,
  partial_reliable_rexmit = 0x01,
  partial_reliable_timed = 0x02,
  reliable_unordered = 0x80,
  partial_reliable_rexmit_unordered = 0x81,
  partial_reliable_timed_unordered = 0x82,
};

// open_request is a DATA_CHANNEL_OPEN message (RFC 8832 section 5.1).
struct open_request {
  channel_type type = channel_type::reliable;
  std::uint16_t priority = 0;
  std::uint32_t reliability = 0;  // retransmissions or lifetime in ms, by type
  std::string label, protocol;

  bool unordered() const noexcept { return (static_cast<unsigned>(type) & 0x80) != 0; }
  // describe gives "reliable, ordered", "unordered, at most 0 retransmissions"...
  std::string describe() const;
};

// parse_open reads a DATA_CHANNEL_OPEN; empty when malformed.
std::optional<open_request> parse_open(std::span<const std::byte> m);

struct channel {
  std::uint16_t stream;
  open_request params;
  std::uint64_t messages_in = 0, messages_out = 0, bytes_in = 0, bytes_out = 0;
};

// The peer opened a channel (its OPEN was acknowledged).
struct opened {
  std::uint16_t stream;
};
// A message arrived on an open channel.
struct message {
  std::uint16_t stream;
  bool binary;
  bytes data;  // empty for an empty message
};
// A channel closed (the peer reset its stream, or the association went down).
struct closed {
  std::uint16_t stream;
};
// The SCTP association came up or went down.
struct transport_up {};
struct transport_down {
  std::string reason;
};
using event = std::variant<opened, message, closed, transport_up, transport_down>;

struct channels_stats {
  std::uint64_t opened = 0, closed = 0, messages_in = 0, messages_out = 0;
  std::uint64_t dropped_unknown_stream = 0, dropped_bad_ppid = 0, dropped_bad_open = 0;
};

// channels is the data channel endpoint of one peer connection. Not movable (it owns the
// association, which usrsctp knows by address).
class channels {
 public:
  // mtu as for sctp::association.
  channels(sctp::stack& s, std::size_t mtu);

  void handle_packet(std::span<const std::byte> packet);
  void update();  // after sctp::stack::advance
  std::optional<bytes> next_packet() { return sctp_.next_packet(); }
  std::optional<event> poll();

  // send sends one message on an open channel, with the channel's reliability. False when the
  // stream has no open channel or the association is down.
  bool send(std::uint16_t stream, bool binary, std::span<const std::byte> data);

  // close resets our outgoing stream of the channel (the peer resets its own in answer).
  void close(std::uint16_t stream);

  const channel* find(std::uint16_t stream) const;
  const std::map<std::uint16_t, channel>& all() const noexcept { return channels_; }
  const channels_stats& stats() const noexcept { return stats_; }
  const sctp::association& association() const noexcept { return sctp_; }

 private:
  void drain_sctp();
  void on_message(sctp::message& m);
  void on_control(std::uint16_t stream, std::span<const std::byte> m);

  sctp::association sctp_;
  std::map<std::uint16_t, channel> channels_;
  std::deque<event> events_;
  channels_stats stats_;
};

}  // namespace webrtc::data_channel
