// src/io/udp.cpp: POSIX UDP sockets and endpoints.
#include "dtlspp/io/udp.hpp"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <fmt/format.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <memory>
#include <utility>

namespace dtlspp::io {
namespace {

static_assert(sizeof(sockaddr_storage) == 128, "endpoint holds a sockaddr_storage in 128 bytes");

// system_failure makes the exception for a failed system call, from errno.
[[noreturn]] void throw_errno(const std::string& what) {
  throw std::system_error(errno, std::system_category(), what);
}

class resolver_category_impl final : public std::error_category {
 public:
  const char* name() const noexcept override { return "getaddrinfo"; }
  std::string message(int code) const override { return ::gai_strerror(code); }
};

struct addrinfo_free {
  void operator()(addrinfo* p) const noexcept { ::freeaddrinfo(p); }
};

int open_socket(int family) {
  const int fd = ::socket(family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_UDP);
  if (fd < 0) throw_errno(fmt::format("socket (family {})", family));
  return fd;
}

void set_option(int fd, int level, int name, int value, const char* what) {
  if (::setsockopt(fd, level, name, &value, sizeof value) != 0) throw_errno(what);
}

// storage copies an endpoint's bytes into a sockaddr_storage (aligned, zero-padded).
sockaddr_storage storage(const endpoint& e) noexcept {
  sockaddr_storage ss{};
  std::memcpy(&ss, e.sockaddr_data(), std::min(e.sockaddr_size(), sizeof ss));
  return ss;
}

bool transient(int e) noexcept {
  return e == EAGAIN || e == EWOULDBLOCK || e == EINTR;
}

}  // namespace

const std::error_category& resolver_category() noexcept {
  static const resolver_category_impl category;
  return category;
}

std::vector<endpoint> endpoint::resolve(std::string_view host, std::string_view port,
                                        bool passive) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_DGRAM;
  hints.ai_protocol = IPPROTO_UDP;
  hints.ai_flags = passive ? AI_PASSIVE : 0;
  addrinfo* raw = nullptr;
  const std::string h(host), p(port);
  const int rc = ::getaddrinfo(h.empty() ? nullptr : h.c_str(), p.c_str(), &hints, &raw);
  const std::unique_ptr<addrinfo, addrinfo_free> list(raw);
  const auto what = fmt::format("cannot resolve {}{}{}", h.empty() ? "*" : h, ":", p);
  if (rc == EAI_SYSTEM) throw_errno(what);
  if (rc != 0) throw std::system_error(rc, resolver_category(), what);
  std::vector<endpoint> out;
  for (const addrinfo* a = list.get(); a != nullptr; a = a->ai_next) {
    if (a->ai_family == AF_INET || a->ai_family == AF_INET6) {
      out.push_back(from_sockaddr(a->ai_addr, a->ai_addrlen));
    }
  }
  if (out.empty()) throw std::system_error(EAI_NONAME, resolver_category(), what);
  return out;
}

std::optional<endpoint> endpoint::parse(std::string_view text) noexcept {
  std::string_view host, port;
  if (text.starts_with('[')) {
    const auto close = text.find("]:");
    if (close == std::string_view::npos) return std::nullopt;
    host = text.substr(1, close - 1);
    port = text.substr(close + 2);
  } else {
    const auto colon = text.rfind(':');
    if (colon == std::string_view::npos || text.find(':') != colon) return std::nullopt;
    host = text.substr(0, colon);
    port = text.substr(colon + 1);
  }
  // Ports are decimal, 0 to 65535, without sign or leading garbage.
  if (port.empty() || port.size() > 5 ||
      !std::ranges::all_of(port, [](char c) { return c >= '0' && c <= '9'; })) {
    return std::nullopt;
  }
  unsigned long number = 0;
  for (const char c : port)
    number = number * 10 + static_cast<unsigned long>(c - '0');
  if (number > 65535 || host.empty() || host.size() >= 64) return std::nullopt;
  // getaddrinfo with AI_NUMERICHOST allocates; inet_pton does not. A scope (%eth0) needs the
  // interface index, which only getaddrinfo resolves: accept it through that path.
  std::array<char, 64> h{};
  std::ranges::copy(host, h.begin());
  if (!text.starts_with('[')) {
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(static_cast<std::uint16_t>(number));
    if (::inet_pton(AF_INET, h.data(), &a.sin_addr) != 1) return std::nullopt;
    return from_sockaddr(&a, sizeof a);
  }
  sockaddr_in6 a{};
  a.sin6_family = AF_INET6;
  a.sin6_port = htons(static_cast<std::uint16_t>(number));
  if (host.find('%') != std::string_view::npos) {
    addrinfo hints{};
    hints.ai_family = AF_INET6;
    hints.ai_socktype = SOCK_DGRAM;
    hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV;
    addrinfo* raw = nullptr;
    const std::string p(port);
    if (::getaddrinfo(h.data(), p.c_str(), &hints, &raw) != 0) return std::nullopt;
    const std::unique_ptr<addrinfo, addrinfo_free> list(raw);
    return from_sockaddr(list->ai_addr, list->ai_addrlen);
  }
  if (::inet_pton(AF_INET6, h.data(), &a.sin6_addr) != 1) return std::nullopt;
  return from_sockaddr(&a, sizeof a);
}

endpoint endpoint::from_sockaddr(const void* address, std::size_t size) noexcept {
  endpoint e;
  e.size_ = std::min(size, e.storage_.size());
  std::memcpy(e.storage_.data(), address, e.size_);
  return e;
}

