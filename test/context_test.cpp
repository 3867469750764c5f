// context_test: building a context (identity, options and their ranges) and what it sets on the
// SSL_CTX it owns.
#include <catch2/catch.hpp>

#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <array>
#include <chrono>
#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <system_error>
#include <vector>

#include "dtlspp/context.hpp"
#include "dtlspp/error.hpp"
#include "dtlspp/fingerprint.hpp"
#include "dtlspp/identity.hpp"
#include "harness.hpp"
#include "refusals.hpp"

using namespace dtlspp::test;

namespace {

using dtlspp::key_type;

SSL_CTX* ssl_ctx(const dtlspp::context& c) {
  return reinterpret_cast<SSL_CTX*>(c.native_handle());
}

// One P-256 identity for the tests that only need some identity.
const dtlspp::identity& shared_identity() {
  static const dtlspp::identity id = dtlspp::identity::generate();
  return id;
}

// named_options is one case of a table of options: why it is there, and the options.
struct named_options {
  const char* why;
  dtlspp::context_options options;
};

// with returns the default options with the shared identity, changed by change(options&).
template <class F>
dtlspp::context_options with(F change) {
  dtlspp::context_options o;
  o.identity = shared_identity();
  change(o);
  return o;
}

}  // namespace

using namespace std::chrono_literals;

TEST_CASE("a default context generates its own ECDSA P-256 identity", "[context]") {
  const dtlspp::context ctx;
  REQUIRE(ctx.options().identity.has_value());
  const auto& id = ctx.identity();
  auto* key = reinterpret_cast<EVP_PKEY*>(id.native_key());
  REQUIRE(key != nullptr);
  CHECK(EVP_PKEY_get_base_id(key) == EVP_PKEY_EC);
  CHECK(EVP_PKEY_get_bits(key) == 256);
  std::array<char, 64> group{};
  std::size_t group_length = 0;
  REQUIRE(EVP_PKEY_get_group_name(key, group.data(), group.size(), &group_length) == 1);
  CHECK(std::string(group.data(), group_length) == "prime256v1");

  const auto fp = id.certificate().fingerprint();
  CHECK(fp.algorithm() == dtlspp::hash_algorithm::sha256);
  CHECK(fp.digest().size() == 32);
  CHECK(fp.to_string().starts_with("sha-256 "));
  CHECK(id.certificate().common_name() == "dtlspp");
  CHECK(ctx.options().identity->fingerprint() == fp);
}

TEST_CASE("two default contexts have two different identities", "[context]") {
  const dtlspp::context a;
  const dtlspp::context b;
  CHECK_FALSE(a.identity().fingerprint() == b.identity().fingerprint());
  CHECK(a.native_handle() != b.native_handle());
}

TEST_CASE("a context presents the identity it was given", "[context]") {
  const auto k =
      GENERATE(key_type::ecdsa_p256, key_type::ecdsa_p384, key_type::ed25519, key_type::rsa_2048);
  INFO("key type " << static_cast<int>(k));
  dtlspp::identity_options identity_options;
  identity_options.key = k;
  const auto id = dtlspp::identity::generate(identity_options);

  dtlspp::context_options options;
  options.identity = id;
  const dtlspp::context ctx(options);
  CHECK(ctx.identity().fingerprint() == id.fingerprint());
  CHECK(ctx.identity().certificate() == id.certificate());
  CHECK(ctx.identity().native_key() == id.native_key());  // copies share the key

  // The SSL_CTX itself holds that certificate and key: that is what goes on the wire.
  SSL_CTX* native = ssl_ctx(ctx);
  REQUIRE(native != nullptr);
  X509* presented = SSL_CTX_get0_certificate(native);
  REQUIRE(presented != nullptr);
  CHECK(X509_cmp(presented, reinterpret_cast<X509*>(id.certificate().native_handle())) == 0);
  EVP_PKEY* key = SSL_CTX_get0_privatekey(native);
  REQUIRE(key != nullptr);
  CHECK(EVP_PKEY_eq(key, reinterpret_cast<EVP_PKEY*>(id.native_key())) == 1);
}

