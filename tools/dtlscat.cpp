// dtlscat: netcat for DTLS 1.2, with the peer pinned by its certificate fingerprint.
//
// Client: dtlscat [options] HOST PORT; server: dtlscat -l [options] [HOST] PORT. Lines read on
// stdin go out one record per line; each record received goes to stdout, one per line. Status
// lines go to stderr, one per event, in a stable form that scripts grep for. It runs on
// dtlspp_io: an io::client or an io::server in one io::loop with stdin and a signalfd.
#include <dtlspp/dtlspp.hpp>
#include <dtlspp/io/client.hpp>
#include <dtlspp/io/files.hpp>
#include <dtlspp/io/loop.hpp>
#include <dtlspp/io/server.hpp>
#include <dtlspp/io/trace.hpp>
#include <dtlspp/io/udp.hpp>

#include <fcntl.h>
#include <getopt.h>
#include <netdb.h>
#include <signal.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <limits>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

#ifndef DTLSPP_VERSION
#define DTLSPP_VERSION "unknown"
#endif

namespace {

using namespace std::chrono_literals;

// Exit statuses, as --help documents them.
enum exit_status : int {
  exit_clean = 0,
  exit_handshake_failed = 1,  // handshake or verification failure
  exit_usage = 2,
  exit_io = 3,  // a file, address or socket could not be used; the server refused the port
  exit_line_too_long = 4,
  exit_session_failed = 5,  // the association failed after the handshake (alert, protocol)
};

constexpr std::string_view help_text = R"(usage:
  dtlscat [options] HOST PORT                connect to a DTLS server
  dtlscat -l [options] [HOST] PORT           serve DTLS clients (HOST: default [::], IPv4 too)
  dtlscat --generate-identity [--force] CERT KEY
                                             write a new identity, print its fingerprint
  dtlscat --print-fingerprint CERT           print the fingerprint of a PEM certificate

options:
  -l, --listen                    serve: one client at a time, exit when it ends (see -k)
  -k, --keep-open                 with -l: serve many clients at once, until a signal
  -4, -6                          use IPv4 or IPv6 addresses only
      --cert=FILE --key=FILE      identity in PEM, both or neither (neither: a fresh one)
      --peer-fingerprint=FP       the peer's certificate fingerprint, repeatable: as printed
                                  by --print-fingerprint ("sha-256 AB:CD:..."), by
                                  `openssl x509 -fingerprint -sha256` ("SHA256 Fingerprint=AB:.."),
                                  or "sha256 AB:..."; sha-1 to sha-512
      --dangerous-accept-any-peer do not authenticate the peer (prints a warning)
      --srtp=PROFILES             offer/accept SRTP profiles, ':' or ',' separated, e.g.
                                  SRTP_AES128_CM_SHA1_80:SRTP_AEAD_AES_128_GCM
      --require-srtp              fail the handshake without a common SRTP profile
      --mtu=N                     largest UDP payload, in bytes, handshake included: 256 to
                                  65507 (default 1200; an IPv4 link MTU of 1500 is 1472)
      --initial-rto=MS            first retransmission timeout, 20 to 60000 (default 1000)
      --handshake-timeout=S       give up on a handshake after S seconds, 1 to 3600 (default 30)
      --keylog=FILE               append NSS key log lines (default: $SSLKEYLOGFILE)
      --force                     with --generate-identity: overwrite CERT and KEY
  -v, --verbose                   trace every datagram on stderr
  -h, --help                      this text
  -V, --version                   dtlscat's and dtlspp's version

PORT is 1 to 65535; with -l, 0 lets the system pick one (the "listening on" line names it).

Each stdin line is sent as one record, without its newline; empty lines are not sent. A line
longer than one record is refused as soon as it grows past it, never split: dtlscat sends
close_notify and exits 4. Each record received is printed as one line.
Client: EOF on stdin sends close_notify and exits 0; the peer's close_notify exits 0.
-l: stdin is read once a client is connected, and each line goes to every connected client.
Without -k, the first client to complete the handshake is served; others are refused (a
bad_certificate alert) until it ends, and dtlscat exits with its status; EOF on stdin sends it
close_notify and exits 0.
With -k, clients come and go; EOF on stdin only stops reading it. Either way a peer that
fails its handshake (a wrong certificate, silence until the deadline) ends nothing else.
SIGINT or SIGTERM sends close_notify to every peer and exits 128 + the signal's number.

exit status: 0 clean close; 1 handshake or verification failure; 2 usage; 3 file, address or
socket error (a refused port included); 4 a line too long for one record; 5 the association
failed after the handshake; 130 or 143 on SIGINT or SIGTERM.
)";

