// src/io/loop.cpp: poll(2) with a steady-clock deadline, and the loop over driven objects.
#include "dtlspp/io/loop.hpp"

#include <poll.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstddef>
#include <system_error>

namespace dtlspp::io {
namespace {

// poll_timeout converts a deadline into poll(2)'s milliseconds, rounded up so that the loop
// never wakes before the deadline it waits for (an early wake-up would only spin).
int poll_timeout(deadline until) {
  if (!until) return -1;
  const auto left =
      std::chrono::ceil<std::chrono::milliseconds>(*until - std::chrono::steady_clock::now());
  return static_cast<int>(std::clamp<long long>(left.count(), 0, INT_MAX));
}

constexpr short readable_events = POLLIN | POLLHUP | POLLERR;

}  // namespace

std::vector<int> wait_readable(std::span<const int> fds, deadline until) {
  std::vector<pollfd> polled;
  polled.reserve(fds.size());
  for (const int fd : fds)
    polled.push_back(pollfd{fd, POLLIN, 0});
  const int n = ::poll(polled.data(), polled.size(), poll_timeout(until));
  std::vector<int> readable;
  if (n < 0) {
    if (errno == EINTR) return readable;
    throw std::system_error(errno, std::system_category(), "poll");
  }
  for (const auto& p : polled) {
    if ((p.revents & readable_events) != 0) readable.push_back(p.fd);
  }
  return readable;
}

void loop::add(driven& d) {
  driven_.push_back(&d);
}

void loop::remove(driven& d) noexcept {
  std::ranges::replace(driven_, &d, nullptr);  // compacted at the next run_once
}

void loop::watch(int fd, std::function<void(time_point)> on_readable) {
  unwatch(fd);
  watched_.push_back(
      watched{fd, std::make_unique<std::function<void(time_point)>>(std::move(on_readable))});
}

void loop::unwatch(int fd) noexcept {
  // The function may be running (a handler unwatching its own fd): it is destroyed at the next
  // run_once, not now.
  for (auto& w : watched_) {
    if (w.fd == fd) w.fd = -1;
  }
}

void loop::compact() {
  std::erase(driven_, nullptr);
  std::erase_if(watched_, [](const watched& w) { return w.fd < 0; });
}

void loop::run_once(deadline until) {
  static_assert(sizeof(poll_entry) == sizeof(pollfd) &&
                offsetof(poll_entry, fd) == offsetof(pollfd, fd) &&
                offsetof(poll_entry, events) == offsetof(pollfd, events) &&
                offsetof(poll_entry, revents) == offsetof(pollfd, revents));
  compact();
  const std::size_t drivens = driven_.size();
  const std::size_t watches = watched_.size();
  polled_.clear();
  deadline next = until;
  for (const driven* d : driven_) {
    polled_.push_back(poll_entry{d->fd(), POLLIN, 0});
    next = earliest(next, d->next_timeout());
  }
  for (const auto& w : watched_)
    polled_.push_back(poll_entry{w.fd, POLLIN, 0});

  const int n =
      ::poll(reinterpret_cast<pollfd*>(polled_.data()), polled_.size(), poll_timeout(next));
  if (n < 0 && errno != EINTR) throw std::system_error(errno, std::system_category(), "poll");
  const auto now = std::chrono::steady_clock::now();
  if (n > 0) {
    // Handlers may add, remove, watch or unwatch: the snapshot sizes and null checks keep the
    // indices of this round valid.
    for (std::size_t i = 0; i < drivens; ++i) {
      if ((polled_[i].revents & readable_events) != 0 && driven_[i] != nullptr) {
        driven_[i]->on_readable(now);
      }
    }
    for (std::size_t j = 0; j < watches && j < watched_.size(); ++j) {
      if ((polled_[drivens + j].revents & readable_events) != 0 && watched_[j].fd >= 0) {
        (*watched_[j].on_readable)(now);
      }
    }
  }
  for (std::size_t i = 0; i < drivens; ++i) {
    if (driven_[i] == nullptr) continue;
    if (const auto t = driven_[i]->next_timeout(); t && *t <= now) driven_[i]->on_timeout(now);
  }
}

void loop::run() {
  while (!stop_) {
    compact();
    if (driven_.empty() && watched_.empty()) break;
    run_once();
  }
  stop_ = false;
}

}  // namespace dtlspp::io
