// identity_test: generating identities (key types, validity, names, options out of range) and
// loading them from PEM (round trips, key mismatches, malformed and encrypted input).
#include <catch2/catch.hpp>

#include <openssl/evp.h>
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
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <stdexcept>
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

using dtlspp::key_type;
using namespace std::chrono_literals;
using sys_clock = std::chrono::system_clock;

// temp_dir is a fresh directory under /tmp, removed with its files on destruction.
class temp_dir {
 public:
  temp_dir() {
    std::string pattern = "/tmp/dtlspp-identity-test-XXXXXX";
    if (::mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
    path_ = pattern;
  }
  temp_dir(const temp_dir&) = delete;
  temp_dir& operator=(const temp_dir&) = delete;
  ~temp_dir() {
    for (const auto& f : files_)
      ::unlink(f.c_str());
    ::rmdir(path_.c_str());
  }
  // file names a file in the directory, to be removed with it.
  std::string file(const std::string& name) {
    files_.push_back(path_ + "/" + name);
    return files_.back();
  }
  std::string write(const std::string& name, std::string_view contents) {
    const std::string p = file(name);
    FILE* f = std::fopen(p.c_str(), "wb");
    if (f == nullptr) throw std::runtime_error("fopen failed");
    std::fwrite(contents.data(), 1, contents.size(), f);
    std::fclose(f);
    return p;
  }
  static std::string read(const std::string& path) {
    std::string out;
    FILE* f = std::fopen(path.c_str(), "rb");
    if (f == nullptr) return out;
    std::array<char, 4096> buffer;
    std::size_t n;
    while ((n = std::fread(buffer.data(), 1, buffer.size(), f)) > 0)
      out.append(buffer.data(), n);
    std::fclose(f);
    return out;
  }

 private:
  std::string path_;
  std::vector<std::string> files_;
};

struct command_result {
  int status = -1;
  std::string output;
};

// run runs a shell command (stdin from /dev/null) and returns its exit status and output.
command_result run(const std::string& command) {
  command_result result;
  FILE* pipe = ::popen((command + " </dev/null").c_str(), "r");
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

using bio_ptr = std::unique_ptr<BIO, decltype(&BIO_free)>;
using pkey_ptr = std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)>;

bio_ptr memory_bio(std::string_view text) {
  return {BIO_new_mem_buf(text.data(), static_cast<int>(text.size())), &BIO_free};
}

std::string bio_string(BIO* bio) {
  char* data = nullptr;
  const long n = BIO_get_mem_data(bio, &data);
  return std::string(data, static_cast<std::size_t>(n));
}

pkey_ptr read_private_key(std::string_view pem) {
  auto bio = memory_bio(pem);
  return {PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr), &EVP_PKEY_free};
}

// traditional_pem writes key in its pre-PKCS#8 form ("BEGIN EC PRIVATE KEY", "BEGIN RSA ...").
std::string traditional_pem(EVP_PKEY* key, const EVP_CIPHER* cipher = nullptr,
                            const char* password = nullptr) {
  bio_ptr bio(BIO_new(BIO_s_mem()), &BIO_free);
  const int ok = PEM_write_bio_PrivateKey_traditional(
      bio.get(), key, cipher, reinterpret_cast<unsigned char*>(const_cast<char*>(password)),
      password ? static_cast<int>(std::string_view(password).size()) : 0, nullptr, nullptr);
  REQUIRE(ok == 1);
  return bio_string(bio.get());
}

// encrypted_pkcs8_pem writes key as "BEGIN ENCRYPTED PRIVATE KEY" with AES-256-CBC.
std::string encrypted_pkcs8_pem(EVP_PKEY* key) {
  bio_ptr bio(BIO_new(BIO_s_mem()), &BIO_free);
  char password[] = "x";
  REQUIRE(PEM_write_bio_PKCS8PrivateKey(bio.get(), key, EVP_aes_256_cbc(), password, 1, nullptr,
                                        nullptr) == 1);
  return bio_string(bio.get());
}

std::string subject_cn(const dtlspp::certificate& cert) {
  auto* x509 = reinterpret_cast<X509*>(cert.native_handle());
  std::array<char, 256> buffer{};
  const int n = X509_NAME_get_text_by_NID(X509_get_subject_name(x509), NID_commonName,
                                          buffer.data(), static_cast<int>(buffer.size()));
  if (n < 0) return {};
  return std::string(buffer.data(), static_cast<std::size_t>(n));
}