struct options {
  bool listen = false;
  bool keep_open = false;
  bool verbose = false;
  bool accept_any = false;
  bool require_srtp = false;
  bool force = false;
  int family = 0;  // 0: any; AF_INET or AF_INET6
  std::string host;
  std::string port;
  std::string cert_file, key_file;
  bool generate = false;
  std::string print_fingerprint;
  std::vector<std::string> positional;
  std::vector<dtlspp::fingerprint> peers;
  std::vector<dtlspp::srtp_profile> srtp;
  std::size_t mtu = 1200;
  std::chrono::milliseconds initial_rto{1000};
  std::chrono::seconds handshake_timeout{30};
  std::string keylog;
};

// usage_error is a command line dtlscat cannot run: one line, then a hint, exit 2.
struct usage_error {
  std::string message;
};

// number parses a decimal integer in [low, high]; `name` is the option as the user typed it.
// std::from_chars reports overflow instead of wrapping.
std::uint64_t number(std::string_view text, std::string_view name, std::uint64_t low,
                     std::uint64_t high) {
  std::uint64_t value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec == std::errc::result_out_of_range ||
      (ec == std::errc() && end == text.data() + text.size() && (value < low || value > high))) {
    throw usage_error{fmt::format("{}: {} is out of range ({} to {})", name, text, low, high)};
  }
  if (ec != std::errc() || end != text.data() + text.size() || text.empty()) {
    throw usage_error{fmt::format("{} needs a number, got '{}'", name, text)};
  }
  return value;
}

std::vector<dtlspp::srtp_profile> parse_profiles(std::string_view list, std::string_view name) {
  std::vector<dtlspp::srtp_profile> out;
  while (!list.empty()) {
    const auto cut = list.find_first_of(":,");
    const auto item = list.substr(0, cut);
    const auto p = dtlspp::parse_srtp_profile(item);
    if (!p) throw usage_error{fmt::format("{}: unknown SRTP profile '{}'", name, item)};
    out.push_back(*p);
    list = cut == std::string_view::npos ? std::string_view() : list.substr(cut + 1);
  }
  return out;
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out)
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// parse_peer_fingerprint reads RFC 8122's "sha-256 AB:CD:..." (what dtlspp prints, any case,
// an SDP a=fingerprint: line included), what `openssl x509 -fingerprint -sha256` prints
// ("SHA256 Fingerprint=AB:CD:...") and "sha256 AB:CD:...".
std::optional<dtlspp::fingerprint> parse_peer_fingerprint(std::string_view text) {
  if (auto fp = dtlspp::fingerprint::parse(text)) return fp;
  std::string t(text);
  if (const auto at = lower(t).find(" fingerprint="); at != std::string::npos) {
    t = t.substr(0, at) + " " + t.substr(at + 13);
  }
  // "sha256" is "sha-256" without its hyphen (OpenSSL's digest names).
  if (lower(t).starts_with("sha") && t.size() > 3 &&
      std::isdigit(static_cast<unsigned char>(t[3]))) {
    t.insert(3, "-");
  }
  return dtlspp::fingerprint::parse(t);
}

// typed_name returns the option just parsed by getopt_long as the user typed it ("--mtu" from
// "--mtu=9" or "--mtu 9", "--mt" for an abbreviation).
std::string typed_name(char** argv, const char* arg) {
  const int at = (arg != nullptr && arg == argv[optind - 1]) ? optind - 2 : optind - 1;
  std::string_view name = argv[at];
  return std::string(name.substr(0, name.find('=')));
}

enum long_only : int {
  opt_cert = 1000,
  opt_key,
  opt_peer_fingerprint,
  opt_accept_any,
  opt_srtp,
  opt_require_srtp,
  opt_mtu,
  opt_initial_rto,
  opt_handshake_timeout,
  opt_keylog,
  opt_generate,
  opt_print_fingerprint,
  opt_force,
};

