// dtlspp/io/trace.hpp: a one-line description of a DTLS datagram, for logs and `dtlscat -v`.
#pragma once

#include <cstddef>
#include <span>
#include <string>

namespace dtlspp::io {

// describe renders a datagram's records (RFC 6347 section 4.1) on one line, e.g.
// "155 B: handshake(e0 s0 client_hello 0+130/130)" or "42 B: application_data(e1 s1 29 B)".
// Encrypted handshake records show their size only. Bytes that are not a record end the line
// with "garbage(N B)". Never throws anything but std::bad_alloc.
std::string describe(std::span<const std::byte> datagram);

}  // namespace dtlspp::io
