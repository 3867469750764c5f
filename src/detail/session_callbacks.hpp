// src/detail/session_callbacks.hpp: the C callbacks a context installs for its sessions.
#pragma once

#include <openssl/ssl.h>
#include <openssl/x509.h>

namespace dtlspp::detail {

// verify_trampoline is the SSL_CTX_set_cert_verify_callback of every context: it replaces X.509
// chain building (peers are self-signed, so preverify results mean nothing) with the verifier
// of the session that owns the SSL. noexcept: no exception crosses OpenSSL's frame.
int verify_trampoline(X509_STORE_CTX* store, void* unused) noexcept;

// generate_cookie_trampoline and verify_cookie_trampoline are the context's cookie callbacks,
// which DTLSv1_listen needs: a listener makes and checks cookies itself (statelessly); the
// session only confirms that its ClientHello's cookie was checked.
int generate_cookie_trampoline(SSL* ssl, unsigned char* cookie, unsigned int* size) noexcept;
int verify_cookie_trampoline(SSL* ssl, const unsigned char* cookie, unsigned int size) noexcept;

// keylog_trampoline is the SSL_CTX_set_keylog_callback of a context with a key_log sink: it
// keeps the line in the session, which hands it to the sink once OpenSSL has returned.
void keylog_trampoline(const SSL* ssl, const char* line) noexcept;

}  // namespace dtlspp::detail
