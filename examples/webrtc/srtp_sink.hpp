// srtp_sink.hpp: receiving SRTP and SRTCP with the keys a DTLS-SRTP handshake exported (RFC 5764
// section 4.2), through libsrtp2.
#pragma once

#include <dtlspp/srtp.hpp>

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <span>
#include <string>

struct srtp_ctx_t_;

namespace webrtc {

// srtp_library initialises libsrtp2 for the program's lifetime (srtp_init, srtp_shutdown). Make
// one before any srtp_sink, in main.
class srtp_library {
 public:
  srtp_library();  // throws std::runtime_error when srtp_init fails
  ~srtp_library();
  srtp_library(const srtp_library&) = delete;
  srtp_library& operator=(const srtp_library&) = delete;

  // available says whether libsrtp's crypto backend can do profile p (Debian builds libsrtp2
  // with NSS, which has AES-GCM; other builds may not).
  static bool available(dtlspp::srtp_profile p);
};

// srtp_stats counts what a sink saw.
struct srtp_stats {
  std::uint64_t rtp_ok = 0, rtp_failed = 0, rtcp_ok = 0, rtcp_failed = 0;
  std::uint64_t rtp_payload_bytes = 0;
  std::map<int, std::uint64_t> payload_types;  // decrypted RTP packets by payload type
  std::set<std::uint32_t> ssrcs;
  std::string last_error;
};

// srtp_sink is one inbound libsrtp session for any SSRC, keyed with the remote half of a
// DTLS-SRTP export (the peer's write key and salt). Move-only; owns the srtp_t. Replays are
// refused within a window of 1024 packets (RFC 3711 section 3.3.2).
class srtp_sink {
 public:
  // make returns the sink, or nothing when libsrtp refuses the keys (why says so).
  static std::optional<srtp_sink> make(dtlspp::srtp_profile p, std::span<const std::byte> key,
                                       std::span<const std::byte> salt, std::string& why);

  // unprotect authenticates and decrypts one SRTP or SRTCP packet in place (RFC 5761 section 4
  // tells them apart by the second byte) and counts it; false when it does not authenticate.
  bool unprotect(std::span<std::byte> packet);

  const srtp_stats& stats() const noexcept { return stats_; }

 private:
  struct deleter {
    void operator()(srtp_ctx_t_* s) const noexcept;
  };
  explicit srtp_sink(srtp_ctx_t_* s) : session_(s) {}
  std::unique_ptr<srtp_ctx_t_, deleter> session_;
  srtp_stats stats_;
};

}  // namespace webrtc
