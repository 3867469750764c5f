// test/support/pem.cpp: PEM blocks and malformed PEM for the parser tests.
#include "pem.hpp"

#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include <memory>
#include <random>
#include <stdexcept>

namespace dtlspp::test {

std::string pem_block(std::string_view label, std::string_view der) {
  std::string b64(4 * ((der.size() + 2) / 3) + 1, '\0');
  const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(b64.data()),
                                reinterpret_cast<const unsigned char*>(der.data()),
                                static_cast<int>(der.size()));
  b64.resize(static_cast<std::size_t>(n));
  std::string out = "-----BEGIN " + std::string(label) + "-----\n";
  for (std::size_t i = 0; i < b64.size(); i += 64)
    out += b64.substr(i, 64) + "\n";
  out += "-----END " + std::string(label) + "-----\n";
  return out;
}

std::string pem_block(std::string_view label, std::span<const std::byte> der) {
  return pem_block(label, std::string_view(reinterpret_cast<const char*>(der.data()), der.size()));
}

std::string pem_body(std::string_view pem) {
  const std::unique_ptr<BIO, decltype(&BIO_free)> bio(
      BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())), &BIO_free);
  char* name = nullptr;
  char* header = nullptr;
  unsigned char* data = nullptr;
  long length = 0;
  if (!bio || PEM_read_bio(bio.get(), &name, &header, &data, &length) != 1) {
    throw std::runtime_error("pem_body: no PEM block");
  }
  std::string out(reinterpret_cast<char*>(data), static_cast<std::size_t>(length));
  OPENSSL_free(name);
  OPENSSL_free(header);
  OPENSSL_free(data);
  return out;
}

namespace {

// garbage returns n bytes drawn from seed, every `nul_every`-th one a NUL.
std::string garbage(std::size_t n, std::uint32_t seed, std::size_t nul_every) {
  std::mt19937 rng(seed);
  std::string out(n, '\0');
  for (std::size_t i = 0; i < n; ++i) {
    if (i % nul_every != 0) out[i] = static_cast<char>(rng() & 0xff);
  }
  return out;
}

}  // namespace

std::vector<bad_text> malformed_pem(const std::string& pem, std::string_view label,
                                    std::uint32_t seed) {
  const std::string footer = "-----END " + std::string(label) + "-----";
  const std::string header = "-----BEGIN " + std::string(label) + "-----";
  const auto body_start = pem.find('\n') + 1;
  std::string corrupted = pem;
  for (std::size_t i = body_start + 10; i < body_start + 60 && i < corrupted.size(); i += 7)
    corrupted[i] = '!';
  return {
      {"empty string", ""},
      {"whitespace only", " \t\r\n \n\n   "},
      {"random binary bytes with NULs", garbage(2048, seed, 17)},
      {"DER bytes instead of PEM", pem_body(pem)},
      {"truncated in the middle of the base64", pem.substr(0, pem.size() / 2)},
      {"corrupted base64 characters", corrupted},
      {"header without footer", pem.substr(0, pem.find(footer))},
      {"footer only", footer + "\n"},
      {"empty block", header + "\n" + footer + "\n"},
      {"1 MiB of garbage", garbage(std::size_t{1} << 20, seed + 1, 1u << 30)},
  };
}

}  // namespace dtlspp::test
