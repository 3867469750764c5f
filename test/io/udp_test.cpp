// udp_test: endpoints and UDP sockets, IPv4 and IPv6, errors from the system.
#include <dtlspp/io/loop.hpp>
#include <dtlspp/io/udp.hpp>

#include <netinet/in.h>
#include <sys/socket.h>

#include <catch2/catch.hpp>

#include <array>
#include <cerrno>
#include <chrono>
#include <string>
#include <system_error>

#include "alloc_count.hpp"

using dtlspp::io::endpoint;
using dtlspp::io::udp_socket;
using namespace std::chrono_literals;

namespace {

// receive_within waits up to `limit` for one datagram on s.
std::optional<udp_socket::datagram> receive_within(udp_socket& s, std::span<std::byte> buffer,
                                                   std::chrono::milliseconds limit = 2s) {
  const std::array fds{s.fd()};
  const auto until = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < until) {
    if (auto d = s.receive(buffer)) return d;
    dtlspp::io::wait_readable(fds, until);
  }
  return std::nullopt;
}

endpoint loopback(int family) {
  return endpoint::parse(family == AF_INET ? "127.0.0.1:0" : "[::1]:0").value();
}

}  // namespace

TEST_CASE("endpoint::parse reads numeric IPv4 and bracketed IPv6 endpoints and rejects the rest",
          "[io][endpoint]") {
  const auto v4 = endpoint::parse("192.0.2.1:4433");
  REQUIRE(v4);
  CHECK(v4->family() == AF_INET);
  CHECK(v4->port() == 4433);
  CHECK(v4->to_string() == "192.0.2.1:4433");
  CHECK(v4->sockaddr_size() == sizeof(sockaddr_in));

  const auto v6 = endpoint::parse("[2001:db8::1]:65535");
  REQUIRE(v6);
  CHECK(v6->family() == AF_INET6);
  CHECK(v6->port() == 65535);
  CHECK(v6->to_string() == "[2001:db8::1]:65535");
  CHECK(v6->sockaddr_size() == sizeof(sockaddr_in6));
  CHECK_FALSE(v6->is_v4_mapped());
  CHECK(endpoint::parse("[::ffff:127.0.0.1]:1")->is_v4_mapped());

  for (const char* bad : {"", "1.2.3.4", "1.2.3.4:", "1.2.3.4:65536", "1.2.3.4:-1", "1.2.3.4:+1",
                          "1.2.3.4:1x", "::1:4433", "[::1]4433", "[::1]:", "[1.2.3.4]:1",
                          "256.1.1.1:1", "host:80", ":80", "1.2.3.4:999999999999999999999"}) {
    INFO(bad);
    CHECK_FALSE(endpoint::parse(bad));
  }
}

TEST_CASE("endpoint::to_string reads back through parse, and == compares the address bytes",
          "[io][endpoint]") {
  for (const char* text : {"127.0.0.1:1", "[::1]:2", "[fe80::1%1]:3", "[::ffff:10.0.0.1]:4"}) {
    INFO(text);
    const auto e = endpoint::parse(text);
    REQUIRE(e);
    CHECK(e->to_string() == text);
    CHECK(endpoint::parse(e->to_string()) == e);
  }
  CHECK_FALSE(endpoint::parse("127.0.0.1:1") == endpoint::parse("127.0.0.1:2"));
  CHECK(endpoint().family() == 0);
  CHECK(endpoint().to_string() == "?");
}

TEST_CASE(
    "endpoint::resolve gives both families for a name, the wildcard when passive, and a "
    "system_error from getaddrinfo's category otherwise",
    "[io][endpoint]") {
  const auto any = endpoint::resolve("", "4433", true);
  REQUIRE_FALSE(any.empty());
  for (const auto& e : any)
    CHECK(e.port() == 4433);

  const auto v6 = endpoint::resolve("::1", "53");
  REQUIRE(v6.size() == 1);
  CHECK(v6.front().to_string() == "[::1]:53");

  try {
    endpoint::resolve("name.invalid", "1");  // RFC 6761: never resolves
    FAIL("resolved name.invalid");
  } catch (const std::system_error& e) {
    CHECK(std::string(e.what()).starts_with("cannot resolve name.invalid:1: "));
    const bool gai = e.code().category() == dtlspp::io::resolver_category();
    CHECK((gai || e.code().category() == std::system_category()));
  }
}

TEST_CASE("copying and comparing endpoints, and a datagram's round trip, allocate nothing",
          "[io][endpoint][alloc]") {
  auto a = udp_socket::bind(loopback(AF_INET));
  auto b = udp_socket::bind(loopback(AF_INET));
  const auto to_b = b.local_endpoint();
  std::array<std::byte, 1500> payload{}, buffer{};
  // Once, so that lazily made state (the kernel's, libc's) exists before counting.
  REQUIRE(a.send_to(payload, to_b));
  REQUIRE(receive_within(b, buffer));

  const auto before = dtlspp::test::allocations();
  endpoint copies[8];
  for (auto& c : copies)
    c = to_b;
  bool same = true;
  for (int i = 0; i < 100; ++i) {
    same = same && a.send_to(payload, copies[i % 8]);
    std::optional<udp_socket::datagram> got;
    while (!(got = b.receive(buffer))) {
    }
    same = same && got->size == payload.size() && got->from == a.local_endpoint();
  }
  const auto after = dtlspp::test::allocations();
  CHECK(same);
  CHECK(after - before == 0);
}

