// dtlscat: netcat for DTLS 1.2, with the peer pinned by its certificate fingerprint.
//
// Client: dtlscat [options] HOST PORT; server: dtlscat -l [options] [HOST] PORT. Lines read on
// stdin go out one record per line; each record received goes to stdout, one per line. Status
// lines go to stderr, one per event, in a stable form that scripts grep for.
#include <dtlspp/dtlspp.hpp>
#include <dtlspp/io/loop.hpp>
#include <dtlspp/io/trace.hpp>
#include <dtlspp/io/udp.hpp>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fmt/format.h>

#include <array>
#include <charconv>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <map>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace {

using namespace std::chrono_literals;

// Exit statuses, as --help documents them.
enum exit_status : int {
  exit_clean = 0,
  exit_handshake_failed = 1,  // handshake or verification failure
  exit_usage = 2,
  exit_io = 3,  // a file, address or socket could not be used
  exit_line_too_long = 4,
  exit_session_failed = 5,  // the association failed after the handshake (alert, protocol)
};

constexpr std::string_view help_text = R"(usage:
  dtlscat [options] HOST PORT          connect to a DTLS server
  dtlscat -l [options] [HOST] PORT     serve DTLS clients, one after another
  dtlscat --generate-identity CERT KEY write a new identity, print its fingerprint, exit

options:
  --cert FILE --key FILE          identity in PEM (without them a fresh one is generated)
  --peer-fingerprint FP           expected peer fingerprint, "sha-256 AB:CD:...", repeatable,
                                  any of sha-1, sha-224, sha-256, sha-384, sha-512
  --dangerous-accept-any-peer     do not authenticate the peer (prints a warning)
  --srtp PROFILES                 offer/accept SRTP profiles, ':' or ',' separated, e.g.
                                  SRTP_AES128_CM_SHA1_80:SRTP_AEAD_AES_128_GCM
  --require-srtp                  fail the handshake without a common SRTP profile
  --mtu N                         largest datagram, in bytes (default 1200)
  --initial-rto MS                first retransmission timeout (default 1000)
  --handshake-timeout S           give up on a handshake after S seconds (default 30)
  --keylog FILE                   append NSS key log lines (also: SSLKEYLOGFILE)
  -k, --keep-open                 with -l: serve the next client after one ends
  -v                              trace every datagram on stderr
  -h, --help                      this text

Each stdin line is sent as one record (without its newline); a line that does not fit one
record is an error, never split. EOF on stdin sends close_notify and exits. A received
close_notify ends dtlscat with status 0.

exit status: 0 clean close; 1 handshake or verification failure; 2 usage; 3 file, address or
socket error; 4 a line too long for one record; 5 the association failed after the handshake.
)";

struct options {
  bool listen = false;
  bool keep_open = false;
  bool verbose = false;
  bool accept_any = false;
  bool require_srtp = false;
  std::string host;
  std::string port;
  std::string cert_file, key_file;
  std::optional<std::pair<std::string, std::string>> generate;
  std::vector<dtlspp::fingerprint> peers;
  std::vector<dtlspp::srtp_profile> srtp;
  std::size_t mtu = 1200;
  std::chrono::milliseconds initial_rto{1000};
  std::chrono::seconds handshake_timeout{30};
  std::string keylog;
};

struct usage_error {
  std::string message;
};

template <class T>
T parse_number(std::string_view text, std::string_view what) {
  T value{};
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size()) {
    throw usage_error{fmt::format("{} needs a number, got '{}'", what, text)};
  }
  return value;
}

std::vector<dtlspp::srtp_profile> parse_profiles(std::string_view list) {
  std::vector<dtlspp::srtp_profile> out;
  while (!list.empty()) {
    const auto cut = list.find_first_of(":,");
    const auto item = list.substr(0, cut);
    const auto p = dtlspp::parse_srtp_profile(item);
    if (!p) throw usage_error{fmt::format("unknown SRTP profile '{}'", item)};
    out.push_back(*p);
    list = cut == std::string_view::npos ? std::string_view() : list.substr(cut + 1);
  }
  return out;
}

