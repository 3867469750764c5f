// src/io/server.cpp: a listener on a bound UDP socket.
#include "dtlspp/io/server.hpp"

#include <netinet/in.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <utility>
#include <variant>

namespace dtlspp::io {
namespace {

struct reset_on_exit {
  bool& flag;
  ~reset_on_exit() { flag = false; }
};

constexpr int max_datagrams_per_wakeup = 64;  // then the loop serves the others

// wildcard is where a server with an empty host listens: "::" (dual stack) when the system can
// open an IPv6 socket, else 0.0.0.0.
endpoint wildcard(std::string_view port) {
  const int probe = ::socket(AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC, IPPROTO_UDP);
  if (probe >= 0) {
    ::close(probe);
    return endpoint::resolve("::", port, true).front();
  }
  return endpoint::resolve("0.0.0.0", port, true).front();
}

}  // namespace

server::wake_event::wake_event() : fd(::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) {
  if (fd < 0) throw std::system_error(errno, std::system_category(), "eventfd");
}

server::wake_event::~wake_event() {
  ::close(fd);
}

server::server(const context& ctx, const endpoint& local, verifier v, const server_options& options)
    : socket_(udp_socket::bind(local, options.bind)),
      local_(socket_.local_endpoint()),
      listener_(ctx, std::move(v), options.listener),
      buffer_(std::make_unique<std::array<std::byte, 65536>>()) {}

server::server(const context& ctx, std::string_view host, std::string_view port, verifier v,
               const server_options& options)
    : server(ctx, host.empty() ? wildcard(port) : endpoint::resolve(host, port, true).front(),
             std::move(v), options) {}

server::~server() = default;

void server::run(event_handler f) {
  on_event_ = std::move(f);
  run();
}

void server::run() {
  loop l;
  l.add(*this);
  l.watch(wake_.fd, [this](time_point) {
    std::uint64_t count = 0;
    static_cast<void>(::read(wake_.fd, &count, sizeof count));
  });
  l.run_until([this] { return stop_.load(); });
  l.remove(*this);
  l.unwatch(wake_.fd);
  stop_ = false;
}

void server::stop() noexcept {
  stop_ = true;
  const std::uint64_t one = 1;
  static_cast<void>(::write(wake_.fd, &one, sizeof one));
}

std::error_code server::send(const endpoint& peer, std::span<const std::byte> data) {
  const auto ec = listener_.send(peer.bytes(), data);
  flush();
  return ec;
}

std::error_code server::send(const endpoint& peer, std::string_view text) {
  return send(peer, std::as_bytes(std::span(text)));
}

void server::close(const endpoint& peer) {
  listener_.close(peer.bytes());
  flush();
}

void server::on_readable(time_point now) {
  for (int i = 0; i < max_datagrams_per_wakeup; ++i) {
    std::error_code ec;
    const auto d = socket_.receive(*buffer_, ec);
    if (!d) {
      if (!ec) return;  // nothing more waiting
      continue;  // an unconnected socket reports no ICMP errors; whatever came, it was consumed
    }
    const auto bytes = std::span<const std::byte>(buffer_->data(), d->size);
    if (on_trace_) on_trace_(direction::in, bytes, d->from);
    if (!accepting_ && listener_.find(d->from.bytes()) == nullptr) continue;
    static_cast<void>(listener_.handle_datagram(d->from.bytes(), bytes, now));  // as events
    flush();
  }
}

std::optional<time_point> server::next_timeout() const noexcept {
  return listener_.next_timeout();
}

void server::on_timeout(time_point now) {
  listener_.handle_timeout(now);
  flush();
}

void server::flush() {
  if (flushing_) return;  // a handler's send or close: the loop below takes its outputs
  flushing_ = true;
  const reset_on_exit reset{flushing_};
  while (auto e = listener_.poll()) {
    const auto peer = endpoint::from_sockaddr(e->peer.data(), e->peer.size());
    if (const auto* t = std::get_if<transmit>(&e->event)) {
      if (on_trace_) on_trace_(direction::out, t->datagram, peer);
      socket_.send_to(t->datagram, peer);  // refused or dropped: the peer's timers recover
      continue;
    }
    if (on_event_) on_event_(peer, e->event);
  }
}

}  // namespace dtlspp::io
