// fingerprint_test: the fingerprint value type and its RFC 8122 text form.
#include <catch2/catch.hpp>

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "dtlspp/error.hpp"
#include "dtlspp/fingerprint.hpp"

namespace {

using dtlspp::fingerprint;
using dtlspp::hash_algorithm;

const std::vector<hash_algorithm> all_algorithms = {hash_algorithm::sha1, hash_algorithm::sha224,
                                                    hash_algorithm::sha256, hash_algorithm::sha384,
                                                    hash_algorithm::sha512};

// A real Chrome offer's line (the digest also appears in the JSEP examples) and a Firefox one;
// both browsers write the name in lower case and the hex in upper case and end lines in CRLF.
constexpr std::string_view chrome_hex =
    "4A:AD:B9:B1:3F:82:18:3B:54:02:12:DF:3E:5D:49:6B:19:E5:7C:AB:7F:5D:B4:0B:5B:A0:FD:EC:3E:28:BF:"
    "E9";
constexpr std::string_view firefox_hex =
    "16:E5:F6:0F:20:7A:1A:00:73:45:1C:35:A9:D3:15:D1:7F:DC:17:D7:FA:B6:64:49:B0:0C:DF:AA:DC:8B:24:"
    "9E";
// RFC 4572 section 5's example, upper-case name and all.
constexpr std::string_view rfc4572_example =
    "a=fingerprint:SHA-1 4A:AD:B9:B1:3F:82:18:3B:54:02:12:DF:3E:5D:49:6B:19:E5:7C:AB";

std::vector<std::byte> bytes_from_hex(std::string_view hex) {
  std::vector<std::byte> out;
  auto nibble = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  int high = -1;
  for (char c : hex) {
    const int n = nibble(c);
    if (n < 0) continue;  // separators
    if (high < 0) {
      high = n;
    } else {
      out.push_back(static_cast<std::byte>(high * 16 + n));
      high = -1;
    }
  }
  return out;
}

// pattern returns n bytes that differ from one another and from one call to the next seed.
std::vector<std::byte> pattern(std::size_t n, unsigned seed = 1) {
  std::vector<std::byte> out(n);
  unsigned x = seed * 2654435761u + 12345u;
  for (auto& b : out) {
    x = x * 1103515245u + 12345u;
    b = static_cast<std::byte>((x >> 16) & 0xff);
  }
  return out;
}

// hex_pairs writes n bytes as colon-separated upper-case pairs.
std::string hex_pairs(const std::vector<std::byte>& bytes, bool upper = true) {
  const char* digits = upper ? "0123456789ABCDEF" : "0123456789abcdef";
  std::string out;
  for (std::size_t i = 0; i < bytes.size(); ++i) {
    if (i != 0) out += ':';
    const auto v = std::to_integer<unsigned>(bytes[i]);
    out += digits[v >> 4];
    out += digits[v & 0xf];
  }
  return out;
}

std::vector<std::byte> to_vector(std::span<const std::byte> s) {
  return {s.begin(), s.end()};
}

std::string printable(std::string_view s) {
  std::string out;
  for (char c : s) {
    if (c == '\r') {
      out += "\\r";
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '\t') {
      out += "\\t";
    } else if (c == '\0') {
      out += "\\0";
    } else {
      out += c;
    }
  }
  if (out.size() > 200) out = out.substr(0, 200) + "...";
  return out;
}

}  // namespace

TEST_CASE("name gives the RFC 8122 name of each hash algorithm", "[fingerprint]") {
  CHECK(dtlspp::name(hash_algorithm::sha1) == "sha-1");
  CHECK(dtlspp::name(hash_algorithm::sha224) == "sha-224");
  CHECK(dtlspp::name(hash_algorithm::sha256) == "sha-256");
  CHECK(dtlspp::name(hash_algorithm::sha384) == "sha-384");
  CHECK(dtlspp::name(hash_algorithm::sha512) == "sha-512");
}

TEST_CASE("digest_size gives the digest length of each hash algorithm", "[fingerprint]") {
  CHECK(dtlspp::digest_size(hash_algorithm::sha1) == 20);
  CHECK(dtlspp::digest_size(hash_algorithm::sha224) == 28);
  CHECK(dtlspp::digest_size(hash_algorithm::sha256) == 32);
  CHECK(dtlspp::digest_size(hash_algorithm::sha384) == 48);
  CHECK(dtlspp::digest_size(hash_algorithm::sha512) == 64);
}

