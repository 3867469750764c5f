// bench/listener_rig.cpp: section 6's harness (listener_rig.hpp).
#include "listener_rig.hpp"

#include <fmt/format.h>
#include <sys/resource.h>

#include <algorithm>
#include <cstring>
#include <variant>

namespace bench {

peer_address address_of(std::uint64_t client, std::uint8_t tag) {
  peer_address a{};
  std::memcpy(a.data(), &client, sizeof client);
  a[8] = std::byte{tag};
  return a;
}

void addressed_wire::push(std::uint64_t from, std::span<const std::byte> datagram) {
  if (datagram.size() > slot_size || count_ == slots_.size()) {
    die(fmt::format("addressed_wire: datagram of {} bytes or {} queued", datagram.size(), count_));
  }
  slot& s = slots_[(head_ + count_) % slots_.size()];
  s.from = from;
  s.size = datagram.size();
  std::memcpy(s.bytes.data(), datagram.data(), datagram.size());
  ++count_;
  ++datagrams;
  bytes += datagram.size();
}

// ---- listener_rig --------------------------------------------------------------------------

void listener_rig::open(std::size_t max_sessions, bool cookies) {
  dtlspp::listener_options lo;
  lo.max_sessions = std::max(max_sessions, lo.max_sessions);
  lo.cookies = cookies;
  listener.emplace(side_.server_ctx, dtlspp::expect({side_.client_fp}), lo);
}

void listener_rig::handshake(int n) {
  for (int done = 0; done < n; done += listener_batch)
    batch(std::min(listener_batch, n - done));
}

// batch makes k fresh clients, runs their handshakes to the end, checks that both sides of each
// are connected, and destroys the clients.
void listener_rig::batch(int k) {
  base_ = next_;
  next_ += static_cast<std::uint64_t>(k);
  size_ = k;
  servers_connected_ = 0;
  for (int i = 0; i < k; ++i) {
    clients_[i].session.emplace(side_.client_ctx, dtlspp::role::client,
                                dtlspp::expect({side_.server_fp}));
    clients_[i].connected = false;
    drain_client(i);  // the ClientHello
  }
  feed_listener();
  if (servers_connected_ != k) die("listener: a server session did not connect");
  for (int i = 0; i < k; ++i) {
    if (!clients_[i].connected) die("listener: a client did not connect");
    clients_[i].session.reset();
  }
}

// feed_listener hands the listener every datagram on the clients' wire, with its sender's
// address, and drains the listener after each, until nothing is in flight.
void listener_rig::feed_listener() {
  while (!c2s_.empty()) {
    const peer_address peer = address_of(c2s_.from(), tag_);
    const auto t0 = clock::now();
    const std::error_code ec = listener->handle_datagram(peer, c2s_.front());
    listener_seconds += std::chrono::duration<double>(clock::now() - t0).count();
    if (ec) die(fmt::format("listener: handle_datagram: {}", ec.message()));
    c2s_.pop();
    drain_listener();
  }
}

// drain_listener takes the listener's events until it has none: transmits go to their client,
// connected events are counted. The time inside poll() counts as the listener's.
void listener_rig::drain_listener() {
  auto t0 = clock::now();
  while (auto e = listener->poll()) {
    listener_seconds += std::chrono::duration<double>(clock::now() - t0).count();
    if (const auto* t = std::get_if<dtlspp::transmit>(&e->event)) {
      to_client(e->peer, t->datagram);
    } else if (std::holds_alternative<dtlspp::connected>(e->event)) {
      ++servers_connected_;
    } else {
      die("listener: unexpected event (received or closed)");
    }
    t0 = clock::now();
  }
  listener_seconds += std::chrono::duration<double>(clock::now() - t0).count();
}

// to_client hands a datagram from the listener to the client of the batch whose address it
// carries, and drains that client.
void listener_rig::to_client(std::span<const std::byte> peer, std::span<const std::byte> datagram) {
  std::uint64_t to = 0;
  if (peer.size() != sizeof(peer_address)) die("listener: unknown peer");
  std::memcpy(&to, peer.data(), sizeof to);
  if (peer[8] != std::byte{tag_} || to < base_ || to >= base_ + size_) {
    die("listener: transmit to a peer outside the batch");
  }
  ++s2c_datagrams;
  s2c_bytes += datagram.size();
  const int i = static_cast<int>(to - base_);
  if (clients_[i].session->handle_datagram(datagram)) die("listener: client failed");
  drain_client(i);
}

// drain_client takes client i's events until it has none: its transmits go onto the clients'
// wire, its connected event is noted.
void listener_rig::drain_client(int i) {
  while (auto e = clients_[i].session->poll()) {
    if (const auto* t = std::get_if<dtlspp::transmit>(&*e)) {
      c2s_.push(base_ + static_cast<std::uint64_t>(i), t->datagram);
    } else if (std::holds_alternative<dtlspp::connected>(*e)) {
      clients_[i].connected = true;
    } else {
      die("listener: unexpected client event (received or closed)");
    }
  }
}

// ---- one thread's run ----------------------------------------------------------------------

thread_usage usage_now() {
  rusage ru{};
  getrusage(RUSAGE_THREAD, &ru);
  return {thread_cpu_seconds(),
          static_cast<double>(ru.ru_stime.tv_sec) + static_cast<double>(ru.ru_stime.tv_usec) / 1e6,
          static_cast<std::uint64_t>(ru.ru_minflt)};
}

thread_run run_clock::finish() {
  const thread_usage u1 = usage_now();
  r.end = clock::now();
  r.used = {u1.cpu - u0.cpu, u1.system - u0.system, u1.faults - u0.faults};
  return r;
}

}  // namespace bench
