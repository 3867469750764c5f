// test/support/virtual_time.hpp: one clock for the tests, for dtlspp and for OpenSSL alike.
//
// dtlspp takes the time from its caller (every handle_* call has a `now`), but OpenSSL 3.0 reads
// its DTLS retransmission clock itself, with gettimeofday() (ssl/d1_lib.c). A test binary that
// links virtual_time.cpp defines gettimeofday() itself, which interposes it for libssl: while
// virtual time is on, OpenSSL reads the same virtual clock as the test, so that a timer expires
// exactly when the test moves the clock past it, processing takes no time at all, and a run
// depends on its inputs and seed only, not on the speed or load of the machine. The library
// never does this; only test executables do.
//
// The unit suite runs on virtual time (test/main.cpp turns it on); a real_time scope switches
// both clocks back to the real ones, for tests of loops written exactly as applications write
// them. Not thread-safe to switch while other threads read the clock (the switch is atomic, the
// meaning is not): switch only on the test's own thread, with no session running elsewhere.
#pragma once

#include <chrono>

namespace dtlspp::test {

using steady = std::chrono::steady_clock;

// use_virtual_time turns virtual time on for the rest of the process, starting at a fixed
// point (the same in every run).
void use_virtual_time();

// time_is_virtual tells whether now() and OpenSSL read the virtual clock.
bool time_is_virtual() noexcept;

// now returns the test's time: the virtual clock when on, else steady_clock::now().
steady::time_point now() noexcept;

// advance_to moves time to t: the virtual clock jumps there (never backwards); with real time,
// the thread sleeps until t.
void advance_to(steady::time_point t);
void advance(steady::duration d);

// real_time is a scope in which the test and OpenSSL read the real clocks. Virtual time resumes
// afterwards where it left off.
class real_time {
 public:
  real_time() noexcept;
  ~real_time();
  real_time(const real_time&) = delete;
  real_time& operator=(const real_time&) = delete;

 private:
  bool was_virtual_;
};

}  // namespace dtlspp::test
