#include "http.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <optional>
#include <sstream>
#include <stdexcept>

namespace webrtc {

namespace {

using namespace std::chrono_literals;

constexpr std::size_t max_request = 1 << 20;

std::string percent_decode(std::string_view s) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '+') {
      out += ' ';
    } else if (s[i] == '%' && i + 2 < s.size() &&
               std::isxdigit(static_cast<unsigned char>(s[i + 1])) &&
               std::isxdigit(static_cast<unsigned char>(s[i + 2]))) {
      out += static_cast<char>(std::stoi(std::string(s.substr(i + 1, 2)), nullptr, 16));
      i += 2;
    } else {
      out += s[i];
    }
  }
  return out;
}

std::map<std::string, std::string> parse_query(std::string_view q) {
  std::map<std::string, std::string> out;
  while (!q.empty()) {
    const auto amp = q.find('&');
    const auto pair = q.substr(0, amp);
    const auto eq = pair.find('=');
    if (!pair.empty())
      out[percent_decode(pair.substr(0, eq))] =
          eq == std::string_view::npos ? "" : percent_decode(pair.substr(eq + 1));
    if (amp == std::string_view::npos) break;
    q.remove_prefix(amp + 1);
  }
  return out;
}

// parse_request returns the request once its head and its Content-Length body are all in.
std::optional<http_request> parse_request(const std::string& in) {
  const auto head_end = in.find("\r\n\r\n");
  if (head_end == std::string::npos) return std::nullopt;
  http_request r;
  std::istringstream head(in.substr(0, head_end));
  std::string line, target;
  std::getline(head, line);
  std::istringstream(line) >> r.method >> target;
  const auto question = target.find('?');
  r.path = target.substr(0, question);
  if (question != std::string::npos)
    r.query = parse_query(std::string_view(target).substr(question + 1));
  std::size_t length = 0;
  while (std::getline(head, line)) {
    std::string lower = line;
    std::transform(lower.begin(), lower.end(), lower.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    if (lower.starts_with("content-length:")) length = std::stoul(line.substr(15));
  }
  if (length > max_request) throw std::runtime_error("request body too large");
  if (in.size() < head_end + 4 + length) return std::nullopt;
  r.body = in.substr(head_end + 4, length);
  return r;
}

void send_all(int fd, std::string_view data) {
  const auto deadline = steady::now() + 2s;
  while (!data.empty() && steady::now() < deadline) {
    const auto n = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL);
    if (n > 0) {
      data.remove_prefix(static_cast<std::size_t>(n));
    } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) {
      pollfd p{fd, POLLOUT, 0};
      ::poll(&p, 1, 100);
    } else {
      return;
    }
  }
}

std::string_view reason(int status) {
  switch (status) {
    case 200:
      return "OK";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 503:
      return "Service Unavailable";
    default:
      return "Bad Request";
  }
}

}  // namespace

http_server::http_server(const std::string& address, std::uint16_t port, handler h)
    : handler_(std::move(h)) {
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  if (::inet_pton(AF_INET, address.c_str(), &a.sin_addr) != 1)
    throw std::runtime_error(fmt::format("{} is not an IPv4 address", address));
  listen_fd_ = unique_fd(::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!listen_fd_) throw std::runtime_error(std::strerror(errno));
  const int one = 1;
  ::setsockopt(listen_fd_.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (::bind(listen_fd_.get(), reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
      ::listen(listen_fd_.get(), 64) != 0)
    throw std::runtime_error(
        fmt::format("cannot listen on {}:{}: {}", address, port, std::strerror(errno)));
  socklen_t size = sizeof a;
  ::getsockname(listen_fd_.get(), reinterpret_cast<sockaddr*>(&a), &size);
  port_ = ntohs(a.sin_port);
}

std::vector<int> http_server::fds() const {
  std::vector<int> out{listen_fd_.get()};
  for (const auto& c : connections_)
    out.push_back(c.fd.get());
  return out;
}

void http_server::accept_all() {
  while (true) {
    unique_fd fd(::accept4(listen_fd_.get(), nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC));
    if (!fd) return;
    connections_.push_back({std::move(fd), {}, steady::now()});
  }
}

void http_server::on_readable(int fd) {
  if (fd == listen_fd_.get()) return accept_all();
  const auto it = std::find_if(connections_.begin(), connections_.end(),
                               [&](auto& c) { return c.fd.get() == fd; });
  if (it == connections_.end()) return;
  std::array<char, 16384> buffer;
  bool done = false;
  while (true) {
    const auto n = ::recv(fd, buffer.data(), buffer.size(), 0);
    if (n > 0) {
      it->in.append(buffer.data(), static_cast<std::size_t>(n));
      if (it->in.size() > max_request + 65536) done = true;
      continue;
    }
    if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)) done = true;
    break;
  }
  try {
    if (auto request = parse_request(it->in)) {
      http_response r;
      try {
        r = handler_(*request);
      } catch (const std::exception& e) {
        r = {400, "text/plain; charset=utf-8", std::string(e.what()) + "\n"};
      }
      send_all(fd, fmt::format("HTTP/1.1 {} {}\r\nContent-Type: {}\r\nContent-Length: {}\r\n"
                               "Cache-Control: no-store\r\nConnection: close\r\n\r\n{}",
                               r.status, reason(r.status), r.content_type, r.body.size(), r.body));
      done = true;
    }
  } catch (const std::exception&) {
    done = true;  // a malformed request: close without an answer
  }
  if (done) connections_.erase(it);
}

void http_server::expire(steady::time_point now, std::chrono::seconds limit) {
  std::erase_if(connections_, [&](const connection& c) { return now - c.opened > limit; });
}

}  // namespace webrtc
