// asio_pair: a dtlspp client and server driven by standalone Asio, on 127.0.0.1, in one
// io_context: asynchronous UDP sockets carry the datagrams and a steady_timer per session runs
// the retransmission timer. The client says one thing, the server answers, the client closes.
// The server's socket drops the first datagram it receives, as a lossy network may: the client's
// timer must fire and retransmit its ClientHello, or nothing happens.
//
// The loop is the one every dtlspp program writes, in Asio's shape:
//   async_receive_from completes -> session.handle_datagram -> flush()
//   the timer fires               -> session.handle_timeout  -> flush()
//   flush(): drain session.poll(): transmit -> async_send_to, others -> the application;
//            then re-arm the timer for session.next_timeout() (or cancel it: no timer runs).
// A transmit's bytes are valid only until the next call on the session, so each datagram is
// copied into a buffer the send's completion handler owns.
//
// One session per socket keeps this short. A server for many peers keeps a dtlspp::listener
// instead, keyed by the sender's endpoint bytes, and drives it the same way.
#include <asio.hpp>

#include <dtlspp/dtlspp.hpp>
#include <dtlspp/fmt.hpp>

#include <fmt/format.h>

#include <array>
#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace {

using asio::ip::udp;
using namespace std::chrono_literals;

// peer owns one session and drives it over one UDP socket with one timer.
class peer {
 public:
  // on_record gets every record received; on_connected and on_closed the session's changes.
  // They may call send() or close(): flush() uses an event only before calling back, so the
  // nested flush() those make is safe.
  struct callbacks {
    std::function<void(peer&)> on_connected;
    std::function<void(peer&, std::string_view)> on_record;
    std::function<void(peer&, std::error_code)> on_closed;
  };

  // drop_first: lose the first datagram received (simulated loss).
  peer(asio::io_context& io, std::string name, dtlspp::session session, udp::socket socket,
       std::optional<udp::endpoint> remote, callbacks cb, bool drop_first = false)
      : name_(std::move(name)),
        session_(std::move(session)),
        socket_(std::move(socket)),
        timer_(io),
        remote_(remote),
        cb_(std::move(cb)),
        drop_next_(drop_first) {}

  // start receives and sends the client's first flight (a server has none yet).
  void start() {
    receive();
    flush();
  }

  void send(std::string_view text) {
    if (const auto ec = session_.send(std::as_bytes(std::span(text)))) {
      fmt::print("{}: send failed: {}\n", name_, ec.message());
    }
    flush();
  }

  void close() {
    session_.close();
    flush();
  }

  // stop ends the socket's and the timer's pending operations, so io_context::run can return.
  void stop() {
    stopped_ = true;
    timer_.cancel();
    socket_.close();
  }

  const std::string& name() const { return name_; }
  const dtlspp::session& session() const { return session_; }

 private:
  void receive() {
    socket_.async_receive_from(
        asio::buffer(buffer_), from_, [this](asio::error_code ec, std::size_t n) {
          if (stopped_ || ec == asio::error::operation_aborted) return;
          if (!ec && std::exchange(drop_next_, false)) {
            fmt::print("{}: dropped a datagram of {} bytes (simulated loss)\n", name_, n);
          } else if (!ec) {
            if (!remote_) remote_ = from_;  // a server learns its peer from the first datagram
            if (from_ == *remote_) {
              // Errors are sticky and reported again by the closed event: flush() handles them.
              static_cast<void>(session_.handle_datagram(std::span(buffer_.data(), n)));
              flush();
            }
          }
          if (!stopped_) receive();
        });
  }

  void flush() {
    while (auto e = session_.poll()) {
      if (const auto* t = std::get_if<dtlspp::transmit>(&*e)) {
        auto datagram =
            std::make_shared<std::vector<std::byte>>(t->datagram.begin(), t->datagram.end());
        socket_.async_send_to(asio::buffer(*datagram), *remote_,
                              [datagram](asio::error_code, std::size_t) {});
      } else if (const auto* r = std::get_if<dtlspp::received>(&*e)) {
        const std::string_view text(reinterpret_cast<const char*>(r->data.data()), r->data.size());
        if (cb_.on_record) cb_.on_record(*this, text);
      } else if (std::holds_alternative<dtlspp::connected>(*e)) {
        if (cb_.on_connected) cb_.on_connected(*this);
      } else if (const auto* c = std::get_if<dtlspp::closed>(&*e)) {
        if (cb_.on_closed) cb_.on_closed(*this, c->reason);
      }
    }
    arm_timer();
  }

