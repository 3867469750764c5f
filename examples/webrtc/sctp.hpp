// sctp.hpp: an SCTP association carried in DTLS records (RFC 8261), through usrsctp in its
// AF_CONN mode: usrsctp has no socket of its own here; each SCTP packet it wants to send comes
// out of next_packet() (send it as one DTLS record), and each DTLS record received goes in
// through handle_packet(). That is the sans-IO shape of a dtlspp session, so the two stack.
//
// usrsctp is a process-wide stack: one `stack` object initialises it (without threads: the
// loop drives its timers through stack::advance), and any number of associations live on it.
// Everything here runs on the thread of that loop; none of it is thread-safe.
//
// This file knows nothing about WebRTC data channels (data_channel.hpp is the layer above) nor
// about DTLS: lift both into an application as they are.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <optional>
#include <span>
#include <string>
#include <variant>
#include <vector>

#include "util.hpp"

struct socket;

namespace webrtc::sctp {

// stack owns usrsctp's global state (usrsctp_init_nothreads ... usrsctp_finish). Make one
// before any association and destroy it after the last; making two throws std::logic_error.
class stack {
 public:
  stack();
  ~stack();
  stack(const stack&) = delete;
  stack& operator=(const stack&) = delete;

  // advance runs usrsctp's timers (retransmission, heartbeat, delayed SACK) for the time
  // elapsed since the previous call. Call it at least every `tick` while associations live.
  void advance(steady::time_point now);
  static constexpr std::chrono::milliseconds tick{10};

 private:
  steady::time_point last_ = steady::now();
};

// message is one whole user message received on a stream, with its payload protocol
// identifier (host order).
struct message {
  std::uint16_t stream;
  std::uint32_t ppid;
  bool unordered;
  bytes data;
};
// The association is up (COMMUNICATION_UP, RFC 6458 section 6.1.1).
struct up {};
// The peer reset these incoming streams (RFC 6525): it closed them.
struct streams_reset {
  std::vector<std::uint16_t> streams;
};
// The association ended: ABORT, SHUTDOWN, or lost (reason says which).
struct down {
  std::string reason;
};
using event = std::variant<message, up, streams_reset, down>;

// reliability says how a message is sent (RFC 3758 partial reliability: PR-SCTP).
struct reliability {
  bool unordered = false;
  std::optional<std::uint32_t> max_retransmits;  // SCTP_PR_SCTP_RTX
  std::optional<std::uint32_t> lifetime_ms;      // SCTP_PR_SCTP_TTL
};

struct association_stats {
  std::uint64_t packets_in = 0, packets_out = 0, largest_packet_out = 0;
  std::uint64_t packets_over_limit = 0;  // larger than the mtu given: none, or a usrsctp surprise
  std::uint64_t messages_in = 0, messages_out = 0, send_queue_peak = 0;
};

// association is one SCTP association over one DTLS association, between SCTP port `port` on
// both ends (RFC 8841: 5000 unless the SDP says otherwise). Not copyable or movable: usrsctp
// knows it by address. The constructor starts the association at once (an INIT): WebRTC's two
// ends both connect, whatever their DTLS roles, and SCTP resolves the collision (RFC 8841
// section 9.3). Throws std::runtime_error when usrsctp refuses a socket or an option.
class association {
 public:
  // mtu is the largest SCTP packet that fits one DTLS record (dtlspp's max_send_size()).
  association(stack& s, std::size_t mtu, std::uint16_t port = 5000);
  ~association();  // aborts the association (ABORT chunk out through next_packet() is lost)
  association(const association&) = delete;
  association& operator=(const association&) = delete;

  // handle_packet feeds one SCTP packet (a DTLS record's plaintext; the span is copied).
  void handle_packet(std::span<const std::byte> packet);

  // update reads what usrsctp has for this association after stack::advance ran its timers (an
  // association lost to retransmissions) and retries queued sends.
  void update();

  // next_packet returns the next SCTP packet to send as one DTLS record, in order.
  std::optional<bytes> next_packet();

  // poll returns the next event, in order.
  std::optional<event> poll();

  // send queues one message on stream with ppid. It goes out at once when usrsctp's send
  // buffer has room, and otherwise when SACKs make room (each handle_packet retries). Returns
  // false only when the association is down.
  bool send(std::uint16_t stream, std::uint32_t ppid, std::span<const std::byte> data,
            const reliability& r = {});

  // reset_outgoing resets our outgoing stream (RFC 6525 section 5.1.2): how a data channel
  // closes (RFC 8831 section 6.7).
  void reset_outgoing(std::uint16_t stream);

  bool is_up() const noexcept { return up_; }
  std::size_t packet_limit() const noexcept { return limit_; }
  const association_stats& stats() const noexcept { return stats_; }

 private:
  friend struct callbacks;
  struct pending {
    std::uint16_t stream;
    std::uint32_t ppid;
    bytes data;
    reliability r;
  };
  void read_all();
  void on_notification(std::span<const std::byte> n);
  bool try_send(const pending& p);
  void flush_sends();

  std::size_t limit_;
  struct socket* socket_ = nullptr;
  std::deque<bytes> out_;
  std::deque<event> events_;
  std::deque<pending> sends_;
  bytes partial_;
  bool up_ = false, down_ = false;
  association_stats stats_;
};

}  // namespace webrtc::sctp