// within checks that t lies in [low - slack, high + slack].
bool within(sys_clock::time_point t, sys_clock::time_point low, sys_clock::time_point high,
            std::chrono::seconds slack = 3s) {
  return t >= low - slack && t <= high + slack;
}

std::string format_time(sys_clock::time_point t) {
  return std::to_string(
             std::chrono::duration_cast<std::chrono::seconds>(t.time_since_epoch()).count()) +
         " s";
}

}  // namespace

TEST_CASE("generate with default options makes an ECDSA P-256 key and CN dtlspp", "[identity]") {
  const auto id = dtlspp::identity::generate();
  auto* key = reinterpret_cast<EVP_PKEY*>(id.native_key());
  REQUIRE(key != nullptr);
  CHECK(EVP_PKEY_get_base_id(key) == EVP_PKEY_EC);
  std::array<char, 64> group{};
  std::size_t group_length = 0;
  REQUIRE(EVP_PKEY_get_group_name(key, group.data(), group.size(), &group_length) == 1);
  CHECK(std::string(group.data(), group_length) == "prime256v1");
  CHECK(EVP_PKEY_get_bits(key) == 256);
  CHECK(id.certificate().common_name() == "dtlspp");
  CHECK(subject_cn(id.certificate()) == "dtlspp");
}

TEST_CASE("generate makes the requested key type and certifies that very key", "[identity]") {
  struct expectation {
    key_type key;
    int base_id;
    int bits;
    const char* group;  // EC curves only
  };
  const auto e = GENERATE(expectation{key_type::ecdsa_p256, EVP_PKEY_EC, 256, "prime256v1"},
                          expectation{key_type::ecdsa_p384, EVP_PKEY_EC, 384, "secp384r1"},
                          expectation{key_type::ed25519, EVP_PKEY_ED25519, 256, nullptr},
                          expectation{key_type::rsa_2048, EVP_PKEY_RSA, 2048, nullptr},
                          expectation{key_type::rsa_3072, EVP_PKEY_RSA, 3072, nullptr});
  INFO("key type " << name(e.key));
  const auto& id = cached_identity(e.key);
  auto* key = reinterpret_cast<EVP_PKEY*>(id.native_key());
  REQUIRE(key != nullptr);
  CHECK(EVP_PKEY_get_base_id(key) == e.base_id);
  CHECK(EVP_PKEY_get_bits(key) == e.bits);
  if (e.group != nullptr) {
    std::array<char, 64> group{};
    std::size_t group_length = 0;
    REQUIRE(EVP_PKEY_get_group_name(key, group.data(), group.size(), &group_length) == 1);
    CHECK(std::string(group.data(), group_length) == e.group);
  }
  auto* x509 = reinterpret_cast<X509*>(id.certificate().native_handle());
  CHECK(EVP_PKEY_eq(X509_get0_pubkey(x509), key) == 1);
  CHECK(X509_check_private_key(x509, key) == 1);
  CHECK(X509_verify(x509, key) == 1);
}

TEST_CASE("generate backdates notBefore by one day and ends notAfter 30 days on by default",
          "[identity]") {
  const auto before = sys_clock::now();
  const auto id = dtlspp::identity::generate();
  const auto after = sys_clock::now();
  const auto& cert = id.certificate();
  INFO("not_before " << format_time(cert.not_before()) << ", not_after "
                     << format_time(cert.not_after()) << ", now " << format_time(before));
  CHECK(within(cert.not_before(), before - 24h, after - 24h));
  CHECK(within(cert.not_after(), before + 30 * 24h, after + 30 * 24h));
  const auto defaults = dtlspp::identity_options{};
  CHECK(defaults.key == key_type::ecdsa_p256);
  CHECK(defaults.common_name == "dtlspp");
  CHECK(defaults.lifetime == std::chrono::days{30});
  CHECK(defaults.backdate == std::chrono::days{1});
}

