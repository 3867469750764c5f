// src/detail/access.hpp: builds public value types from OpenSSL handles (their constructors are
// private so that users cannot make a certificate or identity that OpenSSL did not check).
#pragma once

#include "detail/openssl.hpp"
#include "dtlspp/certificate.hpp"
#include "dtlspp/identity.hpp"

namespace dtlspp::detail {

struct access {
  // make_certificate takes ownership of one reference to x509 (not null).
  static certificate make_certificate(handle<X509> x509) noexcept {
    return certificate(std::move(x509));
  }
  // make_identity takes ownership of key (not null) and pairs it with cert (checked by caller).
  static identity make_identity(handle<EVP_PKEY> key, certificate cert) noexcept {
    return identity(std::move(key), std::move(cert));
  }
};

}  // namespace dtlspp::detail
