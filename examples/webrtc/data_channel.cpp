#include "data_channel.hpp"

#include <fmt/format.h>

namespace webrtc::data_channel {

namespace {

// RFC 8831 section 8 (PPIDs) and RFC 8832 section 8.1 (DCEP message types).
constexpr std::uint32_t ppid_dcep = 50, ppid_string = 51, ppid_binary = 53, ppid_string_empty = 56,
                        ppid_binary_empty = 57;
constexpr std::uint8_t dcep_open = 0x03, dcep_ack = 0x02;

sctp::reliability reliability_of(const open_request& o) {
  sctp::reliability r;
  r.unordered = o.unordered();
  switch (static_cast<std::uint8_t>(o.type) & 0x7f) {
    case 0x01:
      r.max_retransmits = o.reliability;
      break;
    case 0x02:
      r.lifetime_ms = o.reliability;
      break;
    default:
      break;
  }
  return r;
}

}  // namespace

std::string open_request::describe() const {
  const auto order = unordered() ? "unordered" : "ordered";
  switch (static_cast<std::uint8_t>(type) & 0x7f) {
    case 0x01:
      return fmt::format("{}, at most {} retransmissions", order, reliability);
    case 0x02:
      return fmt::format("{}, lifetime {} ms", order, reliability);
    default:
      return fmt::format("{}, reliable", order);
  }
}

std::optional<open_request> parse_open(std::span<const std::byte> m) {
  if (m.size() < 12 || std::to_integer<std::uint8_t>(m[0]) != dcep_open) return std::nullopt;
  open_request o;
  const auto type = std::to_integer<std::uint8_t>(m[1]);
  switch (type) {
    case 0x00:
    case 0x01:
    case 0x02:
    case 0x80:
    case 0x81:
    case 0x82:
      o.type = static_cast<channel_type>(type);
      break;
    default:
      return std::nullopt;
  }
  o.priority = be16(m.data() + 2);
  o.reliability = be32(m.data() + 4);
  const std::size_t label = be16(m.data() + 8), protocol = be16(m.data() + 10);
  if (m.size() != 12 + label + protocol) return std::nullopt;
  o.label = as_text(m.subspan(12, label));
  o.protocol = as_text(m.subspan(12 + label, protocol));
  return o;
}

channels::channels(sctp::stack& s, std::size_t mtu) : sctp_(s, mtu) {}

void channels::handle_packet(std::span<const std::byte> packet) {
  sctp_.handle_packet(packet);
  drain_sctp();
}

void channels::update() {
  sctp_.update();
  drain_sctp();
}

std::optional<event> channels::poll() {
  if (events_.empty()) return std::nullopt;
  auto e = std::move(events_.front());
  events_.pop_front();
  return e;
}

void channels::drain_sctp() {
  while (auto e = sctp_.poll()) {
    if (auto* m = std::get_if<sctp::message>(&*e)) {
      on_message(*m);
    } else if (std::holds_alternative<sctp::up>(*e)) {
      events_.push_back(transport_up{});
    } else if (const auto* r = std::get_if<sctp::streams_reset>(&*e)) {
      // The peer closed these channels: close ours too (RFC 8831 section 6.7).
      for (const auto stream : r->streams) {
        if (channels_.erase(stream) == 0) continue;
        sctp_.reset_outgoing(stream);
        ++stats_.closed;
        events_.push_back(closed{stream});
      }
    } else if (const auto* d = std::get_if<sctp::down>(&*e)) {
      for (const auto& [stream, c] : channels_)
        events_.push_back(closed{stream});
      stats_.closed += channels_.size();
      channels_.clear();
      events_.push_back(transport_down{d->reason});
    }
  }
}

void channels::on_message(sctp::message& m) {
  if (m.ppid == ppid_dcep) return on_control(m.stream, m.data);
  const auto it = channels_.find(m.stream);
  if (it == channels_.end()) {
    ++stats_.dropped_unknown_stream;
    return;
  }
  bool binary;
  switch (m.ppid) {
    case ppid_string:
    case ppid_string_empty:
      binary = false;
      break;
    case ppid_binary:
    case ppid_binary_empty:
      binary = true;
      break;
    default:  // 52 and 54 (partial, deprecated by RFC 8831) and anything unknown
      ++stats_.dropped_bad_ppid;
      return;
  }
  if (m.ppid == ppid_string_empty || m.ppid == ppid_binary_empty) m.data.clear();
  ++it->second.messages_in;
  it->second.bytes_in += m.data.size();
  ++stats_.messages_in;
  events_.push_back(message{m.stream, binary, std::move(m.data)});
}

void channels::on_control(std::uint16_t stream, std::span<const std::byte> m) {
  if (m.empty()) return;
  if (std::to_integer<std::uint8_t>(m[0]) == dcep_ack) return;  // for channels we open: none
  auto open = parse_open(m);
  if (!open) {
    ++stats_.dropped_bad_open;
    return;
  }
  const auto ack = std::byte{dcep_ack};
  // The ACK goes on the same stream; the channel's user messages may follow it at once (RFC
  // 8832 section 6), ordered after it.
  sctp_.send(stream, ppid_dcep, std::span(&ack, 1));
  channels_[stream] = channel{stream, std::move(*open)};
  ++stats_.opened;
  events_.push_back(opened{stream});
}

bool channels::send(std::uint16_t stream, bool binary, std::span<const std::byte> data) {
  const auto it = channels_.find(stream);
  if (it == channels_.end()) return false;
  const auto zero = std::byte{0};
  const auto ppid = data.empty() ? (binary ? ppid_binary_empty : ppid_string_empty)
                                 : (binary ? ppid_binary : ppid_string);
  if (!sctp_.send(stream, ppid, data.empty() ? std::span(&zero, 1) : data,
                  reliability_of(it->second.params)))
    return false;
  ++it->second.messages_out;
  it->second.bytes_out += data.size();
  ++stats_.messages_out;
  return true;
}

void channels::close(std::uint16_t stream) {
  if (channels_.erase(stream) == 0) return;
  sctp_.reset_outgoing(stream);
  ++stats_.closed;
  events_.push_back(closed{stream});
}

const channel* channels::find(std::uint16_t stream) const {
  const auto it = channels_.find(stream);
  return it == channels_.end() ? nullptr : &it->second;
}

}  // namespace webrtc::data_channel