TEST_CASE("generate honours a custom backdate and lifetime", "[identity]") {
  struct window {
    std::chrono::seconds backdate;
    std::chrono::seconds lifetime;
  };
  const auto w = GENERATE(window{1h, 7 * 24h}, window{0s, 1h}, window{90s, 60s},
                          window{std::chrono::days{3}, std::chrono::days{365}});
  INFO("backdate " << w.backdate.count() << " s, lifetime " << w.lifetime.count() << " s");
  dtlspp::identity_options options;
  options.backdate = w.backdate;
  options.lifetime = w.lifetime;
  const auto before = sys_clock::now();
  const auto id = dtlspp::identity::generate(options);
  const auto after = sys_clock::now();
  const auto& cert = id.certificate();
  INFO("not_before " << format_time(cert.not_before()) << ", not_after "
                     << format_time(cert.not_after()) << ", now " << format_time(before));
  CHECK(within(cert.not_before(), before - w.backdate, after - w.backdate));
  CHECK(within(cert.not_after(), before + w.lifetime, after + w.lifetime));
}

TEST_CASE("generate encodes a lifetime reaching past 2050 and reads it back", "[identity]") {
  // RFC 5280 section 4.1.2.5: dates from 2050 on are GeneralizedTime, not UTCTime.
  dtlspp::identity_options options;
  options.lifetime = std::chrono::days{365 * 40};
  const auto before = sys_clock::now();
  const auto id = dtlspp::identity::generate(options);
  const auto after = sys_clock::now();
  INFO("not_after " << format_time(id.certificate().not_after()));
  CHECK(within(id.certificate().not_after(), before + options.lifetime, after + options.lifetime));
}

TEST_CASE("generate writes the requested common name in subject and issuer", "[identity]") {
  const std::string name =
      GENERATE(as<std::string>{}, "peer-7", "a", "room 4, o=x/cn=y+z", std::string(64, 'n'));
  INFO("common name '" << name << "'");
  dtlspp::identity_options options;
  options.common_name = name;
  const auto id = dtlspp::identity::generate(options);
  CHECK(id.certificate().common_name() == name);
  CHECK(subject_cn(id.certificate()) == name);
  auto* x509 = reinterpret_cast<X509*>(id.certificate().native_handle());
  CHECK(X509_NAME_cmp(X509_get_subject_name(x509), X509_get_issuer_name(x509)) == 0);
  // Exactly one CN, and nothing else in the subject.
  CHECK(X509_NAME_entry_count(X509_get_subject_name(x509)) == 1);
}

TEST_CASE("generate refuses options out of range with errc::invalid_argument", "[identity]") {
  struct bad_options {
    const char* why;
    dtlspp::identity_options options;
  };
  std::vector<bad_options> inputs;
  auto with = [](auto change) {
    dtlspp::identity_options o;
    change(o);
    return o;
  };
  inputs.push_back({"lifetime 0", with([](auto& o) { o.lifetime = 0s; })});
  inputs.push_back({"lifetime -1 s", with([](auto& o) { o.lifetime = -1s; })});
  inputs.push_back({"lifetime -30 days", with([](auto& o) { o.lifetime = -30 * 24h; })});
  inputs.push_back({"backdate -1 s", with([](auto& o) { o.backdate = -1s; })});
  inputs.push_back({"backdate -1 day", with([](auto& o) { o.backdate = -24h; })});
  inputs.push_back({"empty common name", with([](auto& o) { o.common_name = ""; })});
  inputs.push_back({"common name of 65 characters",
                    with([](auto& o) { o.common_name = std::string(65, 'x'); })});
  inputs.push_back({"common name of 1000 characters",
                    with([](auto& o) { o.common_name = std::string(1000, 'x'); })});
  inputs.push_back({"RSA key with lifetime 0", with([](auto& o) {
                      o.key = key_type::rsa_2048;
                      o.lifetime = 0s;
                    })});

  check_refused(inputs, dtlspp::errc::invalid_argument,
                [](const auto& input) { (void)dtlspp::identity::generate(input.options); });
}

TEST_CASE("generate refuses a key_type outside the enumeration with errc::invalid_argument",
          "[identity]") {
  dtlspp::identity_options options;
  options.key = static_cast<key_type>(99);
  const auto t = catch_error([&] { (void)dtlspp::identity::generate(options); });
  CHECK(t.threw);
  CHECK(t.code == dtlspp::errc::invalid_argument);
}