options parse_args(int argc, char** argv) {
  options o;
  std::vector<std::string_view> positional;
  for (int i = 1; i < argc; ++i) {
    const std::string_view a = argv[i];
    auto value = [&](std::string_view name) -> std::string_view {
      if (i + 1 >= argc) throw usage_error{fmt::format("{} needs a value", name)};
      return argv[++i];
    };
    if (a == "-l" || a == "--listen") {
      o.listen = true;
    } else if (a == "-k" || a == "--keep-open") {
      o.keep_open = true;
    } else if (a == "-v" || a == "--verbose") {
      o.verbose = true;
    } else if (a == "-h" || a == "--help") {
      std::fputs(help_text.data(), stdout);
      std::exit(exit_clean);
    } else if (a == "--cert") {
      o.cert_file = value(a);
    } else if (a == "--key") {
      o.key_file = value(a);
    } else if (a == "--generate-identity") {
      const auto cert = value(a);
      o.generate.emplace(std::string(cert), std::string(value(a)));
    } else if (a == "--peer-fingerprint") {
      const auto text = value(a);
      const auto fp = dtlspp::fingerprint::parse(text);
      if (!fp) throw usage_error{fmt::format("not a fingerprint: '{}'", text)};
      o.peers.push_back(*fp);
    } else if (a == "--dangerous-accept-any-peer") {
      o.accept_any = true;
    } else if (a == "--srtp") {
      o.srtp = parse_profiles(value(a));
    } else if (a == "--require-srtp") {
      o.require_srtp = true;
    } else if (a == "--mtu") {
      o.mtu = parse_number<std::size_t>(value(a), a);
    } else if (a == "--initial-rto") {
      o.initial_rto = std::chrono::milliseconds(parse_number<long>(value(a), a));
    } else if (a == "--handshake-timeout") {
      o.handshake_timeout = std::chrono::seconds(parse_number<long>(value(a), a));
    } else if (a == "--keylog") {
      o.keylog = value(a);
    } else if (a.size() > 1 && a[0] == '-') {
      throw usage_error{fmt::format("unknown option {}", a)};
    } else {
      positional.push_back(a);
    }
  }
  if (o.generate) return o;
  if (o.listen && positional.size() == 1) {
    o.port = positional[0];
  } else if (positional.size() == 2) {
    o.host = positional[0];
    o.port = positional[1];
  } else {
    throw usage_error{o.listen ? "-l needs [HOST] PORT" : "a client needs HOST PORT"};
  }
  if (o.peers.empty() && !o.accept_any) {
    throw usage_error{"give --peer-fingerprint FP (or --dangerous-accept-any-peer)"};
  }
  if (!o.peers.empty() && o.accept_any) {
    throw usage_error{"--peer-fingerprint and --dangerous-accept-any-peer exclude each other"};
  }
  if (o.require_srtp && o.srtp.empty()) throw usage_error{"--require-srtp needs --srtp"};
  return o;
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw dtlspp::error(dtlspp::errc::invalid_argument, "cannot read " + path);
  return {std::istreambuf_iterator<char>(in), {}};
}

void write_file(const std::string& path, const std::string& text, mode_t mode) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
  if (fd < 0 || ::write(fd, text.data(), text.size()) != static_cast<ssize_t>(text.size())) {
    if (fd >= 0) ::close(fd);
    throw dtlspp::error(dtlspp::errc::invalid_argument, "cannot write " + path);
  }
  ::close(fd);
}

std::string hex(std::span<const std::byte> bytes) {
  std::string out;
  for (const auto b : bytes)
    out += fmt::format("{:02X}", std::to_integer<unsigned>(b));
  return out;
}

void status(std::string_view line) {
  std::fprintf(stderr, "%.*s\n", int(line.size()), line.data());
}

