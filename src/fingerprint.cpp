// src/fingerprint.cpp: RFC 8122 fingerprint text form and constant-time comparison.
#include "dtlspp/fingerprint.hpp"

#include <openssl/crypto.h>

#include <algorithm>
#include <array>
#include <cctype>

#include "dtlspp/error.hpp"

namespace dtlspp {
namespace {

struct algorithm_info {
  hash_algorithm algorithm;
  std::string_view name;
  std::size_t size;
};

// RFC 8122 section 5 refers to the IANA "Hash Function Textual Names" registry for these.
constexpr std::array<algorithm_info, 5> algorithms{{
    {hash_algorithm::sha1, "sha-1", 20},
    {hash_algorithm::sha224, "sha-224", 28},
    {hash_algorithm::sha256, "sha-256", 32},
    {hash_algorithm::sha384, "sha-384", 48},
    {hash_algorithm::sha512, "sha-512", 64},
}};

// info returns a's row; a value outside the enumeration gets a row of size 0 that no digest
// matches.
const algorithm_info& info(hash_algorithm a) noexcept {
  static constexpr algorithm_info unknown{hash_algorithm::sha256, "unknown", 0};
  const auto i = static_cast<std::size_t>(a);
  return i < algorithms.size() ? algorithms[i] : unknown;
}

bool iequals(std::string_view a, std::string_view b) noexcept {
  return std::ranges::equal(a, b, [](char x, char y) {
    return std::tolower(static_cast<unsigned char>(x)) ==
           std::tolower(static_cast<unsigned char>(y));
  });
}

bool is_space(char c) noexcept {
  return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

std::string_view trim(std::string_view s) noexcept {
  while (!s.empty() && is_space(s.front()))
    s.remove_prefix(1);
  while (!s.empty() && is_space(s.back()))
    s.remove_suffix(1);
  return s;
}

int hex_value(char c) noexcept {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

std::string_view name(hash_algorithm a) noexcept {
  return info(a).name;
}
std::size_t digest_size(hash_algorithm a) noexcept {
  return info(a).size;
}

fingerprint::fingerprint(hash_algorithm a, std::span<const std::byte> digest)
    : algorithm_(a), size_(digest.size()) {
  if (digest_size(a) == 0) {
    throw error(errc::invalid_argument, "fingerprint algorithm is not a hash_algorithm value");
  }
  if (digest.size() != digest_size(a)) {
    throw error(errc::invalid_argument, "fingerprint digest size does not match its algorithm");
  }
  std::ranges::copy(digest, bytes_.begin());
}

// parse accepts RFC 8122's "hash-func SP fingerprint", where fingerprint is 2UHEX *(":" 2UHEX).
// Peers differ in case (RFC 8841 examples use "SHA-256"), so both name and hex are matched
// case-insensitively; the bytes, not the text, are what is compared later.
std::optional<fingerprint> fingerprint::parse(std::string_view text) noexcept {
  text = trim(text);
  constexpr std::string_view sdp_prefix = "a=fingerprint:";
  if (text.size() >= sdp_prefix.size() && iequals(text.substr(0, sdp_prefix.size()), sdp_prefix)) {
    text = trim(text.substr(sdp_prefix.size()));
  }
  const auto space = std::ranges::find_if(text, is_space);
  if (space == text.end()) return std::nullopt;
  const std::string_view algorithm_name(text.begin(), space);
  const std::string_view hex = trim(std::string_view(space, text.end()));

  const auto known = std::ranges::find_if(
      algorithms, [&](const algorithm_info& a) { return iequals(a.name, algorithm_name); });
  if (known == algorithms.end()) return std::nullopt;

  // n bytes take 3n - 1 characters: "AB" then ":AB" for each further byte.
  if (hex.size() != 3 * known->size - 1) return std::nullopt;
  std::array<std::byte, 64> digest{};
  for (std::size_t i = 0; i < known->size; ++i) {
    const std::size_t at = 3 * i;
    if (i > 0 && hex[at - 1] != ':') return std::nullopt;
    const int hi = hex_value(hex[at]);
    const int lo = hex_value(hex[at + 1]);
    if (hi < 0 || lo < 0) return std::nullopt;
    digest[i] = static_cast<std::byte>(hi * 16 + lo);
  }
  return fingerprint(known->algorithm, std::span(digest.data(), known->size));
}

std::string fingerprint::to_string() const {
  constexpr std::string_view digits = "0123456789ABCDEF";
  std::string out(name(algorithm_));
  out.reserve(out.size() + 3 * size_);
  for (std::size_t i = 0; i < size_; ++i) {
    const auto b = std::to_integer<unsigned>(bytes_[i]);
    out += i == 0 ? ' ' : ':';
    out += digits[b >> 4];
    out += digits[b & 0xF];
  }
  return out;
}

bool operator==(const fingerprint& a, const fingerprint& b) noexcept {
  return a.algorithm_ == b.algorithm_ && a.size_ == b.size_ &&
         CRYPTO_memcmp(a.bytes_.data(), b.bytes_.data(), a.size_) == 0;
}

}  // namespace dtlspp
