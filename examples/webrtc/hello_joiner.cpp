#include "hello_joiner.hpp"

#include <algorithm>

namespace webrtc {

namespace {
constexpr std::uint8_t content_handshake = 22, msg_client_hello = 1;
constexpr std::size_t record_header = 13, handshake_header = 12, max_hello = 65536;
}  // namespace

std::optional<bytes> hello_joiner::feed(std::span<const std::byte> d) {
  bool fragment_seen = false;
  // Records: type, version (2), epoch (2), sequence (6), length (2); a handshake fragment: type,
  // length (3), message_seq (2), fragment_offset (3), fragment_length (3), fragment.
  for (std::size_t pos = 0; pos + record_header <= d.size();) {
    const auto type = std::to_integer<std::uint8_t>(d[pos]);
    const auto epoch = be16(d.data() + pos + 3);
    const std::size_t length = be16(d.data() + pos + 11);
    if (pos + record_header + length > d.size()) break;
    const auto header = d.subspan(pos, record_header);
    auto record = d.subspan(pos + record_header, length);
    pos += record_header + length;
    if (type != content_handshake || epoch != 0) continue;
    while (record.size() >= handshake_header) {
      const auto msg_type = std::to_integer<std::uint8_t>(record[0]);
      const std::size_t total = be32(record.data()) & 0xffffff;
      const auto seq = be16(record.data() + 4);
      const std::size_t offset = be32(record.data() + 5) & 0xffffff;
      const std::size_t fragment = be32(record.data() + 8) & 0xffffff;
      if (handshake_header + fragment > record.size()) break;
      const auto body = record.subspan(handshake_header, fragment);
      record = record.subspan(handshake_header + fragment);
      if (msg_type != msg_client_hello || (offset == 0 && fragment == total)) continue;
      if (total > max_hello || offset + fragment > total) continue;
      fragment_seen = true;
      if (body_.empty()) {
        body_.resize(total);
        have_.assign(total, false);
        message_seq_ = seq;
      }
      if (total != body_.size() || seq != message_seq_) continue;
      if (offset == 0) header_.assign(header.begin(), header.end());
      std::copy(body.begin(), body.end(), body_.begin() + static_cast<std::ptrdiff_t>(offset));
      std::fill_n(have_.begin() + static_cast<std::ptrdiff_t>(offset), fragment, true);
    }
  }
  if (!fragment_seen) return bytes(d.begin(), d.end());
  if (header_.empty() || std::find(have_.begin(), have_.end(), false) != have_.end())
    return std::nullopt;
  // One record holding the ClientHello as a single fragment.
  bytes out(header_.begin(), header_.end());
  set16(out, 11, static_cast<std::uint16_t>(handshake_header + body_.size()));
  out.push_back(std::byte{msg_client_hello});
  const auto total = static_cast<std::uint32_t>(body_.size());
  for (const int shift : {16, 8, 0})
    out.push_back(std::byte((total >> shift) & 0xff));
  put16(out, message_seq_);
  for (int i = 0; i < 3; ++i)
    out.push_back(std::byte{0});  // fragment_offset
  for (const int shift : {16, 8, 0})
    out.push_back(std::byte((total >> shift) & 0xff));
  out.insert(out.end(), body_.begin(), body_.end());
  joined_ = true;
  body_.clear();
  have_.clear();
  header_.clear();
  return out;
}

}  // namespace webrtc
