// test/enum_test.cpp: values outside a public enumeration, as a cast can make them, get
// errc::invalid_argument or match nothing; they never reach OpenSSL as a null pointer.
#include <catch2/catch.hpp>

#include "harness.hpp"

using namespace dtlspp;
using namespace dtlspp::test;

namespace {

const auto bad_hash = static_cast<hash_algorithm>(7);
const auto bad_profile = static_cast<srtp_profile>(3);
const auto bad_role = static_cast<role>(7);
const auto bad_verdict = static_cast<verdict>(7);

}  // namespace

TEST_CASE("a hash_algorithm outside the enumeration is refused, never digested",
          "[enum][fingerprint]") {
  CHECK(name(bad_hash) == "unknown");
  CHECK(digest_size(bad_hash) == 0);
  CHECK(catch_error([] { fingerprint(bad_hash, {}); }).code == errc::invalid_argument);
  const auto& id = cached_identity(key_type::ecdsa_p256);
  CHECK(catch_error([&] { (void)id.certificate().fingerprint(bad_hash); }).code ==
        errc::invalid_argument);
  CHECK(catch_error([&] { (void)id.fingerprint(bad_hash); }).code == errc::invalid_argument);
}

TEST_CASE("an srtp_profile outside the four is refused, not mapped to another", "[enum][srtp]") {
  CHECK(name(bad_profile) == "unknown");
  CHECK(master_key_size(bad_profile) == 0);
  CHECK(master_salt_size(bad_profile) == 0);
  context_options o = quick_options();
  o.identity = cached_identity(key_type::ecdsa_p256);
  o.srtp_profiles = {srtp_profile::aes128_cm_sha1_80, bad_profile};
  const auto t = catch_error([&] { context c(o); });
  CHECK(t.code == errc::invalid_argument);
  CHECK_THAT(t.what, Catch::Matchers::Contains("0x0003"));
  CHECK(catch_error([] { srtp_keys(bad_profile, role::client, bytes(60)); }).code ==
        errc::invalid_argument);
  CHECK(catch_error([] { srtp_keys(srtp_profile::aes128_cm_sha1_80, bad_role, bytes(60)); }).code ==
        errc::invalid_argument);
}

TEST_CASE("a session's role outside client and server is refused", "[enum][session]") {
  const auto ctx = client_context();
  CHECK(catch_error([&] { session s(ctx, bad_role, dangerous_accept_any()); }).code ==
        errc::invalid_argument);
}

TEST_CASE("a key_type outside the enumeration is refused", "[enum][identity]") {
  CHECK(catch_error([] { identity::generate({.key = static_cast<key_type>(9)}); }).code ==
        errc::invalid_argument);
}

TEST_CASE("a verdict outside the enumeration settles nothing, and from a verifier rejects",
          "[enum][verify]") {
  SECTION("verify_peer ignores it") {
    pair p(client_context(), dangerous_accept_any(), server_context(),
           [](const certificate&) { return verdict::defer; });
    REQUIRE(p.pump_until([&] { return p.server().verification_pending() && p.net().idle(); }));
    p.verify_peer(side::server, bad_verdict);
    CHECK(p.server().verification_pending());
    CHECK(p.server().state() == state::handshaking);
  }
  SECTION("a verifier returning it rejects the peer") {
    pair p(client_context(), dangerous_accept_any(), server_context(),
           [](const certificate&) { return bad_verdict; });
    p.handshake();
    CHECK(p.server().state() == state::failed);
    CHECK(p.server().error() == errc::fingerprint_mismatch);
    CHECK(p.events(side::server).connected == 0);
  }
}
