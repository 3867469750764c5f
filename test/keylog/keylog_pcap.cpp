// keylog_pcap: records a real dtlspp session as a pcap file and its NSS key log, for Wireshark.
//
//   keylog_pcap OUT_DIR CLIENT_TEXT SERVER_TEXT
//
// A client and a server run in memory (no sockets). Every datagram either emits is written to
// OUT_DIR/session.pcap wrapped in synthetic IPv4 and UDP headers (LINKTYPE_RAW: the packet starts
// at its IPv4 header), client 10.0.0.1:50000, server 10.0.0.2:4433. Once connected the client
// sends CLIENT_TEXT and the server answers SERVER_TEXT, each as one record; then the client
// closes. The key log lines context_options::key_log received go to OUT_DIR/keys.txt (the
// SSLKEYLOGFILE format). keylog.sh checks that tshark decrypts the records with that file, and
// only with it.
#include <dtlspp/dtlspp.hpp>

#include <array>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <memory>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace {

constexpr std::uint16_t client_port = 50000;
constexpr std::uint16_t server_port = 4433;
constexpr std::array<std::uint8_t, 4> client_ip = {10, 0, 0, 1};
constexpr std::array<std::uint8_t, 4> server_ip = {10, 0, 0, 2};

// pcap_writer writes the classic libpcap format (not pcapng): a 24-byte file header, then per
// packet a 16-byte record header and the packet. Little-endian, microsecond timestamps.
class pcap_writer {
 public:
  explicit pcap_writer(const std::string& path) : out_(path, std::ios::binary) {
    put32(0xa1b2c3d4);  // magic: microsecond resolution, in this file's byte order
    put16(2);           // version 2.4
    put16(4);
    put32(0);      // thiszone
    put32(0);      // sigfigs
    put32(65535);  // snaplen
    put32(101);    // LINKTYPE_RAW: raw IPv4/IPv6, no link-layer header
  }

  // udp writes one datagram from `from` to `to` as an IPv4/UDP packet at time `usec`.
  void udp(std::uint64_t usec, std::array<std::uint8_t, 4> src, std::uint16_t sport,
           std::array<std::uint8_t, 4> dst, std::uint16_t dport,
           std::span<const std::byte> payload) {
    std::vector<std::uint8_t> p;
    const auto total = static_cast<std::uint16_t>(20 + 8 + payload.size());
    auto be16 = [&p](std::uint16_t v) {
      p.push_back(static_cast<std::uint8_t>(v >> 8));
      p.push_back(static_cast<std::uint8_t>(v));
    };
    // IPv4 header (RFC 791), no options.
    p.push_back(0x45);  // version 4, IHL 5 words
    p.push_back(0);     // DSCP/ECN
    be16(total);
    be16(static_cast<std::uint16_t>(++ip_id_));
    be16(0x4000);     // don't fragment
    p.push_back(64);  // TTL
    p.push_back(17);  // UDP
    be16(0);          // header checksum, filled in below
    p.insert(p.end(), src.begin(), src.end());
    p.insert(p.end(), dst.begin(), dst.end());
    std::uint32_t sum = 0;
    for (std::size_t i = 0; i < 20; i += 2)
      sum += (p[i] << 8) | p[i + 1];
    while (sum >> 16)
      sum = (sum & 0xffff) + (sum >> 16);
    const auto checksum = static_cast<std::uint16_t>(~sum);
    p[10] = static_cast<std::uint8_t>(checksum >> 8);
    p[11] = static_cast<std::uint8_t>(checksum);
    // UDP header (RFC 768); checksum 0 means "none" over IPv4.
    be16(sport);
    be16(dport);
    be16(static_cast<std::uint16_t>(8 + payload.size()));
    be16(0);
    for (const auto b : payload)
      p.push_back(std::to_integer<std::uint8_t>(b));

    put32(static_cast<std::uint32_t>(usec / 1000000));
    put32(static_cast<std::uint32_t>(usec % 1000000));
    put32(static_cast<std::uint32_t>(p.size()));  // captured length
    put32(static_cast<std::uint32_t>(p.size()));  // original length
    out_.write(reinterpret_cast<const char*>(p.data()), static_cast<std::streamsize>(p.size()));
  }

  bool ok() const { return static_cast<bool>(out_); }

 private:
  void put16(std::uint16_t v) {
    const std::array<char, 2> b = {static_cast<char>(v), static_cast<char>(v >> 8)};
    out_.write(b.data(), b.size());
  }
  void put32(std::uint32_t v) {
    put16(static_cast<std::uint16_t>(v));
    put16(static_cast<std::uint16_t>(v >> 16));
  }
  std::ofstream out_;
  std::uint16_t ip_id_ = 0;
};

