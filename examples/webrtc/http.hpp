// http.hpp: the smallest HTTP/1.1 server the page needs (RFC 9112): one request per
// connection, answered with Connection: close, bodies sized by Content-Length, non-blocking.
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "util.hpp"

namespace webrtc {

// http_request is one parsed request. path excludes the query; query maps each key=value of
// the query string (percent-decoded; a key without '=' maps to "").
struct http_request {
  std::string method, path, body;
  std::map<std::string, std::string> query;
};

struct http_response {
  int status = 200;
  std::string content_type = "text/plain; charset=utf-8";
  std::string body;
};

// http_server listens on one TCP address and owns its connections. The loop polls fds(),
// calls on_readable() for each readable one, and expire() now and then. Not thread-safe.
class http_server {
 public:
  using handler = std::function<http_response(const http_request&)>;

  // http_server listens on address:port (port 0 picks one). Throws std::runtime_error with the
  // system's reason when it cannot.
  http_server(const std::string& address, std::uint16_t port, handler h);

  std::uint16_t port() const noexcept { return port_; }

  // fds returns the listening socket and every open connection, for poll.
  std::vector<int> fds() const;

  // on_readable accepts connections (listening fd) or reads a request and, once it is whole,
  // answers it with the handler's response and closes the connection.
  void on_readable(int fd);

  // expire closes connections open for longer than `limit` without a whole request.
  void expire(steady::time_point now, std::chrono::seconds limit = std::chrono::seconds{10});

 private:
  struct connection {
    unique_fd fd;
    std::string in;
    steady::time_point opened;
  };
  void accept_all();
  unique_fd listen_fd_;
  std::uint16_t port_ = 0;
  handler handler_;
  std::vector<connection> connections_;
};

}  // namespace webrtc
