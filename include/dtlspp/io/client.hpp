// dtlspp/io/client.hpp: a DTLS client on a connected UDP socket, ready to run.
//
// io::client joins one session (role::client) to one UDP socket connected to the server, and
// drives it: datagrams in, the retransmission timer, transmits out. The application sees the
// session's other events (connected, received, closed) through one handler:
//
//   dtlspp::io::client c(ctx, "192.0.2.7", "4433", dtlspp::expect({server_fingerprint}));
//   auto reason = c.run([&](const dtlspp::event& e) {
//     if (std::holds_alternative<dtlspp::connected>(e)) static_cast<void>(c.send("hello"));
//     if (auto* r = std::get_if<dtlspp::received>(&e)) { use(r->data); c.close(); }
//   });                                               // returns when closed: {} = clean
//
// run() drives it on a loop of its own; to share a loop with other descriptors (stdin, more
// sessions), add the client to an io::loop instead and run that.
//
// The socket is connected (connect(2)), so the kernel passes only the server's datagrams, and an
// ICMP port unreachable from the server (nothing listens there) ends the client at once with
// ECONNREFUSED in the system category, as `openssl s_client` does, instead of retransmitting
// until the handshake deadline.
#pragma once

#include <array>
#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string_view>
#include <system_error>

#include "dtlspp/context.hpp"
#include "dtlspp/io/loop.hpp"
#include "dtlspp/io/udp.hpp"
#include "dtlspp/session.hpp"
#include "dtlspp/verifier.hpp"

namespace dtlspp::io {

// client is one DTLS client association over its own connected UDP socket. Not movable (a loop
// holds its address); used by one thread at a time.
class client final : public driven {
 public:
  // event_handler receives every event but transmits (the client sends those): connected,
  // received (the span is valid during the call), and one closed, last. It may call send and
  // close on the client; their outputs are handled after it returns.
  using event_handler = std::function<void(const dtlspp::event&)>;

  // client connects a UDP socket to server and starts the session. The first flight (the
  // ClientHello) goes out when a loop first runs the client (run(), or a loop it was added to),
  // so that the handlers set before see it. Throws std::system_error when the socket cannot be
  // made, dtlspp::error when the session cannot.
  client(const context& ctx, const endpoint& server, verifier v);

  // client resolves host and port (the first address the resolver gives, RFC 6724 order) and
  // connects to it. Throws std::system_error when nothing resolves.
  client(const context& ctx, std::string_view host, std::string_view port, verifier v);

  client(const client&) = delete;
  client& operator=(const client&) = delete;
  ~client();

  // on_event sets where events go; on_trace sees every datagram. Set them before the first run.
  void on_event(event_handler f) { on_event_ = std::move(f); }
  void on_trace(trace_handler f) { on_trace_ = std::move(f); }

  // run drives the client on a loop of its own until it ends, and returns why: {} after a clean
  // close (close_notify either way), the session's error (a dtlspp::errc), or the system's
  // (ECONNREFUSED). The handler given replaces the one set with on_event.
  std::error_code run(event_handler f);
  std::error_code run();

  // send protects data as one record and sends it (session::send). Returns errc::not_connected
  // before the connected event, errc::message_too_large beyond max_send_size(). Never throws.
  [[nodiscard]] std::error_code send(std::span<const std::byte> data);
  [[nodiscard]] std::error_code send(std::string_view text);

  // close sends close_notify (RFC 5246 section 7.2.1) and ends the client: the closed event
  // follows.
  void close();

  // done is true once the closed event was delivered; result() is its reason.
  bool done() const noexcept { return done_; }
  std::error_code result() const noexcept { return result_; }

  dtlspp::session& session() noexcept { return session_; }
  const dtlspp::session& session() const noexcept { return session_; }
  const endpoint& server() const noexcept { return server_; }
  const udp_socket& socket() const noexcept { return socket_; }

  // The loop's side (driven): fd is the socket; next_timeout the session's, none once done.
  int fd() const noexcept override { return socket_.fd(); }
  void on_readable(time_point now) override;
  std::optional<time_point> next_timeout() const noexcept override;
  void on_timeout(time_point now) override;

 private:
  void flush();
  void end(std::error_code reason);

  endpoint server_;
  udp_socket socket_;
  dtlspp::session session_;
  event_handler on_event_;
  trace_handler on_trace_;
  std::unique_ptr<std::array<std::byte, 65536>> buffer_;  // one receive buffer, made once
  time_point created_;
  bool started_ = false;  // the first flight went out
  bool flushing_ = false;
  bool done_ = false;
  std::error_code result_;
};

}  // namespace dtlspp::io