TEST_CASE("a socket bound to IPv4 and one bound to IPv6 each move datagrams over loopback",
          "[io][udp]") {
  const int family = GENERATE(AF_INET, AF_INET6);
  CAPTURE(family);
  auto server = udp_socket::bind(loopback(family));
  const auto at = server.local_endpoint();
  CHECK(at.family() == family);
  CHECK(at.port() != 0);
  auto client = udp_socket::for_peer(at);
  const std::string hello = "hello";
  REQUIRE(client.send_to(std::as_bytes(std::span(hello)), at));
  std::array<std::byte, 64> buffer{};
  const auto d = receive_within(server, buffer);
  REQUIRE(d);
  CHECK(d->size == hello.size());
  CHECK_FALSE(d->truncated);
  CHECK(d->from.family() == family);
  CHECK(d->from.port() == client.local_endpoint().port());
}

TEST_CASE(
    "a socket bound to [::] receives from IPv4 peers as IPv4-mapped addresses, unless "
    "v6_only",
    "[io][udp]") {
  auto dual = udp_socket::bind(endpoint::parse("[::]:0").value());
  const auto port = std::to_string(dual.local_endpoint().port());
  auto v4 = udp_socket::for_peer(endpoint::parse("127.0.0.1:1").value());
  const std::array<std::byte, 3> bytes{};
  REQUIRE(v4.send_to(bytes, endpoint::parse("127.0.0.1:" + port).value()));
  std::array<std::byte, 16> buffer{};
  const auto d = receive_within(dual, buffer);
  REQUIRE(d);
  CHECK(d->from.is_v4_mapped());
  CHECK(d->from.to_string() == "[::ffff:127.0.0.1]:" + std::to_string(v4.local_endpoint().port()));

  auto v6_only = udp_socket::bind(endpoint::parse("[::]:0").value(), {.v6_only = true});
  const auto port6 = std::to_string(v6_only.local_endpoint().port());
  REQUIRE(v4.send_to(bytes, endpoint::parse("127.0.0.1:" + port6).value()));
  CHECK_FALSE(receive_within(v6_only, buffer, 200ms));
}

TEST_CASE("a truncated datagram is flagged", "[io][udp]") {
  auto server = udp_socket::bind(loopback(AF_INET));
  auto client = udp_socket::for_peer(server.local_endpoint());
  const std::array<std::byte, 100> big{};
  REQUIRE(client.send_to(big, server.local_endpoint()));
  std::array<std::byte, 10> small{};
  const auto d = receive_within(server, small);
  REQUIRE(d);
  CHECK(d->size == small.size());
  CHECK(d->truncated);
}

TEST_CASE(
    "binding a port in use throws a system_error with EADDRINUSE and the address; "
    "reuse_port lets sockets share it",
    "[io][udp]") {
  auto first = udp_socket::bind(loopback(AF_INET));
  const auto taken = first.local_endpoint();
  try {
    udp_socket::bind(taken);
    FAIL("bound a port in use");
  } catch (const std::system_error& e) {
    CHECK(e.code() == std::error_code(EADDRINUSE, std::system_category()));
    CHECK(std::string(e.what()) == "bind " + taken.to_string() + ": Address already in use");
  }
  auto a = udp_socket::bind(loopback(AF_INET), {.reuse_port = true});
  const auto shared = a.local_endpoint();
  auto b = udp_socket::bind(shared, {.reuse_port = true});
  CHECK(b.local_endpoint() == shared);
}

TEST_CASE("a connected socket reports the peer's ICMP port unreachable as ECONNREFUSED",
          "[io][udp][refused]") {
  const int family = GENERATE(AF_INET, AF_INET6);
  CAPTURE(family);
  // A port that was just free: bind, learn the port, close.
  endpoint closed_port;
  {
    auto probe = udp_socket::bind(loopback(family));
    closed_port = probe.local_endpoint();
  }
  auto s = udp_socket::connect(closed_port);
  const std::array<std::byte, 4> bytes{};
  CHECK_FALSE(s.send(bytes));
  std::array<std::byte, 16> buffer{};
  std::error_code ec;
  const std::array fds{s.fd()};
  dtlspp::io::wait_readable(fds, std::chrono::steady_clock::now() + 2s);
  CHECK_FALSE(s.receive(buffer, ec));
  CHECK(ec == std::error_code(ECONNREFUSED, std::system_category()));
  // Nothing waiting is not an error.
  CHECK_FALSE(s.receive(buffer, ec));
  CHECK_FALSE(ec);
}
