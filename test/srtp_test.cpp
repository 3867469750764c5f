// srtp_test: DTLS-SRTP negotiation (RFC 5764), the exporters (RFC 5705, RFC 5764 section 4.2).
#include <catch2/catch.hpp>

#include <algorithm>
#include <vector>

#include "dtlspp/srtp.hpp"
#include "harness.hpp"

using namespace dtlspp;
using namespace dtlspp::test;

namespace {

constexpr srtp_profile all_profiles[] = {
    srtp_profile::aes128_cm_sha1_80, srtp_profile::aes128_cm_sha1_32,
    srtp_profile::aead_aes_128_gcm, srtp_profile::aead_aes_256_gcm};

context_options with_srtp(std::vector<srtp_profile> profiles, bool required = false) {
  auto o = quick_options();
  o.srtp_profiles = std::move(profiles);
  o.require_srtp = required;
  return o;
}

bool same(std::span<const std::byte> a, std::span<const std::byte> b) {
  return std::ranges::equal(a, b);
}

}  // namespace

TEST_CASE("every SRTP profile gives both ends the same keys, sized for the profile", "[srtp]") {
  const auto profile = GENERATE(from_range(std::begin(all_profiles), std::end(all_profiles)));
  CAPTURE(name(profile));
  pair p(client_context(key_type::ecdsa_p256, with_srtp({profile})),
         server_context(key_type::ecdsa_p256, with_srtp({profile})));
  REQUIRE(p.handshake());
  REQUIRE(p.client().srtp_profile() == profile);
  REQUIRE(p.server().srtp_profile() == profile);

  const auto c = p.client().srtp_keying_material();
  const auto s = p.server().srtp_keying_material();
  REQUIRE(c);
  REQUIRE(s);
  const std::size_t key = master_key_size(profile);
  const std::size_t salt = master_salt_size(profile);
  CHECK(c->raw().size() == 2 * (key + salt));
  CHECK(c->client_key().size() == key);
  CHECK(c->server_salt().size() == salt);
  CHECK(same(c->raw(), s->raw()));
  // Each end's local key is the other's remote key (RFC 5764 section 4.2).
  CHECK(same(c->local_key(), s->remote_key()));
  CHECK(same(c->local_salt(), s->remote_salt()));
  CHECK(same(c->remote_key(), s->local_key()));
  CHECK(same(c->local_key(), c->client_key()));
  CHECK(same(s->local_key(), s->server_key()));
  CHECK_FALSE(same(c->client_key(), c->server_key()));
  // The layout is client key | server key | client salt | server salt.
  CHECK(same(c->raw().subspan(0, key), c->client_key()));
  CHECK(same(c->raw().subspan(key, key), c->server_key()));
  CHECK(same(c->raw().subspan(2 * key, salt), c->client_salt()));
  CHECK(same(c->raw().subspan(2 * key + salt, salt), c->server_salt()));
  // The same bytes come out of the general exporter with the RFC 5764 label and no context.
  CHECK(same(c->raw(), p.client().export_keying_material("EXTRACTOR-dtls_srtp", c->raw().size())));
}

TEST_CASE("the server picks its most preferred profile among those the client offers", "[srtp]") {
  SECTION("server prefers GCM, client lists CM first") {
    pair p(client_context(key_type::ecdsa_p256, with_srtp({srtp_profile::aes128_cm_sha1_80,
                                                           srtp_profile::aead_aes_128_gcm})),
           server_context(key_type::ecdsa_p256,
                          with_srtp({srtp_profile::aead_aes_256_gcm, srtp_profile::aead_aes_128_gcm,
                                     srtp_profile::aes128_cm_sha1_80})));
    REQUIRE(p.handshake());
    CHECK(p.client().srtp_profile() == srtp_profile::aead_aes_128_gcm);
    CHECK(p.server().srtp_profile() == srtp_profile::aead_aes_128_gcm);
  }
  SECTION("server prefers CM_32") {
    pair p(client_context(key_type::ecdsa_p256, with_srtp({srtp_profile::aead_aes_128_gcm,
                                                           srtp_profile::aes128_cm_sha1_80,
                                                           srtp_profile::aes128_cm_sha1_32})),
           server_context(key_type::ecdsa_p256, with_srtp({srtp_profile::aes128_cm_sha1_32,
                                                           srtp_profile::aes128_cm_sha1_80})));
    REQUIRE(p.handshake());
    CHECK(p.server().srtp_profile() == srtp_profile::aes128_cm_sha1_32);
  }
}

