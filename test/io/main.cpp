// The Catch2 main of the io suite, on the real clock and real sockets (127.0.0.1 and ::1).
#define CATCH_CONFIG_MAIN
#include <catch2/catch.hpp>