const option long_options[] = {
    {"listen", no_argument, nullptr, 'l'},
    {"keep-open", no_argument, nullptr, 'k'},
    {"verbose", no_argument, nullptr, 'v'},
    {"help", no_argument, nullptr, 'h'},
    {"version", no_argument, nullptr, 'V'},
    {"cert", required_argument, nullptr, opt_cert},
    {"key", required_argument, nullptr, opt_key},
    {"peer-fingerprint", required_argument, nullptr, opt_peer_fingerprint},
    {"dangerous-accept-any-peer", no_argument, nullptr, opt_accept_any},
    {"srtp", required_argument, nullptr, opt_srtp},
    {"require-srtp", no_argument, nullptr, opt_require_srtp},
    {"mtu", required_argument, nullptr, opt_mtu},
    {"initial-rto", required_argument, nullptr, opt_initial_rto},
    {"handshake-timeout", required_argument, nullptr, opt_handshake_timeout},
    {"keylog", required_argument, nullptr, opt_keylog},
    {"generate-identity", no_argument, nullptr, opt_generate},
    {"print-fingerprint", required_argument, nullptr, opt_print_fingerprint},
    {"force", no_argument, nullptr, opt_force},
    {"ipv4", no_argument, nullptr, '4'},
    {"ipv6", no_argument, nullptr, '6'},
    {nullptr, 0, nullptr, 0},
};

// parse_option applies one option getopt_long returned.
void parse_option(options& o, int c, char** argv) {
  const std::string_view arg = optarg != nullptr ? optarg : "";
  const auto name = [&] { return typed_name(argv, optarg); };
  switch (c) {
    case 'l':
      o.listen = true;
      break;
    case 'k':
      o.keep_open = true;
      break;
    case 'v':
      o.verbose = true;
      break;
    case '4':
      o.family = AF_INET;
      break;
    case '6':
      o.family = AF_INET6;
      break;
    case opt_cert:
      o.cert_file = arg;
      break;
    case opt_key:
      o.key_file = arg;
      break;
    case opt_peer_fingerprint: {
      const auto fp = parse_peer_fingerprint(arg);
      if (!fp) {
        throw usage_error{
            fmt::format("{}: not a fingerprint: '{}' (expected 'sha-256 AB:CD:...', 32 hex pairs)",
                        name(), arg)};
      }
      o.peers.push_back(*fp);
      break;
    }
    case opt_accept_any:
      o.accept_any = true;
      break;
    case opt_srtp:
      o.srtp = parse_profiles(arg, name());
      break;
    case opt_require_srtp:
      o.require_srtp = true;
      break;
    case opt_mtu:
      o.mtu = number(arg, name(), 256, 65507);
      break;
    case opt_initial_rto:
      o.initial_rto = std::chrono::milliseconds(number(arg, name(), 20, 60000));
      break;
    case opt_handshake_timeout:
      o.handshake_timeout = std::chrono::seconds(number(arg, name(), 1, 3600));
      break;
    case opt_keylog:
      o.keylog = arg;
      break;
    case opt_generate:
      o.generate = true;
      break;
    case opt_print_fingerprint:
      o.print_fingerprint = arg;
      break;
    case opt_force:
      o.force = true;
      break;
    default:
      break;
  }
}

// check_combination rejects what the options cannot mean together, and reads the positional
// arguments.
void check_combination(options& o) {
  const auto& p = o.positional;
  if (o.generate) {
    if (p.size() != 2) throw usage_error{"--generate-identity needs CERT KEY"};
    return;
  }
  if (!o.print_fingerprint.empty()) {
    if (!p.empty()) throw usage_error{fmt::format("unexpected argument '{}'", p.front())};
    return;
  }
  if (o.force) throw usage_error{"--force only goes with --generate-identity"};
  if (o.keep_open && !o.listen) throw usage_error{"-k needs -l"};
  if (o.listen && p.size() == 1) {
    o.port = p[0];
  } else if (p.size() == 2) {
    o.host = p[0];
    o.port = p[1];
  } else {
    throw usage_error{o.listen ? "-l needs [HOST] PORT" : "a client needs HOST PORT"};
  }
  number(o.port, "PORT", o.listen ? 0 : 1, 65535);
  if (o.cert_file.empty() != o.key_file.empty()) {
    throw usage_error{o.cert_file.empty() ? "--key needs --cert" : "--cert needs --key"};
  }
  if (o.peers.empty() && !o.accept_any) {
    throw usage_error{"give --peer-fingerprint FP (or --dangerous-accept-any-peer)"};
  }
  if (!o.peers.empty() && o.accept_any) {
    throw usage_error{"--peer-fingerprint and --dangerous-accept-any-peer exclude each other"};
  }
  if (o.require_srtp && o.srtp.empty()) throw usage_error{"--require-srtp needs --srtp"};
}