TEST_CASE("private_key_pem is unencrypted PKCS#8 holding the identity's key", "[identity]") {
  for (auto k : all_key_types) {
    INFO("key type " << name(k));
    const auto& id = cached_identity(k);
    const std::string pem = id.private_key_pem();
    CHECK(pem.starts_with("-----BEGIN PRIVATE KEY-----\n"));
    CHECK(pem.ends_with("-----END PRIVATE KEY-----\n"));
    CHECK(pem.find("ENCRYPTED") == std::string::npos);

    // It decodes as a PKCS8_PRIV_KEY_INFO, with no password.
    auto bio = memory_bio(pem);
    std::unique_ptr<PKCS8_PRIV_KEY_INFO, decltype(&PKCS8_PRIV_KEY_INFO_free)> p8(
        PEM_read_bio_PKCS8_PRIV_KEY_INFO(bio.get(), nullptr, nullptr, nullptr),
        &PKCS8_PRIV_KEY_INFO_free);
    CHECK(p8 != nullptr);

    const auto key = read_private_key(pem);
    REQUIRE(key != nullptr);
    CHECK(EVP_PKEY_eq(key.get(), reinterpret_cast<EVP_PKEY*>(id.native_key())) == 1);
    CHECK(X509_check_private_key(reinterpret_cast<X509*>(id.certificate().native_handle()),
                                 key.get()) == 1);
  }
}

TEST_CASE("the openssl tool reads private_key_pem without a password", "[identity]") {
  temp_dir dir;
  const auto& id = cached_identity(key_type::ecdsa_p256);
  const auto key_file = dir.write("key.pem", id.private_key_pem());
  const auto result = run("openssl pkey -in " + key_file + " -passin pass: -noout 2>&1");
  INFO("openssl output: " << result.output);
  CHECK(result.status == 0);
}

TEST_CASE("certificate_pem is the certificate's PEM", "[identity]") {
  const auto& id = cached_identity(key_type::ecdsa_p256);
  const std::string pem = id.certificate_pem();
  CHECK(pem == id.certificate().pem());
  CHECK(pem.starts_with("-----BEGIN CERTIFICATE-----\n"));
  CHECK(pem.ends_with("-----END CERTIFICATE-----\n"));
}

TEST_CASE("from_pem round trips every key type and keeps the fingerprint", "[identity]") {
  const auto k = GENERATE(key_type::ecdsa_p256, key_type::ecdsa_p384, key_type::ed25519,
                          key_type::rsa_2048, key_type::rsa_3072);
  INFO("key type " << name(k));
  const auto& original = cached_identity(k);
  const auto loaded =
      dtlspp::identity::from_pem(original.certificate_pem(), original.private_key_pem());
  CHECK(loaded.fingerprint() == original.fingerprint());
  for (auto a : {dtlspp::hash_algorithm::sha1, dtlspp::hash_algorithm::sha384,
                 dtlspp::hash_algorithm::sha512}) {
    CHECK(loaded.fingerprint(a) == original.fingerprint(a));
  }
  CHECK(loaded.certificate() == original.certificate());
  CHECK(loaded.certificate_pem() == original.certificate_pem());
  CHECK(EVP_PKEY_eq(reinterpret_cast<EVP_PKEY*>(loaded.native_key()),
                    reinterpret_cast<EVP_PKEY*>(original.native_key())) == 1);
  // Loading what was saved from a loaded identity gives the same identity again.
  const auto again = dtlspp::identity::from_pem(loaded.certificate_pem(), loaded.private_key_pem());
  CHECK(again.fingerprint() == original.fingerprint());
  CHECK(EVP_PKEY_eq(reinterpret_cast<EVP_PKEY*>(again.native_key()),
                    reinterpret_cast<EVP_PKEY*>(original.native_key())) == 1);
}

TEST_CASE("from_pem accepts a private key in the traditional EC and RSA formats", "[identity]") {
  for (auto k : {key_type::ecdsa_p256, key_type::ecdsa_p384, key_type::rsa_2048}) {
    INFO("key type " << name(k));
    const auto& original = cached_identity(k);
    const std::string key_pem = traditional_pem(reinterpret_cast<EVP_PKEY*>(original.native_key()));
    INFO("first line: " << key_pem.substr(0, key_pem.find('\n')));
    CHECK((key_pem.starts_with("-----BEGIN EC PRIVATE KEY-----") ||
           key_pem.starts_with("-----BEGIN RSA PRIVATE KEY-----")));
    const auto loaded = dtlspp::identity::from_pem(original.certificate_pem(), key_pem);
    CHECK(loaded.fingerprint() == original.fingerprint());
    CHECK(loaded.private_key_pem().starts_with("-----BEGIN PRIVATE KEY-----"));
  }
}

