// bench/raw_dtls.cpp: the raw OpenSSL baseline (see raw_dtls.hpp).
#include "raw_dtls.hpp"

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace bench::raw {
namespace {

// The same policy strings as src/context.cpp.
constexpr const char* cipher_list =
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
    "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
    "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305";
constexpr const char* group_list = "X25519:P-256:P-384";
constexpr const char* sigalg_list =
    "ecdsa_secp256r1_sha256:ecdsa_secp384r1_sha384:ed25519:rsa_pss_rsae_sha256:rsa_pkcs1_sha256";

// One scratch buffer for every endpoint's plaintext: a minimal application reads into its own
// buffer, not one per association.
unsigned char scratch[16384];

void die(const char* what) {
  std::fprintf(stderr, "raw OpenSSL baseline: %s failed\n", what);
  ERR_print_errors_fp(stderr);
  std::abort();
}

endpoint& endpoint_of(const SSL* ssl) {
  return *static_cast<endpoint*>(SSL_get_app_data(ssl));
}

// ---- the datagram BIO: one BIO_write is one datagram; a read returns one datagram whole ------

int bio_write(BIO* bio, const char* data, int size) {
  BIO_clear_retry_flags(bio);
  auto* e = static_cast<endpoint*>(BIO_get_data(bio));
  e->output->push(std::as_bytes(std::span(data, static_cast<std::size_t>(size))));
  return size;
}

int bio_read(BIO* bio, char* out, int size) {
  BIO_clear_retry_flags(bio);
  auto* e = static_cast<endpoint*>(BIO_get_data(bio));
  if (e->input.empty()) {
    BIO_set_retry_read(bio);
    return -1;
  }
  const std::size_t n = std::min(e->input.size(), static_cast<std::size_t>(size));
  std::memcpy(out, e->input.data(), n);
  e->input = {};
  return static_cast<int>(n);
}

long bio_ctrl(BIO*, int cmd, long, void*) {
  return cmd == BIO_CTRL_FLUSH ? 1 : 0;
}

BIO_METHOD* datagram_method() {
  static BIO_METHOD* m = [] {
    BIO_METHOD* m = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "raw datagram");
    BIO_meth_set_write(m, bio_write);
    BIO_meth_set_read(m, bio_read);
    BIO_meth_set_ctrl(m, bio_ctrl);
    return m;
  }();
  return m;
}

// ---- verification: the sha-256 fingerprint of the peer's certificate must match --------------

int verify(X509_STORE_CTX* store, void*) {
  const auto* ssl = static_cast<const SSL*>(
      X509_STORE_CTX_get_ex_data(store, SSL_get_ex_data_X509_STORE_CTX_idx()));
  X509* leaf = X509_STORE_CTX_get0_cert(store);
  if (ssl == nullptr || leaf == nullptr) return 0;
  const sha256 actual = sha256_fingerprint(leaf);
  if (CRYPTO_memcmp(actual.data(), endpoint_of(ssl).expected.data(), actual.size()) != 0) {
    X509_STORE_CTX_set_error(store, X509_V_ERR_CERT_REJECTED);
    return 0;
  }
  return 1;
}

}  // namespace

sha256 sha256_fingerprint(X509* cert) {
  sha256 digest{};
  unsigned int size = 0;
  if (X509_digest(cert, EVP_sha256(), digest.data(), &size) != 1) die("X509_digest");
  return digest;
}

context::context(EVP_PKEY* key, X509* cert, policy p) : mtu_(p.mtu), loop_(p.loop) {
  ctx_ = SSL_CTX_new(DTLS_method());
  if (ctx_ == nullptr) die("SSL_CTX_new");
  if (SSL_CTX_set_min_proto_version(ctx_, DTLS1_2_VERSION) != 1 ||
      SSL_CTX_set_max_proto_version(ctx_, DTLS1_2_VERSION) != 1 ||
      SSL_CTX_set_cipher_list(ctx_, cipher_list) != 1) {
    die("policy");
  }
  if (p.signature_algorithms == sigalgs::same_as_dtlspp &&
      SSL_CTX_set1_sigalgs_list(ctx_, sigalg_list) != 1) {
    die("SSL_CTX_set1_sigalgs_list");
  }
  if (p.group_list == groups::same_as_dtlspp && SSL_CTX_set1_groups_list(ctx_, group_list) != 1) {
    die("SSL_CTX_set1_groups_list");
  }
  SSL_CTX_set_options(ctx_, SSL_OP_NO_TICKET | SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION |
                                SSL_OP_NO_QUERY_MTU | SSL_OP_CIPHER_SERVER_PREFERENCE);
  SSL_CTX_set_session_cache_mode(ctx_, SSL_SESS_CACHE_OFF);
  if (SSL_CTX_use_certificate(ctx_, cert) != 1 || SSL_CTX_use_PrivateKey(ctx_, key) != 1 ||
      SSL_CTX_check_private_key(ctx_) != 1) {
    die("certificate and key");
  }
  SSL_CTX_set_verify(ctx_, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, nullptr);
  SSL_CTX_set_cert_verify_callback(ctx_, verify, nullptr);
}

