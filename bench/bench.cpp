// bench/bench.cpp: the shared pieces declared in bench.hpp.
#include "bench.hpp"

#include <fmt/format.h>
#include <malloc.h>
#include <openssl/err.h>
#include <time.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>

namespace bench {

double cpu_total = 0;
double wall_total = 0;
std::vector<target> targets;

[[noreturn]] void die(std::string_view what) {
  std::fprintf(stderr, "dtlspp_bench: %.*s\n", static_cast<int>(what.size()), what.data());
  ERR_print_errors_fp(stderr);
  std::exit(1);
}

bool options::wants(std::string_view section) const {
  if (only.empty()) return true;
  for (std::string_view rest = only;;) {
    const std::size_t comma = rest.find(',');
    if (rest.substr(0, comma) == section) return true;
    if (comma == std::string_view::npos) return false;
    rest.remove_prefix(comma + 1);
  }
}

// ---- time ----------------------------------------------------------------------------------

double thread_cpu_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}

double stopwatch::seconds() const {
  const double c = thread_cpu_seconds() - cpu;
  cpu_total += c;
  wall_total += std::chrono::duration<double>(clock::now() - wall).count();
  return c;
}

// ---- memory --------------------------------------------------------------------------------

double heap_in_use() {
  const struct mallinfo2 m = mallinfo2();
  return static_cast<double>(m.uordblks + m.hblkhd);
}

double live(const heap_counts& h) {
  return static_cast<double>(h.ours_live + h.openssl_live);
}

// ---- statistics and table cells --------------------------------------------------------------

double series::median() const {
  if (v.empty()) return 0;
  auto s = v;
  std::sort(s.begin(), s.end());
  const std::size_t n = s.size();
  return n % 2 == 1 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
}

double series::min() const {
  return v.empty() ? 0 : *std::min_element(v.begin(), v.end());
}

double series::max() const {
  return v.empty() ? 0 : *std::max_element(v.begin(), v.end());
}

series ratios(const series& a, const series& b) {
  series r;
  for (std::size_t i = 0; i < std::min(a.v.size(), b.v.size()); ++i)
    r.add(a.v[i] / b.v[i]);
  return r;
}

std::string num(double x, int precision) {
  return fmt::format("{:.{}f}", x, precision);
}

std::string cell(const series& s, int precision) {
  return fmt::format("{} [{}-{}]", num(s.median(), precision), num(s.min(), precision),
                     num(s.max(), precision));
}

std::string ratio_cell(const series& r) {
  return fmt::format("**{:.3f}x** [{:.3f}-{:.3f}]", r.median(), r.min(), r.max());
}

std::string percent_cell(const series& s) {
  return fmt::format("{:.1f}% [{:.1f}-{:.1f}%]", s.median(), s.min(), s.max());
}

std::string met(bool yes) {
  return yes ? "met" : "**MISSED**";
}

void rotated(int rounds, int k, const std::function<void(int round, int which)>& run,
             const std::function<void(int round)>& end_of_round) {
  for (int round = 0; round < rounds; ++round) {
    for (int i = 0; i < k; ++i)
      run(round, (round + i) % k);
    if (end_of_round) end_of_round(round);
  }
}

void interleave(int rounds, const std::function<void(int)>& a, const std::function<void(int)>& b) {
  rotated(rounds, 2, [&](int round, int which) { which == 0 ? a(round) : b(round); });
}

// ---- the fixture ---------------------------------------------------------------------------

dtlspp::context_options fixture::options(const dtlspp::identity& id, std::size_t mtu) {
  dtlspp::context_options o;
  o.identity = id;
  o.mtu_bytes = mtu;
  return o;
}

fixture::raw_handle fixture::raw_context(const dtlspp::identity& id, raw::policy p) {
  return std::make_unique<raw::context>(id.native_key(), id.certificate().native_handle(), p);
}

dtlspp_side fixture::dtlspp_at(std::size_t mtu) const {
  return mtu == 1500 ? dtlspp_side{client_ctx_1500, server_ctx_1500, client_id.fingerprint(),
                                   server_id.fingerprint()}
                     : dtlspp_side{client_ctx, server_ctx, client_id.fingerprint(),
                                   server_id.fingerprint()};
}

raw_side fixture::raw_at(std::size_t mtu) const {
  return mtu == 1500 ? raw_side{*raw_client_1500, *raw_server_1500, client_fp, server_fp}
                     : raw_side{*raw_client, *raw_server, client_fp, server_fp};
}

raw_side fixture::raw_defensive_at(std::size_t mtu) const {
  return mtu == 1500 ? raw_side{*raw_client_defensive_1500, *raw_server_defensive_1500, client_fp,
                                server_fp}
                     : raw_side{*raw_client_defensive, *raw_server_defensive, client_fp, server_fp};
}

raw_side fixture::raw_default_groups() const {
  return raw_side{*raw_client_default, *raw_server_default, client_fp, server_fp};
}

raw_side fixture::raw_default_sigalgs() const {
  return raw_side{*raw_client_default_sigalgs, *raw_server_default_sigalgs, client_fp, server_fp};
}

}  // namespace bench
