// src/io/trace.cpp: the datagram describer, the wire module's.
#include "dtlspp/io/trace.hpp"

#include "detail/wire.hpp"

namespace dtlspp::io {

std::string describe(std::span<const std::byte> datagram) {
  return detail::wire::describe(datagram);
}

}  // namespace dtlspp::io
