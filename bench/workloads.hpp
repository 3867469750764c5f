// bench/workloads.hpp: the measured loops that the timed sections, --callgrind and --sites share:
// n handshakes from session construction to destruction, n records on an established pair, n
// identities. Templates on the side under test (dtlspp_side or raw_side, endpoints.hpp), so that
// both libraries run the same harness code.
#pragma once

#include <openssl/ssl.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "bench.hpp"
#include "endpoints.hpp"
#include "heap_count.hpp"
#include "raw_identity.hpp"
#include "wire.hpp"

namespace bench {

// ---- handshakes ----------------------------------------------------------------------------

// establish makes a client and a server end of `side` on c2s / s2c and completes their
// handshake, adding its flights to `flights`. A failed handshake ends the program.
template <class Side>
void establish(const Side& side, std::optional<typename Side::end>& client,
               std::optional<typename Side::end>& server, wire& c2s, wire& s2c,
               std::uint64_t& flights) {
  side.make(client, server, c2s, s2c);
  if (!complete_handshake(*client, *server, c2s, s2c, flights)) die("handshake failed");
}

// establish_all establishes one association per slot of clients and servers (vectors of the
// same size), one after the other over c2s and s2c, and calls idle(end) on both ends of each
// once it is connected, when idle is set.
template <class Side>
void establish_all(const Side& side, std::vector<std::optional<typename Side::end>>& clients,
                   std::vector<std::optional<typename Side::end>>& servers, wire& c2s, wire& s2c,
                   const std::function<void(typename Side::end&)>& idle = {}) {
  std::uint64_t flights = 0;
  for (std::size_t i = 0; i < clients.size(); ++i) {
    establish(side, clients[i], servers[i], c2s, s2c, flights);
    if (idle) {
      idle(*clients[i]);
      idle(*servers[i]);
    }
  }
}

struct handshake_run {
  double per_second = 0;
  double ours_allocs = 0, openssl_allocs = 0;  // per handshake (both ends, setup to teardown)
  double datagrams = 0, bytes = 0, flights = 0, over_mtu = 0;  // per handshake
  std::string cipher, group;
  std::string offered;  // the groups the client offers, in its order
  int sigalgs = 0;      // how many signature algorithms the client offers
};

// nid_name is OpenSSL's short name of a NID, or its number when it has none.
inline std::string nid_name(int nid) {
  return OBJ_nid2sn(nid) != nullptr ? OBJ_nid2sn(nid) : std::to_string(nid);
}

// describe_handshake makes one handshake over c2s / s2c and fills in what was negotiated: the
// cipher suite, the group agreed, the groups and the number of signature algorithms the client
// offered (as the server received them).
template <class Side>
void describe_handshake(const Side& side, wire& c2s, wire& s2c, handshake_run& out) {
  std::uint64_t flights = 0;
  std::optional<typename Side::end> client, server;
  establish(side, client, server, c2s, s2c, flights);
  SSL* ssl = Side::ssl(*client);
  out.cipher = SSL_get_cipher_name(ssl);
  out.group = nid_name(SSL_get_negotiated_group(ssl));
  SSL* peer = Side::ssl(*server);
  std::vector<int> groups(
      static_cast<std::size_t>(std::max<long>(SSL_get1_groups(peer, nullptr), 0)));
  SSL_get1_groups(peer, groups.data());
  for (const int g : groups) {
    if (!out.offered.empty()) out.offered += ":";
    out.offered += nid_name(g);
  }
  out.sigalgs = SSL_get_sigalgs(peer, -1, nullptr, nullptr, nullptr, nullptr, nullptr);
}

// run_handshakes makes n complete handshakes, each with a fresh client and server session
// (construction, handshake, destruction), over fresh wires, and returns their rate, heap
// allocations and wire figures. describe: one more handshake first, outside the count and the
// clock, to read what was negotiated.
template <class Side>
handshake_run run_handshakes(const Side& side, int n, bool describe = true) {
  wire c2s, s2c;
  handshake_run out;
  if (describe) describe_handshake(side, c2s, s2c, out);
  c2s.reset_counters();
  s2c.reset_counters();
  std::uint64_t flights = 0;
  const heap_counts h0 = heap();
  const stopwatch watch;
  for (int i = 0; i < n; ++i) {
    std::optional<typename Side::end> client, server;
    establish(side, client, server, c2s, s2c, flights);
  }
  const double elapsed = watch.seconds();
  const heap_counts h1 = heap();
  out.per_second = n / elapsed;
  out.ours_allocs = static_cast<double>(h1.ours_allocs - h0.ours_allocs) / n;
  out.openssl_allocs = static_cast<double>(h1.openssl_allocs - h0.openssl_allocs) / n;
  out.datagrams = static_cast<double>(c2s.datagrams + s2c.datagrams) / n;
  out.bytes = static_cast<double>(c2s.bytes + s2c.bytes) / n;
  out.flights = static_cast<double>(flights) / n;
  out.over_mtu = static_cast<double>(c2s.over_mtu + s2c.over_mtu) / n;
  return out;
}

// ---- records -------------------------------------------------------------------------------

// pair is an established association over its own wires, kept for the record loops.
template <class Side>
struct pair {
  wire c2s, s2c;
  std::optional<typename Side::end> client, server;
  explicit pair(const Side& side, std::size_t mtu) : c2s(mtu), s2c(mtu) {
    std::uint64_t flights = 0;
    establish(side, client, server, c2s, s2c, flights);
  }
};

struct record_run {
  double per_second = 0;
  std::uint64_t ours_allocs = 0;     // operator new calls during the run
  std::uint64_t openssl_allocs = 0;  // CRYPTO_malloc calls during the run
  std::int64_t growth = 0;           // live heap bytes gained over the run
};

// run_records sends n records of payload from client to server, one datagram each: send, the
// datagram crosses the wire, the server decrypts it and hands it out. A lost record ends the
// program.
template <class Side>
record_run run_records(pair<Side>& p, std::span<const std::byte> payload, int n) {
  const std::uint64_t before = p.server->records_received;
  const heap_counts h0 = heap();
  const stopwatch watch;
  for (int i = 0; i < n; ++i) {
    if (!p.client->send(payload)) die("send failed");
    deliver(p.c2s, *p.server);
  }
  const double elapsed = watch.seconds();
  const heap_counts h1 = heap();
  if (p.server->records_received - before != static_cast<std::uint64_t>(n)) die("records lost");
  return {n / elapsed, h1.ours_allocs - h0.ours_allocs, h1.openssl_allocs - h0.openssl_allocs,
          h1.ours_live - h0.ours_live + h1.openssl_live - h0.openssl_live};
}

// record_case is one record size at one MTU.
struct record_case {
  std::string label;
  std::size_t mtu;
  std::size_t size;  // 0: the largest that fits (session::max_send_size())
};

// ---- identities ----------------------------------------------------------------------------

// key_case is one key type of the identity comparisons, as both libraries name it.
struct key_case {
  const char* name;  // in the tables
  const char* tag;   // in callgrind's case names
  dtlspp::key_type d;
  raw::key_kind r;
  bool slow;  // RSA-2048: its prime search takes long and varies, so fewer keys are made
};

inline constexpr key_case key_cases[] = {
    {"ECDSA P-256", "p256", dtlspp::key_type::ecdsa_p256, raw::key_kind::p256, false},
    {"ECDSA P-384", "p384", dtlspp::key_type::ecdsa_p384, raw::key_kind::p384, false},
    {"Ed25519", "ed25519", dtlspp::key_type::ed25519, raw::key_kind::ed25519, false},
    {"RSA-2048", "rsa2048", dtlspp::key_type::rsa_2048, raw::key_kind::rsa2048, true},
};

// generate_dtlspp makes n identities of key type k with dtlspp::identity::generate.
inline void generate_dtlspp(const key_case& k, int n) {
  dtlspp::identity_options io;
  io.key = k.d;
  for (int i = 0; i < n; ++i)
    static_cast<void>(dtlspp::identity::generate(io));
}

// generate_raw makes n keys of type k and their certificates with raw OpenSSL calls, the public
// key put in with X509_set_pubkey on the generated key.
inline void generate_raw(const key_case& k, int n) {
  for (int i = 0; i < n; ++i)
    raw::build(k.r, raw::pubkey_path::set_pubkey).free();
}

}  // namespace bench