// key_log_sink appends key log lines to a file, flushing each (a crash keeps what was logged).
std::function<void(std::string_view)> key_log_sink(const std::string& path) {
  // The key log decrypts the traffic: readable by its owner only, like the private key.
  const int fd = ::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
  auto file = std::shared_ptr<std::FILE>(fd >= 0 ? ::fdopen(fd, "a") : nullptr, [](std::FILE* f) {
    if (f != nullptr) std::fclose(f);
  });
  if (!file && fd >= 0) ::close(fd);
  if (!file) throw dtlspp::error(dtlspp::errc::invalid_argument, "cannot open " + path);
  return [file](std::string_view line) {
    std::fprintf(file.get(), "%.*s\n", int(line.size()), line.data());
    std::fflush(file.get());
  };
}

dtlspp::context make_context(const options& o) {
  dtlspp::context_options co;
  if (!o.cert_file.empty() || !o.key_file.empty()) {
    co.identity = dtlspp::identity::from_pem(read_file(o.cert_file), read_file(o.key_file));
  }
  co.mtu_bytes = o.mtu;
  co.retransmit.initial = o.initial_rto;
  co.retransmit.maximum = std::max<std::chrono::milliseconds>(o.initial_rto, 60s);
  co.handshake_timeout = o.handshake_timeout;
  co.srtp_profiles = o.srtp;
  co.require_srtp = o.require_srtp;
  std::string keylog = o.keylog;
  if (const char* env = std::getenv("SSLKEYLOGFILE"); keylog.empty() && env != nullptr) {
    keylog = env;
  }
  if (!keylog.empty()) co.key_log = key_log_sink(keylog);
  return dtlspp::context(std::move(co));
}

dtlspp::verifier make_verifier(const options& o) {
  if (o.accept_any) {
    status("warning: --dangerous-accept-any-peer: the peer is not authenticated");
    return dtlspp::dangerous_accept_any();
  }
  return dtlspp::expect(o.peers);
}

// reporter prints what sessions do, as dtlscat promises: records on stdout, one per line;
// status lines on stderr.
struct reporter {
  const options& o;

  void record(std::span<const std::byte> data) const {
    std::fwrite(data.data(), 1, data.size(), stdout);
    if (data.empty() || data.back() != std::byte{'\n'}) std::fputc('\n', stdout);
    std::fflush(stdout);
  }

  void trace(std::string_view direction, std::span<const std::byte> datagram,
             const dtlspp::io::endpoint& peer) const {
    if (o.verbose) {
      status(fmt::format("{} {} {}", direction, peer.to_string(), dtlspp::io::describe(datagram)));
    }
  }

  void connected(const dtlspp::session& s) const {
    status(fmt::format("handshake complete: cipher={} peer={}", s.cipher_name(),
                       s.peer_certificate()->fingerprint().to_string()));
    if (const auto keys = s.srtp_keying_material()) {
      status(fmt::format("srtp profile: {}", dtlspp::name(keys->profile())));
      status(fmt::format("srtp keying material: {}", hex(keys->raw())));
    } else if (!o.srtp.empty()) {
      status("srtp profile: none");
    }
  }

  // closed reports the end of an association and returns dtlscat's exit status for it.
  int closed(std::error_code reason, std::string_view message, bool was_connected) const {
    if (!reason || reason == dtlspp::errc::closed) {
      status("closed");
      return exit_clean;
    }
    status(fmt::format("error: {}", message.empty() ? reason.message() : message));
    return was_connected ? exit_session_failed : exit_handshake_failed;
  }
};

