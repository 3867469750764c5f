// loop_test: io::loop calls timers at their fixed time point, never before, without spinning;
// handlers may change the loop while it calls them.
#include <dtlspp/io/loop.hpp>

#include <unistd.h>

#include <catch2/catch.hpp>

#include <chrono>
#include <optional>
#include <thread>
#include <vector>

using namespace std::chrono_literals;
using steady = std::chrono::steady_clock;

namespace {

// timer is a driven with no descriptor and a fixed deadline, as a session's next_timeout() is.
struct timer final : dtlspp::io::driven {
  std::optional<dtlspp::time_point> due;
  std::vector<dtlspp::time_point> fired;  // the `now` of each on_timeout
  int polls = 0;                          // how often the loop asked for next_timeout()

  int fd() const noexcept override { return -1; }
  void on_readable(dtlspp::time_point) override {}
  std::optional<dtlspp::time_point> next_timeout() const noexcept override {
    ++const_cast<timer*>(this)->polls;
    return due;
  }
  void on_timeout(dtlspp::time_point now) override {
    fired.push_back(now);
    due.reset();
  }
};

// pipe_pair owns a pipe(2).
struct pipe_pair {
  int fds[2];
  pipe_pair() { REQUIRE(::pipe(fds) == 0); }
  ~pipe_pair() {
    ::close(fds[0]);
    ::close(fds[1]);
  }
};

}  // namespace

TEST_CASE(
    "a driven's timer fires once the clock reaches its fixed point, never before, and "
    "without spinning",
    "[io][loop][timer]") {
  dtlspp::io::loop l;
  timer t;
  const auto start = steady::now();
  t.due = start + 150ms;
  l.add(t);
  l.run_until([&] { return !t.fired.empty(); }, start + 2s);
  REQUIRE(t.fired.size() == 1);
  CHECK(t.fired.front() >= *(std::optional<dtlspp::time_point>(start + 150ms)));
  CHECK(steady::now() - start < 1s);  // promptly, too
  // One wait for the deadline, maybe one more for a wake-up a millisecond early: not a spin.
  CHECK(t.polls <= 4);
}

TEST_CASE("the loop takes the earliest of several timers and the `until` of run_until",
          "[io][loop][timer]") {
  dtlspp::io::loop l;
  timer late, early;
  const auto start = steady::now();
  late.due = start + 10s;
  early.due = start + 50ms;
  l.add(late);
  l.add(early);
  l.run_until([&] { return !early.fired.empty(); }, start + 2s);
  CHECK(early.fired.size() == 1);
  CHECK(late.fired.empty());
  const bool done = l.run_until([] { return false; }, steady::now() + 100ms);
  CHECK_FALSE(done);
  CHECK(late.fired.empty());
  CHECK(steady::now() - start < 2s);
}

TEST_CASE("a timer already due fires at the next run_once, with the time the loop woke at",
          "[io][loop][timer]") {
  dtlspp::io::loop l;
  timer t;
  t.due = steady::now() - 1s;
  l.add(t);
  const auto before = steady::now();
  l.run_once();
  REQUIRE(t.fired.size() == 1);
  CHECK(t.fired.front() >= before);
}

TEST_CASE(
    "watched descriptors are called when readable; unwatch and remove from inside a call "
    "take effect at once",
    "[io][loop]") {
  dtlspp::io::loop l;
  pipe_pair p;
  timer t;
  t.due = steady::now() + 20ms;
  l.add(t);
  int reads = 0;
  l.watch(p.fds[0], [&](dtlspp::time_point) {
    char c;
    REQUIRE(::read(p.fds[0], &c, 1) == 1);
    ++reads;
    l.unwatch(p.fds[0]);
    l.remove(t);  // its timer is due in this round too: it must not fire
  });
  REQUIRE(::write(p.fds[1], "xy", 2) == 2);
  std::this_thread::sleep_for(30ms);
  l.run_once();
  CHECK(reads == 1);
  CHECK(t.fired.empty());
  l.run_once(steady::now() + 50ms);  // the second byte waits: unwatched
  CHECK(reads == 1);
}

TEST_CASE("run returns when a handler calls stop, and when nothing is left to drive",
          "[io][loop]") {
  dtlspp::io::loop l;
  pipe_pair p;
  l.watch(p.fds[0], [&](dtlspp::time_point) { l.stop(); });
  REQUIRE(::write(p.fds[1], "x", 1) == 1);
  l.run();  // returns: stopped
  l.unwatch(p.fds[0]);
  l.run();  // returns: empty
  SUCCEED("both runs returned");
}