context::~context() {
  SSL_CTX_free(ctx_);
}

endpoint::endpoint(const context& ctx, bool client, const sha256& expected_peer, wire& out)
    : output(&out), expected(expected_peer), mtu(ctx.mtu()), loop_(ctx.loop()) {
  ssl_ = SSL_new(ctx.native());
  if (ssl_ == nullptr) die("SSL_new");
  SSL_set_app_data(ssl_, this);
  BIO* bio = BIO_new(datagram_method());
  if (bio == nullptr) die("BIO_new");
  BIO_set_data(bio, this);
  BIO_set_init(bio, 1);
  SSL_set_bio(ssl_, bio, bio);
  if (SSL_set_mtu(ssl_, static_cast<long>(mtu)) <= 0) die("SSL_set_mtu");
  if (client) {
    SSL_set_connect_state(ssl_);
    handle_datagram({});  // writes the ClientHello
  } else {
    SSL_set_accept_state(ssl_);
  }
}

endpoint::~endpoint() {
  SSL_free(ssl_);
}

void endpoint::handle_datagram(std::span<const std::byte> datagram) {
  if (failed) return;
  input = datagram;
  if (loop_ == loop::defensive) ERR_clear_error();
  if (!connected) handshake();
  if (connected) {
    if (loop_ == loop::minimal) {
      read_records();
    } else {
      read_until_want_read();
    }
  }
  input = {};
}

void endpoint::handshake() {
  const int rc = SSL_do_handshake(ssl_);
  if (rc != 1) {
    if (failed_call(rc)) failed = true;
    return;
  }
  // As dtlspp: refuse a handshake without the extended master secret (RFC 7627).
  if (SSL_get_extms_support(ssl_) != 1) {
    failed = true;
    return;
  }
  connected = true;
}

// read_records: one SSL_read per datagram; SSL_has_pending() says whether the datagram holds
// more records behind the first (its unread bytes stay in OpenSSL's read buffer), so no second
// SSL_read is spent to learn that the datagram is used up.
void endpoint::read_records() {
  do {
    const int n = SSL_read(ssl_, scratch, sizeof scratch);
    if (n <= 0) {
      if (failed_call(n)) failed = true;
      return;
    }
    ++records_received;
    bytes_received += static_cast<std::size_t>(n);
  } while (SSL_has_pending(ssl_) == 1);
}

// read_until_want_read: the defensive loop, which reads until OpenSSL says it needs more input.
void endpoint::read_until_want_read() {
  for (;;) {
    const int n = SSL_read(ssl_, scratch, sizeof scratch);
    if (n > 0) {
      ++records_received;
      bytes_received += static_cast<std::size_t>(n);
      continue;
    }
    if (failed_call(n)) failed = true;
    return;
  }
}

bool endpoint::failed_call(int rc) {
  const int e = SSL_get_error(ssl_, rc);
  if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) return false;
  // The failure's entries are read (here: dropped); the queue is left empty for the next call.
  ERR_clear_error();
  return true;
}

void endpoint::release_buffers() {
  released_ = SSL_free_buffers(ssl_) == 1;
}

bool endpoint::send(std::span<const std::byte> data) {
  if (released_) {
    if (SSL_alloc_buffers(ssl_) != 1) return false;
    released_ = false;
  }
  if (loop_ == loop::defensive) ERR_clear_error();
  const int n = SSL_write(ssl_, data.data(), static_cast<int>(data.size()));
  if (n == static_cast<int>(data.size())) return true;
  if (n <= 0) static_cast<void>(failed_call(n));
  return false;
}

}  // namespace bench::raw