TEST_CASE("a fingerprint keeps the algorithm and digest it was built from", "[fingerprint]") {
  for (auto a : all_algorithms) {
    INFO("algorithm " << dtlspp::name(a));
    const auto digest = pattern(dtlspp::digest_size(a), 7);
    const fingerprint fp(a, digest);
    CHECK(fp.algorithm() == a);
    CHECK(fp.digest().size() == dtlspp::digest_size(a));
    CHECK(to_vector(fp.digest()) == digest);
  }
}

TEST_CASE("the constructor refuses a digest of the wrong size with errc::invalid_argument",
          "[fingerprint]") {
  for (auto a : all_algorithms) {
    const std::size_t right = dtlspp::digest_size(a);
    for (std::size_t size : {std::size_t{0}, std::size_t{1}, right - 1, right + 1, std::size_t{65},
                             std::size_t{128}}) {
      if (size == right) continue;
      INFO("algorithm " << dtlspp::name(a) << ", digest of " << size << " bytes");
      const auto digest = pattern(size);
      bool threw = false;
      try {
        fingerprint fp(a, digest);
      } catch (const dtlspp::error& e) {
        threw = true;
        CHECK(e.code() == dtlspp::errc::invalid_argument);
        CHECK_FALSE(std::string(e.what()).empty());
      }
      CHECK(threw);
    }
  }
  // A digest of another algorithm's size is still the wrong size.
  CHECK_THROWS_AS(fingerprint(hash_algorithm::sha256, pattern(20)), dtlspp::error);
  CHECK_THROWS_AS(fingerprint(hash_algorithm::sha1, pattern(32)), dtlspp::error);
}

TEST_CASE("to_string gives the name, a space and upper-case hex pairs separated by colons",
          "[fingerprint]") {
  std::vector<std::byte> digest(32);
  for (std::size_t i = 0; i < digest.size(); ++i) {
    digest[i] = static_cast<std::byte>(0xA0 + i * 3 + (i % 2 == 0 ? 0x0B : 0x00));
  }
  digest[0] = std::byte{0xAB};
  digest[1] = std::byte{0xCD};
  digest[2] = std::byte{0x0F};
  digest[3] = std::byte{0x00};
  const fingerprint fp(hash_algorithm::sha256, digest);
  const std::string text = fp.to_string();
  INFO("to_string() = " << text);
  CHECK(text.starts_with("sha-256 AB:CD:0F:00:"));
  CHECK(text == "sha-256 " + hex_pairs(digest));
  CHECK(text.size() == std::string("sha-256 ").size() + 32 * 3 - 1);
  for (char c : text.substr(8)) {
    const bool ok = (c >= '0' && c <= '9') || (c >= 'A' && c <= 'F') || c == ':';
    CAPTURE(c);
    CHECK(ok);
  }
}

TEST_CASE("to_string of the Chrome digest gives exactly Chrome's a=fingerprint value",
          "[fingerprint]") {
  const fingerprint fp(hash_algorithm::sha256, bytes_from_hex(chrome_hex));
  CHECK(fp.to_string() == "sha-256 " + std::string(chrome_hex));
}

TEST_CASE("parse and to_string round trip for every algorithm", "[fingerprint]") {
  const auto a = GENERATE(hash_algorithm::sha1, hash_algorithm::sha224, hash_algorithm::sha256,
                          hash_algorithm::sha384, hash_algorithm::sha512);
  const auto seed = GENERATE(1u, 2u, 3u);
  INFO("algorithm " << dtlspp::name(a) << ", seed " << seed);
  const auto digest = pattern(dtlspp::digest_size(a), seed);
  const fingerprint fp(a, digest);
  const std::string text = fp.to_string();
  INFO("text " << text);
  CHECK(text.starts_with(std::string(dtlspp::name(a)) + " "));

  const auto parsed = fingerprint::parse(text);
  REQUIRE(parsed.has_value());
  CHECK(parsed->algorithm() == a);
  CHECK(parsed->digest().size() == dtlspp::digest_size(a));
  CHECK(to_vector(parsed->digest()) == digest);
  CHECK(*parsed == fp);
  CHECK(parsed->to_string() == text);
}

