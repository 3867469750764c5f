// The Catch2 main of the unit suite, which runs on virtual time (virtual_time.hpp): dtlspp and
// OpenSSL read one clock that only the tests move. The threads test, whose sessions run on
// several threads at once, keeps the real clocks (DTLSPP_TEST_REAL_TIME).
#define CATCH_CONFIG_RUNNER
#include <catch2/catch.hpp>

#include "virtual_time.hpp"

int main(int argc, char* argv[]) {
#ifndef DTLSPP_TEST_REAL_TIME
  dtlspp::test::use_virtual_time();
#endif
  return Catch::Session().run(argc, argv);
}