TEST_CASE("a context presents an identity loaded from PEM", "[context]") {
  const auto& original = shared_identity();
  dtlspp::context_options options;
  options.identity =
      dtlspp::identity::from_pem(original.certificate_pem(), original.private_key_pem());
  const dtlspp::context ctx(options);
  CHECK(ctx.identity().fingerprint() == original.fingerprint());
  X509* presented = SSL_CTX_get0_certificate(ssl_ctx(ctx));
  REQUIRE(presented != nullptr);
  CHECK(X509_cmp(presented, reinterpret_cast<X509*>(original.certificate().native_handle())) == 0);
}

TEST_CASE("options() reflects what was passed", "[context]") {
  dtlspp::context_options options;
  options.identity = shared_identity();
  options.mtu_bytes = 1400;
  options.retransmit.initial = 50ms;
  options.retransmit.maximum = 3000ms;
  options.handshake_timeout = 12s;
  options.max_held_records = 7;
  const dtlspp::context ctx(options);
  const auto& got = ctx.options();
  CHECK(got.mtu_bytes == 1400);
  CHECK(got.retransmit.initial == 50ms);
  CHECK(got.retransmit.maximum == 3000ms);
  CHECK(got.handshake_timeout == 12s);
  CHECK(got.max_held_records == 7);
  REQUIRE(got.identity.has_value());
  CHECK(got.identity->fingerprint() == shared_identity().fingerprint());
  CHECK(&ctx.identity() == &*got.identity);
}

TEST_CASE("default context_options follow the documented defaults", "[context]") {
  const dtlspp::context_options defaults;
  CHECK_FALSE(defaults.identity.has_value());
  CHECK(defaults.mtu_bytes == 1200);
  CHECK(defaults.retransmit.initial == 1000ms);
  CHECK(defaults.retransmit.maximum == 60000ms);
  CHECK(defaults.handshake_timeout == 30000ms);
  CHECK(defaults.max_held_records == 64);

  const dtlspp::context ctx;
  CHECK(ctx.options().mtu_bytes == 1200);
  CHECK(ctx.options().retransmit.initial == 1000ms);
  CHECK(ctx.options().retransmit.maximum == 60000ms);
  CHECK(ctx.options().handshake_timeout == 30000ms);
  CHECK(ctx.options().max_held_records == 64);
}

TEST_CASE("a context refuses options out of range with errc::invalid_argument", "[context]") {
  const std::vector<named_options> inputs = {
      {"mtu_bytes 0", with([](auto& o) { o.mtu_bytes = 0; })},
      {"mtu_bytes 255", with([](auto& o) { o.mtu_bytes = 255; })},
      {"mtu_bytes 65508", with([](auto& o) { o.mtu_bytes = 65508; })},
      {"mtu_bytes 1 MiB", with([](auto& o) { o.mtu_bytes = 1u << 20; })},
      {"retransmit initial 0 ms", with([](auto& o) { o.retransmit.initial = 0ms; })},
      {"retransmit initial -1 ms", with([](auto& o) { o.retransmit.initial = -1ms; })},
      // OpenSSL 3.0 fires a DTLS timer up to 15 ms early: shorter ones would fire at once.
      {"retransmit initial 19 ms", with([](auto& o) { o.retransmit.initial = 19ms; })},
      {"retransmit initial 60001 ms", with([](auto& o) {
         o.retransmit.initial = 60001ms;
         o.retransmit.maximum = 120000ms;
       })},
      {"retransmit maximum < initial", with([](auto& o) {
         o.retransmit.initial = 1000ms;
         o.retransmit.maximum = 999ms;
       })},
      {"retransmit maximum 0 ms", with([](auto& o) { o.retransmit.maximum = 0ms; })},
      {"retransmit maximum 600001 ms", with([](auto& o) { o.retransmit.maximum = 600001ms; })},
      {"handshake_timeout 0 ms", with([](auto& o) { o.handshake_timeout = 0ms; })},
      {"handshake_timeout -1 s", with([](auto& o) { o.handshake_timeout = -1000ms; })},
      {"handshake_timeout 1 h + 1 ms", with([](auto& o) { o.handshake_timeout = 3600001ms; })},
  };
  check_refused(inputs, dtlspp::errc::invalid_argument,
                [](const auto& input) { dtlspp::context ctx(input.options); });
  // Without an identity the same check applies (and happens whether or not one is generated).
  dtlspp::context_options no_identity;
  no_identity.mtu_bytes = 255;
  const auto t = catch_error([&] { dtlspp::context ctx(no_identity); });
  CHECK(t.threw);
  CHECK(t.code == dtlspp::errc::invalid_argument);
}

