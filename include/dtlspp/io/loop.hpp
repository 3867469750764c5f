// dtlspp/io/loop.hpp: one poll(2) loop that drives receive, timers and transmit.
//
// A program running sessions on sockets does, forever: wait until a socket is readable or the
// earliest timer is due; feed what arrived (handle_datagram) or the time (handle_timeout); drain
// the outputs (transmits to the socket, events to the application); arm the timer again for
// next_timeout(). io::loop is that loop, for any number of `driven` objects (io::client and
// io::server are two) and plain file descriptors (stdin, a signal pipe).
//
// The timer contract (invariant: time is an input): a driven's next_timeout() is a fixed point
// in time. The loop sleeps until the earliest one, reads the clock once when it wakes, and calls
// on_timeout(now) on every driven whose point `now` has reached; never before.
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
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
// (ignored). Throws std::system_error when poll(2) fails for another reason. It allocates its
// result: a loop that must not allocate per wake-up uses io::loop.
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

// direction tells a trace hook which way a datagram went.
enum class direction { in, out };

// trace_handler sees every datagram a client or server receives (in) or sends (out), with the
// peer's address, before it is processed or as it is sent; the span is valid during the call.
using trace_handler =
    std::function<void(direction, std::span<const std::byte> datagram, const endpoint& peer)>;

// driven is what a loop drives: one readable file descriptor and one timer. io::client and
// io::server implement it; so may an application's own types.
class driven {
 public:
  // fd is the descriptor to watch for reading; -1 watches none.
  virtual int fd() const noexcept = 0;
  // on_readable is called when fd() is readable (or reports an error), with the time the loop
  // woke at.
  virtual void on_readable(time_point now) = 0;
  // next_timeout is the fixed time point at which on_timeout is due, or none.
  virtual std::optional<time_point> next_timeout() const noexcept = 0;
  // on_timeout is called once `now` has reached next_timeout(), never before.
  virtual void on_timeout(time_point now) = 0;

 protected:
  driven() = default;
  driven(const driven&) = default;
  driven& operator=(const driven&) = default;
  ~driven() = default;
};

// loop is a poll(2) loop over driven objects and watched descriptors. It owns neither: remove
// (or unwatch) them before they die. Handlers may add, remove, watch, unwatch and stop from
// inside a call. Once its vectors have grown to the number of descriptors, a loop allocates
// nothing per wake-up. Used by one thread at a time; one loop per thread.
class loop {
 public:
  loop() = default;
  loop(loop&&) = delete;  // drivens may hold its address through their handlers
  loop& operator=(loop&&) = delete;

  void add(driven& d);
  void remove(driven& d) noexcept;

  // watch calls on_readable(now) whenever fd is readable (or at end of file / error, as poll(2)
  // reports POLLHUP and POLLERR). Watching an fd again replaces its function (from the next
  // wake-up).
  void watch(int fd, std::function<void(time_point)> on_readable);
  void unwatch(int fd) noexcept;

  // run_once waits until a descriptor is readable, a driven's timer is due, `until` passes or a
  // signal arrives (EINTR), then makes every call that is due: on_readable for each readable
  // descriptor, then on_timeout for each driven whose next_timeout() the clock has reached.
  // Throws std::system_error when poll(2) fails for a reason other than EINTR.
  void run_once(deadline until = {});

  // run_until calls run_once until done() is true (checked first and after each wake-up) or
  // `until` passes; returns done().
  template <class P>
  bool run_until(P&& done, deadline until = {}) {
    while (!done()) {
      if (until && std::chrono::steady_clock::now() >= *until) return done();
      run_once(until);
    }
    return true;
  }

  // run runs until stop() is called (by a handler, or from another thread: it takes effect at
  // the next wake-up) or nothing is left to drive or watch.
  void run();
  void stop() noexcept { stop_ = true; }

 private:
  // A watched function lives on the heap (allocated by watch): it stays where it is while it
  // runs, whatever the handler does to watched_.
  struct watched {
    int fd;
    std::unique_ptr<std::function<void(time_point)>> on_readable;
  };
  // poll_entry is laid out as struct pollfd (checked where poll(2) is called).
  struct poll_entry {
    int fd;
    short events;
    short revents;
  };
  void compact();

  std::vector<driven*> driven_;
  std::vector<watched> watched_;
  std::vector<poll_entry> polled_;
  std::vector<int> ready_;
  std::atomic<bool> stop_ = false;
};

}  // namespace dtlspp::io
