// src/error.cpp: the dtlspp error category.
#include "dtlspp/error.hpp"

namespace dtlspp {
namespace {

class category final : public std::error_category {
 public:
  const char* name() const noexcept override { return "dtlspp"; }

  std::string message(int value) const override {
    switch (static_cast<errc>(value)) {
      case errc::invalid_argument:
        return "invalid argument";
      case errc::malformed_input:
        return "malformed input";
      case errc::key_mismatch:
        return "private key does not match the certificate";
      case errc::unsupported:
        return "unsupported input";
      case errc::crypto_failure:
        return "OpenSSL operation failed";
      case errc::handshake_timeout:
        return "handshake timed out";
      case errc::fingerprint_mismatch:
        return "peer certificate fingerprint mismatch";
      case errc::peer_alert:
        return "peer sent a fatal alert";
      case errc::protocol_error:
        return "DTLS protocol error";
      case errc::closed:
        return "session closed";
      case errc::not_connected:
        return "session not connected";
      case errc::peer_restarted:
        return "the peer started a new association from the same address";
      case errc::idle_timeout:
        return "session idle for too long";
      case errc::no_common_srtp_profile:
        return "no SRTP protection profile in common";
      case errc::message_too_large:
        return "message too large for one record at the MTU";
    }
    return "unknown dtlspp error";
  }
};

}  // namespace

const std::error_category& error_category() noexcept {
  static const category instance;
  return instance;
}

std::error_code make_error_code(errc e) noexcept {
  return {static_cast<int>(e), error_category()};
}

error::error(errc e, const std::string& what) : std::system_error(make_error_code(e), what) {}

}  // namespace dtlspp