TEST_CASE("a context accepts options at the edges of their ranges", "[context]") {
  const std::vector<named_options> inputs = {
      {"mtu_bytes 256", with([](auto& o) { o.mtu_bytes = 256; })},
      {"mtu_bytes 65507", with([](auto& o) { o.mtu_bytes = 65507; })},
      {"retransmit initial 20 ms", with([](auto& o) { o.retransmit.initial = 20ms; })},
      {"retransmit initial 60 s", with([](auto& o) { o.retransmit.initial = 60000ms; })},
      {"retransmit maximum == initial", with([](auto& o) {
         o.retransmit.initial = 200ms;
         o.retransmit.maximum = 200ms;
       })},
      {"retransmit maximum 600 s", with([](auto& o) { o.retransmit.maximum = 600000ms; })},
      {"handshake_timeout 1 ms", with([](auto& o) { o.handshake_timeout = 1ms; })},
      {"handshake_timeout 1 h", with([](auto& o) { o.handshake_timeout = 3600000ms; })},
  };
  for (const auto& input : inputs) {
    INFO(input.why);
    std::optional<dtlspp::context> ctx;
    const auto t = catch_error([&] { ctx.emplace(input.options); });
    INFO("what() = " << t.what);
    CHECK_FALSE(t.threw);
    if (ctx) {
      CHECK(ctx->options().mtu_bytes == input.options.mtu_bytes);
      CHECK(ctx->options().retransmit.initial == input.options.retransmit.initial);
      CHECK(ctx->options().retransmit.maximum == input.options.retransmit.maximum);
      CHECK(ctx->options().handshake_timeout == input.options.handshake_timeout);
    }
  }
}

TEST_CASE("context copies share one SSL_CTX", "[context]") {
  dtlspp::context_options options;
  options.identity = shared_identity();
  options.mtu_bytes = 1300;
  const dtlspp::context original(options);
  REQUIRE(original.native_handle() != nullptr);

  const dtlspp::context copy = original;
  CHECK(copy.native_handle() == original.native_handle());
  CHECK(copy.identity().fingerprint() == original.identity().fingerprint());
  CHECK(copy.options().mtu_bytes == 1300);

  dtlspp::context assigned;
  CHECK(assigned.native_handle() != original.native_handle());
  assigned = original;
  CHECK(assigned.native_handle() == original.native_handle());
  CHECK(assigned.identity().fingerprint() == original.identity().fingerprint());
  CHECK(assigned.options().mtu_bytes == 1300);
}

TEST_CASE("a context copy stays usable after the original is destroyed", "[context]") {
  std::optional<dtlspp::context> survivor;
  dtlspp::fingerprint expected = shared_identity().fingerprint();
  {
    const dtlspp::context original;
    expected = original.identity().fingerprint();
    survivor = original;
  }
  REQUIRE(survivor.has_value());
  CHECK(survivor->identity().fingerprint() == expected);
  X509* presented = SSL_CTX_get0_certificate(ssl_ctx(*survivor));
  REQUIRE(presented != nullptr);
  CHECK(X509_cmp(presented,
                 reinterpret_cast<X509*>(survivor->identity().certificate().native_handle())) == 0);
}

