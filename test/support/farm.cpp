// test/support/farm.cpp: the listener farm of the listener tests.
#include "farm.hpp"

#include <utility>

namespace dtlspp::test {

using namespace std::chrono_literals;

bytes address(std::uint32_t n) {
  bytes a(16);
  put_be(a, 0, n, 4);
  return a;
}

bytes first_client_hello(const context& ctx) {
  session s(ctx, role::client, dangerous_accept_any(), now());
  auto e = s.poll();
  const auto& t = std::get<transmit>(*e);
  return bytes(t.datagram.begin(), t.datagram.end());
}

farm::farm(listener_options o, context_options co, std::optional<verifier> v)
    : server_ctx_(server_context(key_type::ecdsa_p256, co)),
      client_ctx_(client_context(key_type::ecdsa_p256, co)),
      listener_(server_ctx_, v ? std::move(*v) : expect({client_ctx_.identity().fingerprint()}),
                o) {}

farm::client& farm::add_client(std::uint32_t n) {
  auto& c = clients_[address(n)];
  c = client{};
  c.s = std::make_unique<session>(client_ctx_, role::client,
                                  expect({server_ctx_.identity().fingerprint()}), now());
  drain_client(c);
  return c;
}

void farm::set_loss(double p, std::uint64_t seed) {
  loss_ = p;
  rng_.seed(seed);
}

bool farm::lost() {
  if (loss_ <= 0) return false;
  return static_cast<double>(rng_() >> 11) * 0x1.0p-53 < loss_;
}

std::error_code farm::to_listener(std::uint32_t n, std::span<const std::byte> d) {
  const auto ec = listener_.handle_datagram(address(n), d, now());
  drain_listener();
  return ec;
}

void farm::deliver_all() {
  for (bool moved = true; moved;) {
    moved = false;
    for (auto& [addr, c] : clients_) {
      for (auto& d : std::exchange(c.outbox, {})) {
        moved = true;
        if (lost()) continue;
        static_cast<void>(listener_.handle_datagram(addr, d, now()));
        drain_listener();
      }
    }
  }
}

void farm::pump(std::chrono::milliseconds limit) {
  const auto end = now() + limit;
  for (;;) {
    deliver_all();
    auto next = listener_.next_timeout();
    for (auto& [addr, c] : clients_) {
      const auto t = c.s->next_timeout();
      if (t && (!next || *t < *next)) next = t;
    }
    if (!next || *next > end) return;
    advance_to(*next);
    fire_timers();
  }
}

void farm::fire_timers() {
  const auto time = now();
  if (const auto t = listener_.next_timeout(); t && *t <= time) {
    listener_.handle_timeout(time);
    drain_listener();
  }
  for (auto& [addr, c] : clients_) {
    if (const auto t = c.s->next_timeout(); t && *t <= time) {
      static_cast<void>(c.s->handle_timeout(time));
      drain_client(c);
    }
  }
}

void farm::drain_listener() {
  while (auto e = listener_.poll()) {
    const bytes peer(e->peer.begin(), e->peer.end());
    if (const auto* t = std::get_if<transmit>(&e->event)) {
      ++datagrams_out_;
      largest_reply_ = std::max(largest_reply_, t->datagram.size());
      auto it = clients_.find(peer);
      if (it == clients_.end() || lost()) continue;
      static_cast<void>(it->second.s->handle_datagram(t->datagram, now()));
      drain_client(it->second);
    } else if (const auto* r = std::get_if<received>(&e->event)) {
      server_received_[peer].push_back(to_text(r->data));
    } else if (std::holds_alternative<connected>(e->event)) {
      ++server_connected_[peer];
    } else if (const auto* c = std::get_if<closed>(&e->event)) {
      server_closed_[peer].push_back(c->reason);
    }
  }
}

void farm::drain_client(client& c) {
  while (auto e = c.s->poll()) {
    if (const auto* t = std::get_if<transmit>(&*e)) {
      c.outbox.emplace_back(t->datagram.begin(), t->datagram.end());
      c.sent.push_back(c.outbox.back());
    } else if (const auto* r = std::get_if<received>(&*e)) {
      c.received.push_back(to_text(r->data));
    } else if (std::holds_alternative<connected>(*e)) {
      c.connected = true;
    }
  }
}

}  // namespace dtlspp::test
