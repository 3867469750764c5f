#include "sctp.hpp"

#include <arpa/inet.h>
#include <usrsctp.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <set>
#include <stdexcept>

namespace webrtc::sctp {

namespace {

bool stack_alive = false;
constexpr std::size_t common_header = 12;  // RFC 9260 section 3.1
// The associations alive, so that a packet usrsctp emits for one being destroyed is dropped.
std::set<association*> live;

void set_option(struct socket* s, int level, int name, const void* value, socklen_t size,
                const char* what) {
  if (usrsctp_setsockopt(s, level, name, value, size) != 0)
    throw std::runtime_error(fmt::format("usrsctp: cannot set {}: {}", what, std::strerror(errno)));
}

std::string assoc_change_reason(std::uint16_t state) {
  switch (state) {
    case SCTP_COMM_LOST:
      return "communication lost (ABORT or too many retransmissions)";
    case SCTP_SHUTDOWN_COMP:
      return "shut down";
    case SCTP_CANT_STR_ASSOC:
      return "could not start the association";
    default:
      return fmt::format("state {}", state);
  }
}

}  // namespace

// callbacks are usrsctp's entry points into an association; they only queue.
struct callbacks {
  // output is usrsctp's conn_output: addr is the association (usrsctp_register_address).
  static int output(void* addr, void* buffer, std::size_t length, std::uint8_t /*tos*/,
                    std::uint8_t /*set_df*/) {
    auto* a = static_cast<association*>(addr);
    if (!live.contains(a)) return 0;
    const auto* p = static_cast<const std::byte*>(buffer);
    if (length > a->limit_) ++a->stats_.packets_over_limit;
    a->out_.emplace_back(p, p + length);
    ++a->stats_.packets_out;
    a->stats_.largest_packet_out = std::max<std::uint64_t>(a->stats_.largest_packet_out, length);
    return 0;
  }
};

stack::stack() {
  if (stack_alive) throw std::logic_error("one usrsctp stack per process");
  // Port 0: no UDP encapsulation socket; AF_CONN only. No threads: advance() runs the timers.
  usrsctp_init_nothreads(0, &callbacks::output, nullptr);
  stack_alive = true;
  // Browsers do not use ECN on data channels; SCTP over DTLS has no IP header to carry it.
  usrsctp_sysctl_set_sctp_ecn_enable(0);
  // A lost association ends in seconds rather than minutes (libdatachannel's choice too).
  usrsctp_sysctl_set_sctp_init_rtx_max_default(5);
  usrsctp_sysctl_set_sctp_assoc_rtx_max_default(5);
  usrsctp_sysctl_set_sctp_path_rtx_max_default(5);
  // RTO.Min stays RFC 9260's 1 s: browsers delay SACKs up to 200 ms, and a shorter minimum
  // fires the T3 timer before a delayed SACK arrives, which a channel without retransmissions
  // (PR-SCTP, RFC 3758) turns into abandoned messages.
  usrsctp_sysctl_set_sctp_rto_min_default(1000);
  usrsctp_sysctl_set_sctp_rto_initial_default(1000);
  usrsctp_sysctl_set_sctp_delayed_sack_time_default(20);
}

stack::~stack() {
  // usrsctp_finish refuses while sockets remain; by now every association has closed its own.
  for (int i = 0; i < 100 && usrsctp_finish() != 0; ++i)
    usrsctp_handle_timers(10);
  stack_alive = false;
}

void stack::advance(steady::time_point now) {
  const auto elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(now - last_);
  if (elapsed.count() <= 0) return;
  usrsctp_handle_timers(static_cast<std::uint32_t>(elapsed.count()));
  last_ += elapsed;
}

association::association(stack&, std::size_t mtu, std::uint16_t port) : limit_(mtu) {
  live.insert(this);
  usrsctp_register_address(this);
  socket_ = usrsctp_socket(AF_CONN, SOCK_STREAM, IPPROTO_SCTP, nullptr, nullptr, 0, nullptr);
  if (!socket_) {
    live.erase(this);
    usrsctp_deregister_address(this);
    throw std::runtime_error(fmt::format("usrsctp_socket: {}", std::strerror(errno)));
  }
  try {
    usrsctp_set_non_blocking(socket_, 1);
    // Closing aborts at once: the DTLS association under it may already be gone.
    const linger no_linger{1, 0};
    set_option(socket_, SOL_SOCKET, SO_LINGER, &no_linger, sizeof no_linger, "SO_LINGER");
    // Data channels close by resetting their streams (RFC 8831 section 6.7).
    sctp_assoc_value reset{};
    reset.assoc_id = SCTP_ALL_ASSOC;
    reset.assoc_value = SCTP_ENABLE_RESET_STREAM_REQ;
    set_option(socket_, IPPROTO_SCTP, SCTP_ENABLE_STREAM_RESET, &reset, sizeof reset,
               "SCTP_ENABLE_STREAM_RESET");
    for (const std::uint16_t type : {SCTP_ASSOC_CHANGE, SCTP_STREAM_RESET_EVENT}) {
      sctp_event e{};
      e.se_assoc_id = SCTP_ALL_ASSOC;
      e.se_on = 1;
      e.se_type = type;
      set_option(socket_, IPPROTO_SCTP, SCTP_EVENT, &e, sizeof e, "SCTP_EVENT");
    }
    const int on = 1;
    // Each message's stream and PPID come with it; no Nagle (RFC 8831 section 6.6).
    set_option(socket_, IPPROTO_SCTP, SCTP_RECVRCVINFO, &on, sizeof on, "SCTP_RECVRCVINFO");
    set_option(socket_, IPPROTO_SCTP, SCTP_NODELAY, &on, sizeof on, "SCTP_NODELAY");
    // Enough streams for the channels a page opens (each channel uses one in each direction).
    sctp_initmsg init{};
    init.sinit_num_ostreams = 1024;
    init.sinit_max_instreams = 1024;
    set_option(socket_, IPPROTO_SCTP, SCTP_INITMSG, &init, sizeof init, "SCTP_INITMSG");
    const int buffer = 1 << 20;
    set_option(socket_, SOL_SOCKET, SO_SNDBUF, &buffer, sizeof buffer, "SO_SNDBUF");
    set_option(socket_, SOL_SOCKET, SO_RCVBUF, &buffer, sizeof buffer, "SO_RCVBUF");

    sockaddr_conn local{};
    local.sconn_family = AF_CONN;
    local.sconn_port = htons(port);
    local.sconn_addr = this;
    if (usrsctp_bind(socket_, reinterpret_cast<sockaddr*>(&local), sizeof local) != 0)
      throw std::runtime_error(fmt::format("usrsctp_bind: {}", std::strerror(errno)));
    // Both ends connect (RFC 8841 section 9.3); the peer is the other end of the DTLS association,
    // which usrsctp knows only as this same address.
    if (usrsctp_connect(socket_, reinterpret_cast<sockaddr*>(&local), sizeof local) != 0 &&
        errno != EINPROGRESS)
      throw std::runtime_error(fmt::format("usrsctp_connect: {}", std::strerror(errno)));
    // No path MTU discovery: every packet must fit one DTLS record (RFC 8261 section 5). Set on
    // the peer's address once the association exists. Over AF_CONN usrsctp leaves the 12-byte
    // common header out of the path MTU (packets came out 9 bytes over it when it equalled the
    // record limit), so leave room for it.
    sctp_paddrparams params{};
    std::memcpy(&params.spp_address, &local, sizeof local);
    params.spp_flags = SPP_PMTUD_DISABLE;
    params.spp_pathmtu = static_cast<std::uint32_t>(mtu - common_header);
    set_option(socket_, IPPROTO_SCTP, SCTP_PEER_ADDR_PARAMS, &params, sizeof params,
               "SCTP_PEER_ADDR_PARAMS");
  } catch (...) {
    usrsctp_close(socket_);
    live.erase(this);
    usrsctp_deregister_address(this);
    throw;
  }
}

association::~association() {
  usrsctp_close(socket_);
  live.erase(this);
  usrsctp_deregister_address(this);
}

void association::handle_packet(std::span<const std::byte> packet) {
  ++stats_.packets_in;
  usrsctp_conninput(this, packet.data(), packet.size(), 0);
  read_all();
  flush_sends();
}

void association::update() {
  read_all();
  flush_sends();
}

std::optional<bytes> association::next_packet() {
  if (out_.empty()) return std::nullopt;
  auto p = std::move(out_.front());
  out_.pop_front();
  return p;
}

std::optional<event> association::poll() {
  if (events_.empty()) return std::nullopt;
  auto e = std::move(events_.front());
  events_.pop_front();
  return e;
}

void association::read_all() {
  std::array<std::byte, 65536> buffer;
  while (true) {
    sctp_rcvinfo info{};
    socklen_t info_size = sizeof info;
    unsigned int info_type = 0;
    int flags = 0;
    sockaddr_conn from{};
    socklen_t from_size = sizeof from;
    const auto n =
        usrsctp_recvv(socket_, buffer.data(), buffer.size(), reinterpret_cast<sockaddr*>(&from),
                      &from_size, &info, &info_size, &info_type, &flags);
    if (n < 0) return;  // EWOULDBLOCK: nothing more (or an error the notifications report)
    if (n == 0 && !(flags & MSG_NOTIFICATION)) return;  // the peer shut down
    partial_.insert(partial_.end(), buffer.begin(), buffer.begin() + n);
    if (!(flags & MSG_EOR)) continue;  // a message larger than the buffer: more follows
    auto whole = std::exchange(partial_, {});
    if (flags & MSG_NOTIFICATION) {
      on_notification(whole);
    } else if (info_type == SCTP_RECVV_RCVINFO) {
      ++stats_.messages_in;
      events_.push_back(message{info.rcv_sid, ntohl(info.rcv_ppid),
                                (info.rcv_flags & SCTP_UNORDERED) != 0, std::move(whole)});
    }
  }
}

void association::on_notification(std::span<const std::byte> n) {
  using header_type = decltype(sctp_notification::sn_header);
  if (n.size() < sizeof(header_type)) return;
  header_type header;
  std::memcpy(&header, n.data(), sizeof header);
  if (header.sn_type == SCTP_ASSOC_CHANGE && n.size() >= sizeof(sctp_assoc_change)) {
    sctp_assoc_change change;
    std::memcpy(&change, n.data(), sizeof change);
    if (change.sac_state == SCTP_COMM_UP || change.sac_state == SCTP_RESTART) {
      if (!up_) events_.push_back(up{});
      up_ = true;
    } else if (!down_) {
      down_ = true;
      up_ = false;
      events_.push_back(down{assoc_change_reason(change.sac_state)});
    }
  } else if (header.sn_type == SCTP_STREAM_RESET_EVENT &&
             n.size() >= sizeof(sctp_stream_reset_event)) {
    sctp_stream_reset_event reset;
    std::memcpy(&reset, n.data(), sizeof reset);
    if (!(reset.strreset_flags & SCTP_STREAM_RESET_INCOMING_SSN)) return;
    if (reset.strreset_flags & (SCTP_STREAM_RESET_DENIED | SCTP_STREAM_RESET_FAILED)) return;
    streams_reset r;
    const auto count =
        (std::min<std::size_t>(reset.strreset_length, n.size()) - sizeof(sctp_stream_reset_event)) /
        sizeof(std::uint16_t);
    for (std::size_t i = 0; i < count; ++i) {
      std::uint16_t stream;
      std::memcpy(&stream, n.data() + sizeof(sctp_stream_reset_event) + i * sizeof stream,
                  sizeof stream);
      r.streams.push_back(stream);
    }
    events_.push_back(std::move(r));
  }
}

bool association::try_send(const pending& p) {
  sctp_sendv_spa spa{};
  spa.sendv_flags = SCTP_SEND_SNDINFO_VALID;
  spa.sendv_sndinfo.snd_sid = p.stream;
  spa.sendv_sndinfo.snd_ppid = htonl(p.ppid);
  spa.sendv_sndinfo.snd_flags = SCTP_EOR | (p.r.unordered ? SCTP_UNORDERED : 0);
  if (p.r.max_retransmits || p.r.lifetime_ms) {
    spa.sendv_flags |= SCTP_SEND_PRINFO_VALID;
    spa.sendv_prinfo.pr_policy = p.r.max_retransmits ? SCTP_PR_SCTP_RTX : SCTP_PR_SCTP_TTL;
    spa.sendv_prinfo.pr_value = p.r.max_retransmits ? *p.r.max_retransmits : *p.r.lifetime_ms;
  }
  const auto n = usrsctp_sendv(socket_, p.data.data(), p.data.size(), nullptr, 0, &spa, sizeof spa,
                               SCTP_SENDV_SPA, 0);
  if (n < 0) return false;
  ++stats_.messages_out;
  return true;
}

void association::flush_sends() {
  while (!sends_.empty() && up_ && try_send(sends_.front()))
    sends_.pop_front();
}

bool association::send(std::uint16_t stream, std::uint32_t ppid, std::span<const std::byte> data,
                       const reliability& r) {
  if (down_) return false;
  sends_.push_back({stream, ppid, bytes(data.begin(), data.end()), r});
  stats_.send_queue_peak = std::max<std::uint64_t>(stats_.send_queue_peak, sends_.size());
  flush_sends();
  return true;
}

void association::reset_outgoing(std::uint16_t stream) {
  // sctp_reset_streams ends in a flexible array: room for one stream.
  alignas(sctp_reset_streams) std::array<std::byte, sizeof(sctp_reset_streams) + 2> storage{};
  auto* srs = reinterpret_cast<sctp_reset_streams*>(storage.data());
  srs->srs_flags = SCTP_STREAM_RESET_OUTGOING;
  srs->srs_number_streams = 1;
  srs->srs_stream_list[0] = stream;
  usrsctp_setsockopt(socket_, IPPROTO_SCTP, SCTP_RESET_STREAMS, srs,
                     static_cast<socklen_t>(storage.size()));
}

}  // namespace webrtc::sctp
