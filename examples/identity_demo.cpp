// identity_demo: generate a fresh identity and print its certificate and fingerprint, the way a
// WebRTC peer would before putting the fingerprint in its SDP (a=fingerprint, RFC 8122).
#include <dtlspp/dtlspp.hpp>

#include <cstdio>
#include <exception>

int main() try {
  const auto id = dtlspp::identity::generate();
  const auto& cert = id.certificate();
  std::printf("%s", id.certificate_pem().c_str());
  std::printf("common name: %s\n", cert.common_name().c_str());
  for (auto a : {dtlspp::hash_algorithm::sha256, dtlspp::hash_algorithm::sha384,
                 dtlspp::hash_algorithm::sha512}) {
    std::printf("a=fingerprint:%s\n", id.fingerprint(a).to_string().c_str());
  }
  return 0;
} catch (const std::exception& e) {
  std::fprintf(stderr, "error: %s\n", e.what());
  return 1;
}