int endpoint::family() const noexcept {
  return size_ == 0 ? 0 : storage(*this).ss_family;
}

std::uint16_t endpoint::port() const noexcept {
  const auto ss = storage(*this);
  if (ss.ss_family == AF_INET) return ntohs(reinterpret_cast<const sockaddr_in&>(ss).sin_port);
  if (ss.ss_family == AF_INET6) return ntohs(reinterpret_cast<const sockaddr_in6&>(ss).sin6_port);
  return 0;
}

bool endpoint::is_v4_mapped() const noexcept {
  const auto ss = storage(*this);
  return ss.ss_family == AF_INET6 &&
         IN6_IS_ADDR_V4MAPPED(&reinterpret_cast<const sockaddr_in6&>(ss).sin6_addr);
}

std::string endpoint::to_string() const {
  const auto ss = storage(*this);
  char text[INET6_ADDRSTRLEN] = "?";
  if (ss.ss_family == AF_INET) {
    ::inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in&>(ss).sin_addr, text, sizeof text);
    return fmt::format("{}:{}", text, port());
  }
  if (ss.ss_family == AF_INET6) {
    const auto& a6 = reinterpret_cast<const sockaddr_in6&>(ss);
    ::inet_ntop(AF_INET6, &a6.sin6_addr, text, sizeof text);
    if (a6.sin6_scope_id != 0) return fmt::format("[{}%{}]:{}", text, a6.sin6_scope_id, port());
    return fmt::format("[{}]:{}", text, port());
  }
  return "?";
}

bool operator==(const endpoint& a, const endpoint& b) noexcept {
  return std::ranges::equal(a.bytes(), b.bytes());
}

udp_socket udp_socket::bind(const endpoint& local) {
  return bind(local, bind_options{});
}

udp_socket udp_socket::bind(const endpoint& local, const bind_options& options) {
  udp_socket s(open_socket(local.family()));
  if (local.family() == AF_INET6) {
    set_option(s.fd_, IPPROTO_IPV6, IPV6_V6ONLY, options.v6_only ? 1 : 0, "IPV6_V6ONLY");
  }
  if (options.reuse_port) set_option(s.fd_, SOL_SOCKET, SO_REUSEPORT, 1, "SO_REUSEPORT");
  if (::bind(s.fd_, static_cast<const sockaddr*>(local.sockaddr_data()),
             static_cast<socklen_t>(local.sockaddr_size())) != 0) {
    throw_errno(fmt::format("bind {}", local.to_string()));
  }
  return s;
}

udp_socket udp_socket::for_peer(const endpoint& peer) {
  return udp_socket(open_socket(peer.family()));
}

udp_socket udp_socket::connect(const endpoint& peer) {
  udp_socket s(open_socket(peer.family()));
  if (::connect(s.fd_, static_cast<const sockaddr*>(peer.sockaddr_data()),
                static_cast<socklen_t>(peer.sockaddr_size())) != 0) {
    throw_errno(fmt::format("connect {}", peer.to_string()));
  }
  return s;
}

std::optional<udp_socket::datagram> udp_socket::receive(std::span<std::byte> buffer) {
  std::error_code ignored;
  return receive(buffer, ignored);
}

std::optional<udp_socket::datagram> udp_socket::receive(std::span<std::byte> buffer,
                                                        std::error_code& out_error) {
  out_error.clear();
  sockaddr_storage from{};
  iovec iov{buffer.data(), buffer.size()};
  msghdr msg{};
  msg.msg_name = &from;
  msg.msg_namelen = sizeof from;
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  const ssize_t n = ::recvmsg(fd_, &msg, 0);
  if (n < 0) {
    if (!transient(errno)) out_error.assign(errno, std::system_category());
    return std::nullopt;
  }
  return datagram{std::min(static_cast<std::size_t>(n), buffer.size()),
                  endpoint::from_sockaddr(&from, msg.msg_namelen),
                  (msg.msg_flags & MSG_TRUNC) != 0};
}

bool udp_socket::send_to(std::span<const std::byte> datagram, const endpoint& to) {
  const ssize_t n = ::sendto(fd_, datagram.data(), datagram.size(), MSG_NOSIGNAL,
                             static_cast<const sockaddr*>(to.sockaddr_data()),
                             static_cast<socklen_t>(to.sockaddr_size()));
  return n == static_cast<ssize_t>(datagram.size()) || (n < 0 && transient(errno));
}

std::error_code udp_socket::send(std::span<const std::byte> datagram) {
  const ssize_t n = ::send(fd_, datagram.data(), datagram.size(), MSG_NOSIGNAL);
  if (n < 0 && !transient(errno)) return {errno, std::system_category()};
  return {};
}

endpoint udp_socket::local_endpoint() const {
  sockaddr_storage local{};
  socklen_t size = sizeof local;
  if (::getsockname(fd_, reinterpret_cast<sockaddr*>(&local), &size) != 0) {
    throw_errno("getsockname");
  }
  return endpoint::from_sockaddr(&local, size);
}

udp_socket::udp_socket(udp_socket&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}

udp_socket& udp_socket::operator=(udp_socket&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = std::exchange(other.fd_, -1);
  }
  return *this;
}

udp_socket::~udp_socket() {
  if (fd_ >= 0) ::close(fd_);
}

}  // namespace dtlspp::io
