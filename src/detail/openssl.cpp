// src/detail/openssl.cpp: handle free functions, up_ref, error draining.
#include "detail/openssl.hpp"

#include <fmt/format.h>

#include <limits>

namespace dtlspp::detail {

void free_traits<x509_st>::free(x509_st* p) noexcept {
  X509_free(p);
}
void free_traits<evp_pkey_st>::free(evp_pkey_st* p) noexcept {
  EVP_PKEY_free(p);
}
void free_traits<ssl_ctx_st>::free(ssl_ctx_st* p) noexcept {
  SSL_CTX_free(p);
}

handle<X509> up_ref(X509* x) noexcept {
  return handle<X509>(x != nullptr && X509_up_ref(x) == 1 ? x : nullptr);
}
handle<EVP_PKEY> up_ref(EVP_PKEY* k) noexcept {
  return handle<EVP_PKEY>(k != nullptr && EVP_PKEY_up_ref(k) == 1 ? k : nullptr);
}
handle<SSL_CTX> up_ref(SSL_CTX* c) noexcept {
  return handle<SSL_CTX>(c != nullptr && SSL_CTX_up_ref(c) == 1 ? c : nullptr);
}

std::string drain_errors() {
  std::string out;
  const char* file = nullptr;
  const char* func = nullptr;
  const char* data = nullptr;
  int line = 0;
  int flags = 0;
  while (unsigned long e = ERR_get_error_all(&file, &line, &func, &data, &flags)) {
    char reason[256];
    ERR_error_string_n(e, reason, sizeof reason);
    if (!out.empty()) out += "; ";
    out += reason;
    if ((flags & ERR_TXT_STRING) != 0 && data != nullptr && *data != '\0') {
      out += " (";
      out += data;
      out += ')';
    }
  }
  return out;
}

void fail(errc e, std::string_view what) {
  std::string reasons = drain_errors();
  if (reasons.empty()) throw error(e, std::string(what));
  throw error(e, fmt::format("{}: {}", what, reasons));
}

handle<BIO> memory_bio(std::string_view text) {
  if (text.size() > static_cast<std::size_t>(std::numeric_limits<int>::max())) {
    fail(errc::invalid_argument, "input larger than 2 GiB");
  }
  return handle<BIO>(
      expect_ptr(BIO_new_mem_buf(text.data(), static_cast<int>(text.size())), "BIO_new_mem_buf"));
}

std::string bio_string(BIO* bio) {
  char* data = nullptr;
  const long n = BIO_get_mem_data(bio, &data);
  return n > 0 ? std::string(data, static_cast<std::size_t>(n)) : std::string();
}

}  // namespace dtlspp::detail
