// dtlspp/io/loop.hpp: the poll loop's two halves, for sessions over UDP sockets.
//
// A program driving a session does, forever: wait until a socket is readable or the session's
// timer is due (wait_readable with next_timeout()); feed what arrived (handle_datagram) or the
// time (handle_timeout); then pump() the session's outputs: datagrams out through the socket,
// events to the application. dtlscat and the demo are written this way.
#pragma once

#include <chrono>
#include <cstddef>
#include <optional>
#include <span>
#include <utility>
#include <variant>
#include <vector>

#include "dtlspp/io/udp.hpp"
#include "dtlspp/session.hpp"

namespace dtlspp::io {

using deadline = std::optional<std::chrono::steady_clock::time_point>;

// earliest returns the sooner of two deadlines (none means never).
inline deadline earliest(deadline a, deadline b) noexcept {
  if (!a) return b;
  if (!b) return a;
  return std::min(*a, *b);
}

// wait_readable blocks until one of fds is readable, or until `until` passes (never, when
// empty), or a signal interrupts. Returns the readable ones (empty on time-out). fds may hold -1
// (ignored). Throws dtlspp::error when poll(2) fails for another reason.
std::vector<int> wait_readable(std::span<const int> fds, deadline until);

// pump drains s.poll(): every transmit goes to `to` through socket, every other event to
// on_event(const event&). Call it after each input to s. Returns the datagrams sent.
template <class F>
std::size_t pump(session& s, udp_socket& socket, const endpoint& to, F&& on_event) {
  std::size_t sent = 0;
  while (auto e = s.poll()) {
    if (const auto* t = std::get_if<transmit>(&*e)) {
      socket.send_to(t->datagram, to);
      ++sent;
    } else {
      on_event(*e);
    }
  }
  return sent;
}

}  // namespace dtlspp::io