TEST_CASE("parse is noexcept", "[fingerprint]") {
  STATIC_REQUIRE(noexcept(fingerprint::parse(std::string_view{})));
}

TEST_CASE("parse accepts the whole a=fingerprint line of a Chrome offer", "[fingerprint]") {
  const std::string line = "a=fingerprint:sha-256 " + std::string(chrome_hex) + "\r\n";
  INFO("line " << printable(line));
  const auto fp = fingerprint::parse(line);
  REQUIRE(fp.has_value());
  CHECK(fp->algorithm() == hash_algorithm::sha256);
  const auto expected = bytes_from_hex(chrome_hex);
  REQUIRE(expected.size() == 32);
  CHECK(to_vector(fp->digest()) == expected);
  CHECK(fp->digest()[0] == std::byte{0x4A});
  CHECK(fp->digest()[31] == std::byte{0xE9});
}

TEST_CASE("parse accepts the whole a=fingerprint line of a Firefox offer", "[fingerprint]") {
  const std::string line = "a=fingerprint:sha-256 " + std::string(firefox_hex) + "\r\n";
  INFO("line " << printable(line));
  const auto fp = fingerprint::parse(line);
  REQUIRE(fp.has_value());
  CHECK(fp->algorithm() == hash_algorithm::sha256);
  CHECK(to_vector(fp->digest()) == bytes_from_hex(firefox_hex));
  CHECK(fp->to_string() == "sha-256 " + std::string(firefox_hex));
}

TEST_CASE("parse accepts the upper-case name of RFC 4572's own sha-1 example", "[fingerprint]") {
  const auto fp = fingerprint::parse(rfc4572_example);
  REQUIRE(fp.has_value());
  CHECK(fp->algorithm() == hash_algorithm::sha1);
  CHECK(fp->digest().size() == 20);
  CHECK(fp->to_string() == "sha-1 4A:AD:B9:B1:3F:82:18:3B:54:02:12:DF:3E:5D:49:6B:19:E5:7C:AB");
}

TEST_CASE("parse accepts either case in the algorithm name", "[fingerprint]") {
  const fingerprint expected(hash_algorithm::sha256, bytes_from_hex(chrome_hex));
  for (std::string name : {"sha-256", "SHA-256", "Sha-256", "sHa-256"}) {
    const std::string text = name + " " + std::string(chrome_hex);
    INFO("text " << text);
    const auto fp = fingerprint::parse(text);
    REQUIRE(fp.has_value());
    CHECK(*fp == expected);
  }
  for (auto a : all_algorithms) {
    std::string upper(dtlspp::name(a));
    for (char& c : upper) {
      if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
    }
    const auto digest = pattern(dtlspp::digest_size(a), 11);
    const std::string text = upper + " " + hex_pairs(digest);
    INFO("text " << text);
    const auto fp = fingerprint::parse(text);
    REQUIRE(fp.has_value());
    CHECK(fp->algorithm() == a);
    CHECK(to_vector(fp->digest()) == digest);
  }
}

TEST_CASE("parse accepts lower-case and mixed-case hex", "[fingerprint]") {
  const auto digest = bytes_from_hex(firefox_hex);
  const fingerprint expected(hash_algorithm::sha256, digest);

  const std::string lower = "sha-256 " + hex_pairs(digest, false);
  INFO("lower " << lower);
  const auto from_lower = fingerprint::parse(lower);
  REQUIRE(from_lower.has_value());
  CHECK(*from_lower == expected);
  // to_string normalises to upper case.
  CHECK(from_lower->to_string() == "sha-256 " + std::string(firefox_hex));

  std::string mixed = "sha-256 " + hex_pairs(digest, false);
  for (std::size_t i = 8; i < mixed.size(); i += 2) {
    if (mixed[i] >= 'a' && mixed[i] <= 'f') mixed[i] = static_cast<char>(mixed[i] - 'a' + 'A');
  }
  INFO("mixed " << mixed);
  const auto from_mixed = fingerprint::parse(mixed);
  REQUIRE(from_mixed.has_value());
  CHECK(*from_mixed == expected);

  const auto sdp_lower = fingerprint::parse("a=fingerprint:sha-256 " + hex_pairs(digest, false));
  REQUIRE(sdp_lower.has_value());
  CHECK(*sdp_lower == expected);
}