  // arm_timer follows next_timeout(): expires_at cancels a pending wait, whose handler then
  // sees operation_aborted. A handler already queued may still call handle_timeout early,
  // which is harmless.
  void arm_timer() {
    if (stopped_) return;
    const auto deadline = session_.next_timeout();
    if (!deadline) {
      timer_.cancel();
      return;
    }
    timer_.expires_at(*deadline);
    timer_.async_wait([this](asio::error_code ec) {
      if (stopped_ || ec == asio::error::operation_aborted) return;
      static_cast<void>(session_.handle_timeout());
      flush();
    });
  }

  std::string name_;
  dtlspp::session session_;
  udp::socket socket_;
  asio::steady_timer timer_;
  std::optional<udp::endpoint> remote_;
  callbacks cb_;
  std::array<std::byte, 65536> buffer_;
  udp::endpoint from_;
  bool drop_next_;
  bool stopped_ = false;
};

}  // namespace

int main() {
  asio::io_context io;
  const auto loopback = asio::ip::make_address("127.0.0.1");

  // Each side has its own identity; the fingerprints travel out of band (signalling, SDP).
  dtlspp::context_options options;
  options.retransmit.initial = 200ms;  // a short path: no need to wait the RFC's 1 s
  const dtlspp::context client_ctx(options), server_ctx(options);

  udp::socket server_socket(io, udp::endpoint(loopback, 0));
  udp::socket client_socket(io, udp::endpoint(loopback, 0));
  const auto server_address = server_socket.local_endpoint();
  fmt::print("server on {}:{}, client on {}:{}\n", server_address.address().to_string(),
             server_address.port(), client_socket.local_endpoint().address().to_string(),
             client_socket.local_endpoint().port());

  std::string client_got, server_got;
  std::optional<std::error_code> server_closed;
  std::unique_ptr<peer> client, server;
  asio::steady_timer watchdog(io, 10s);

  auto finish = [&] {
    watchdog.cancel();
    client->stop();
    server->stop();
  };
  auto report_close = [&](peer& p, std::error_code reason) {
    fmt::print("{}: closed ({})\n", p.name(),
               reason ? std::string(p.session().error_message()) : "clean");
  };

  peer::callbacks server_cb;
  server_cb.on_connected = [](peer& p) {
    fmt::print("server: connected, {}, peer {}\n", p.session().cipher_name(),
               *p.session().peer_certificate());
  };
  server_cb.on_record = [&](peer& p, std::string_view text) {
    fmt::print("server: received \"{}\"\n", text);
    server_got = text;
    p.send("pong from the Asio server");
  };
  server_cb.on_closed = [&](peer& p, std::error_code reason) {
    report_close(p, reason);
    server_closed = reason;
    finish();
  };

  peer::callbacks client_cb;
  client_cb.on_connected = [](peer& p) {
    fmt::print("client: connected, {}, peer {}\n", p.session().cipher_name(),
               *p.session().peer_certificate());
    p.send("ping from the Asio client");
  };
  client_cb.on_record = [&](peer& p, std::string_view text) {
    fmt::print("client: received \"{}\"\n", text);
    client_got = text;
    p.close();  // close_notify: the server's closed event ends the example
  };
  client_cb.on_closed = [&](peer& p, std::error_code reason) {
    report_close(p, reason);
    if (reason) finish();
  };

  server = std::make_unique<peer>(
      io, "server",
      dtlspp::session(server_ctx, dtlspp::role::server,
                      dtlspp::expect({client_ctx.identity().fingerprint()})),
      std::move(server_socket), std::nullopt, std::move(server_cb), /*drop_first=*/true);
  client =
      std::make_unique<peer>(io, "client",
                             dtlspp::session(client_ctx, dtlspp::role::client,
                                             dtlspp::expect({server_ctx.identity().fingerprint()})),
                             std::move(client_socket), server_address, std::move(client_cb));

  watchdog.async_wait([&](asio::error_code ec) {
    if (ec == asio::error::operation_aborted) return;
    fmt::print("timed out: client {}, server {}\n", client->session().state(),
               server->session().state());
    finish();
  });

  server->start();
  client->start();
  io.run();

  const auto retransmissions = client->session().stats().retransmissions;
  fmt::print("client retransmissions: {}\n", retransmissions);
  const bool ok = client_got == "pong from the Asio server" &&
                  server_got == "ping from the Asio client" && server_closed && !*server_closed &&
                  retransmissions >= 1;
  fmt::print("{}\n", ok ? "ok" : "FAILED");
  return ok ? 0 : 1;
}
