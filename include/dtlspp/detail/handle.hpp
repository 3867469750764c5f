// dtlspp/detail/handle.hpp: the owning handle for OpenSSL objects, without OpenSSL headers.
//
// handle<T> is a std::unique_ptr whose deleter calls free_traits<T>::free, BoringSSL's
// bssl::UniquePtr pattern: pointer-sized, usable with a forward-declared T. The types that a
// public class holds are forward-declared here by their OpenSSL struct tags and their free
// functions are declared (defined in src/detail/openssl.cpp); src/detail/openssl.hpp adds the
// rest. Not part of the API: the layout of these handles may change at any time.
#pragma once

#include <memory>

struct x509_st;
struct evp_pkey_st;
struct ssl_ctx_st;

namespace dtlspp::detail {

template <class T>
struct free_traits;  // specialised once per OpenSSL type

struct access;  // src/detail/access.hpp: builds public types from handles

struct deleter {
  template <class T>
  void operator()(T* p) const noexcept {
    free_traits<T>::free(p);
  }
};

template <class T>
using handle = std::unique_ptr<T, deleter>;

template <>
struct free_traits<x509_st> {
  static void free(x509_st* p) noexcept;
};
template <>
struct free_traits<evp_pkey_st> {
  static void free(evp_pkey_st* p) noexcept;
};
template <>
struct free_traits<ssl_ctx_st> {
  static void free(ssl_ctx_st* p) noexcept;
};

}  // namespace dtlspp::detail