TEST_CASE("parse ignores surrounding spaces, tabs, CR and LF", "[fingerprint]") {
  const fingerprint expected(hash_algorithm::sha256, bytes_from_hex(chrome_hex));
  const std::string value = "sha-256 " + std::string(chrome_hex);
  const std::string line = "a=fingerprint:" + value;
  const std::vector<std::string> inputs = {
      "  " + value,
      value + "  ",
      "\t" + value + "\t",
      value + "\r\n",
      value + "\n",
      "\r\n" + value + "\r\n",
      " \t\r\n" + value + " \t\r\n",
      line + "\r\n",
      "  " + line + "  ",
      "\t" + line + "\r\n",
  };
  for (const auto& input : inputs) {
    INFO("input '" << printable(input) << "'");
    const auto fp = fingerprint::parse(input);
    REQUIRE(fp.has_value());
    CHECK(*fp == expected);
  }
}

TEST_CASE("parse refuses malformed text with an empty optional", "[fingerprint]") {
  const std::string good = std::string(chrome_hex);  // 32 bytes
  const std::string twenty = hex_pairs(pattern(20));
  const std::string sixteen = hex_pairs(pattern(16));

  struct bad_input {
    const char* why;
    std::string text;
  };
  const std::vector<bad_input> inputs = {
      {"empty string", ""},
      {"whitespace only", " \t\r\n "},
      {"name without digest", "sha-256"},
      {"name and space without digest", "sha-256 "},
      {"SDP attribute without value", "a=fingerprint:"},
      {"SDP attribute with name only", "a=fingerprint:sha-256"},
      {"digest without name", good},
      {"unknown algorithm md5", "md5 " + sixteen},
      {"unknown algorithm md5 in an SDP line", "a=fingerprint:md5 " + sixteen},
      {"unknown algorithm sha-3", "sha-3 " + good},
      {"unknown algorithm sha-257", "sha-257 " + good},
      {"sha-256 digest too short (20 bytes)", "sha-256 " + twenty},
      {"sha-256 digest too long (33 bytes)", "sha-256 " + good + ":AB"},
      {"sha-256 digest of 31 bytes", "sha-256 " + good.substr(0, good.size() - 3)},
      {"sha-1 with a sha-256 digest", "sha-1 " + good},
      {"sha-512 with a sha-256 digest", "sha-512 " + good},
      {"sha-512 with 65 bytes", "sha-512 " + hex_pairs(pattern(65))},
      {"sha-512 with 200 bytes", "sha-512 " + hex_pairs(pattern(200))},
      {"bad hex character G", "sha-256 4G" + good.substr(2)},
      {"bad hex character Z at the end", "sha-256 " + good.substr(0, good.size() - 2) + "ZZ"},
      {"0x prefix", "sha-256 0x" + good.substr(2)},
      {"non-ASCII byte", "sha-256 \xC3\xA9" + good.substr(2)},
      {"embedded NUL", "sha-256 " + good.substr(0, 4) + std::string(1, '\0') + good.substr(5)},
      {"missing colon between two pairs", "sha-256 4AAD" + good.substr(5)},
      {"no colons at all", "sha-256 " +
                               [&] {
                                 std::string s;
                                 for (char c : good) {
                                   if (c != ':') s += c;
                                 }
                                 return s;
                               }()},
      {"double colon", "sha-256 4A::AD" + good.substr(5)},
      {"trailing colon", "sha-256 " + good + ":"},
      {"leading colon", "sha-256 :" + good},
      {"dashes instead of colons", "sha-256 4A-AD-B9" + good.substr(8)},
      {"space inside the digest", "sha-256 4A: AD" + good.substr(5)},
      {"odd number of hex digits (one-digit group)", "sha-256 4:AD" + good.substr(5)},
      {"odd number of hex digits (three-digit group)", "sha-256 4A0:AD" + good.substr(5)},
      {"odd number of hex digits at the end", "sha-256 " + good + ":A"},
      {"trailing token after the digest", "sha-256 " + good + " extra"},
      {"misspelt SDP attribute", "a=fingerprnt:sha-256 " + good},
      {"name and digest glued together", "sha-256" + good},
  };
  for (const auto& input : inputs) {
    INFO(input.why << ": '" << printable(input.text) << "'");
    const auto fp = fingerprint::parse(input.text);
    CHECK_FALSE(fp.has_value());
  }
}

