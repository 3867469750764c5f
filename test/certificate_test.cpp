// certificate_test: the X.509 certificates identity::generate makes, checked against the openssl
// command-line tool and OpenSSL's own API, and the PEM/DER loaders fed good and bad input.
#include <catch2/catch.hpp>

#include <openssl/asn1.h>
#include <openssl/bn.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <chrono>
#include <cstddef>
#include <cstdio>
#include <fstream>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "dtlspp/certificate.hpp"
#include "dtlspp/error.hpp"
#include "dtlspp/fingerprint.hpp"
#include "dtlspp/identity.hpp"
#include "harness.hpp"
#include "pem.hpp"
#include "refusals.hpp"

using namespace dtlspp::test;

namespace {

using dtlspp::hash_algorithm;
using dtlspp::key_type;

const char* key_name(key_type k) {
  switch (k) {
    case key_type::ecdsa_p256:
      return "ecdsa_p256";
    case key_type::ecdsa_p384:
      return "ecdsa_p384";
    case key_type::ed25519:
      return "ed25519";
    case key_type::rsa_2048:
      return "rsa_2048";
    case key_type::rsa_3072:
      return "rsa_3072";
  }
  return "?";
}

// identity_of generates one identity per key type and keeps it for the whole run: RSA-3072
// takes up to seconds to generate.
const dtlspp::identity& identity_of(key_type k) {
  static std::map<key_type, dtlspp::identity> cache;
  auto it = cache.find(k);
  if (it == cache.end()) {
    dtlspp::identity_options options;
    options.key = k;
    it = cache.emplace(k, dtlspp::identity::generate(options)).first;
  }
  return it->second;
}

// temp_file holds text in a fresh file under the temporary directory, removed on destruction.
class temp_file {
 public:
  explicit temp_file(std::string_view contents) {
    std::string pattern = "/tmp/dtlspp-certificate-test-XXXXXX";
    const int fd = ::mkstemp(pattern.data());
    if (fd < 0) throw std::runtime_error("mkstemp failed");
    path_ = pattern;
    std::size_t done = 0;
    while (done < contents.size()) {
      const auto n = ::write(fd, contents.data() + done, contents.size() - done);
      if (n <= 0) {
        ::close(fd);
        throw std::runtime_error("write failed");
      }
      done += static_cast<std::size_t>(n);
    }
    ::close(fd);
  }
  temp_file(const temp_file&) = delete;
  temp_file& operator=(const temp_file&) = delete;
  ~temp_file() { ::unlink(path_.c_str()); }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

struct command_result {
  int status = -1;  // exit status, or -1 if it did not exit normally
  std::string output;
};

// run runs a shell command and returns its exit status and standard output.
command_result run(const std::string& command) {
  command_result result;
  FILE* pipe = ::popen(command.c_str(), "r");
  if (pipe == nullptr) return result;
  std::array<char, 4096> buffer;
  std::size_t n;
  while ((n = std::fread(buffer.data(), 1, buffer.size(), pipe)) > 0) {
    result.output.append(buffer.data(), n);
  }
  const int status = ::pclose(pipe);
  if (status != -1 && WIFEXITED(status)) result.status = WEXITSTATUS(status);
  return result;
}

std::string upper(std::string s) {
  for (char& c : s)
    c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return s;
}

std::string trim(std::string_view s) {
  const auto first = s.find_first_not_of(" \t\r\n");
  if (first == std::string_view::npos) return {};
  const auto last = s.find_last_not_of(" \t\r\n");
  return std::string(s.substr(first, last - first + 1));
}

// cli_fingerprint returns the hex part of `openssl x509 -noout -fingerprint -<digest>`, upper
// case ("AB:CD:..."); the tool prints "sha256 Fingerprint=..." or "SHA256 Fingerprint=..."
// depending on its version.
std::string cli_fingerprint(const std::string& pem, const std::string& digest) {
  temp_file file(pem);
  const auto result =
      run("openssl x509 -noout -fingerprint -" + digest + " -in " + file.path() + " 2>&1");
  INFO("openssl output: " << result.output);
  REQUIRE(result.status == 0);
  const auto at = result.output.find("Fingerprint=");
  REQUIRE(at != std::string::npos);
  const std::string label = upper(trim(std::string_view(result.output).substr(0, at)));
  CHECK(label == upper(digest));
  return upper(
      trim(std::string_view(result.output).substr(at + std::string("Fingerprint=").size())));
}

std::string cli_text(const std::string& pem) {
  temp_file file(pem);
  const auto result = run("openssl x509 -noout -text -in " + file.path() + " 2>&1");
  INFO("openssl output: " << result.output);
  REQUIRE(result.status == 0);
  return result.output;
}

// hex_part returns what follows the algorithm name in fingerprint::to_string().
std::string hex_part(const dtlspp::fingerprint& fp) {
  const std::string text = fp.to_string();
  const auto space = text.find(' ');
  REQUIRE(space != std::string::npos);
  return upper(text.substr(space + 1));
}

std::vector<std::byte> as_bytes(std::string_view s) {
  std::vector<std::byte> out(s.size());
  std::transform(s.begin(), s.end(), out.begin(), [](char c) { return static_cast<std::byte>(c); });
  return out;
}

// tbs_tag_offset returns the offset of the tbsCertificate's tag in a certificate's DER: just
// after the outer SEQUENCE's tag and length.
std::size_t tbs_tag_offset(const std::vector<std::byte>& der) {
  REQUIRE(der.size() > 4);
  REQUIRE(der[0] == std::byte{0x30});
  const auto length_byte = std::to_integer<unsigned>(der[1]);
  return 2 + ((length_byte & 0x80) != 0 ? (length_byte & 0x7f) : 0);
}

using sys_clock = std::chrono::system_clock;

// to_time_point reads an ASN1_TIME with OpenSSL.
sys_clock::time_point to_time_point(const ASN1_TIME* t) {
  struct tm tm {};
  REQUIRE(ASN1_TIME_to_tm(t, &tm) == 1);
  return sys_clock::from_time_t(::timegm(&tm));
}

// cli_certificate makes a certificate with the openssl tool, without dtlspp.
std::string cli_certificate(const std::string& extra_args) {
  const auto result =
      run("openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout /dev/null "
          "-days 2 " +
          extra_args + " 2>/dev/null");
  INFO("openssl output: " << result.output);
  REQUIRE(result.status == 0);
  REQUIRE(result.output.find("-----BEGIN CERTIFICATE-----") != std::string::npos);
  return result.output;
}

}  // namespace

TEST_CASE("a certificate's fingerprint in every algorithm equals the openssl tool's",
          "[certificate][identity]") {
  const auto k = GENERATE(key_type::ecdsa_p256, key_type::ecdsa_p384, key_type::ed25519,
                          key_type::rsa_2048, key_type::rsa_3072);
  INFO("key type " << key_name(k));
  const auto& id = identity_of(k);
  const std::string pem = id.certificate_pem();

  struct algorithm_case {
    hash_algorithm algorithm;
    const char* cli_name;
  };
  for (const auto& c : {algorithm_case{hash_algorithm::sha1, "sha1"},
                        algorithm_case{hash_algorithm::sha224, "sha224"},
                        algorithm_case{hash_algorithm::sha256, "sha256"},
                        algorithm_case{hash_algorithm::sha384, "sha384"},
                        algorithm_case{hash_algorithm::sha512, "sha512"}}) {
    INFO("algorithm " << c.cli_name);
    const auto fp = id.certificate().fingerprint(c.algorithm);
    CHECK(fp.algorithm() == c.algorithm);
    CHECK(fp.digest().size() == dtlspp::digest_size(c.algorithm));
    CHECK(hex_part(fp) == cli_fingerprint(pem, c.cli_name));
    CHECK(id.fingerprint(c.algorithm) == fp);
  }
  // The default algorithm is sha-256.
  CHECK(id.certificate().fingerprint().algorithm() == hash_algorithm::sha256);
  CHECK(hex_part(id.fingerprint()) == cli_fingerprint(pem, "sha256"));
}

TEST_CASE("the fingerprint of a certificate made by the openssl tool equals the tool's",
          "[certificate]") {
  const std::string pem = cli_certificate("-subj /CN=made-by-openssl");
  const auto cert = dtlspp::certificate::from_pem(pem);
  CHECK(hex_part(cert.fingerprint(hash_algorithm::sha256)) == cli_fingerprint(pem, "sha256"));
  CHECK(hex_part(cert.fingerprint(hash_algorithm::sha1)) == cli_fingerprint(pem, "sha1"));
  CHECK(cert.common_name() == "made-by-openssl");
}

TEST_CASE("a generated certificate is X.509 v3 signed with SHA-256 (pure EdDSA for Ed25519)",
          "[certificate][identity]") {
  struct expectation {
    key_type key;
    int signature_nid;
    const char* signature_text;
    const char* public_key_text;
  };
  const auto e = GENERATE(
      expectation{key_type::ecdsa_p256, NID_ecdsa_with_SHA256, "ecdsa-with-SHA256", "(256 bit)"},
      expectation{key_type::ecdsa_p384, NID_ecdsa_with_SHA256, "ecdsa-with-SHA256", "(384 bit)"},
      expectation{key_type::ed25519, NID_ED25519, "ED25519", "ED25519"},
      expectation{key_type::rsa_2048, NID_sha256WithRSAEncryption, "sha256WithRSAEncryption",
                  "(2048 bit)"},
      expectation{key_type::rsa_3072, NID_sha256WithRSAEncryption, "sha256WithRSAEncryption",
                  "(3072 bit)"});
  INFO("key type " << key_name(e.key));
  const auto& id = identity_of(e.key);
  auto* x509 = reinterpret_cast<X509*>(id.certificate().native_handle());
  REQUIRE(x509 != nullptr);

  CHECK(X509_get_version(x509) == X509_VERSION_3);
  CHECK(X509_get_signature_nid(x509) == e.signature_nid);
  // Self-signed: the issuer is the subject and the signature verifies with its own key.
  CHECK(X509_NAME_cmp(X509_get_subject_name(x509), X509_get_issuer_name(x509)) == 0);
  CHECK(X509_verify(x509, X509_get0_pubkey(x509)) == 1);

  const std::string text = cli_text(id.certificate_pem());
  INFO("openssl x509 -text:\n" << text);
  CHECK(text.find("Version: 3 (0x2)") != std::string::npos);
  CHECK(text.find(std::string("Signature Algorithm: ") + e.signature_text) != std::string::npos);
  CHECK(text.find(e.public_key_text) != std::string::npos);
}

TEST_CASE("a generated serial is positive, at least 64 bits and at most 20 octets",
          "[certificate][identity]") {
  for (auto k : all_key_types) {
    INFO("key type " << key_name(k));
    const auto& cert = identity_of(k).certificate();
    const auto serial = cert.serial_number();
    CAPTURE(serial.size());
    CHECK(serial.size() >= 8);
    CHECK(serial.size() <= 20);
    REQUIRE_FALSE(serial.empty());
    CHECK(serial.front() != std::byte{0});  // a magnitude without leading zero bytes

    // OpenSSL agrees: the ASN1_INTEGER is positive and has the same magnitude.
    auto* x509 = reinterpret_cast<X509*>(cert.native_handle());
    const ASN1_INTEGER* asn1 = X509_get0_serialNumber(x509);
    CHECK(ASN1_STRING_type(asn1) == V_ASN1_INTEGER);  // V_ASN1_NEG_INTEGER if negative
    std::unique_ptr<BIGNUM, decltype(&BN_free)> bn(ASN1_INTEGER_to_BN(asn1, nullptr), &BN_free);
    REQUIRE(bn);
    CHECK_FALSE(BN_is_zero(bn.get()));
    CHECK(BN_num_bits(bn.get()) >= 64);
    std::vector<std::byte> magnitude(static_cast<std::size_t>(BN_num_bytes(bn.get())));
    BN_bn2bin(bn.get(), reinterpret_cast<unsigned char*>(magnitude.data()));
    CHECK(serial == magnitude);
  }
}

TEST_CASE("serials do not repeat over 1000 generated P-256 identities", "[certificate][identity]") {
  std::set<std::vector<std::byte>> serials;
  std::size_t short_serials = 0;
  for (int i = 0; i < 1000; ++i) {
    const auto id = dtlspp::identity::generate();
    const auto serial = id.certificate().serial_number();
    if (serial.size() < 8) ++short_serials;
    serials.insert(serial);
  }
  CHECK(short_serials == 0);
  CHECK(serials.size() == 1000);
}

TEST_CASE("serial_number returns the magnitude without the DER sign byte", "[certificate]") {
  // 0x80... needs a leading 00 octet in DER to stay positive; the magnitude has none.
  const auto high_bit = dtlspp::certificate::from_pem(
      cli_certificate("-subj /CN=serial -set_serial 0x8000000000000001"));
  const std::vector<std::byte> expected_high = {std::byte{0x80}, std::byte{0},   std::byte{0},
                                                std::byte{0},    std::byte{0},   std::byte{0},
                                                std::byte{0},    std::byte{0x01}};
  CHECK(high_bit.serial_number() == expected_high);

  const auto small =
      dtlspp::certificate::from_pem(cli_certificate("-subj /CN=serial -set_serial 258"));
  const std::vector<std::byte> expected_small = {std::byte{0x01}, std::byte{0x02}};
  CHECK(small.serial_number() == expected_small);
}

TEST_CASE("not_before and not_after agree with OpenSSL's reading of the certificate",
          "[certificate]") {
  for (auto k : {key_type::ecdsa_p256, key_type::ed25519, key_type::rsa_2048}) {
    INFO("key type " << key_name(k));
    const auto& cert = identity_of(k).certificate();
    auto* x509 = reinterpret_cast<X509*>(cert.native_handle());
    CHECK(cert.not_before() == to_time_point(X509_get0_notBefore(x509)));
    CHECK(cert.not_after() == to_time_point(X509_get0_notAfter(x509)));
    CHECK(cert.not_before() < cert.not_after());
  }
  const auto cli = dtlspp::certificate::from_pem(cli_certificate("-subj /CN=validity"));
  CHECK(cli.not_after() - cli.not_before() == std::chrono::hours(48));
}

TEST_CASE("common_name is empty for a certificate whose subject has no CN", "[certificate]") {
  const auto cert = dtlspp::certificate::from_pem(cli_certificate("-subj /O=No-Common-Name"));
  CHECK(cert.common_name().empty());
}

TEST_CASE("pem returns one CERTIFICATE block ending in a newline, and from_pem round trips it",
          "[certificate]") {
  for (auto k : all_key_types) {
    INFO("key type " << key_name(k));
    const auto& cert = identity_of(k).certificate();
    const std::string pem = cert.pem();
    CHECK(pem.starts_with("-----BEGIN CERTIFICATE-----\n"));
    CHECK(pem.ends_with("-----END CERTIFICATE-----\n"));
    CHECK(pem.find("-----BEGIN", 1) == std::string::npos);
    CHECK(pem == identity_of(k).certificate_pem());

    const auto reread = dtlspp::certificate::from_pem(pem);
    CHECK(reread == cert);
    CHECK(reread.pem() == pem);
    CHECK(reread.der() == cert.der());
    CHECK(reread.fingerprint() == cert.fingerprint());
    CHECK(reread.serial_number() == cert.serial_number());
    CHECK(reread.common_name() == cert.common_name());
    CHECK(reread.not_before() == cert.not_before());
    CHECK(reread.not_after() == cert.not_after());
  }
}

TEST_CASE("from_pem reads the first certificate among surrounding text and other blocks",
          "[certificate]") {
  const auto& first = identity_of(key_type::ecdsa_p256).certificate();
  const auto& second = identity_of(key_type::ed25519).certificate();
  const std::string bundle = "Bag Attributes\n    friendlyName: peer\r\n" + first.pem() +
                             "some text between\n" + second.pem();
  const auto cert = dtlspp::certificate::from_pem(bundle);
  CHECK(cert == first);
  CHECK_FALSE(cert == second);
  // CRLF line ends, as a PEM saved on Windows has them.
  std::string crlf;
  for (char c : first.pem()) {
    if (c == '\n') crlf += '\r';
    crlf += c;
  }
  CHECK(dtlspp::certificate::from_pem(crlf) == first);
}

TEST_CASE("der and from_der round trip, and der is what the fingerprint hashes", "[certificate]") {
  for (auto k : all_key_types) {
    INFO("key type " << key_name(k));
    const auto& cert = identity_of(k).certificate();
    const auto der = cert.der();
    REQUIRE_FALSE(der.empty());
    CHECK(der[0] == std::byte{0x30});

    const auto reread = dtlspp::certificate::from_der(der);
    CHECK(reread == cert);
    CHECK(reread.der() == der);
    CHECK(reread.pem() == cert.pem());

    // The sha-256 fingerprint is SHA-256 over exactly these bytes.
    std::array<unsigned char, 32> digest{};
    unsigned int length = 0;
    REQUIRE(EVP_Digest(der.data(), der.size(), digest.data(), &length, EVP_sha256(), nullptr) == 1);
    REQUIRE(length == 32);
    const auto fp = cert.fingerprint(hash_algorithm::sha256);
    CHECK(std::equal(fp.digest().begin(), fp.digest().end(),
                     reinterpret_cast<const std::byte*>(digest.data())));

    // And der is OpenSSL's i2d_X509 of the native handle.
    unsigned char* out = nullptr;
    const int n = i2d_X509(reinterpret_cast<X509*>(cert.native_handle()), &out);
    REQUIRE(n > 0);
    const std::vector<std::byte> native(reinterpret_cast<std::byte*>(out),
                                        reinterpret_cast<std::byte*>(out) + n);
    OPENSSL_free(out);
    CHECK(der == native);
  }
}

TEST_CASE(
    "from_der refuses trailing bytes, truncation and non-certificates with "
    "errc::malformed_input",
    "[certificate]") {
  const auto& id = identity_of(key_type::ecdsa_p256);
  const auto der = id.certificate().der();

  struct bad_der {
    const char* why;
    std::vector<std::byte> bytes;
  };
  std::vector<bad_der> inputs;
  inputs.push_back({"empty", {}});
  inputs.push_back({"one byte", {std::byte{0x30}}});
  {
    auto v = der;
    v.push_back(std::byte{0});
    inputs.push_back({"one trailing zero byte", v});
  }
  {
    auto v = der;
    v.insert(v.end(), der.begin(), der.end());
    inputs.push_back({"the certificate twice", v});
  }
  inputs.push_back({"truncated by one byte", {der.begin(), der.end() - 1}});
  inputs.push_back({"truncated in the middle", {der.begin(), der.begin() + der.size() / 2}});
  inputs.push_back({"header only", {der.begin(), der.begin() + 4}});
  {
    auto v = der;
    v[tbs_tag_offset(der)] = std::byte{0x31};  // tbsCertificate becomes a SET
    inputs.push_back({"tbsCertificate tag changed", v});
  }
  inputs.push_back({"a PKCS#8 private key", as_bytes(pem_body(id.private_key_pem()))});
  inputs.push_back({"PEM text instead of DER", as_bytes(id.certificate_pem())});
  {
    std::mt19937 rng(42);
    std::vector<std::byte> v(4096);
    for (auto& b : v)
      b = static_cast<std::byte>(rng() & 0xff);
    v[0] = std::byte{0x30};
    inputs.push_back({"random bytes after a SEQUENCE tag", v});
  }

  check_refused(inputs, dtlspp::errc::malformed_input,
                [](const auto& input) { (void)dtlspp::certificate::from_der(input.bytes); });
}

TEST_CASE("from_pem refuses malformed input with dtlspp::error and never crashes",
          "[certificate]") {
  const auto& id = identity_of(key_type::ecdsa_p256);
  const std::string cert_pem = id.certificate_pem();
  const std::string key_pem = id.private_key_pem();
  const auto der = id.certificate().der();

  auto inputs = malformed_pem(cert_pem, "CERTIFICATE", 7);
  {
    // Cut the body short but keep a footer: the base64 decodes, the DER is truncated.
    const auto body_start = cert_pem.find('\n') + 1;
    inputs.push_back({"body cut short with a footer",
                      cert_pem.substr(0, body_start + 64 + 1) + "-----END CERTIFICATE-----\n"});
  }
  inputs.push_back({"CERTIFICATE block holding a private key's bytes",
                    pem_block("CERTIFICATE", pem_body(key_pem))});
  {
    unsigned char* out = nullptr;
    const int n = i2d_PUBKEY(
        X509_get0_pubkey(reinterpret_cast<X509*>(id.certificate().native_handle())), &out);
    REQUIRE(n > 0);
    const std::vector<std::byte> spki(reinterpret_cast<std::byte*>(out),
                                      reinterpret_cast<std::byte*>(out) + n);
    OPENSSL_free(out);
    inputs.push_back({"a PUBLIC KEY block", pem_block("PUBLIC KEY", spki)});
    inputs.push_back({"CERTIFICATE block holding a public key", pem_block("CERTIFICATE", spki)});
  }
  {
    auto flipped = der;
    flipped[tbs_tag_offset(der)] ^= std::byte{0x01};  // SEQUENCE (0x30) becomes SET (0x31)
    inputs.push_back({"a bit flipped in the DER body", pem_block("CERTIFICATE", flipped)});
  }
  {
    auto flipped = der;
    flipped[tbs_tag_offset(der) + 1] ^= std::byte{0x40};  // the tbsCertificate's length
    inputs.push_back({"a bit flipped in an inner length", pem_block("CERTIFICATE", flipped)});
  }
  inputs.push_back({"a private key where a certificate is expected", key_pem});
  {
    std::string giant = "-----BEGIN CERTIFICATE-----\n";
    while (giant.size() < (1u << 20))
      giant += std::string(64, 'A') + "\n";
    giant += "-----END CERTIFICATE-----\n";
    inputs.push_back({"1 MiB of base64 zeros in a CERTIFICATE block", giant});
  }
  REQUIRE(inputs.size() >= 10);

  check_refused(inputs, dtlspp::errc::malformed_input,
                [](const auto& input) { (void)dtlspp::certificate::from_pem(input.text); });
}

TEST_CASE("a failed from_pem leaves nothing behind that breaks the next one", "[certificate]") {
  // OpenSSL keeps errors in a thread-local queue: a failure must not poison later successes.
  const auto& cert = identity_of(key_type::ecdsa_p256).certificate();
  CHECK_THROWS_AS(dtlspp::certificate::from_pem("garbage"), dtlspp::error);
  CHECK(dtlspp::certificate::from_pem(cert.pem()) == cert);
  CHECK_THROWS_AS(dtlspp::certificate::from_der(std::vector<std::byte>{std::byte{1}}),
                  dtlspp::error);
  CHECK(dtlspp::certificate::from_der(cert.der()) == cert);
}

TEST_CASE("certificate copies are equal and share one X509", "[certificate]") {
  const auto& original = identity_of(key_type::ecdsa_p256).certificate();
  const dtlspp::certificate copy = original;
  CHECK(copy == original);
  CHECK(copy.native_handle() == original.native_handle());

  dtlspp::certificate assigned = identity_of(key_type::ed25519).certificate();
  CHECK_FALSE(assigned == original);
  assigned = original;
  CHECK(assigned == original);
  CHECK(assigned.native_handle() == original.native_handle());

  // The copy outlives the object it was copied from.
  std::optional<dtlspp::certificate> survivor;
  {
    const auto reread = dtlspp::certificate::from_pem(original.pem());
    survivor = reread;
    CHECK(survivor->native_handle() == reread.native_handle());
  }
  CHECK(*survivor == original);
  CHECK(survivor->fingerprint() == original.fingerprint());
  CHECK(survivor->pem() == original.pem());

  dtlspp::certificate moved = std::move(*survivor);
  CHECK(moved == original);
}

TEST_CASE("certificates compare equal by DER, not by object", "[certificate]") {
  const auto& a = identity_of(key_type::ecdsa_p256).certificate();
  const auto reparsed = dtlspp::certificate::from_der(a.der());
  CHECK(reparsed.native_handle() != a.native_handle());
  CHECK(reparsed == a);
  CHECK(a == reparsed);

  for (auto k : all_key_types) {
    if (k == key_type::ecdsa_p256) continue;
    INFO("versus key type " << key_name(k));
    CHECK_FALSE(a == identity_of(k).certificate());
    CHECK(a != identity_of(k).certificate());
  }
  // Two identities with the same options still differ (fresh key, fresh serial).
  const auto x = dtlspp::identity::generate();
  const auto y = dtlspp::identity::generate();
  CHECK_FALSE(x.certificate() == y.certificate());
  CHECK_FALSE(x.fingerprint() == y.fingerprint());
}
