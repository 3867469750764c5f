// dtlspp/io/udp.hpp: UDP endpoints and non-blocking sockets (POSIX), IPv4 and IPv6.
//
// Part of dtlspp_io, the optional socket layer beside the sans-IO core (the core never touches a
// socket; invariant: the core is sans-IO). Everything here is a thin owner of one OS object:
// an endpoint is a sockaddr held by value (no heap), a udp_socket owns one file descriptor.
// Setup failures throw std::system_error carrying the errno and its text; the per-datagram
// calls (receive, send, send_to) never throw.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

namespace dtlspp::io {

// resolver_category is the category of getaddrinfo(3)'s EAI_* codes (its message() is
// gai_strerror's text). Thread-safe.
const std::error_category& resolver_category() noexcept;

// endpoint is an IPv4 or IPv6 address and port: the bytes of a sockaddr_in or sockaddr_in6, held
// by value in 128 bytes (sizeof(sockaddr_storage)), so copying one never allocates. An empty
// endpoint (default-constructed) has family() 0.
class endpoint {
 public:
  endpoint() = default;

  // resolve looks host up (a numeric address or a name) and returns its UDP endpoints, IPv4 and
  // IPv6 in the resolver's order (RFC 6724). passive with an empty host gives the wildcard
  // addresses a server binds. port is numeric or a service name. Throws std::system_error
  // (resolver_category(), or the system category for EAI_SYSTEM) naming host and port when
  // nothing resolves.
  static std::vector<endpoint> resolve(std::string_view host, std::string_view port,
                                       bool passive = false);

  // parse reads a numeric endpoint: "192.0.2.1:4433", "[2001:db8::1]:4433" (the brackets are
  // required for IPv6, RFC 3986 section 3.2.2) or "[fe80::1%eth0]:4433"; empty when the text is
  // not one. Never resolves a name, never throws.
  static std::optional<endpoint> parse(std::string_view text) noexcept;

  // from_sockaddr copies size bytes of a sockaddr (as recvfrom fills it); at most 128 are kept.
  static endpoint from_sockaddr(const void* address, std::size_t size) noexcept;

  const void* sockaddr_data() const noexcept { return storage_.data(); }
  std::size_t sockaddr_size() const noexcept { return size_; }

  // family is AF_INET, AF_INET6, or 0 for an empty endpoint.
  int family() const noexcept;
  std::uint16_t port() const noexcept;

  // is_v4_mapped is true for an IPv6 endpoint holding an IPv4 address (IPv4-mapped), as a
  // dual-stack socket reports IPv4 peers (RFC 4291 section 2.5.5.2).
  bool is_v4_mapped() const noexcept;

  // to_string gives "127.0.0.1:4433" or "[::1]:4433" ("?" for an empty endpoint); parse reads
  // it back.
  std::string to_string() const;

  // bytes are the sockaddr's bytes: what a listener keys its peers by.
  std::span<const std::byte> bytes() const noexcept { return {storage_.data(), size_}; }

  friend bool operator==(const endpoint& a, const endpoint& b) noexcept;

 private:
  alignas(8) std::array<std::byte, 128> storage_{};
  std::size_t size_ = 0;
};

// bind_options tune udp_socket::bind.
struct bind_options {
  // reuse_port sets SO_REUSEPORT: several sockets (one per thread, each with its own listener)
  // bind one address and port, and the kernel hashes each peer's 4-tuple to one of them, so a
  // peer's datagrams always reach the same socket. All must set it, as the same user.
  bool reuse_port = false;
  // v6_only keeps an IPv6 socket to IPv6 peers. Off by default: a socket bound to "::" then
  // serves IPv4 peers too, as IPv4-mapped addresses (RFC 3493 section 5.3).
  bool v6_only = false;
};

// udp_socket owns one non-blocking UDP socket (SOCK_NONBLOCK | SOCK_CLOEXEC). Move-only; closes
// on destruction. Used by one thread at a time.
class udp_socket {
 public:
  // bind opens a socket of local's family bound to local (port 0 lets the system pick; see
  // local_endpoint()). Throws std::system_error with the system's reason ("bind [::]:4433:
  // Address already in use").
  static udp_socket bind(const endpoint& local);
  static udp_socket bind(const endpoint& local, const bind_options& options);

  // for_peer opens an unbound socket of peer's family; the first send binds it to an ephemeral
  // port on the wildcard address. It receives from anyone: filter by datagram::from.
  static udp_socket for_peer(const endpoint& peer);

  // connect opens a socket connected to peer (connect(2) on UDP): the kernel delivers only
  // peer's datagrams to it, and an ICMP port unreachable from peer comes back as ECONNREFUSED
  // from the next receive or send, as it does for `openssl s_client`. Throws std::system_error.
  static udp_socket connect(const endpoint& peer);

  // datagram describes what receive read into the caller's buffer.
  struct datagram {
    std::size_t size;  // bytes written to the buffer
    endpoint from;
    bool truncated;  // the datagram was larger than the buffer; the kernel dropped the rest
  };

  // receive reads one datagram into buffer; empty when none is waiting or on an error (the
  // error is lost: use the overload below to see it). Never throws, never allocates.
  std::optional<datagram> receive(std::span<std::byte> buffer);

  // receive reads one datagram into buffer. Empty when none is waiting (out_error cleared) or
  // when the socket reports an error, which goes to out_error: on a connected socket,
  // ECONNREFUSED is the peer's ICMP port unreachable. Never throws, never allocates.
  std::optional<datagram> receive(std::span<std::byte> buffer, std::error_code& out_error);

  // send_to sends one datagram to `to`. A full socket buffer drops it, as the network may: UDP.
  // Returns false when the system refused it (the reason is in errno).
  bool send_to(std::span<const std::byte> datagram, const endpoint& to);

  // send sends one datagram on a connected socket. Returns the system's error, if any; a full
  // socket buffer (EAGAIN) is not one: the datagram is dropped, as the network may drop it.
  std::error_code send(std::span<const std::byte> datagram);

  // local_endpoint returns the address the socket is bound to (after bind, connect or a first
  // send). Throws std::system_error.
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