// parse_args reads the command line; --help and --version exit from here.
options parse_args(int argc, char** argv) {
  options o;
  opterr = 0;  // our own messages, one line each
  optind = 1;
  int c;
  while ((c = getopt_long(argc, argv, ":lkvhV46", long_options, nullptr)) != -1) {
    if (c == 'h') {
      std::fputs(help_text.data(), stdout);
      std::exit(exit_clean);
    }
    if (c == 'V') {
      std::printf("dtlscat (dtlspp) %s\n", DTLSPP_VERSION);
      std::exit(exit_clean);
    }
    if (c == ':') throw usage_error{fmt::format("{} needs a value", typed_name(argv, nullptr))};
    if (c == '?') {
      const std::string_view bad = argv[optind - 1];
      if (optopt != 0 && !bad.starts_with("--")) {
        throw usage_error{fmt::format("unknown option -{}", static_cast<char>(optopt))};
      }
      throw usage_error{fmt::format("unknown option {}", bad.substr(0, bad.find('=')))};
    }
    parse_option(o, c, argv);
  }
  for (int i = optind; i < argc; ++i)
    o.positional.emplace_back(argv[i]);
  check_combination(o);
  return o;
}

std::string hex(std::span<const std::byte> bytes) {
  std::string out;
  for (const auto b : bytes)
    out += fmt::format("{:02X}", std::to_integer<unsigned>(b));
  return out;
}

void status(std::string_view line) {
  std::fprintf(stderr, "%.*s\n", static_cast<int>(line.size()), line.data());
}

// key_log_sink appends key log lines to a file, flushing each (a crash keeps what was logged).
// The file is created 0600: whoever reads it decrypts the traffic.
std::function<void(std::string_view)> key_log_sink(const std::string& path) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) throw std::system_error(errno, std::system_category(), "cannot open " + path);
  auto file = std::shared_ptr<std::FILE>(::fdopen(fd, "a"), [](std::FILE* f) {
    if (f != nullptr) std::fclose(f);
  });
  if (!file) {
    const int e = errno;
    ::close(fd);
    throw std::system_error(e, std::system_category(), "cannot open " + path);
  }
  return [file](std::string_view line) {
    std::fprintf(file.get(), "%.*s\n", static_cast<int>(line.size()), line.data());
    std::fflush(file.get());
  };
}

