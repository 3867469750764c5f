// public_api_test: the umbrella header alone must compile without any OpenSSL header reaching
// the user (invariant: no OpenSSL in public headers). The #error lines are the test; main() is a
// smoke check that the public API is usable with the public dependency alone.
#include <dtlspp/dtlspp.hpp>

#ifdef OPENSSL_VERSION_NUMBER
#error "an OpenSSL header leaked into <dtlspp/dtlspp.hpp>"
#endif
#ifdef HEADER_SSL_H
#error "<openssl/ssl.h> leaked into <dtlspp/dtlspp.hpp>"
#endif
#ifdef OPENSSL_SSL_H
#error "<openssl/ssl.h> leaked into <dtlspp/dtlspp.hpp>"
#endif
#ifdef OPENSSL_X509_H
#error "<openssl/x509.h> leaked into <dtlspp/dtlspp.hpp>"
#endif
#ifdef OPENSSL_CRYPTO_H
#error "<openssl/crypto.h> leaked into <dtlspp/dtlspp.hpp>"
#endif

#include <cstdio>

int main() {
  auto id = dtlspp::identity::generate();
  auto fp = id.fingerprint().to_string();
  std::printf("%s\n", fp.c_str());
  return fp.starts_with("sha-256 ") ? 0 : 1;
}
