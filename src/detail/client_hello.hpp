// src/detail/client_hello.hpp: reading a ClientHello, and writing a HelloVerifyRequest, without
// OpenSSL: what a listener needs to answer unknown peers statelessly (RFC 6347 section 4.2.1).
#pragma once

#include <cstddef>
#include <optional>
#include <span>
#include <vector>

namespace dtlspp::detail {

// client_hello views the fields of a ClientHello inside a datagram (borrowed from it).
struct client_hello {
  std::span<const std::byte> record_sequence;   // 6 bytes: the HelloVerifyRequest reuses it
  std::span<const std::byte> message_sequence;  // 2 bytes: 0 for a first ClientHello
  std::span<const std::byte> parameters;        // client_version, random and session_id (RFC 6347
                                                // section 4.2.1 hashes these into the cookie)
  std::span<const std::byte> cookie;
  std::span<const std::byte> cipher_suites_and_compression;  // also in the cookie
};

// parse_client_hello reads the first record of datagram as a plaintext (epoch 0), unfragmented
// ClientHello (RFC 5246 section 7.4.1.2 with the DTLS cookie, RFC 6347 section 4.2.1); empty
// for anything else. Reads only datagram; never throws.
std::optional<client_hello> parse_client_hello(std::span<const std::byte> datagram) noexcept;

// hello_verify_request writes the HelloVerifyRequest answering hello with cookie: version
// DTLS 1.0 in the record and the message as RFC 6347 section 4.2.1 asks, the ClientHello's
// record sequence number, message_seq 0.
std::vector<std::byte> hello_verify_request(const client_hello& hello,
                                            std::span<const std::byte> cookie);

}  // namespace dtlspp::detail
