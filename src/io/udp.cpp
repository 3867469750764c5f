// src/io/udp.cpp: POSIX UDP sockets.
#include "dtlspp/io/udp.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
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

#include "dtlspp/error.hpp"

namespace dtlspp::io {
namespace {

[[noreturn]] void fail_errno(std::string_view what) {
  throw error(errc::invalid_argument, fmt::format("{}: {}", what, std::strerror(errno)));
}

struct addrinfo_free {
  void operator()(addrinfo* p) const noexcept { freeaddrinfo(p); }
};

int open_socket(int family) {
  const int fd = ::socket(family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_UDP);
  if (fd < 0) fail_errno("socket");
  return fd;
}

}  // namespace

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
  std::unique_ptr<addrinfo, addrinfo_free> list(raw);
  std::vector<endpoint> out;
  if (rc == 0) {
    for (const addrinfo* a = list.get(); a != nullptr; a = a->ai_next) {
      out.push_back(from_sockaddr(a->ai_addr, a->ai_addrlen));
    }
  }
  if (out.empty()) {
    throw error(errc::invalid_argument, fmt::format("cannot resolve {}:{}: {}", host, port,
                                                    rc != 0 ? ::gai_strerror(rc) : "no address"));
  }
  return out;
}

endpoint endpoint::from_sockaddr(const void* address, std::size_t size) {
  endpoint e;
  e.size_ = std::min(size, e.storage_.size());
  std::memcpy(e.storage_.data(), address, e.size_);
  return e;
}

int endpoint::family() const noexcept {
  sockaddr_storage ss{};
  std::memcpy(&ss, storage_.data(), std::min(size_, sizeof ss));
  return ss.ss_family;
}

std::uint16_t endpoint::port() const noexcept {
  sockaddr_storage ss{};
  std::memcpy(&ss, storage_.data(), std::min(size_, sizeof ss));
  if (ss.ss_family == AF_INET) return ntohs(reinterpret_cast<const sockaddr_in&>(ss).sin_port);
  if (ss.ss_family == AF_INET6) return ntohs(reinterpret_cast<const sockaddr_in6&>(ss).sin6_port);
  return 0;
}

std::string endpoint::to_string() const {
  sockaddr_storage ss{};
  std::memcpy(&ss, storage_.data(), std::min(size_, sizeof ss));
  char text[INET6_ADDRSTRLEN] = "?";
  if (ss.ss_family == AF_INET) {
    ::inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in&>(ss).sin_addr, text, sizeof text);
    return fmt::format("{}:{}", text, port());
  }
  if (ss.ss_family == AF_INET6) {
    ::inet_ntop(AF_INET6, &reinterpret_cast<const sockaddr_in6&>(ss).sin6_addr, text, sizeof text);
    return fmt::format("[{}]:{}", text, port());
  }
  return "?";
}

bool operator==(const endpoint& a, const endpoint& b) noexcept {
  return std::ranges::equal(a.bytes(), b.bytes());
}

udp_socket udp_socket::bind(const endpoint& local) {
  udp_socket s(open_socket(local.family()));
  if (local.family() == AF_INET6) {
    const int off = 0;  // accept IPv4-mapped peers too on a wildcard IPv6 listener
    ::setsockopt(s.fd_, IPPROTO_IPV6, IPV6_V6ONLY, &off, sizeof off);
  }
  const int on = 1;
  ::setsockopt(s.fd_, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
  if (::bind(s.fd_, static_cast<const sockaddr*>(local.sockaddr_data()),
             static_cast<socklen_t>(local.sockaddr_size())) != 0) {
    fail_errno(fmt::format("bind {}", local.to_string()));
  }
  return s;
}

udp_socket udp_socket::for_peer(const endpoint& peer) {
  return udp_socket(open_socket(peer.family()));
}

std::optional<udp_socket::datagram> udp_socket::receive(std::span<std::byte> buffer) {
  sockaddr_storage from{};
  socklen_t from_size = sizeof from;
  iovec iov{buffer.data(), buffer.size()};
  msghdr msg{};
  msg.msg_name = &from;
  msg.msg_namelen = from_size;
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  const ssize_t n = ::recvmsg(fd_, &msg, 0);
  if (n < 0) return std::nullopt;  // EAGAIN, or an ICMP error queued for the socket
  return datagram{static_cast<std::size_t>(n), endpoint::from_sockaddr(&from, msg.msg_namelen),
                  (msg.msg_flags & MSG_TRUNC) != 0};
}

bool udp_socket::send_to(std::span<const std::byte> datagram, const endpoint& to) {
  const ssize_t n = ::sendto(fd_, datagram.data(), datagram.size(), 0,
                             static_cast<const sockaddr*>(to.sockaddr_data()),
                             static_cast<socklen_t>(to.sockaddr_size()));
  return n == static_cast<ssize_t>(datagram.size()) || errno == EAGAIN || errno == EWOULDBLOCK;
}

endpoint udp_socket::local_endpoint() const {
  sockaddr_storage local{};
  socklen_t size = sizeof local;
  if (::getsockname(fd_, reinterpret_cast<sockaddr*>(&local), &size) != 0) {
    fail_errno("getsockname");
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