dtlspp::context make_context(const options& o) {
  dtlspp::context_options co;
  if (!o.cert_file.empty()) co.identity = dtlspp::io::load_identity(o.cert_file, o.key_file);
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

// pick returns the first resolved address of the family asked for (-4, -6).
dtlspp::io::endpoint pick(const options& o, bool passive) {
  std::string host = o.host;
  if (passive && host.empty()) host = o.family == AF_INET ? "0.0.0.0" : "::";
  for (const auto& e : dtlspp::io::endpoint::resolve(host, o.port, passive)) {
    if (o.family == 0 || e.family() == o.family) return e;
  }
  throw std::system_error(
      EAI_ADDRFAMILY, dtlspp::io::resolver_category(),
      fmt::format("{} has no {} address", host, o.family == AF_INET ? "IPv4" : "IPv6"));
}

void print_record(std::span<const std::byte> data) {
  std::fwrite(data.data(), 1, data.size(), stdout);
  if (data.empty() || data.back() != std::byte{'\n'}) std::fputc('\n', stdout);
  std::fflush(stdout);
}

// report_connected prints the handshake's outcome for one association.
void report_connected(const options& o, const dtlspp::session& s, std::string_view prefix) {
  status(fmt::format("{}handshake complete: cipher={} peer={}", prefix, s.cipher_name(),
                     s.peer_certificate()->fingerprint().to_string()));
  if (const auto keys = s.srtp_keying_material()) {
    status(fmt::format("{}srtp profile: {}", prefix, dtlspp::name(keys->profile())));
    status(fmt::format("{}srtp keying material: {}", prefix, hex(keys->raw())));
  } else if (!o.srtp.empty()) {
    status(fmt::format("{}srtp profile: none", prefix));
  }
}

// report_closed prints how an association ended and returns dtlscat's exit status for it.
int report_closed(std::error_code reason, std::string_view message, bool was_connected,
                  std::string_view prefix) {
  if (!reason || reason == dtlspp::errc::closed) {
    status(fmt::format("{}closed", prefix));
    return exit_clean;
  }
  status(fmt::format("{}error: {}", prefix, message.empty() ? reason.message() : message));
  if (reason.category() == std::system_category()) return exit_io;
  return was_connected ? exit_session_failed : exit_handshake_failed;
}

// line_reader splits stdin into lines without their newline (and a CR before it), holding at
// most `limit` + 1 bytes of an unfinished line: a longer one is reported at once.
class line_reader {
 public:
  enum class outcome { more, eof, too_long };

  // read takes what stdin has and calls on_line for each complete line (at end of file, the
  // last unterminated one too).
  template <class F>
  outcome read(std::size_t limit, F&& on_line) {
    std::array<char, 16384> buffer;
    const ssize_t n = ::read(STDIN_FILENO, buffer.data(), buffer.size());
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) return outcome::more;
    if (n <= 0) {
      if (!pending_.empty() && !emit(limit, on_line)) return outcome::too_long;
      return outcome::eof;
    }
    for (const char c : std::string_view(buffer.data(), static_cast<std::size_t>(n))) {
      if (c == '\n') {
        if (!emit(limit, on_line)) return outcome::too_long;
        continue;
      }
      pending_ += c;
      // One byte of slack for a CR that a newline may still follow.
      if (pending_.size() > limit + 1 || (pending_.size() == limit + 1 && c != '\r')) {
        too_long_size_ = pending_.size();
        return outcome::too_long;
      }
    }
    return outcome::more;
  }

  // too_long_size is how many bytes the refused line had reached when it was refused.
  std::size_t too_long_size() const noexcept { return too_long_size_; }

 private:
  template <class F>
  bool emit(std::size_t limit, F& on_line) {
    std::string line = std::exchange(pending_, {});
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.size() > limit) {
      too_long_size_ = line.size();
      return false;
    }
    if (!line.empty()) on_line(line);  // a record cannot be empty
    return true;
  }

  std::string pending_;
  std::size_t too_long_size_ = 0;
};

std::string too_long_message(std::size_t size, std::size_t limit, std::size_t mtu) {
  return fmt::format(
      "error: a line of {}{} bytes does not fit one record (at most {} bytes at MTU {})",
      size > limit + 1 ? "" : "at least ", size, limit, mtu);
}

// signals turns SIGINT and SIGTERM into a readable descriptor (signalfd), so that the loop
// handles them between two calls like any input.
class signals {
 public:
  signals() {
    sigemptyset(&set_);
    sigaddset(&set_, SIGINT);
    sigaddset(&set_, SIGTERM);
    if (::sigprocmask(SIG_BLOCK, &set_, nullptr) != 0) {
      throw std::system_error(errno, std::system_category(), "sigprocmask");
    }
    fd_ = ::signalfd(-1, &set_, SFD_NONBLOCK | SFD_CLOEXEC);
    if (fd_ < 0) throw std::system_error(errno, std::system_category(), "signalfd");
  }
  signals(const signals&) = delete;
  signals& operator=(const signals&) = delete;
  ~signals() { ::close(fd_); }
  int fd() const noexcept { return fd_; }
  // take returns the signal that arrived, or 0.
  int take() const noexcept {
    signalfd_siginfo info{};
    if (::read(fd_, &info, sizeof info) != sizeof info) return 0;
    return static_cast<int>(info.ssi_signo);
  }

