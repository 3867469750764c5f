// fuzz_listener: a listener driven by a little program the fuzzer writes: datagrams from 16
// source addresses, four real clients that handshake through it (and restart), replays of
// what they sent, verdicts and closes through with_session, and a virtual clock that jumps.
// Time is virtual for OpenSSL too (test/support/virtual_time.cpp interposes gettimeofday), so an
// input replays the same way every time.
//
// Input: one options byte (bit 0: cookies, bit 1: the verifier defers), then operations, each
// an opcode byte followed by its operands; see run().
#include <dtlspp/listener.hpp>

#include <array>
#include <deque>
#include <map>
#include <memory>
#include <vector>

#include "fuzz_common.hpp"
#include "virtual_time.hpp"

namespace {

using namespace std::chrono_literals;
namespace vt = dtlspp::test;

constexpr std::size_t peers = 16;
constexpr std::size_t real_clients = 4;  // at addresses 0..3

std::array<std::byte, 4> address(std::size_t n) {
  return {std::byte{0x7F}, std::byte{0}, std::byte{0}, static_cast<std::byte>(n % peers)};
}

// world is one run: the listener, the real clients and what they sent.
class world {
 public:
  explicit world(std::uint8_t options)
      : listener_(fuzz::contexts::get().server, verifier(options & 2),
                  {.cookies = (options & 1) != 0}) {}

  void from_peer(std::size_t peer, std::span<const std::byte> d) {
    static_cast<void>(listener_.handle_datagram(address(peer), d, vt::now()));
    drain();
  }

  void time(std::uint8_t step) {
    vt::advance(step == 255 ? std::chrono::milliseconds(61s) : step * 7ms);
    listener_.handle_timeout(vt::now());
    drain();
    for (auto& [n, c] : clients_) {
      if (auto t = c.s->next_timeout(); t && *t <= vt::now()) {
        static_cast<void>(c.s->handle_timeout(vt::now()));
        pull(c);
      }
    }
  }

  // client_step delivers what real client n has sent (making it on first use).
  void client_step(std::size_t n) {
    auto& c = client_at(n);
    for (auto& d : std::exchange(c.outbox, {}))
      from_peer(n, d);
  }

  void restart(std::size_t n) {
    clients_.erase(n % real_clients);
    client_at(n);
  }

  void replay(std::size_t peer, std::size_t which) {
    if (history_.empty()) return;
    const auto d = history_[which % history_.size()];
    from_peer(peer, d);
  }

  void act(std::size_t peer, std::uint8_t what) {
    listener_.with_session(address(peer), [&](dtlspp::session& s) {
      switch (what % 4) {
        case 0:
          s.verify_peer(dtlspp::verdict::accept, vt::now());
          break;
        case 1:
          s.verify_peer(dtlspp::verdict::reject, vt::now());
          break;
        case 2:
          s.close();
          break;
        default:
          static_cast<void>(s.send(std::as_bytes(std::span("ping", 4))));
      }
    });
    drain();
  }

 private:
  struct real_client {
    std::unique_ptr<dtlspp::session> s;
    std::vector<fuzz::bytes> outbox;
  };

  static dtlspp::verifier verifier(bool defer) {
    if (!defer) return dtlspp::dangerous_accept_any();
    return [](const dtlspp::certificate&) { return dtlspp::verdict::defer; };
  }

  real_client& client_at(std::size_t n) {
    auto [it, made] = clients_.try_emplace(n % real_clients);
    if (made) {
      it->second.s =
          std::make_unique<dtlspp::session>(fuzz::contexts::get().client, dtlspp::role::client,
                                            dtlspp::dangerous_accept_any(), vt::now());
      pull(it->second);
    }
    return it->second;
  }

  void pull(real_client& c) {
    while (auto e = c.s->poll()) {
      if (const auto* t = std::get_if<dtlspp::transmit>(&*e)) {
        c.outbox.emplace_back(t->datagram.begin(), t->datagram.end());
        if (history_.size() < 64) history_.push_back(c.outbox.back());
      }
    }
  }

  // drain hands the listener's datagrams to the real client at that address, if any.
  void drain() {
    while (auto e = listener_.poll()) {
      const auto* t = std::get_if<dtlspp::transmit>(&e->event);
      if (t == nullptr || e->peer.size() != 4) continue;
      const auto n = std::to_integer<std::size_t>(e->peer[3]);
      auto it = clients_.find(n);
      if (it == clients_.end()) continue;
      static_cast<void>(it->second.s->handle_datagram(t->datagram, vt::now()));
      pull(it->second);
    }
  }

  dtlspp::listener listener_;
  std::map<std::size_t, real_client> clients_;
  std::vector<fuzz::bytes> history_;
};

// run interprets the operations: 0 peer datagram (a datagram from a peer), 1 step (time
// passes), 2 n (real client n's datagrams go out), 3 n (real client n restarts), 4 peer which
// (a replay of one of the real clients' datagrams), 5 peer what (with_session: accept, reject,
// close or send). Other opcodes are datagrams from peer 0.
void run(fuzz::reader& in, world& w) {
  while (auto op = in.byte()) {
    const auto arg = std::to_integer<std::size_t>(in.byte().value_or(std::byte{0}));
    switch (std::to_integer<unsigned>(*op) % 8) {
      case 0:
        if (auto d = in.next()) w.from_peer(arg, *d);
        break;
      case 1:
        w.time(static_cast<std::uint8_t>(arg));
        break;
      case 2:
        w.client_step(arg);
        break;
      case 3:
        w.restart(arg);
        break;
      case 4:
        w.replay(arg, std::to_integer<std::size_t>(in.byte().value_or(std::byte{0})));
        break;
      case 5:
        w.act(arg, static_cast<std::uint8_t>(
                       std::to_integer<unsigned>(in.byte().value_or(std::byte{0}))));
        break;
      default:
        if (auto d = in.next()) w.from_peer(0, *d);
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  vt::use_virtual_time();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  fuzz::reader in({data, size});
  const auto options = in.byte();
  if (!options) return 0;
  world w(std::to_integer<std::uint8_t>(*options));
  run(in, w);
  return 0;
}
