// test/support/virtual_time.cpp: the virtual clock, and the gettimeofday() that lets OpenSSL read
// it.
#include "virtual_time.hpp"

#include <sys/time.h>

#include <atomic>
#include <cstdint>
#include <ctime>
#include <thread>

namespace dtlspp::test {
namespace {

// Virtual time starts at the same steady time point, and the same Unix time, in every run.
constexpr auto virtual_origin = steady::time_point(std::chrono::hours(1000));
constexpr std::int64_t unix_origin_seconds = 1'800'000'000;

std::atomic<bool> virtual_on{false};
std::atomic<std::int64_t> virtual_ns{0};  // since virtual_origin

steady::time_point virtual_now() noexcept {
  return virtual_origin + std::chrono::nanoseconds(virtual_ns.load());
}

}  // namespace

void use_virtual_time() {
  virtual_on = true;
}

bool time_is_virtual() noexcept {
  return virtual_on.load();
}

steady::time_point now() noexcept {
  return time_is_virtual() ? virtual_now() : steady::now();
}

void advance_to(steady::time_point t) {
  if (!time_is_virtual()) {
    std::this_thread::sleep_until(t);
    return;
  }
  const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(t - virtual_origin).count();
  std::int64_t current = virtual_ns.load();
  while (ns > current && !virtual_ns.compare_exchange_weak(current, ns)) {
  }
}

void advance(steady::duration d) {
  advance_to(now() + d);
}

real_time::real_time() noexcept : was_virtual_(virtual_on.exchange(false)) {}

real_time::~real_time() {
  virtual_on = was_virtual_;
}

}  // namespace dtlspp::test

// gettimeofday as libssl sees it: the virtual clock while virtual time is on (Unix time
// unix_origin_seconds at the virtual origin), else the real clock. glibc declares it with
// restrict pointers, a void* time zone and noexcept in C++.
extern "C" int gettimeofday(struct timeval* __restrict tv, void* __restrict) noexcept {
  using namespace dtlspp::test;
  if (!time_is_virtual()) {
    timespec ts{};
    clock_gettime(CLOCK_REALTIME, &ts);
    tv->tv_sec = ts.tv_sec;
    tv->tv_usec = ts.tv_nsec / 1000;
    return 0;
  }
  const std::int64_t us = virtual_ns.load() / 1000;
  tv->tv_sec = static_cast<time_t>(unix_origin_seconds + us / 1'000'000);
  tv->tv_usec = static_cast<suseconds_t>(us % 1'000'000);
  return 0;
}
