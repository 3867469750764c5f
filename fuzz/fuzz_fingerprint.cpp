// fuzz_fingerprint: fingerprint::parse on arbitrary text; what parses must round-trip.
#include <dtlspp/fingerprint.hpp>

#include <cstdint>
#include <cstdlib>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  if (const auto fp = dtlspp::fingerprint::parse(text)) {
    const auto again = dtlspp::fingerprint::parse(fp->to_string());
    if (!again || !(*again == *fp)) std::abort();  // to_string must parse back to the same
  }
  return 0;
}
