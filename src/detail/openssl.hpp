// src/detail/openssl.hpp: OpenSSL handles and the two error conventions, for dtlspp's own use.
//
// Every OpenSSL object dtlspp creates is owned by a handle<T> from the line it is created on
// (invariant: owned handles). Where OpenSSL takes ownership (set0, SSL_set_bio) the call site
// writes .release() next to a comment naming the transfer.
#pragma once

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <span>
#include <string>
#include <string_view>

#include "dtlspp/detail/handle.hpp"
#include "dtlspp/error.hpp"

namespace dtlspp::detail {

// ---- handles ---------------------------------------------------------------------------------

#define DTLSPP_FREE_TRAITS(type, fn)              \
  template <>                                     \
  struct free_traits<type> {                      \
    static void free(type* p) noexcept { fn(p); } \
  }

DTLSPP_FREE_TRAITS(SSL, SSL_free);
DTLSPP_FREE_TRAITS(BIO, BIO_free_all);
DTLSPP_FREE_TRAITS(BIO_METHOD, BIO_meth_free);
DTLSPP_FREE_TRAITS(BIGNUM, BN_free);
DTLSPP_FREE_TRAITS(X509_NAME, X509_NAME_free);
DTLSPP_FREE_TRAITS(ASN1_INTEGER, ASN1_INTEGER_free);
DTLSPP_FREE_TRAITS(EVP_PKEY_CTX, EVP_PKEY_CTX_free);
DTLSPP_FREE_TRAITS(BIO_ADDR, BIO_ADDR_free);
DTLSPP_FREE_TRAITS(STACK_OF(SSL_CIPHER), sk_SSL_CIPHER_free);

#undef DTLSPP_FREE_TRAITS

// openssl_buffer owns memory OpenSSL allocated for us (OPENSSL_malloc), freed with OPENSSL_free.
struct openssl_free {
  void operator()(void* p) const noexcept { OPENSSL_free(p); }
};
template <class T>
using openssl_buffer = std::unique_ptr<T, openssl_free>;

// up_ref returns a new handle owning one more reference to a reference-counted object.
handle<X509> up_ref(X509* x) noexcept;
handle<EVP_PKEY> up_ref(EVP_PKEY* k) noexcept;
handle<SSL_CTX> up_ref(SSL_CTX* c) noexcept;

// ---- errors ----------------------------------------------------------------------------------

// drain_errors empties this thread's OpenSSL error queue and returns every entry, oldest first,
// joined by "; " (empty when the queue was empty).
std::string drain_errors();

// fail throws dtlspp::error(e) whose text is what, followed by OpenSSL's reasons if any. The
// queue is left empty.
[[noreturn]] void fail(errc e, std::string_view what);

// expect_one checks the common OpenSSL convention (1 = success); anything else throws
// errc::crypto_failure naming the call.
inline void expect_one(int rc, std::string_view call) {
  if (rc != 1) fail(errc::crypto_failure, call);
}

// expect_ptr checks a pointer return (null = failure) and hands back the pointer.
template <class T>
T* expect_ptr(T* p, std::string_view call) {
  if (p == nullptr) fail(errc::crypto_failure, call);
  return p;
}

// ---- bytes -----------------------------------------------------------------------------------

inline std::span<const unsigned char> as_uchars(std::span<const std::byte> b) noexcept {
  return {reinterpret_cast<const unsigned char*>(b.data()), b.size()};
}

// memory_bio returns a read-only BIO over text (borrowed: text must outlive the BIO).
handle<BIO> memory_bio(std::string_view text);

// bio_string returns everything written to a memory BIO.
std::string bio_string(BIO* bio);

}  // namespace dtlspp::detail