TEST_CASE("without a common profile the association continues without SRTP", "[srtp]") {
  SECTION("disjoint lists") {
    pair p(client_context(key_type::ecdsa_p256, with_srtp({srtp_profile::aes128_cm_sha1_80})),
           server_context(key_type::ecdsa_p256, with_srtp({srtp_profile::aead_aes_256_gcm})));
    REQUIRE(p.handshake());
    CHECK_FALSE(p.client().srtp_profile());
    CHECK_FALSE(p.server().srtp_keying_material());
    CHECK(p.transfer(side::client, "no srtp, still data"));
  }
  SECTION("only one end offers SRTP") {
    pair p(client_context(key_type::ecdsa_p256, with_srtp({srtp_profile::aes128_cm_sha1_80})),
           server_context());
    REQUIRE(p.handshake());
    CHECK_FALSE(p.client().srtp_profile());
    CHECK_FALSE(p.client().srtp_keying_material());
  }
}

TEST_CASE("require_srtp fails the handshake on both ends without a common profile", "[srtp]") {
  SECTION("the server requires it") {
    pair p(client_context(key_type::ecdsa_p256, with_srtp({srtp_profile::aes128_cm_sha1_80})),
           server_context(key_type::ecdsa_p256, with_srtp({srtp_profile::aead_aes_128_gcm}, true)));
    REQUIRE_FALSE(p.handshake());
    CHECK(p.server().error() == errc::no_common_srtp_profile);
    CHECK(p.client().error() == errc::peer_alert);
    CHECK_THAT(std::string(p.client().error_message()), Catch::Contains("handshake failure"));
    CHECK(p.events(side::client).connected == 0);
    CHECK(p.events(side::server).connected == 0);
  }
  SECTION("the client requires it, the server offers none") {
    pair p(client_context(key_type::ecdsa_p256, with_srtp({srtp_profile::aes128_cm_sha1_80}, true)),
           server_context());
    REQUIRE_FALSE(p.handshake());
    CHECK(p.client().error() == errc::no_common_srtp_profile);
    CHECK_THAT(std::string(p.client().error_message()), Catch::Contains("RFC 5764"));
    CHECK(p.server().error() == errc::peer_alert);
  }
  SECTION("with a common profile it connects") {
    pair p(
        client_context(key_type::ecdsa_p256, with_srtp({srtp_profile::aes128_cm_sha1_80}, true)),
        server_context(key_type::ecdsa_p256, with_srtp({srtp_profile::aes128_cm_sha1_80}, true)));
    REQUIRE(p.handshake());
    CHECK(p.client().srtp_profile() == srtp_profile::aes128_cm_sha1_80);
  }
}

TEST_CASE("require_srtp without profiles is refused", "[srtp][context]") {
  auto o = quick_options();
  o.require_srtp = true;
  CHECK_THROWS_MATCHES(context(o), error, Catch::Predicate<error>([](const error& e) {
                         return e.code() == errc::invalid_argument;
                       }));
}

TEST_CASE("the exporter gives both ends the same bytes for a label and context", "[exporter]") {
  pair p(client_context(), server_context());
  REQUIRE(p.handshake());
  const bytes ctx = to_bytes("context value");
  const auto a = p.client().export_keying_material("EXPERIMENTAL-dtlspp", 48, ctx);
  const auto b = p.server().export_keying_material("EXPERIMENTAL-dtlspp", 48, ctx);
  CHECK(a.size() == 48);
  CHECK(a == b);
  // A different label, context or no context at all derives different bytes (RFC 5705).
  CHECK(a != p.client().export_keying_material("EXPERIMENTAL-other", 48, ctx));
  CHECK(a != p.client().export_keying_material("EXPERIMENTAL-dtlspp", 48, to_bytes("other")));
  CHECK(a != p.client().export_keying_material("EXPERIMENTAL-dtlspp", 48));
}

TEST_CASE("the exporter refuses the labels TLS reserves, and bad lengths", "[exporter]") {
  pair p(client_context(), server_context());
  REQUIRE(p.handshake());
  const auto label = GENERATE(as<std::string>{}, "client finished", "server finished",
                              "master secret", "key expansion", "extended master secret", "");
  CAPTURE(label);
  try {
    static_cast<void>(p.client().export_keying_material(label, 32));
    FAIL("a reserved label was accepted");
  } catch (const error& e) {
    CHECK(e.code() == errc::invalid_argument);
  }
  CHECK_THROWS_AS(p.client().export_keying_material("EXPERIMENTAL-x", 0), error);
  CHECK_THROWS_AS(p.client().export_keying_material("EXPERIMENTAL-x", 65536), error);
}

