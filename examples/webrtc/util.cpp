#include "util.hpp"

#include <openssl/rand.h>
#include <unistd.h>

#include <cstdio>
#include <stdexcept>

namespace webrtc {

namespace {
const steady::time_point program_start = steady::now();
std::deque<std::string> kept_lines;
}  // namespace

std::uint16_t be16(const std::byte* p) noexcept {
  return static_cast<std::uint16_t>(std::to_integer<unsigned>(p[0]) << 8 |
                                    std::to_integer<unsigned>(p[1]));
}
std::uint32_t be32(const std::byte* p) noexcept {
  return static_cast<std::uint32_t>(be16(p)) << 16 | be16(p + 2);
}
void put16(bytes& v, std::uint16_t x) {
  v.push_back(std::byte(x >> 8));
  v.push_back(std::byte(x & 0xff));
}
void put32(bytes& v, std::uint32_t x) {
  put16(v, static_cast<std::uint16_t>(x >> 16));
  put16(v, static_cast<std::uint16_t>(x & 0xffff));
}
void set16(bytes& v, std::size_t at, std::uint16_t x) noexcept {
  v[at] = std::byte(x >> 8);
  v[at + 1] = std::byte(x & 0xff);
}

unique_fd& unique_fd::operator=(unique_fd&& o) noexcept {
  if (this != &o) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = std::exchange(o.fd_, -1);
  }
  return *this;
}

unique_fd::~unique_fd() {
  if (fd_ >= 0) ::close(fd_);
}

std::string json_string(std::string_view s) {
  std::string out = "\"";
  for (const char c : s) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          out += fmt::format("\\u{:04x}", static_cast<unsigned>(c));
        } else {
          out += c;
        }
    }
  }
  return out + "\"";
}

std::string json_list(const std::vector<std::string>& values) {
  std::string out = "[";
  for (std::size_t i = 0; i < values.size(); ++i)
    out += (i ? "," : "") + values[i];
  return out + "]";
}

std::string random_token(std::size_t n) {
  static constexpr std::string_view alphabet =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
  std::vector<unsigned char> random(n);
  if (RAND_bytes(random.data(), static_cast<int>(n)) != 1)
    throw std::runtime_error("RAND_bytes failed");
  std::string out;
  for (const auto b : random)
    out += alphabet[b % alphabet.size()];  // 256 % 62 bias: irrelevant for ICE credentials
  return out;
}

double seconds_since_start() noexcept {
  return std::chrono::duration<double>(steady::now() - program_start).count();
}

void log_line(std::string line) {
  line = fmt::format("[{:8.3f}] {}", seconds_since_start(), line);
  std::fputs(line.c_str(), stdout);
  std::fputc('\n', stdout);
  std::fflush(stdout);
  kept_lines.push_back(std::move(line));
  if (kept_lines.size() > 200) kept_lines.pop_front();
}

const std::deque<std::string>& recent_log() noexcept {
  return kept_lines;
}

}  // namespace webrtc