// line_reader splits stdin into lines, without their newline (and a CR before it).
class line_reader {
 public:
  // read takes what stdin has; it returns the complete lines, and at end of file the last
  // unterminated one too (then eof() is true).
  std::vector<std::string> read() {
    std::array<char, 65536> buffer;
    const ssize_t n = ::read(0, buffer.data(), buffer.size());
    std::vector<std::string> lines;
    if (n <= 0) {
      eof_ = true;
      if (!pending_.empty()) lines.push_back(std::exchange(pending_, {}));
      return lines;
    }
    pending_.append(buffer.data(), static_cast<std::size_t>(n));
    for (auto nl = pending_.find('\n'); nl != std::string::npos; nl = pending_.find('\n')) {
      std::string line = pending_.substr(0, nl);
      pending_.erase(0, nl + 1);
      if (!line.empty() && line.back() == '\r') line.pop_back();
      lines.push_back(std::move(line));
    }
    return lines;
  }
  bool eof() const noexcept { return eof_; }

 private:
  std::string pending_;
  bool eof_ = false;
};

// due tells whether a timer's time has come.
bool due(dtlspp::io::deadline t) {
  return t && *t <= std::chrono::steady_clock::now();
}

// too_long tells, on stderr, that a line does not fit one record of s.
bool too_long(const std::string& line, const dtlspp::session& s, std::size_t mtu) {
  if (line.size() <= s.max_send_size()) return false;
  status(
      fmt::format("error: a line of {} bytes does not fit one record (at most {} bytes at "
                  "MTU {})",
                  line.size(), s.max_send_size(), mtu));
  return true;
}

// run_client drives one client session over its socket until it ends.
int run_client(const options& o, const dtlspp::context& ctx) {
  const reporter report{o};
  const auto peer = dtlspp::io::endpoint::resolve(o.host, o.port).front();
  auto socket = dtlspp::io::udp_socket::for_peer(peer);
  if (o.verbose) status(fmt::format("connecting to {}", peer.to_string()));
  dtlspp::session session(ctx, dtlspp::role::client, make_verifier(o));
  line_reader input;
  bool was_connected = false;
  std::optional<int> result;

  auto flush = [&] {
    while (auto e = session.poll()) {
      if (const auto* t = std::get_if<dtlspp::transmit>(&*e)) {
        report.trace("->", t->datagram, peer);
        socket.send_to(t->datagram, peer);
      } else if (const auto* r = std::get_if<dtlspp::received>(&*e)) {
        report.record(r->data);
      } else if (std::holds_alternative<dtlspp::connected>(*e)) {
        was_connected = true;
        report.connected(session);
      } else if (const auto* c = std::get_if<dtlspp::closed>(&*e)) {
        if (!result) result = report.closed(c->reason, session.error_message(), was_connected);
      }
    }
  };

  flush();
  while (!result) {
    const bool read_stdin = session.state() == dtlspp::state::connected && !input.eof();
    const std::array fds{socket.fd(), read_stdin ? 0 : -1};
    const auto ready = dtlspp::io::wait_readable(fds, session.next_timeout());
    for (const int fd : ready) {
      if (fd == socket.fd()) {
        std::array<std::byte, 65536> buffer;
        while (auto d = socket.receive(buffer)) {
          if (!(d->from == peer)) continue;  // not our server
          const auto bytes = std::span(buffer.data(), d->size);
          report.trace("<-", bytes, peer);
          static_cast<void>(session.handle_datagram(bytes));
          flush();
        }
      } else {
        for (const auto& line : input.read()) {
          if (line.empty()) continue;  // a record cannot be empty
          if (too_long(line, session, o.mtu)) {
            session.close();
            flush();
            return exit_line_too_long;
          }
          static_cast<void>(session.send(std::as_bytes(std::span(line))));
          flush();
        }
        if (input.eof()) session.close();  // EOF: close_notify (RFC 5246 section 7.2.1)
      }
    }
    // Timers run whether or not datagrams arrive: a stream of them must not starve
    // retransmission or the handshake deadline.
    if (due(session.next_timeout())) static_cast<void>(session.handle_timeout());
    flush();
  }
  return *result;
}