TEST_CASE("from_pem loads a certificate and key made by the openssl tool", "[identity]") {
  temp_dir dir;
  const auto cert_file = dir.file("cert.pem");
  const auto key_file = dir.file("key.pem");
  const auto result =
      run("openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 3 "
          "-subj /CN=from-the-cli -keyout " +
          key_file + " -out " + cert_file + " 2>&1");
  INFO("openssl output: " << result.output);
  REQUIRE(result.status == 0);
  const std::string cert_pem = temp_dir::read(cert_file);
  const std::string key_pem = temp_dir::read(key_file);

  const auto id = dtlspp::identity::from_pem(cert_pem, key_pem);
  CHECK(id.certificate().common_name() == "from-the-cli");
  const auto fp = run("openssl x509 -noout -fingerprint -sha256 -in " + cert_file + " 2>&1");
  REQUIRE(fp.status == 0);
  std::string cli_hex = fp.output.substr(fp.output.find('=') + 1);
  while (!cli_hex.empty() && std::isspace(static_cast<unsigned char>(cli_hex.back()))) {
    cli_hex.pop_back();
  }
  for (char& c : cli_hex)
    c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  CHECK(id.fingerprint().to_string() == "sha-256 " + cli_hex);
}

TEST_CASE(
    "from_pem refuses a key that does not belong to the certificate with "
    "errc::key_mismatch",
    "[identity]") {
  const auto a = dtlspp::identity::generate();
  const auto b = dtlspp::identity::generate();
  struct pair {
    const char* why;
    std::string cert_pem;
    std::string key_pem;
  };
  const std::vector<pair> inputs = {
      {"P-256 certificate of B with P-256 key of A", b.certificate_pem(), a.private_key_pem()},
      {"P-256 certificate of A with P-256 key of B", a.certificate_pem(), b.private_key_pem()},
      {"P-256 certificate with an Ed25519 key", a.certificate_pem(),
       cached_identity(key_type::ed25519).private_key_pem()},
      {"Ed25519 certificate with a P-256 key", cached_identity(key_type::ed25519).certificate_pem(),
       a.private_key_pem()},
      {"P-384 certificate with a P-256 key",
       cached_identity(key_type::ecdsa_p384).certificate_pem(), a.private_key_pem()},
      {"RSA-2048 certificate with an RSA-3072 key",
       cached_identity(key_type::rsa_2048).certificate_pem(),
       cached_identity(key_type::rsa_3072).private_key_pem()},
      {"RSA-3072 certificate with a P-256 key",
       cached_identity(key_type::rsa_3072).certificate_pem(), a.private_key_pem()},
  };
  check_refused(inputs, dtlspp::errc::key_mismatch, [](const auto& input) {
    (void)dtlspp::identity::from_pem(input.cert_pem, input.key_pem);
  });
}

TEST_CASE("from_pem refuses an encrypted private key with errc::unsupported", "[identity]") {
  const auto& id = cached_identity(key_type::ecdsa_p256);
  auto* key = reinterpret_cast<EVP_PKEY*>(id.native_key());

  SECTION("PKCS#8 encrypted with AES-256-CBC by the openssl tool") {
    temp_dir dir;
    const auto plain = dir.write("key.pem", id.private_key_pem());
    const auto result =
        run("openssl pkcs8 -topk8 -v2 aes-256-cbc -passout pass:x -in " + plain + " 2>/dev/null");
    INFO("openssl output: " << result.output);
    REQUIRE(result.status == 0);
    REQUIRE(result.output.starts_with("-----BEGIN ENCRYPTED PRIVATE KEY-----"));
    const auto t =
        catch_error([&] { (void)dtlspp::identity::from_pem(id.certificate_pem(), result.output); });
    CHECK(t.threw);
    CHECK(t.code == dtlspp::errc::unsupported);
    INFO("what() = " << t.what);
    CHECK_FALSE(t.what.empty());
  }
  SECTION("PKCS#8 encrypted with OpenSSL's API") {
    const std::string encrypted = encrypted_pkcs8_pem(key);
    REQUIRE(encrypted.starts_with("-----BEGIN ENCRYPTED PRIVATE KEY-----"));
    const auto t =
        catch_error([&] { (void)dtlspp::identity::from_pem(id.certificate_pem(), encrypted); });
    CHECK(t.threw);
    CHECK(t.code == dtlspp::errc::unsupported);
    CHECK_FALSE(t.what.empty());
  }
  SECTION("traditional EC key encrypted with a DEK-Info header") {
    const std::string encrypted = traditional_pem(key, EVP_aes_128_cbc(), "x");
    INFO(encrypted.substr(0, 120));
    REQUIRE(encrypted.find("Proc-Type: 4,ENCRYPTED") != std::string::npos);
    const auto t =
        catch_error([&] { (void)dtlspp::identity::from_pem(id.certificate_pem(), encrypted); });
    CHECK(t.threw);
    CHECK(t.code == dtlspp::errc::unsupported);
    CHECK_FALSE(t.what.empty());
  }
}

