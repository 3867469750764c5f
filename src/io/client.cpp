// src/io/client.cpp: a client session on a connected UDP socket.
#include "dtlspp/io/client.hpp"

#include <cerrno>
#include <utility>
#include <variant>

namespace dtlspp::io {
namespace {

// ends_client: the errors a connected socket reports that end the client at once. ECONNREFUSED
// is the server's ICMP port unreachable (RFC 1122 section 4.1.3.3 passes it to the
// application): nothing listens there, and retransmitting would only wait for the deadline.
// Other ICMP errors (host or network unreachable) may pass; the handshake timer decides.
bool ends_client(const std::error_code& ec) noexcept {
  return ec == std::error_code(ECONNREFUSED, std::system_category());
}

// reset_on_exit clears a flag when a scope ends, even by an exception from a handler.
struct reset_on_exit {
  bool& flag;
  ~reset_on_exit() { flag = false; }
};

constexpr int max_datagrams_per_wakeup = 64;  // then the loop serves the others

}  // namespace

client::client(const context& ctx, const endpoint& server, verifier v)
    : server_(server),
      socket_(udp_socket::connect(server)),
      session_(ctx, role::client, std::move(v)),
      buffer_(std::make_unique<std::array<std::byte, 65536>>()),
      created_(std::chrono::steady_clock::now()) {}

client::client(const context& ctx, std::string_view host, std::string_view port, verifier v)
    : client(ctx, endpoint::resolve(host, port).front(), std::move(v)) {}

client::~client() = default;

std::error_code client::run(event_handler f) {
  on_event_ = std::move(f);
  return run();
}

std::error_code client::run() {
  loop l;
  l.add(*this);
  l.run_until([this] { return done_; });
  l.remove(*this);
  return result_;
}

std::error_code client::send(std::span<const std::byte> data) {
  const auto ec = session_.send(data);
  flush();
  return ec;
}

std::error_code client::send(std::string_view text) {
  return send(std::as_bytes(std::span(text)));
}

void client::close() {
  session_.close();
  flush();
}

void client::on_readable(time_point now) {
  for (int i = 0; i < max_datagrams_per_wakeup && !done_; ++i) {
    std::error_code ec;
    const auto d = socket_.receive(*buffer_, ec);
    if (!d) {
      if (!ec) return;  // nothing more waiting
      if (ends_client(ec)) end(ec);
      continue;  // the error was consumed; datagrams may follow it
    }
    const auto bytes = std::span<const std::byte>(buffer_->data(), d->size);
    if (on_trace_) on_trace_(direction::in, bytes, server_);
    static_cast<void>(session_.handle_datagram(bytes, now));  // a failure comes as closed
    flush();
  }
}

std::optional<time_point> client::next_timeout() const noexcept {
  if (done_) return std::nullopt;
  if (!started_) return created_;  // the first flight is due as soon as the loop runs
  return session_.next_timeout();
}

void client::on_timeout(time_point now) {
  if (started_) static_cast<void>(session_.handle_timeout(now));  // a failure comes as closed
  started_ = true;
  flush();
}

void client::flush() {
  if (flushing_ || !started_)
    return;  // a handler's send or close: the loop below takes its outputs
  flushing_ = true;
  const reset_on_exit reset{flushing_};
  while (auto e = session_.poll()) {
    if (done_) continue;  // ended by the socket: what the session still says goes nowhere
    if (const auto* t = std::get_if<transmit>(&*e)) {
      if (on_trace_) on_trace_(direction::out, t->datagram, server_);
      if (const auto ec = socket_.send(t->datagram); ends_client(ec)) end(ec);
      continue;
    }
    if (const auto* c = std::get_if<closed>(&*e)) {
      done_ = true;
      result_ = c->reason;
    }
    if (on_event_) on_event_(*e);
  }
}

void client::end(std::error_code reason) {
  if (done_) return;
  done_ = true;
  result_ = reason;
  if (on_event_) on_event_(dtlspp::event(closed{reason}));
}

}  // namespace dtlspp::io