// run_server serves clients through a listener: stateless cookies (RFC 6347 section 4.2.1),
// many peers at once. Each received record goes to stdout; each stdin line goes to every
// connected peer. Without --keep-open it ends with the first association.
int run_server(const options& o, const dtlspp::context& ctx) {
  const reporter report{o};
  const auto local = dtlspp::io::endpoint::resolve(o.host, o.port, true).front();
  auto socket = dtlspp::io::udp_socket::bind(local);
  status(fmt::format("listening on {}", socket.local_endpoint().to_string()));
  dtlspp::listener listener(ctx, make_verifier(o));
  std::map<std::string, dtlspp::io::endpoint> connected;  // by address bytes
  line_reader input;
  std::optional<int> result;

  auto flush = [&] {
    while (auto e = listener.poll()) {
      const auto peer = dtlspp::io::endpoint::from_sockaddr(e->peer.data(), e->peer.size());
      const std::string key(reinterpret_cast<const char*>(e->peer.data()), e->peer.size());
      if (const auto* t = std::get_if<dtlspp::transmit>(&e->event)) {
        report.trace("->", t->datagram, peer);
        socket.send_to(t->datagram, peer);
      } else if (const auto* r = std::get_if<dtlspp::received>(&e->event)) {
        report.record(r->data);
      } else if (std::holds_alternative<dtlspp::connected>(e->event)) {
        status(fmt::format("peer: {}", peer.to_string()));
        report.connected(*listener.find(e->peer));
        connected.emplace(key, peer);
      } else if (const auto* c = std::get_if<dtlspp::closed>(&e->event)) {
        const auto* s = listener.find(e->peer);
        const int code = report.closed(c->reason, s != nullptr ? s->error_message() : "",
                                       connected.erase(key) > 0);
        if (!o.keep_open && !result) result = code;
      }
    }
  };

  while (!result) {
    const bool read_stdin = !connected.empty() && !input.eof();
    const std::array fds{socket.fd(), read_stdin ? 0 : -1};
    const auto ready = dtlspp::io::wait_readable(fds, listener.next_timeout());
    for (const int fd : ready) {
      if (fd == socket.fd()) {
        std::array<std::byte, 65536> buffer;
        while (auto d = socket.receive(buffer)) {
          const auto bytes = std::span(buffer.data(), d->size);
          report.trace("<-", bytes, d->from);
          static_cast<void>(listener.handle_datagram(d->from.bytes(), bytes));
          flush();
        }
      } else {
        for (const auto& line : input.read()) {
          for (const auto& [key, peer] : connected) {
            const auto* s = listener.find(peer.bytes());
            if (line.empty() || s == nullptr) continue;
            if (too_long(line, *s, o.mtu)) return exit_line_too_long;
            static_cast<void>(listener.send(peer.bytes(), std::as_bytes(std::span(line))));
          }
          flush();
        }
        if (input.eof()) {
          for (const auto& [key, peer] : connected)
            listener.close(peer.bytes());
          flush();
          if (!result) result = exit_clean;
        }
      }
    }
    if (due(listener.next_timeout())) listener.handle_timeout();
    flush();
  }
  return *result;
}

int generate_identity(const std::string& cert_path, const std::string& key_path) {
  const auto id = dtlspp::identity::generate();
  write_file(cert_path, id.certificate_pem(), 0644);
  write_file(key_path, id.private_key_pem(), 0600);  // the key is the identity: owner only
  status(fmt::format("local fingerprint: {}", id.fingerprint().to_string()));
  return exit_clean;
}

}  // namespace

int main(int argc, char** argv) {
  options o;
  try {
    o = parse_args(argc, argv);
  } catch (const usage_error& e) {
    std::fprintf(stderr, "dtlscat: %s\n\n%s", e.message.c_str(), help_text.data());
    return exit_usage;
  }
  try {
    if (o.generate) return generate_identity(o.generate->first, o.generate->second);
    const auto ctx = make_context(o);
    status(fmt::format("local fingerprint: {}", ctx.identity().fingerprint().to_string()));
    return o.listen ? run_server(o, ctx) : run_client(o, ctx);
  } catch (const dtlspp::error& e) {
    status(fmt::format("error: {}", e.what()));
    return exit_io;
  }
}
