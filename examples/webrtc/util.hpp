// util.hpp: small pieces the WebRTC example's parts share: big-endian bytes, an owned file
// descriptor, JSON text, random ICE tokens and the log.
#pragma once

#include <fmt/format.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace webrtc {

using steady = std::chrono::steady_clock;
using bytes = std::vector<std::byte>;

// Big-endian reads from at least 2 (4) readable bytes, and appends/overwrites on a buffer.
std::uint16_t be16(const std::byte* p) noexcept;
std::uint32_t be32(const std::byte* p) noexcept;
void put16(bytes& v, std::uint16_t x);
void put32(bytes& v, std::uint32_t x);
void set16(bytes& v, std::size_t at, std::uint16_t x) noexcept;

inline std::span<const std::byte> as_bytes(std::string_view s) noexcept {
  return {reinterpret_cast<const std::byte*>(s.data()), s.size()};
}
inline std::string_view as_text(std::span<const std::byte> b) noexcept {
  return {reinterpret_cast<const char*>(b.data()), b.size()};
}

// unique_fd owns one file descriptor and closes it on destruction. Move-only.
class unique_fd {
 public:
  unique_fd() = default;
  explicit unique_fd(int fd) noexcept : fd_(fd) {}
  unique_fd(unique_fd&& o) noexcept : fd_(std::exchange(o.fd_, -1)) {}
  unique_fd& operator=(unique_fd&& o) noexcept;
  unique_fd(const unique_fd&) = delete;
  unique_fd& operator=(const unique_fd&) = delete;
  ~unique_fd();
  int get() const noexcept { return fd_; }
  explicit operator bool() const noexcept { return fd_ >= 0; }

 private:
  int fd_ = -1;
};

// json_string quotes s as a JSON string (RFC 8259 section 7). s is taken as UTF-8.
std::string json_string(std::string_view s);

// json_list joins already-formatted JSON values into an array.
std::string json_list(const std::vector<std::string>& values);

// random_token returns n characters of [A-Za-z0-9] from OpenSSL's CSPRNG: all ice-chars (RFC 8839
// section 5.4). Throws std::runtime_error if the generator fails.
std::string random_token(std::size_t n);

// log prints one line stamped with the seconds since the program started, and keeps the last
// lines for the status page. Not thread-safe: the example runs on one thread.
void log_line(std::string line);
const std::deque<std::string>& recent_log() noexcept;
double seconds_since_start() noexcept;

template <class... Args>
void log(fmt::format_string<Args...> format, Args&&... args) {
  log_line(fmt::format(format, std::forward<Args>(args)...));
}

}  // namespace webrtc
