// listener_bench: handshakes per second through io::server on 1 and 2 threads sharing one port
// (SO_REUSEPORT) and one context, measured in wall-clock time over loopback.
//
//   listener_bench [SECONDS] [CLIENT_THREADS] [CLIENTS_PER_THREAD]
//
// Client threads keep CLIENTS_PER_THREAD handshakes in flight each (a finished client closes and
// a new one starts, with a fresh source port). Clients and servers share the machine's cores:
// each line reports the servers' own CPU time too, so that handshakes per server CPU-second can
// be compared whatever the clients cost. `meson test --benchmark --suite io` runs it.
#include <dtlspp/dtlspp.hpp>
#include <dtlspp/io/client.hpp>
#include <dtlspp/io/loop.hpp>
#include <dtlspp/io/server.hpp>

#include <time.h>

#include <fmt/format.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <memory>
#include <thread>
#include <vector>

namespace {

using namespace std::chrono_literals;
using steady = std::chrono::steady_clock;

double thread_cpu_seconds() {
  timespec t{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
  return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_nsec) / 1e9;
}

struct result {
  double handshakes_per_second;
  double server_cpu_seconds;
  std::uint64_t handshakes, failures;
};

result measure(int server_threads, int client_threads, int per_thread, double seconds) {
  const dtlspp::context server_ctx, client_ctx;
  const auto client_pin = dtlspp::expect({client_ctx.identity().fingerprint()});
  const auto server_pin = dtlspp::expect({server_ctx.identity().fingerprint()});
  dtlspp::io::server_options options;
  options.bind.reuse_port = true;
  options.listener.max_handshakes = 100000;

  std::vector<std::unique_ptr<dtlspp::io::server>> servers;
  servers.push_back(
      std::make_unique<dtlspp::io::server>(server_ctx, "127.0.0.1", "0", client_pin, options));
  const auto address = servers.front()->local_endpoint();
  for (int i = 1; i < server_threads; ++i)
    servers.push_back(
        std::make_unique<dtlspp::io::server>(server_ctx, address, client_pin, options));
  std::atomic<double> server_cpu = 0;
  std::vector<std::thread> threads;
  for (auto& s : servers) {
    threads.emplace_back([&s, &server_cpu] {
      const double start = thread_cpu_seconds();
      s->run();
      server_cpu = server_cpu + (thread_cpu_seconds() - start);
    });
  }

  std::atomic<std::uint64_t> handshakes = 0, failures = 0;
  std::atomic<bool> counting = false, stop = false;
  std::vector<std::thread> clients;
  for (int t = 0; t < client_threads; ++t) {
    clients.emplace_back([&] {
      dtlspp::io::loop loop;
      std::vector<std::unique_ptr<dtlspp::io::client>> live;
      const auto start_one = [&] {
        auto c = std::make_unique<dtlspp::io::client>(client_ctx, address, server_pin);
        auto* raw = c.get();
        c->on_event([raw, &handshakes, &failures, &counting](const dtlspp::event& e) {
          if (std::holds_alternative<dtlspp::connected>(e)) {
            if (counting) ++handshakes;
            raw->close();
          } else if (const auto* closed = std::get_if<dtlspp::closed>(&e)) {
            if (closed->reason && counting) ++failures;
          }
        });
        loop.add(*c);
        live.push_back(std::move(c));
      };
      for (int i = 0; i < per_thread; ++i)
        start_one();
      while (!stop) {
        loop.run_once(steady::now() + 100ms);
        for (auto& c : live) {
          if (!c->done()) continue;
          loop.remove(*c);
          c.reset();
        }
        std::erase(live, nullptr);
        while (static_cast<int>(live.size()) < per_thread && !stop)
          start_one();
      }
      for (auto& c : live)
        loop.remove(*c);
    });
  }
  std::this_thread::sleep_for(500ms);  // warm up
  const auto begin = steady::now();
  counting = true;
  std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
  counting = false;
  const double elapsed = std::chrono::duration<double>(steady::now() - begin).count();
  const auto counted = handshakes.load();
  stop = true;
  for (auto& t : clients)
    t.join();
  for (auto& s : servers)
    s->stop();
  for (auto& t : threads)
    t.join();
  return {static_cast<double>(counted) / elapsed, server_cpu.load(), counted, failures.load()};
}

}  // namespace

int main(int argc, char** argv) {
  const double seconds = argc > 1 ? std::atof(argv[1]) : 5;
  const int client_threads = argc > 2 ? std::atoi(argv[2]) : 2;
  const int per_thread = argc > 3 ? std::atoi(argv[3]) : 8;
  fmt::print(
      "listener_bench: {} s per run, {} client threads x {} handshakes in flight, {} cores\n",
      seconds, client_threads, per_thread, std::thread::hardware_concurrency());
  double one = 0;
  for (const int n : {1, 2}) {
    const auto r = measure(n, client_threads, per_thread, seconds);
    if (n == 1) one = r.handshakes_per_second;
    fmt::print(
        "server threads {}: {:.0f} handshakes/s wall-clock ({} handshakes, {} failed); servers "
        "used {:.2f} CPU-s: {:.0f} handshakes per server CPU-second{}\n",
        n, r.handshakes_per_second, r.handshakes, r.failures, r.server_cpu_seconds,
        static_cast<double>(r.handshakes) / r.server_cpu_seconds,
        n == 2 ? fmt::format("; ratio to 1 thread {:.2f}", r.handshakes_per_second / one) : "");
  }
}