TEST_CASE("parse refuses a 1 MiB input without crashing", "[fingerprint]") {
  std::string huge = "sha-256 ";
  while (huge.size() < (1u << 20))
    huge += "AB:";
  huge += "AB";
  CHECK_FALSE(fingerprint::parse(huge).has_value());
  CHECK_FALSE(fingerprint::parse(std::string(1u << 20, 'A')).has_value());
  CHECK_FALSE(fingerprint::parse(std::string(1u << 20, ' ')).has_value());
}

TEST_CASE("fingerprints with the same algorithm and digest are equal", "[fingerprint]") {
  for (auto a : all_algorithms) {
    INFO("algorithm " << dtlspp::name(a));
    const auto digest = pattern(dtlspp::digest_size(a), 5);
    const fingerprint x(a, digest);
    const fingerprint y(a, digest);
    CHECK(x == y);
    CHECK_FALSE(x != y);
    const fingerprint copy = x;
    CHECK(copy == x);
  }
}

TEST_CASE("fingerprints whose digests differ in one byte are not equal", "[fingerprint]") {
  for (auto a : all_algorithms) {
    const auto digest = pattern(dtlspp::digest_size(a), 5);
    const fingerprint x(a, digest);
    for (std::size_t at : {std::size_t{0}, digest.size() / 2, digest.size() - 1}) {
      INFO("algorithm " << dtlspp::name(a) << ", byte " << at << " flipped");
      auto other = digest;
      other[at] ^= std::byte{0x01};
      const fingerprint y(a, other);
      CHECK_FALSE(x == y);
      CHECK(x != y);
    }
  }
}

TEST_CASE(
    "fingerprints of different algorithms are not equal even when one digest prefixes the "
    "other",
    "[fingerprint]") {
  const auto long_digest = pattern(64, 9);
  const std::vector<std::byte> d20(long_digest.begin(), long_digest.begin() + 20);
  const std::vector<std::byte> d28(long_digest.begin(), long_digest.begin() + 28);
  const std::vector<std::byte> d32(long_digest.begin(), long_digest.begin() + 32);
  const std::vector<std::byte> d48(long_digest.begin(), long_digest.begin() + 48);
  const fingerprint sha1(hash_algorithm::sha1, d20);
  const fingerprint sha224(hash_algorithm::sha224, d28);
  const fingerprint sha256(hash_algorithm::sha256, d32);
  const fingerprint sha384(hash_algorithm::sha384, d48);
  const fingerprint sha512(hash_algorithm::sha512, long_digest);
  const std::vector<fingerprint> all = {sha1, sha224, sha256, sha384, sha512};
  for (std::size_t i = 0; i < all.size(); ++i) {
    for (std::size_t j = 0; j < all.size(); ++j) {
      INFO(all[i].to_string() << " vs " << all[j].to_string());
      CHECK((all[i] == all[j]) == (i == j));
    }
  }
}

TEST_CASE("a parsed fingerprint equals the one built from the same bytes, whatever the case",
          "[fingerprint]") {
  const fingerprint built(hash_algorithm::sha256, bytes_from_hex(chrome_hex));
  const auto upper = fingerprint::parse("SHA-256 " + std::string(chrome_hex));
  const auto lower = fingerprint::parse("sha-256 " + hex_pairs(bytes_from_hex(chrome_hex), false));
  REQUIRE(upper.has_value());
  REQUIRE(lower.has_value());
  CHECK(*upper == built);
  CHECK(*lower == built);
  CHECK(*upper == *lower);
  const auto other = fingerprint::parse("sha-256 " + std::string(firefox_hex));
  REQUIRE(other.has_value());
  CHECK_FALSE(*other == built);
}
