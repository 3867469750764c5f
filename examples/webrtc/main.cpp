// webrtc_server: browsers' WebRTC stacks against dtlspp. It serves a page over HTTP whose script
// makes an RTCPeerConnection (media from the camera and microphone or synthesised, data channels)
// and POSTs its offer; the server answers as an ICE-lite peer, runs DTLS with dtlspp in the role
// the page asked for, decrypts the browser's SRTP with libsrtp2 and echoes every data channel
// message through usrsctp. Many browsers at once, on one UDP port.
//
//   webrtc_server [--bind ADDRESS] [--candidate ADDRESS] [--http-port N] [--udp-port N]
//                 [--setup active|passive] [--page FILE] [--srtp P1,P2] [--consent-timeout S]
//                 [--wrong-fingerprint] [--drop-hellos N]
#include <fmt/format.h>
#include <unistd.h>

#include <csignal>
#include <filesystem>
#include <sstream>
#include <string>
#include <string_view>

#include "server.hpp"
#include "srtp_sink.hpp"

#ifndef DTLSPP_WEBRTC_INSTALLED_PAGE
#define DTLSPP_WEBRTC_INSTALLED_PAGE ""
#endif
#ifndef DTLSPP_WEBRTC_SOURCE_PAGE
#define DTLSPP_WEBRTC_SOURCE_PAGE ""
#endif

namespace {

volatile std::sig_atomic_t stop_requested = 0;

void usage(std::FILE* to) {
  fmt::print(to,
             "usage: webrtc_server [options]\n"
             "  --bind ADDRESS       listen for HTTP and UDP on this IPv4 address (default\n"
             "                       127.0.0.1); a LAN address lets other machines, and a\n"
             "                       default Firefox profile, connect\n"
             "  --candidate ADDRESS  the address the answer's ICE candidate names (default: the\n"
             "                       bind address; needed when binding 0.0.0.0)\n"
             "  --http-port N        serve the page on port N (default 8080, 0 picks one)\n"
             "  --udp-port N         ICE, DTLS, SRTP and SCTP on port N (default 0 picks one)\n"
             "  --setup ROLE         passive: dtlspp is the DTLS server (default); active: the\n"
             "                       DTLS client. The page's ?setup= overrides it per page\n"
             "  --page FILE          the page to serve (default: the installed index.html)\n"
             "  --srtp P1,P2         DTLS-SRTP profiles to accept, preferred first (default\n"
             "                       SRTP_AEAD_AES_128_GCM,SRTP_AES128_CM_SHA1_80)\n"
             "  --consent-timeout S  end a peer connection S seconds after its last ICE check\n"
             "                       (default 30, RFC 7675)\n"
             "  --wrong-fingerprint  answer with another certificate's fingerprint: browsers\n"
             "                       must refuse the handshake\n"
             "  --drop-hellos N      ignore each browser's first N ClientHellos, to watch its\n"
             "                       retransmission timer (dtlspp as the DTLS server)\n");
}

// find_page returns the first index.html that exists: installed beside the program
// (<prefix>/bin/../share/dtlspp/webrtc), at the configured install path, or in the source tree.
std::string find_page() {
  namespace fs = std::filesystem;
  std::vector<fs::path> candidates;
  std::error_code e;
  const auto self = fs::read_symlink("/proc/self/exe", e);
  if (!e)
    candidates.push_back(self.parent_path() / ".." / "share" / "dtlspp" / "webrtc" / "index.html");
  candidates.emplace_back(DTLSPP_WEBRTC_INSTALLED_PAGE);
  candidates.emplace_back(DTLSPP_WEBRTC_SOURCE_PAGE);
  for (const auto& c : candidates)
    if (!c.empty() && fs::is_regular_file(c, e)) return fs::weakly_canonical(c, e).string();
  throw std::runtime_error("cannot find index.html: pass --page FILE");
}

}  // namespace

int main(int argc, char** argv) try {
  webrtc::server_options o;
  for (int i = 1; i < argc; ++i) {
    const std::string_view a = argv[i];
    const auto value = [&]() -> std::string {
      if (i + 1 >= argc) throw std::runtime_error(fmt::format("{} needs a value", a));
      return argv[++i];
    };
    if (a == "--bind") {
      o.bind = value();
    } else if (a == "--candidate") {
      o.candidate = value();
    } else if (a == "--http-port") {
      o.http_port = static_cast<std::uint16_t>(std::stoul(value()));
    } else if (a == "--udp-port") {
      o.udp_port = static_cast<std::uint16_t>(std::stoul(value()));
    } else if (a == "--setup") {
      const auto v = value();
      if (v != "active" && v != "passive") throw std::runtime_error("--setup active|passive");
      o.default_role = v == "active" ? dtlspp::role::client : dtlspp::role::server;
    } else if (a == "--page") {
      o.page = value();
    } else if (a == "--srtp") {
      std::istringstream list(value());
      for (std::string name; std::getline(list, name, ',');) {
        const auto p = dtlspp::parse_srtp_profile(name);
        if (!p) throw std::runtime_error("unknown SRTP profile " + name);
        o.srtp_profiles.push_back(*p);
      }
    } else if (a == "--consent-timeout") {
      o.consent_timeout = std::chrono::seconds(std::stoul(value()));
    } else if (a == "--drop-hellos") {
      o.drop_hellos = std::stoi(value());
    } else if (a == "--wrong-fingerprint") {
      o.wrong_fingerprint = true;
    } else if (a == "-h" || a == "--help") {
      usage(stdout);
      return 0;
    } else {
      usage(stderr);
      return 2;
    }
  }
  if (o.page.empty()) o.page = find_page();
  if (o.bind == "0.0.0.0" && o.candidate.empty())
    throw std::runtime_error("--bind 0.0.0.0 needs --candidate ADDRESS for the answer");
  struct sigaction sa {};
  sa.sa_handler = [](int) { stop_requested = 1; };
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);

  webrtc::srtp_library srtp;
  webrtc::server s(o);
  const auto host = o.bind == "0.0.0.0" ? o.candidate : o.bind;
  fmt::print("webrtc_server: open http://{}:{}/ in a browser\n", host, s.http_port());
  fmt::print("webrtc_server: ICE-lite, DTLS, SRTP and SCTP on udp {}:{}\n",
             o.candidate.empty() ? o.bind : o.candidate, s.udp_port());
  fmt::print("webrtc_server: dtlspp fingerprint {}\n", s.fingerprint());
  fmt::print("webrtc_server: page {}\n", o.page);
  std::fflush(stdout);
  s.run(&stop_requested);
  fmt::print("webrtc_server: stopped\n");
  return 0;
} catch (const std::exception& e) {
  fmt::print(stderr, "webrtc_server: {}\n", e.what());
  return 1;
}
