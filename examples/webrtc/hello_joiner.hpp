// hello_joiner.hpp: joins the fragments of a browser's first ClientHello into one record, for a
// dtlspp::listener that reads only an unfragmented ClientHello from a peer it does not know yet.
//
// Browsers' ClientHellos outgrew one datagram: with a post-quantum key share (X25519MLKEM768,
// 1216 bytes) Chromium's is 1,413 bytes and Firefox's 1,461, sent in two fragments (RFC 6347
// section 4.2.3). The listener needs the whole ClientHello in the first datagram of a new
// peer. Joining is transparent to the handshake: DTLS hashes every handshake message as if it
// had come in one fragment (RFC 6347 section 4.2.6), so a ClientHello rewritten as a single
// fragment in a single record is, to OpenSSL, the same message. Only ICE-proven addresses get
// here (the server checks that first), each holds at most one ClientHello (64 KiB at most), and
// a joined datagram goes only to the listener, whose session sees the rest of the handshake
// unchanged.
#pragma once

#include <optional>
#include <span>

#include "util.hpp"

namespace webrtc {

class hello_joiner {
 public:
  // feed takes one datagram from the peer. It returns the datagram to hand the listener: the
  // datagram itself when it holds no fragment of a ClientHello (or a whole one), one datagram
  // with the whole ClientHello when this fragment completes it, or nothing while fragments are
  // missing.
  std::optional<bytes> feed(std::span<const std::byte> datagram);

  // joined says whether a fragmented ClientHello was joined (for the status page).
  bool joined() const noexcept { return joined_; }

 private:
  bytes header_;  // the first fragment's record header (type, version, epoch, sequence)
  std::uint16_t message_seq_ = 0;
  bytes body_;
  std::vector<bool> have_;
  bool joined_ = false;
};

}  // namespace webrtc