 private:
  sigset_t set_{};
  int fd_ = -1;
};

void trace(const options& o, dtlspp::io::direction d, std::span<const std::byte> datagram,
           const dtlspp::io::endpoint& peer) {
  if (!o.verbose) return;
  status(fmt::format("{} {} {}", d == dtlspp::io::direction::out ? "->" : "<-", peer.to_string(),
                     dtlspp::io::describe(datagram)));
}

// run_client drives one client session until it ends.
int run_client(const options& o, const dtlspp::context& ctx) {
  const auto peer = pick(o, false);
  if (o.verbose) status(fmt::format("connecting to {}", peer.to_string()));
  signals sig;
  dtlspp::io::loop loop;
  dtlspp::io::client client(ctx, peer, make_verifier(o));
  line_reader input;
  bool was_connected = false;
  std::optional<int> result;

  const auto read_stdin = [&](dtlspp::time_point) {
    const auto limit = client.session().max_send_size();
    const auto got = input.read(limit, [&](const std::string& line) {
      static_cast<void>(client.send(line));  // fits: the reader checked the size
    });
    if (got == line_reader::outcome::too_long) {
      status(too_long_message(input.too_long_size(), limit, o.mtu));
      result = exit_line_too_long;
      client.close();
    } else if (got == line_reader::outcome::eof) {
      loop.unwatch(STDIN_FILENO);
      client.close();  // EOF: close_notify (RFC 5246 section 7.2.1)
    }
  };
  client.on_trace([&](auto d, auto datagram, const auto& from) { trace(o, d, datagram, from); });
  client.on_event([&](const dtlspp::event& e) {
    if (const auto* r = std::get_if<dtlspp::received>(&e)) {
      print_record(r->data);
    } else if (std::holds_alternative<dtlspp::connected>(e)) {
      was_connected = true;
      report_connected(o, client.session(), "");
      loop.watch(STDIN_FILENO, read_stdin);
    } else if (const auto* c = std::get_if<dtlspp::closed>(&e)) {
      auto message = std::string(client.session().error_message());
      if (c->reason.category() == std::system_category()) {
        message = fmt::format("{}: {}", peer.to_string(), c->reason.message());
      }
      const int code = report_closed(c->reason, message, was_connected, "");
      if (!result) result = code;
    }
  });
  loop.add(client);
  loop.watch(sig.fd(), [&](dtlspp::time_point) {
    if (const int s = sig.take(); s != 0 && !result) {
      result = 128 + s;
      client.close();
    }
  });
  loop.run_until([&] { return client.done(); });
  return result.value_or(exit_clean);
}

