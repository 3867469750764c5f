// src/verifier.cpp: the verifier wrapper and the two named verifiers.
#include "dtlspp/verifier.hpp"

#include <fmt/format.h>

#include <algorithm>

#include "dtlspp/error.hpp"

namespace dtlspp {
namespace {

std::string join(const std::vector<fingerprint>& fps) {
  std::string out;
  for (const auto& fp : fps) {
    if (!out.empty()) out += " or ";
    out += fp.to_string();
  }
  return out;
}

}  // namespace

verifier::verifier(function f, std::vector<fingerprint> expected)
    : decide_(std::move(f)), expected_(std::move(expected)) {
  if (!decide_) throw error(errc::invalid_argument, "a session needs a verifier");
}

std::string verifier::rejection_message(const certificate& peer) const {
  if (expected_.empty()) {
    return fmt::format("peer certificate {} rejected by the application's verifier",
                       peer.fingerprint().to_string());
  }
  // Name the actual fingerprint in every algorithm the expected ones use, so that the two can
  // be compared by eye.
  std::vector<fingerprint> actual;
  for (const auto& fp : expected_) {
    auto mine = peer.fingerprint(fp.algorithm());
    if (std::ranges::find(actual, mine) == actual.end()) actual.push_back(std::move(mine));
  }
  return fmt::format("fingerprint mismatch: expected {}, got {}", join(expected_), join(actual));
}

verifier expect(std::vector<fingerprint> any_of) {
  if (any_of.empty()) {
    throw error(errc::invalid_argument, "expect() needs at least one fingerprint");
  }
  auto decide = [any_of](const certificate& peer) {
    const bool match = std::ranges::any_of(
        any_of, [&](const fingerprint& fp) { return peer.fingerprint(fp.algorithm()) == fp; });
    return match ? verdict::accept : verdict::reject;
  };
  return verifier(std::move(decide), std::move(any_of));
}

verifier dangerous_accept_any() {
  return verifier([](const certificate&) { return verdict::accept; });
}

}  // namespace dtlspp
