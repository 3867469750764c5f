// bench/raw_dtls.hpp: the baseline, a minimal DTLS 1.2 endpoint written directly on OpenSSL 3.0.
//
// It does the same work as dtlspp with the least correct code a skilled user would write: one
// SSL_CTX per side with dtlspp's policy (src/context.cpp), an SSL per association, a datagram
// BIO of its own that writes every BIO_write as one datagram onto the wire and reads one datagram
// whole, and a certificate verify callback that compares the sha-256 fingerprint of the peer's
// certificate with the expected one (what dtlspp::expect() does). What it leaves out is what
// dtlspp adds on top: the sans-IO output queue, the record pre-filter, statistics, deadlines,
// error texts.
//
// Its record loop (loop::minimal, the baseline) is the cheapest correct one: one SSL_read per
// datagram, then SSL_has_pending() to drain records packed behind the first, and no error-queue
// work while calls succeed. It keeps the queue clean the cheap way: a failure empties it
// (ERR_clear_error after SSL_get_error), so the next call starts clean without checking.
// loop::defensive is the loop this baseline used before: ERR_clear_error() before every SSL
// call, and SSL_read until it returns WANT_READ (a second call per datagram). It is kept as a
// second row, to show what those habits cost on raw OpenSSL.
#pragma once

#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>

#include "wire.hpp"

namespace bench::raw {

using sha256 = std::array<unsigned char, 32>;

// sha256_fingerprint returns the sha-256 digest of the certificate's DER encoding.
sha256 sha256_fingerprint(X509* cert);

enum class groups {
  same_as_dtlspp,   // SSL_CTX_set1_groups_list("X25519:P-256:P-384"), as dtlspp's context
  openssl_default,  // no groups call: OpenSSL 3.0's default list
};

enum class sigalgs {
  same_as_dtlspp,   // SSL_CTX_set1_sigalgs_list with dtlspp's five (src/context.cpp)
  openssl_default,  // no sigalgs call: OpenSSL 3.0's default list (dtlspp's before)
};

enum class loop {
  minimal,    // one SSL_read per datagram + SSL_has_pending; the error queue touched on failure
  defensive,  // ERR_clear_error before every call; SSL_read until WANT_READ
};

struct policy {
  groups group_list = groups::same_as_dtlspp;
  std::size_t mtu = 1200;
  raw::loop loop = loop::minimal;
  raw::sigalgs signature_algorithms = sigalgs::same_as_dtlspp;
};

// context owns one SSL_CTX with dtlspp's policy around a key and certificate (borrowed).
class context {
 public:
  context(EVP_PKEY* key, X509* cert, policy p);
  ~context();
  context(const context&) = delete;
  context& operator=(const context&) = delete;

  SSL_CTX* native() const noexcept { return ctx_; }
  std::size_t mtu() const noexcept { return mtu_; }
  raw::loop loop() const noexcept { return loop_; }

 private:
  SSL_CTX* ctx_ = nullptr;
  std::size_t mtu_;
  raw::loop loop_;
};

// endpoint is one end of an association. Datagrams it writes go onto `out`; feed the peer's with
// handle_datagram. Not movable: OpenSSL holds a pointer to it.
class endpoint {
 public:
  endpoint(const context& ctx, bool client, const sha256& expected_peer, wire& out);
  ~endpoint();
  endpoint(const endpoint&) = delete;
  endpoint& operator=(const endpoint&) = delete;

  // handle_datagram feeds one datagram from the peer: the handshake until it is done, then
  // every record it holds (into a scratch buffer; received_bytes counts them).
  void handle_datagram(std::span<const std::byte> datagram);

  // send writes data as one record, one datagram; false if OpenSSL refused.
  bool send(std::span<const std::byte> data);

  // release_buffers frees OpenSSL's record buffers while idle (SSL_free_buffers), as dtlspp
  // does; send re-creates them first (SSL_alloc_buffers: OpenSSL 3.0's DTLS write path would
  // write through the freed buffer), a datagram by itself.
  void release_buffers();

  SSL* ssl() const noexcept { return ssl_; }

  bool connected = false;  // handshake done, peer verified, extended master secret in use
  bool failed = false;
  std::uint64_t records_received = 0;
  std::uint64_t bytes_received = 0;

  // For the BIO and the verify callback.
  std::span<const std::byte> input;
  wire* output;
  const sha256 expected;
  std::size_t mtu;

 private:
  void handshake();
  void read_records();
  void read_until_want_read();
  // failed_call classifies a call that returned rc <= 0: false for "would block" (WANT_READ,
  // WANT_WRITE), true for a failure, after which the error queue is emptied.
  bool failed_call(int rc);
  SSL* ssl_ = nullptr;
  raw::loop loop_;
  bool released_ = false;
};

}  // namespace bench::raw