TEST_CASE("a context's SSL_CTX is DTLS 1.2 only and asks the peer for a certificate", "[context]") {
  const dtlspp::context ctx;
  SSL_CTX* native = ssl_ctx(ctx);
  REQUIRE(native != nullptr);

  std::unique_ptr<SSL, decltype(&SSL_free)> ssl(SSL_new(native), &SSL_free);
  REQUIRE(ssl != nullptr);
  CHECK(SSL_is_dtls(ssl.get()) == 1);
  // Either a version-flexible method bounded to DTLS 1.2, or the DTLS 1.2 method itself.
  const long min_version = SSL_CTX_get_min_proto_version(native);
  const bool only_dtls12 =
      min_version == DTLS1_2_VERSION || SSL_version(ssl.get()) == DTLS1_2_VERSION;
  INFO("min proto version " << min_version << ", SSL_version " << SSL_version(ssl.get()));
  CHECK(only_dtls12);

  const int mode = SSL_CTX_get_verify_mode(native);
  CHECK((mode & SSL_VERIFY_PEER) != 0);
  CHECK((mode & SSL_VERIFY_FAIL_IF_NO_PEER_CERT) != 0);

  const auto opts = SSL_CTX_get_options(native);
  CHECK((opts & SSL_OP_NO_TICKET) != 0);
  CHECK((opts & SSL_OP_NO_COMPRESSION) != 0);
  CHECK((opts & SSL_OP_NO_RENEGOTIATION) != 0);
}

TEST_CASE("a peer that speaks only DTLS 1.0 is refused on the wire", "[context][policy]") {
  // RFC 8996 deprecates DTLS 1.0: our server answers a 1.0-only ClientHello with a
  // protocol_version alert, and the peer's handshake ends on it.
  auto old_peer = client_context();
  REQUIRE(SSL_CTX_set_min_proto_version(ssl_ctx(old_peer), DTLS1_VERSION) == 1);
  REQUIRE(SSL_CTX_set_max_proto_version(ssl_ctx(old_peer), DTLS1_VERSION) == 1);
  SSL_CTX_set_security_level(ssl_ctx(old_peer), 0);  // DTLS 1.0 needs SHA-1 signatures
  // ... and CBC suites: DTLS 1.0 has no AEAD.
  REQUIRE(SSL_CTX_set_cipher_list(ssl_ctx(old_peer), "ECDHE-ECDSA-AES128-SHA") == 1);
  pair p(old_peer, dtlspp::dangerous_accept_any(), server_context(),
         dtlspp::dangerous_accept_any());
  p.handshake();
  CHECK(p.server().error() == dtlspp::errc::protocol_error);
  CHECK_THAT(std::string(p.server().error_message()),
             Catch::Matchers::Contains("unsupported protocol", Catch::CaseSensitive::No));
  CHECK(p.client().error() == dtlspp::errc::peer_alert);
  CHECK_THAT(std::string(p.client().error_message()),
             Catch::Matchers::Contains("protocol version", Catch::CaseSensitive::No));
}

TEST_CASE("a peer without the extended master secret is refused after the handshake",
          "[context][policy]") {
  // RFC 7627: OpenSSL 3.0 negotiates the extension but cannot require it; the session checks
  // once the handshake is over and fails (close_notify to the peer) when it is missing.
  const auto side_without = GENERATE(side::client, side::server);
  CAPTURE(name(side_without));
  auto without = side_without == side::client ? client_context() : server_context();
  SSL_CTX_set_options(ssl_ctx(without), SSL_OP_NO_EXTENDED_MASTER_SECRET);
  auto with = side_without == side::client ? server_context() : client_context();
  pair p =
      side_without == side::client
          ? pair(without, dtlspp::dangerous_accept_any(), with, dtlspp::dangerous_accept_any())
          : pair(with, dtlspp::dangerous_accept_any(), without, dtlspp::dangerous_accept_any());
  p.handshake();
  for (side s : all_sides) {
    CAPTURE(name(s));
    CHECK(p.events(s).connected == 0);
    CHECK(p.at(s).state() != dtlspp::state::connected);
  }
  // Both ends run the check; each refuses the other.
  for (side s : all_sides) {
    if (p.at(s).error() == dtlspp::errc::protocol_error) {
      CHECK_THAT(std::string(p.at(s).error_message()), Catch::Matchers::Contains("RFC 7627"));
    }
  }
  CHECK((p.client().error() == dtlspp::errc::protocol_error ||
         p.server().error() == dtlspp::errc::protocol_error));
}