TEST_CASE("from_pem refuses a malformed private key with errc::malformed_input", "[identity]") {
  const auto& id = cached_identity(key_type::ecdsa_p256);
  const std::string cert_pem = id.certificate_pem();
  const std::string key_pem = id.private_key_pem();
  const std::string key_der = pem_body(key_pem);

  auto inputs = malformed_pem(key_pem, "PRIVATE KEY", 99);
  inputs.push_back({"a certificate where a key is expected", cert_pem});
  inputs.push_back({"PRIVATE KEY block holding a certificate's bytes",
                    pem_block("PRIVATE KEY", pem_body(cert_pem))});
  {
    std::string flipped = key_der;
    flipped[0] = static_cast<char>(flipped[0] ^ 0x01);  // SEQUENCE becomes SET
    inputs.push_back({"a bit flipped in the DER", pem_block("PRIVATE KEY", flipped)});
  }
  inputs.push_back({"PRIVATE KEY block with a truncated body",
                    pem_block("PRIVATE KEY", key_der.substr(0, key_der.size() - 10))});
  {
    bio_ptr bio(BIO_new(BIO_s_mem()), &BIO_free);
    REQUIRE(PEM_write_bio_PUBKEY(bio.get(), reinterpret_cast<EVP_PKEY*>(id.native_key())) == 1);
    const std::string public_pem = bio_string(bio.get());
    REQUIRE(public_pem.starts_with("-----BEGIN PUBLIC KEY-----"));
    inputs.push_back({"a PUBLIC KEY block", public_pem});
  }
  REQUIRE(inputs.size() >= 10);

  check_refused(inputs, dtlspp::errc::malformed_input,
                [&](const auto& input) { (void)dtlspp::identity::from_pem(cert_pem, input.text); });
}

TEST_CASE("from_pem refuses a malformed certificate with errc::malformed_input", "[identity]") {
  const auto& id = cached_identity(key_type::ecdsa_p256);
  const std::string cert_pem = id.certificate_pem();
  const std::string key_pem = id.private_key_pem();

  auto inputs = malformed_pem(cert_pem, "CERTIFICATE", 5);
  inputs.push_back({"a private key where a certificate is expected", key_pem});
  check_refused(inputs, dtlspp::errc::malformed_input,
                [&](const auto& input) { (void)dtlspp::identity::from_pem(input.text, key_pem); });
  // Both arguments swapped: neither parses as what it should be.
  const auto swapped = catch_error([&] { (void)dtlspp::identity::from_pem(key_pem, cert_pem); });
  CHECK(swapped.threw);
  CHECK(swapped.code == dtlspp::errc::malformed_input);
}

TEST_CASE("identity copies share the key and the certificate", "[identity]") {
  const auto original = dtlspp::identity::generate();
  const dtlspp::identity copy = original;
  CHECK(copy.native_key() == original.native_key());
  CHECK(copy.certificate().native_handle() == original.certificate().native_handle());
  CHECK(copy.fingerprint() == original.fingerprint());

  dtlspp::identity assigned = cached_identity(key_type::ed25519);
  CHECK_FALSE(assigned.fingerprint() == original.fingerprint());
  assigned = original;
  CHECK(assigned.native_key() == original.native_key());
  CHECK(assigned.fingerprint() == original.fingerprint());
}

TEST_CASE("an identity copy stays usable after the original is gone", "[identity]") {
  std::optional<dtlspp::identity> survivor;
  dtlspp::fingerprint expected = cached_identity(key_type::ecdsa_p256).fingerprint();
  std::string key_pem;
  {
    const auto original = dtlspp::identity::generate();
    expected = original.fingerprint();
    key_pem = original.private_key_pem();
    survivor = original;
  }
  CHECK(survivor->fingerprint() == expected);
  CHECK(survivor->private_key_pem() == key_pem);
  const auto reloaded =
      dtlspp::identity::from_pem(survivor->certificate_pem(), survivor->private_key_pem());
  CHECK(reloaded.fingerprint() == expected);
}