// run_server serves clients through an io::server (a listener: stateless cookies, RFC 6347
// section 4.2.1). Each received record goes to stdout; each stdin line to every connected
// client.
int run_server(const options& o, const dtlspp::context& ctx) {
  signals sig;
  dtlspp::io::loop loop;
  // Without -k, a client that completes its handshake while another is served is refused with
  // a bad_certificate alert, as a busy ncat refuses a second connection. The verifier is the
  // listener's, copied for every session; it reads `busy` when a handshake gets there, and
  // keeps the last certificate it rejected for the status line (a failed session shows none).
  struct verdicts {
    bool busy = false;
    bool refused_busy = false;
    std::optional<dtlspp::certificate> rejected;
  };
  auto seen = std::make_shared<verdicts>();
  const dtlspp::verifier verify(
      [inner = make_verifier(o), seen, keep_open = o.keep_open](const dtlspp::certificate& peer) {
        seen->refused_busy = seen->busy && !keep_open;
        const auto v = seen->refused_busy ? dtlspp::verdict::reject : inner(peer);
        if (v == dtlspp::verdict::reject) seen->rejected = peer;
        return v;
      });
  dtlspp::io::server server(ctx, pick(o, true), verify);
  status(fmt::format("listening on {}", server.local_endpoint().to_string()));
  std::vector<dtlspp::io::endpoint> clients;  // connected, in the order they came
  line_reader input;
  std::optional<int> result;
  bool stdin_open = true;

  const auto close_all = [&] {
    const auto all = clients;
    for (const auto& peer : all)
      server.close(peer);
  };
  const auto read_stdin = [&](dtlspp::time_point) {
    std::size_t limit = std::numeric_limits<std::size_t>::max();
    for (const auto& peer : clients) {
      if (const auto* s = server.find(peer)) limit = std::min(limit, s->max_send_size());
    }
    const auto got = input.read(limit, [&](const std::string& line) {
      for (const auto& peer : clients)
        static_cast<void>(server.send(peer, line));
    });
    if (got == line_reader::outcome::too_long) {
      status(too_long_message(input.too_long_size(), limit, o.mtu));
      result = exit_line_too_long;
      close_all();
    } else if (got == line_reader::outcome::eof) {
      stdin_open = false;
      loop.unwatch(STDIN_FILENO);
      if (!o.keep_open) {
        result = exit_clean;
        close_all();
      }
    }
  };
  server.on_trace([&](auto d, auto datagram, const auto& from) { trace(o, d, datagram, from); });
  server.on_event([&](const dtlspp::io::endpoint& peer, const dtlspp::event& e) {
    const auto prefix = peer.to_string() + ": ";
    const auto served = std::ranges::find(clients, peer) != clients.end();
    if (const auto* r = std::get_if<dtlspp::received>(&e)) {
      print_record(r->data);
    } else if (std::holds_alternative<dtlspp::connected>(e)) {
      report_connected(o, *server.find(peer), prefix);
      clients.push_back(peer);
      seen->busy = true;
      if (clients.size() == 1 && stdin_open) loop.watch(STDIN_FILENO, read_stdin);
    } else if (const auto* c = std::get_if<dtlspp::closed>(&e)) {
      const auto* s = server.find(peer);
      std::string message = s != nullptr ? std::string(s->error_message()) : "";
      if (c->reason == dtlspp::errc::fingerprint_mismatch && seen->rejected) {
        if (seen->refused_busy) {
          seen->refused_busy = false;
          status(fmt::format("{}refused: serving {} (-k serves many)", prefix,
                             clients.empty() ? "?" : clients.front().to_string()));
          return;
        }
        message = dtlspp::expect(o.peers).rejection_message(*seen->rejected);
      }
      const int code = report_closed(c->reason, message, served, prefix);
      std::erase(clients, peer);
      if (clients.empty()) {
        loop.unwatch(STDIN_FILENO);
        seen->busy = false;
      }
      if (served && !o.keep_open && !result) result = code;
    }
  });
  loop.add(server);
  loop.watch(sig.fd(), [&](dtlspp::time_point) {
    if (const int s = sig.take(); s != 0 && !result) {
      result = 128 + s;
      close_all();
    }
  });
  loop.run_until([&] { return result.has_value() && clients.empty(); });
  return *result;
}

int generate_identity(const options& o) {
  const auto id = dtlspp::identity::generate();
  dtlspp::io::save_identity(id, o.positional[0], o.positional[1],
                            o.force ? dtlspp::io::overwrite::yes : dtlspp::io::overwrite::no);
  std::printf("%s\n", id.fingerprint().to_string().c_str());  // FP=$(dtlscat --generate-...)
  return exit_clean;
}

int print_fingerprint(const options& o) {
  const auto certificate = dtlspp::io::load_certificate(o.print_fingerprint);
  std::printf("%s\n", certificate.fingerprint().to_string().c_str());
  return exit_clean;
}

int run(const options& o) {
  if (o.generate) return generate_identity(o);
  if (!o.print_fingerprint.empty()) return print_fingerprint(o);
  const auto ctx = make_context(o);
  status(fmt::format("local fingerprint: {}", ctx.identity().fingerprint().to_string()));
  return o.listen ? run_server(o, ctx) : run_client(o, ctx);
}

}  // namespace

int main(int argc, char** argv) {
  options o;
  try {
    o = parse_args(argc, argv);
  } catch (const usage_error& e) {
    std::fprintf(stderr, "dtlscat: %s\ntry 'dtlscat --help'\n", e.message.c_str());
    return exit_usage;
  }
  try {
    return run(o);
  } catch (const std::system_error& e) {  // files, addresses, sockets; dtlspp::error for PEM
    std::fprintf(stderr, "dtlscat: %s\n", e.what());
    return exit_io;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "dtlscat: %s\n", e.what());
    return exit_io;
  }
}
