// dtlspp/io/server.hpp: a DTLS server for many peers on one UDP socket, ready to run.
//
// io::server joins a dtlspp::listener (stateless cookies, one session per peer, RFC 6347
// section 4.2.1) to one bound UDP socket, and drives it: datagrams in, every session's timer,
// transmits out to their peers. The application sees each session's other events, with the
// peer's address, through one handler:
//
//   dtlspp::io::server s(ctx, "", "4433", dtlspp::expect({client_fingerprint}));  // [::]:4433
//   s.run([&](const dtlspp::io::endpoint& peer, const dtlspp::event& e) {
//     if (auto* r = std::get_if<dtlspp::received>(&e)) static_cast<void>(s.send(peer, r->data));
//   });                                                // until stop()
//
// An empty host binds "::" with IPV6_V6ONLY off, so one socket serves IPv6 and IPv4 peers (the
// latter as IPv4-mapped IPv6 addresses, RFC 4291 section 2.5.5.2); where the system has no IPv6,
// 0.0.0.0.
//
// Many cores: run one server per thread on the same port with bind_options::reuse_port, all
// sharing one context (invariant: contexts are immutable and shared). The kernel hashes each
// peer's address and port to one socket, so a peer's datagrams, its cookie exchange included,
// always reach the same listener.
#pragma once

#include <array>
#include <atomic>
#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string_view>
#include <system_error>
#include <type_traits>

#include "dtlspp/context.hpp"
#include "dtlspp/io/loop.hpp"
#include "dtlspp/io/udp.hpp"
#include "dtlspp/listener.hpp"
#include "dtlspp/session.hpp"
#include "dtlspp/verifier.hpp"

namespace dtlspp::io {

// server_options are the listener's limits and the socket's options.
struct server_options {
  listener_options listener;
  bind_options bind;
};

// server is a listener on its own bound UDP socket. Not movable (a loop holds its address); used
// by one thread at a time, except stop(), which any thread may call.
class server final : public driven {
 public:
  // event_handler receives every session event but transmits (the server sends those), with
  // the peer's address: connected, received (the span is valid during the call), and one closed
  // per session, last. During a closed event find(peer) still gives the session (its
  // error_message()). The handler may call send, close and with_session; their outputs are
  // handled after it returns.
  using event_handler = std::function<void(const endpoint& peer, const dtlspp::event&)>;

  // server binds local and starts listening. Throws std::system_error when the socket cannot be
  // bound ("bind [::]:4433: Address already in use"), dtlspp::error for listener options out of
  // range.
  server(const context& ctx, const endpoint& local, verifier v, const server_options& options = {});

  // server resolves host (empty: the dual-stack wildcard above) and port, and binds the first
  // address. Throws std::system_error.
  server(const context& ctx, std::string_view host, std::string_view port, verifier v,
         const server_options& options = {});

  server(const server&) = delete;
  server& operator=(const server&) = delete;
  ~server();

  void on_event(event_handler f) { on_event_ = std::move(f); }
  void on_trace(trace_handler f) { on_trace_ = std::move(f); }

  // run drives the server on a loop of its own until stop(). The handler given replaces the one
  // set with on_event.
  void run(event_handler f);
  void run();
  // stop makes run() return (at once: it wakes run()'s poll through an eventfd). Safe from any
  // thread and from a signal handler (an atomic store and write(2)); the server stays usable.
  void stop() noexcept;

  // send protects data as one record to peer's session. errc::not_connected when peer has no
  // connected session. Never throws.
  [[nodiscard]] std::error_code send(const endpoint& peer, std::span<const std::byte> data);
  [[nodiscard]] std::error_code send(const endpoint& peer, std::string_view text);

  // close sends close_notify to peer (when connected) and ends its session: its closed event
  // follows.
  void close(const endpoint& peer);

  // accept_new_peers(false) makes the server drop, uncounted by the listener, every datagram
  // from an address without a session (ClientHellos included): the sessions it has go on, no
  // new one starts. true (the default) accepts again.
  void accept_new_peers(bool accept) noexcept { accepting_ = accept; }

  // find returns peer's session, or null; valid until the next non-const call.
  const dtlspp::session* find(const endpoint& peer) const { return listener_.find(peer.bytes()); }

  // with_session calls f(session&) on peer's session (to settle a deferred verdict, say), then
  // sends what it produced. Returns whether peer has a session. f must not call into the server.
  template <class F>
  requires std::is_invocable_v<F&, dtlspp::session&>
  bool with_session(const endpoint& peer, F&& f) {
    const bool found = listener_.with_session(peer.bytes(), std::forward<F>(f));
    flush();
    return found;
  }

  dtlspp::listener& listener() noexcept { return listener_; }
  const dtlspp::listener& listener() const noexcept { return listener_; }
  const udp_socket& socket() const noexcept { return socket_; }
  // local_endpoint is where the server listens (the port the system picked for port 0).
  const endpoint& local_endpoint() const noexcept { return local_; }

  // The loop's side (driven).
  int fd() const noexcept override { return socket_.fd(); }
  void on_readable(time_point now) override;
  std::optional<time_point> next_timeout() const noexcept override;
  void on_timeout(time_point now) override;

 private:
  void flush();

  udp_socket socket_;
  endpoint local_;
  dtlspp::listener listener_;
  event_handler on_event_;
  trace_handler on_trace_;
  std::unique_ptr<std::array<std::byte, 65536>> buffer_;  // one receive buffer, made once
  // wake_event owns an eventfd(2) that stop() writes to wake run()'s poll from another thread.
  struct wake_event {
    wake_event();
    wake_event(const wake_event&) = delete;
    wake_event& operator=(const wake_event&) = delete;
    ~wake_event();
    int fd;
  };
  wake_event wake_;
  std::atomic<bool> stop_ = false;
  bool accepting_ = true;
  bool flushing_ = false;
};

}  // namespace dtlspp::io