struct peer {
  dtlspp::session session;
  bool is_client;
  std::vector<std::vector<std::byte>> outbox;  // datagrams for the other peer
  std::vector<std::string> received;
};

}  // namespace

int main(int argc, char** argv) {
  if (argc != 4) {
    std::fprintf(stderr, "usage: keylog_pcap OUT_DIR CLIENT_TEXT SERVER_TEXT\n");
    return 2;
  }
  const std::string dir = argv[1];
  const std::string client_text = argv[2], server_text = argv[3];

  // Both ends log the same CLIENT_RANDOM line; keep each line once, in order.
  std::vector<std::string> key_lines;
  auto sink = [&key_lines](std::string_view line) {
    for (const auto& l : key_lines)
      if (l == line) return;
    key_lines.emplace_back(line);
  };
  dtlspp::context_options client_options, server_options;
  client_options.key_log = sink;
  server_options.key_log = sink;
  const dtlspp::context client_ctx(client_options), server_ctx(server_options);

  peer client{dtlspp::session(client_ctx, dtlspp::role::client,
                              dtlspp::expect({server_ctx.identity().fingerprint()})),
              true,
              {},
              {}};
  peer server{dtlspp::session(server_ctx, dtlspp::role::server,
                              dtlspp::expect({client_ctx.identity().fingerprint()})),
              false,
              {},
              {}};

  pcap_writer pcap(dir + "/session.pcap");
  std::uint64_t clock_usec = 1'700'000'000'000'000;  // 2023-11-14, a fixed, plausible time
  std::size_t packets = 0;

  // drain takes p's output: each datagram goes into the pcap (in the order it left) and to the
  // other peer's inbox; records are kept.
  auto drain = [&](peer& p) {
    while (auto e = p.session.poll()) {
      if (const auto* t = std::get_if<dtlspp::transmit>(&*e)) {
        clock_usec += 1000;
        if (p.is_client) {
          pcap.udp(clock_usec, client_ip, client_port, server_ip, server_port, t->datagram);
        } else {
          pcap.udp(clock_usec, server_ip, server_port, client_ip, client_port, t->datagram);
        }
        ++packets;
        p.outbox.emplace_back(t->datagram.begin(), t->datagram.end());
      } else if (const auto* r = std::get_if<dtlspp::received>(&*e)) {
        p.received.emplace_back(reinterpret_cast<const char*>(r->data.data()), r->data.size());
      }
    }
  };
  auto deliver = [&](peer& from, peer& to) {
    auto datagrams = std::move(from.outbox);
    from.outbox.clear();
    for (const auto& d : datagrams) {
      if (const auto ec = to.session.handle_datagram(d)) {
        std::fprintf(stderr, "keylog_pcap: %s\n", std::string(to.session.error_message()).c_str());
        return false;
      }
      drain(to);
    }
    return true;
  };

  drain(client);
  for (int round = 0; client.session.state() == dtlspp::state::handshaking ||
                      server.session.state() == dtlspp::state::handshaking;
       ++round) {
    if (round == 20 || !deliver(client, server) || !deliver(server, client)) {
      std::fprintf(stderr, "keylog_pcap: the handshake did not complete\n");
      return 1;
    }
  }

  if (client.session.send(std::as_bytes(std::span(client_text)))) return 1;
  drain(client);
  if (!deliver(client, server)) return 1;
  if (server.session.send(std::as_bytes(std::span(server_text)))) return 1;
  drain(server);
  if (!deliver(server, client)) return 1;
  client.session.close();
  drain(client);
  if (!deliver(client, server)) return 1;

  if (server.received != std::vector<std::string>{client_text} ||
      client.received != std::vector<std::string>{server_text}) {
    std::fprintf(stderr, "keylog_pcap: the records did not arrive as sent\n");
    return 1;
  }
  if (!pcap.ok()) {
    std::fprintf(stderr, "keylog_pcap: cannot write %s/session.pcap\n", dir.c_str());
    return 1;
  }
  if (key_lines.empty()) {
    std::fprintf(stderr, "keylog_pcap: context_options::key_log received no line\n");
    return 1;
  }
  std::ofstream keys(dir + "/keys.txt");
  for (const auto& line : key_lines)
    keys << line << '\n';
  if (!keys) return 1;

  std::printf("wrote %zu packets to %s/session.pcap (udp port %u is DTLS), %zu key log lines\n",
              packets, dir.c_str(), unsigned{server_port}, key_lines.size());
  std::printf("cipher: %s\n", std::string(client.session.cipher_name()).c_str());
  return 0;
}
