// fmt_test: dtlspp/fmt.hpp, the opt-in fmt::formatter specialisations.

// The core headers first, alone: they must not bring fmt in (fmt.hpp is opt-in).
#include "dtlspp/dtlspp.hpp"
#ifdef FMT_VERSION
#define DTLSPP_CORE_HEADERS_INCLUDE_FMT 1
#else
#define DTLSPP_CORE_HEADERS_INCLUDE_FMT 0
#endif

#include <catch2/catch.hpp>

#include <chrono>
#include <string>
#include <system_error>
#include <utility>
#include <variant>
#include <vector>

#include "dtlspp/fmt.hpp"

namespace {

using namespace std::chrono;

// A certificate made once with `openssl ca -selfsign -startdate 20250101100000Z -enddate
// 20250131100000Z` (CN fmt-fixture, P-256): its validity and fingerprint are known.
constexpr std::string_view fixture_pem = R"(-----BEGIN CERTIFICATE-----
MIIBEjCBugIBATAKBggqhkjOPQQDAjAWMRQwEgYDVQQDDAtmbXQtZml4dHVyZTAe
Fw0yNTAxMDExMDAwMDBaFw0yNTAxMzExMDAwMDBaMBYxFDASBgNVBAMMC2ZtdC1m
aXh0dXJlMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEOHYSPFMemSy8ueOwUVtk
mu2ORlAFuH38PYaxnl4aierWqHHPeNaPBCjP9BDoqS166zbWPKQreYuSpKNo4sP/
QTAKBggqhkjOPQQDAgNHADBEAiAIqFs0GX2nFdOs+L3jkKZm+21n6PjLjKejLsG3
6gg5/AIgLmChQYXPJIjdJije6ePUhDeAKzjfThNH6WJc8OB4YqQ=
-----END CERTIFICATE-----
)";
// `openssl x509 -noout -fingerprint -sha256` of the fixture.
constexpr std::string_view fixture_sha256 =
    "sha-256 AB:7F:59:CA:F2:8F:D6:D5:99:91:32:F5:8C:E9:6D:BA:E9:86:E4:5A:25:BA:18:62:ED:91:45:CE:"
    "AD:C0:97:41";

}  // namespace

TEST_CASE("the core headers do not include fmt; only dtlspp/fmt.hpp does", "[fmt]") {
  CHECK(DTLSPP_CORE_HEADERS_INCLUDE_FMT == 0);
}

TEST_CASE("a fingerprint formats as its RFC 8122 text, what follows a=fingerprint:", "[fmt]") {
  const auto fp = dtlspp::certificate::from_pem(fixture_pem).fingerprint();
  CHECK(fmt::format("{}", fp) == fixture_sha256);
  CHECK(fmt::format("{}", fp) == fp.to_string());
  CHECK(fmt::format("a=fingerprint:{}", fp) == "a=fingerprint:" + fp.to_string());

  const auto sha1 =
      dtlspp::certificate::from_pem(fixture_pem).fingerprint(dtlspp::hash_algorithm::sha1);
  CHECK(fmt::format("{}", sha1).starts_with("sha-1 "));
  CHECK(fmt::format("{}", sha1) == sha1.to_string());
}

TEST_CASE("a certificate formats as one line: CN, sha-256 fingerprint and validity in UTC",
          "[fmt]") {
  const auto cert = dtlspp::certificate::from_pem(fixture_pem);
  CHECK(fmt::format("{}", cert) == fmt::format("CN=fmt-fixture {} valid "
                                               "2025-01-01T10:00:00Z..2025-01-31T10:00:00Z",
                                               fixture_sha256));
  CHECK(fmt::format("{}", cert).find('\n') == std::string::npos);
}

TEST_CASE("a generated identity's certificate formats with its own CN and fingerprint", "[fmt]") {
  dtlspp::identity_options options;
  options.common_name = "fmt-test-peer";
  const auto id = dtlspp::identity::generate(options);
  const auto text = fmt::format("{}", id.certificate());
  CHECK(text.starts_with("CN=fmt-test-peer " + id.fingerprint().to_string() + " valid "));
  CHECK(text.ends_with("Z"));
  CHECK(text.find("..") != std::string::npos);
}

TEST_CASE("detail::utc renders time points as ISO 8601 UTC to the second", "[fmt]") {
  using dtlspp::detail::utc;
  CHECK(utc(system_clock::time_point{}) == "1970-01-01T00:00:00Z");
  CHECK(utc(sys_days{2025y / 1 / 31} + 10h) == "2025-01-31T10:00:00Z");
  CHECK(utc(sys_days{2024y / 2 / 29} + 23h + 59min + 59s + 999ms) == "2024-02-29T23:59:59Z");
  CHECK(utc(system_clock::time_point{} - 1s) == "1969-12-31T23:59:59Z");
  CHECK(utc(sys_days{2049y / 12 / 31} + 1h + 2min + 3s) == "2049-12-31T01:02:03Z");
}

TEST_CASE("hash algorithms format as their RFC 8122 names", "[fmt]") {
  CHECK(fmt::format("{}", dtlspp::hash_algorithm::sha1) == "sha-1");
  CHECK(fmt::format("{}", dtlspp::hash_algorithm::sha224) == "sha-224");
  CHECK(fmt::format("{}", dtlspp::hash_algorithm::sha256) == "sha-256");
  CHECK(fmt::format("{}", dtlspp::hash_algorithm::sha384) == "sha-384");
  CHECK(fmt::format("{}", dtlspp::hash_algorithm::sha512) == "sha-512");
}

