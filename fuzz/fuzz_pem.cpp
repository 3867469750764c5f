// fuzz_pem: the PEM and DER loaders on arbitrary bytes. The first byte picks the loader; for
// identity::from_pem the rest is split in two at a point the second byte picks.
#include <dtlspp/certificate.hpp>
#include <dtlspp/error.hpp>
#include <dtlspp/identity.hpp>

#include <cstdint>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 2) return 0;
  const std::string_view text(reinterpret_cast<const char*>(data + 2), size - 2);
  try {
    switch (data[0] % 3) {
      case 0:
        static_cast<void>(dtlspp::certificate::from_pem(text).fingerprint());
        break;
      case 1:
        static_cast<void>(
            dtlspp::certificate::from_der(std::as_bytes(std::span(data + 2, size - 2))).pem());
        break;
      default: {
        const std::size_t cut = text.size() * data[1] / 256;
        static_cast<void>(dtlspp::identity::from_pem(text.substr(0, cut), text.substr(cut)));
        break;
      }
    }
  } catch (const dtlspp::error&) {
    // refused with a clear error: what bad input must get
  }
  return 0;
}
