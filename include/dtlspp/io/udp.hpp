// dtlspp/io/udp.hpp: UDP endpoints and non-blocking sockets (POSIX), for the tools and demos.
//
// This layer is optional and thin: the dtlspp core never touches a socket. It is what dtlscat and
// the demo use, and an example of how an application moves a session's datagrams.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace dtlspp::io {

// endpoint is an IPv4 or IPv6 address and port (a sockaddr_storage, held as bytes).
class endpoint {
 public:
  endpoint() = default;

  // resolve looks host up (numeric or a name; empty means the wildcard for a listener, with
  // passive) and returns its UDP endpoints, IPv4 and IPv6 as the resolver orders them. Throws
  // dtlspp::error(errc::invalid_argument) naming host and port when nothing resolves.
  static std::vector<endpoint> resolve(std::string_view host, std::string_view port,
                                       bool passive = false);

  // from_sockaddr copies size bytes of a sockaddr (as recvfrom fills it).
  static endpoint from_sockaddr(const void* address, std::size_t size);

  const void* sockaddr_data() const noexcept { return storage_.data(); }
  std::size_t sockaddr_size() const noexcept { return size_; }
  int family() const noexcept;
  std::uint16_t port() const noexcept;

  // to_string gives "127.0.0.1:4433" or "[::1]:4433".
  std::string to_string() const;

  // The address bytes: what a listener keys its peers by.
  std::span<const std::byte> bytes() const noexcept { return {storage_.data(), size_}; }

  friend bool operator==(const endpoint& a, const endpoint& b) noexcept;

 private:
  std::vector<std::byte> storage_ = std::vector<std::byte>(128);  // sizeof(sockaddr_storage)
  std::size_t size_ = 0;
};

// udp_socket owns one non-blocking UDP socket. Move-only; closes on destruction.
class udp_socket {
 public:
  // bind opens a socket of local's family bound to local (port 0 picks one). Throws
  // dtlspp::error(errc::invalid_argument) with the system's reason.
  static udp_socket bind(const endpoint& local);

  // for_peer opens a socket for talking to peer, bound to the wildcard address of its family.
  static udp_socket for_peer(const endpoint& peer);

  // receive reads one datagram into buffer; empty when none is waiting. A datagram larger than
  // buffer is truncated (the kernel drops the rest), and size() tells so via truncated.
  struct datagram {
    std::size_t size;
    endpoint from;
    bool truncated;
  };
  std::optional<datagram> receive(std::span<std::byte> buffer);

  // send_to sends one datagram. A full socket buffer drops it, as the network may: UDP.
  // Returns false when the system refused it (the reason is in errno).
  bool send_to(std::span<const std::byte> datagram, const endpoint& to);

  endpoint local_endpoint() const;
  int fd() const noexcept { return fd_; }

  udp_socket(udp_socket&& other) noexcept;
  udp_socket& operator=(udp_socket&& other) noexcept;
  udp_socket(const udp_socket&) = delete;
  udp_socket& operator=(const udp_socket&) = delete;
  ~udp_socket();

 private:
  explicit udp_socket(int fd) noexcept : fd_(fd) {}
  int fd_ = -1;
};

}  // namespace dtlspp::io