TEST_CASE("an errc formats as its category's message, and an error as what()", "[fmt]") {
  CHECK(fmt::format("{}", dtlspp::errc::handshake_timeout) == "handshake timed out");
  CHECK(fmt::format("{}", dtlspp::errc::fingerprint_mismatch) ==
        "peer certificate fingerprint mismatch");
  for (int v = 1; v <= static_cast<int>(dtlspp::errc::idle_timeout); ++v) {
    const auto e = static_cast<dtlspp::errc>(v);
    INFO("errc value " << v);
    CHECK(fmt::format("{}", e) == std::error_code(e).message());
  }

  const dtlspp::error e(dtlspp::errc::malformed_input, "certificate::from_pem");
  CHECK(fmt::format("{}", e) == std::string(e.what()));
  CHECK(fmt::format("{}", e).find("malformed input") != std::string::npos);

  try {
    static_cast<void>(dtlspp::certificate::from_pem("not a certificate"));
    FAIL("from_pem accepted garbage");
  } catch (const dtlspp::error& thrown) {
    CHECK(fmt::format("error: {}", thrown) == std::string("error: ") + thrown.what());
  }
}

TEST_CASE("session states and roles format as their names", "[fmt]") {
  CHECK(fmt::format("{}", dtlspp::state::handshaking) == "handshaking");
  CHECK(fmt::format("{}", dtlspp::state::connected) == "connected");
  CHECK(fmt::format("{}", dtlspp::state::closed) == "closed");
  CHECK(fmt::format("{}", dtlspp::state::failed) == "failed");
  CHECK(fmt::format("{}", dtlspp::role::client) == "client");
  CHECK(fmt::format("{}", dtlspp::role::server) == "server");
}

TEST_CASE("SRTP profiles format as dtlspp::name gives them", "[fmt]") {
  CHECK(fmt::format("{}", dtlspp::srtp_profile::aes128_cm_sha1_80) == "SRTP_AES128_CM_SHA1_80");
  CHECK(fmt::format("{}", dtlspp::srtp_profile::aes128_cm_sha1_32) == "SRTP_AES128_CM_SHA1_32");
  CHECK(fmt::format("{}", dtlspp::srtp_profile::aead_aes_128_gcm) == "SRTP_AEAD_AES_128_GCM");
  CHECK(fmt::format("{}", dtlspp::srtp_profile::aead_aes_256_gcm) == "SRTP_AEAD_AES_256_GCM");
  for (auto p : {dtlspp::srtp_profile::aes128_cm_sha1_80, dtlspp::srtp_profile::aead_aes_256_gcm}) {
    CHECK(fmt::format("{}", p) == dtlspp::name(p));
  }
}

TEST_CASE("format specifications apply to the whole text, as for a string", "[fmt]") {
  CHECK(fmt::format("[{:>12}]", dtlspp::state::closed) == "[      closed]");
  CHECK(fmt::format("[{:<8}]", dtlspp::role::client) == "[client  ]");
  CHECK(fmt::format("[{:*^9}]", dtlspp::hash_algorithm::sha256) == "[*sha-256*]");
  const auto fp = dtlspp::certificate::from_pem(fixture_pem).fingerprint();
  CHECK(fmt::format("{:.10}", fp) == "sha-256 AB");
  CHECK(fmt::format("{:.2}", dtlspp::errc::closed) == "se");
}

TEST_CASE("formatters compose with fmt::join and runtime format strings", "[fmt]") {
  const auto cert = dtlspp::certificate::from_pem(fixture_pem);
  const std::vector<dtlspp::fingerprint> fps = {cert.fingerprint(dtlspp::hash_algorithm::sha256),
                                                cert.fingerprint(dtlspp::hash_algorithm::sha1)};
  CHECK(fmt::format("{}", fmt::join(fps, " | ")) ==
        fps[0].to_string() + " | " + fps[1].to_string());
  CHECK(fmt::format(fmt::runtime("{} {}"), dtlspp::role::server, dtlspp::state::connected) ==
        "server connected");
}

TEST_CASE("a live session's state, role and peer certificate format as they change", "[fmt]") {
  dtlspp::context client_ctx, server_ctx;
  dtlspp::session client(client_ctx, dtlspp::role::client,
                         dtlspp::expect({server_ctx.identity().fingerprint()}));
  dtlspp::session server(server_ctx, dtlspp::role::server,
                         dtlspp::expect({client_ctx.identity().fingerprint()}));
  CHECK(fmt::format("{} {}", client.role(), client.state()) == "client handshaking");

  std::vector<std::vector<std::byte>> to_server, to_client;
  auto drain = [](dtlspp::session& s, std::vector<std::vector<std::byte>>& out) {
    while (auto e = s.poll()) {
      if (auto* t = std::get_if<dtlspp::transmit>(&*e)) {
        out.emplace_back(t->datagram.begin(), t->datagram.end());
      }
    }
  };
  drain(client, to_server);
  for (int round = 0; round < 10 && (client.state() == dtlspp::state::handshaking ||
                                     server.state() == dtlspp::state::handshaking);
       ++round) {
    for (auto& d : std::exchange(to_server, {})) {
      static_cast<void>(server.handle_datagram(d));
      drain(server, to_client);
    }
    for (auto& d : std::exchange(to_client, {})) {
      static_cast<void>(client.handle_datagram(d));
      drain(client, to_server);
    }
  }
  REQUIRE(client.state() == dtlspp::state::connected);
  CHECK(fmt::format("{} {}", server.role(), server.state()) == "server connected");
  REQUIRE(client.peer_certificate() != nullptr);
  CHECK(fmt::format("{}", *client.peer_certificate()) ==
        fmt::format("{}", server_ctx.identity().certificate()));
  CHECK(fmt::format("{}", *client.peer_certificate()).starts_with("CN=dtlspp "));
}
