// error_test: dtlspp::errc, its std::error_category and the one exception type.
#include <catch2/catch.hpp>

#include <set>
#include <stdexcept>
#include <string>
#include <system_error>
#include <type_traits>
#include <vector>

#include "dtlspp/error.hpp"

namespace {

// every_errc walks the enumeration: the values from 1 while name() knows them. The compiler
// checks (-Wswitch) that error.cpp gives every enumerator a message; names.cpp's table is
// checked against the header's first and last enumerators below.
std::vector<dtlspp::errc> every_errc() {
  std::vector<dtlspp::errc> out;
  for (int v = 1; dtlspp::name(static_cast<dtlspp::errc>(v)) != "unknown"; ++v)
    out.push_back(static_cast<dtlspp::errc>(v));
  return out;
}

const std::vector<dtlspp::errc> all_errc = every_errc();

}  // namespace

TEST_CASE("errc values are stable and start at 1, so that 0 is never an error", "[error]") {
  // The last enumerator closes the walk: nothing after it has a name, nothing is skipped.
  REQUIRE(all_errc.size() == 15);
  CHECK(all_errc.front() == dtlspp::errc::invalid_argument);
  CHECK(all_errc.back() == dtlspp::errc::idle_timeout);
  CHECK(dtlspp::name(static_cast<dtlspp::errc>(0)) == "unknown");
  CHECK(std::error_code(static_cast<int>(0), dtlspp::error_category()).message() ==
        "unknown dtlspp error");
  for (auto e : all_errc) {
    INFO("errc " << static_cast<int>(e));
    CHECK(dtlspp::parse_errc(dtlspp::name(e)) == e);
    CHECK(std::error_code(e).message() != "unknown dtlspp error");
  }
}

TEST_CASE("every errc converts implicitly to a std::error_code in the dtlspp category", "[error]") {
  STATIC_REQUIRE(std::is_error_code_enum_v<dtlspp::errc>);
  for (auto e : all_errc) {
    const int value = static_cast<int>(e);
    INFO("errc value " << value);
    std::error_code ec = e;  // implicit, through is_error_code_enum and ADL make_error_code
    CHECK(ec.value() == value);
    CHECK(std::string(ec.category().name()) == "dtlspp");
    CHECK(&ec.category() == &dtlspp::error_category());
    CHECK(static_cast<bool>(ec));
    CHECK(ec == dtlspp::make_error_code(e));
  }
}

TEST_CASE("error_category returns one object whose name is dtlspp", "[error]") {
  const std::error_category& a = dtlspp::error_category();
  const std::error_category& b = dtlspp::error_category();
  CHECK(&a == &b);
  CHECK(std::string(a.name()) == "dtlspp");
  CHECK(a != std::generic_category());
  CHECK(a != std::system_category());
}

TEST_CASE("every errc has a non-empty message distinct from all the others", "[error]") {
  std::set<std::string> seen;
  for (auto e : all_errc) {
    const std::string message = std::error_code(e).message();
    INFO("errc value " << static_cast<int>(e) << " message '" << message << "'");
    CHECK_FALSE(message.empty());
    CHECK(seen.insert(message).second);
  }
  CHECK(seen.size() == all_errc.size());
}

TEST_CASE("an error_code compares equal to its errc and unequal to the others", "[error]") {
  std::error_code ec = dtlspp::errc::closed;
  CHECK(ec == dtlspp::errc::closed);
  CHECK(dtlspp::errc::closed == ec);
  CHECK(ec != dtlspp::errc::not_connected);
  CHECK(ec != dtlspp::errc::invalid_argument);
  CHECK_FALSE(ec == dtlspp::errc::protocol_error);

  for (auto a : all_errc) {
    for (auto b : all_errc) {
      INFO("a = " << static_cast<int>(a) << ", b = " << static_cast<int>(b));
      CHECK((std::error_code(a) == b) == (a == b));
    }
  }
}

TEST_CASE("an errc never equals a std::errc or an empty error_code of the same value", "[error]") {
  // The category tells an errc apart from a code of another category with the same number.
  std::error_code generic = std::make_error_code(std::errc::invalid_argument);
  CHECK(generic != dtlspp::errc::invalid_argument);
  std::error_code same_value(static_cast<int>(dtlspp::errc::invalid_argument),
                             std::generic_category());
  CHECK(same_value != dtlspp::errc::invalid_argument);

  std::error_code none;
  CHECK_FALSE(static_cast<bool>(none));
  for (auto e : all_errc) {
    INFO("errc value " << static_cast<int>(e));
    CHECK(none != e);
  }
}

TEST_CASE("dtlspp::error is a std::system_error carrying its errc and text", "[error]") {
  STATIC_REQUIRE(std::is_base_of_v<std::system_error, dtlspp::error>);
  STATIC_REQUIRE(std::is_base_of_v<std::runtime_error, dtlspp::error>);

  const dtlspp::error err(dtlspp::errc::key_mismatch, "loading identity: key does not match");
  CHECK(err.code() == dtlspp::errc::key_mismatch);
  CHECK(err.code().value() == static_cast<int>(dtlspp::errc::key_mismatch));
  CHECK(&err.code().category() == &dtlspp::error_category());
  const std::string what = err.what();
  INFO("what() = '" << what << "'");
  CHECK(what.find("loading identity: key does not match") != std::string::npos);
}

TEST_CASE("dtlspp::error is catchable as std::system_error and as std::exception", "[error]") {
  bool caught_as_system_error = false;
  try {
    throw dtlspp::error(dtlspp::errc::malformed_input, "parsing PEM");
  } catch (const std::system_error& e) {
    caught_as_system_error = true;
    CHECK(e.code() == dtlspp::errc::malformed_input);
    CHECK(std::string(e.what()).find("parsing PEM") != std::string::npos);
  }
  CHECK(caught_as_system_error);

  bool caught_as_exception = false;
  try {
    throw dtlspp::error(dtlspp::errc::unsupported, "encrypted private key");
  } catch (const std::exception& e) {
    caught_as_exception = true;
    CHECK(std::string(e.what()).find("encrypted private key") != std::string::npos);
  }
  CHECK(caught_as_exception);
}

TEST_CASE("dtlspp::error keeps each errc it is given", "[error]") {
  for (auto e : all_errc) {
    INFO("errc value " << static_cast<int>(e));
    const dtlspp::error err(e, "context " + std::to_string(static_cast<int>(e)));
    CHECK(err.code() == e);
    CHECK(std::string(err.what()).find("context " + std::to_string(static_cast<int>(e))) !=
          std::string::npos);
  }
}

TEST_CASE("dtlspp::error with an empty text still has a non-empty what()", "[error]") {
  const dtlspp::error err(dtlspp::errc::crypto_failure, "");
  CHECK(err.code() == dtlspp::errc::crypto_failure);
  // std::system_error appends the code's message, which is never empty.
  CHECK_FALSE(std::string(err.what()).empty());
}