TEST_CASE("no keying material comes out before the peer is verified", "[exporter][verify]") {
  auto o = with_srtp({srtp_profile::aes128_cm_sha1_80});
  pair p(
      client_context(key_type::ecdsa_p256, o), expect({server_context().identity().fingerprint()}),
      server_context(key_type::ecdsa_p256, o), [](const certificate&) { return verdict::defer; });
  // Before any handshake: nothing.
  CHECK_THROWS_AS(p.server().export_keying_material("EXPERIMENTAL-x", 16), error);
  CHECK_FALSE(p.server().srtp_keying_material());
  // The handshake completes on the wire, but the server has not decided.
  p.pump_until([&] { return p.client().state() == state::connected; });
  REQUIRE(p.server().verification_pending());
  try {
    static_cast<void>(p.server().export_keying_material("EXPERIMENTAL-x", 16));
    FAIL("exported before verification");
  } catch (const error& e) {
    CHECK(e.code() == errc::not_connected);
  }
  CHECK_FALSE(p.server().srtp_keying_material());
  CHECK_FALSE(p.server().srtp_profile());
  p.verify_peer(side::server, verdict::accept);
  REQUIRE(p.server().state() == state::connected);
  const auto s = p.server().srtp_keying_material();
  const auto c = p.client().srtp_keying_material();
  REQUIRE(s);
  REQUIRE(c);
  CHECK(same(s->raw(), c->raw()));
}

TEST_CASE("srtp profile names round-trip and parse the RFC spelling", "[srtp]") {
  for (const auto p : all_profiles) {
    CAPTURE(name(p));
    CHECK(parse_srtp_profile(name(p)) == p);
  }
  CHECK(parse_srtp_profile("SRTP_AES128_CM_HMAC_SHA1_80") == srtp_profile::aes128_cm_sha1_80);
  CHECK(parse_srtp_profile("srtp_aead_aes_256_gcm") == srtp_profile::aead_aes_256_gcm);
  CHECK_FALSE(parse_srtp_profile("SRTP_NULL_SHA1_80"));
  CHECK_FALSE(parse_srtp_profile(""));
  CHECK(master_key_size(srtp_profile::aead_aes_256_gcm) == 32);
  CHECK(master_salt_size(srtp_profile::aead_aes_128_gcm) == 12);
  CHECK(master_salt_size(srtp_profile::aes128_cm_sha1_32) == 14);
}

TEST_CASE("srtp_keys refuses material of the wrong size and empties what it moves from", "[srtp]") {
  CHECK_THROWS_AS(srtp_keys(srtp_profile::aes128_cm_sha1_80, role::client, bytes(59)), error);
  srtp_keys a(srtp_profile::aes128_cm_sha1_80, role::server, bytes(60, std::byte{7}));
  CHECK(a.local_key().data() == a.server_key().data());
  srtp_keys b(std::move(a));
  CHECK(b.raw().size() == 60);
  CHECK(a.raw().empty());  // NOLINT(bugprone-use-after-move): the moved-from state is defined
}

TEST_CASE(
    "the exporter refuses labels that begin with a reserved one, and contexts OpenSSL cannot take",
    "[exporter]") {
  pair p(client_context(), server_context());
  REQUIRE(p.handshake());
  for (const char* label : {"master secret extra", "key expansion2", "client finished!"}) {
    CAPTURE(label);
    try {
      static_cast<void>(p.client().export_keying_material(label, 16));
      FAIL("accepted");
    } catch (const error& e) {
      CHECK(e.code() == errc::invalid_argument);
    }
  }
  // OpenSSL's PRF seed holds at most 1024 bytes: label, 64 bytes of randoms, 2 of length.
  CHECK(p.client().export_keying_material("EXPERIMENTAL-x", 16, bytes(944)).size() == 16);
  try {
    static_cast<void>(p.client().export_keying_material("EXPERIMENTAL-x", 16, bytes(945)));
    FAIL("accepted");
  } catch (const error& e) {
    CHECK(e.code() == errc::invalid_argument);
  }
}
