// src/io/loop.cpp: poll(2) with a steady-clock deadline.
#include "dtlspp/io/loop.hpp"

#include <poll.h>

#include <fmt/format.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstring>

#include "dtlspp/error.hpp"

namespace dtlspp::io {

std::vector<int> wait_readable(std::span<const int> fds, deadline until) {
  std::vector<pollfd> polled;
  polled.reserve(fds.size());
  for (const int fd : fds)
    polled.push_back(pollfd{fd, POLLIN, 0});
  int timeout_ms = -1;
  if (until) {
    const auto left =
        std::chrono::ceil<std::chrono::milliseconds>(*until - std::chrono::steady_clock::now());
    timeout_ms = static_cast<int>(std::clamp<long long>(left.count(), 0, INT_MAX));
  }
  const int n = ::poll(polled.data(), polled.size(), timeout_ms);
  std::vector<int> readable;
  if (n < 0) {
    if (errno == EINTR) return readable;
    throw error(errc::invalid_argument, fmt::format("poll: {}", std::strerror(errno)));
  }
  for (const auto& p : polled) {
    if ((p.revents & (POLLIN | POLLHUP | POLLERR)) != 0) readable.push_back(p.fd);
  }
  return readable;
}

}  // namespace dtlspp::io
