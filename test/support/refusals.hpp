// test/support/refusals.hpp: the check shared by the tables of bad inputs in the unit tests.
// Header-only, and the one support header that uses Catch2: include it from test files only.
#pragma once

#include <catch2/catch.hpp>

#include "harness.hpp"

namespace dtlspp::test {

// check_refused checks that attempt(input), for each input of a table whose entries say `why`
// they are bad, throws dtlspp::error with `code` and a message that is not empty.
template <class Inputs, class F>
void check_refused(const Inputs& inputs, dtlspp::errc code, F attempt) {
  for (const auto& input : inputs) {
    INFO(input.why);
    const auto t = catch_error([&] { attempt(input); });
    CHECK(t.threw);
    CHECK(t.code == code);
    INFO("what() = " << t.what);
    CHECK_FALSE(t.what.empty());
  }
}

}  // namespace dtlspp::test
