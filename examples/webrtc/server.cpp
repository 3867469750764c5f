#include "server.hpp"

#include <dtlspp/io/loop.hpp>

#include <sys/socket.h>

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include "stun.hpp"

namespace webrtc {

namespace {

using namespace std::chrono_literals;

std::string key_of(std::span<const std::byte> address) {
  return std::string(as_text(address));
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read " + path);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

std::string_view errc_name(std::error_code e) {
  if (e.category() != dtlspp::error_category()) return "other";
  switch (static_cast<dtlspp::errc>(e.value())) {
    case dtlspp::errc::handshake_timeout:
      return "handshake_timeout";
    case dtlspp::errc::fingerprint_mismatch:
      return "fingerprint_mismatch";
    case dtlspp::errc::peer_alert:
      return "peer_alert";
    case dtlspp::errc::protocol_error:
      return "protocol_error";
    case dtlspp::errc::closed:
      return "closed";
    case dtlspp::errc::no_common_srtp_profile:
      return "no_common_srtp_profile";
    case dtlspp::errc::peer_restarted:
      return "peer_restarted";
    case dtlspp::errc::idle_timeout:
      return "idle_timeout";
    default:
      return "other";
  }
}

dtlspp::context make_context(const server_options& o) {
  dtlspp::context_options c;
  // Browsers offer AES-GCM first and AES-CM as the mandatory fallback (RFC 8827 section 6.5).
  auto wanted = o.srtp_profiles;
  if (wanted.empty())
    wanted = {dtlspp::srtp_profile::aead_aes_128_gcm, dtlspp::srtp_profile::aes128_cm_sha1_80};
  for (const auto p : wanted) {
    if (srtp_library::available(p)) {
      c.srtp_profiles.push_back(p);
    } else {
      log("srtp: libsrtp cannot do {}; not offered", dtlspp::name(p));
    }
  }
  if (c.srtp_profiles.empty()) throw std::runtime_error("no SRTP profile left to offer");
  // A data-channel-only peer connection negotiates no SRTP: each peer connection checks for
  // itself that its media got a profile.
  c.require_srtp = false;
  // libwebrtc starts its own timer at 50 ms; on a LAN or loopback 100 ms is plenty.
  c.retransmit.initial = 100ms;
  c.handshake_timeout = 20s;
  return dtlspp::context(std::move(c));
}

dtlspp::listener_options listener_options(const server_options& o) {
  dtlspp::listener_options l;
  l.cookies = false;  // ICE proved every address that reaches the listener
  l.max_sessions = o.max_peer_connections;
  l.max_handshakes = o.max_peer_connections;
  return l;
}

}  // namespace

server::server(server_options o)
    : options_(std::move(o)),
      context_(make_context(options_)),
      // The verifier accepts a certificate that a live offer named (RFC 8122 section 5); which
      // offer is checked once connected, when the address tells the peer connection.
      listener_(context_, dtlspp::verifier([this](const dtlspp::certificate& c) {
                  for (const auto& fp : expected_)
                    if (c.fingerprint(fp.algorithm()) == fp) return dtlspp::verdict::accept;
                  return dtlspp::verdict::reject;
                }),
                listener_options(options_)),
      udp_(dtlspp::io::udp_socket::bind(
          dtlspp::io::endpoint::resolve(options_.bind, std::to_string(options_.udp_port)).front())),
      http_(options_.bind, options_.http_port,
            [this](const http_request& r) { return on_http(r); }) {
  if (options_.candidate.empty()) options_.candidate = options_.bind;
  // One socket carries every peer connection: a burst from several browsers at once (a data
  // channel's 100 messages, four video streams) must not overflow the kernel's default 208 KiB
  // receive buffer while the loop decrypts. The kernel caps this at net.core.rmem_max.
  const int size = 4 << 20;
  ::setsockopt(udp_.fd(), SOL_SOCKET, SO_RCVBUF, &size, sizeof size);
  ::setsockopt(udp_.fd(), SOL_SOCKET, SO_SNDBUF, &size, sizeof size);
}

server::~server() = default;

void server::pc_log(peer_connection& pc, std::string line) {
  log("pc {}: {}", pc.id, line);
  pc.log.push_back(fmt::format("[{:8.3f}] {}", seconds_since_start(), line));
  if (pc.log.size() > 60) pc.log.pop_front();
}

// ---------------------------------------------------------------------------------------------
// HTTP: the page, the offer, the status.

http_response server::on_http(const http_request& r) {
  if (r.method == "GET" && (r.path == "/" || r.path == "/index.html"))
    return {200, "text/html; charset=utf-8", read_file(options_.page)};
  if (r.method == "POST" && r.path == "/offer") return on_offer(r);
  if (r.method == "GET" && r.path == "/status") {
    const peer_connection* only = nullptr;
    if (r.query.contains("pc")) {
      const auto it = pcs_.find(std::atoi(r.query.at("pc").c_str()));
      if (it == pcs_.end()) return {404, "text/plain; charset=utf-8", "no such peer connection\n"};
      only = it->second.get();
    }
    return {200, "application/json", status_json(steady::now(), only)};
  }
  if (r.method == "POST" && r.path == "/close") {
    const auto it =
        r.query.contains("pc") ? pcs_.find(std::atoi(r.query.at("pc").c_str())) : pcs_.end();
    if (it == pcs_.end()) return {404, "text/plain; charset=utf-8", "no such peer connection\n"};
    end(*it->second, "closed by the page (POST /close)");
    drain();
    return {200, "application/json", "{}"};
  }
  return {404, "text/plain; charset=utf-8", "not found\n"};
}

// on_offer takes the browser's offer (the body) and answers it. ?setup=active makes dtlspp the
// DTLS client, ?setup=passive the server (RFC 5763 section 5); the default is the server's.
http_response server::on_offer(const http_request& r) {
  forget_ended();
  const auto live =
      std::count_if(pcs_.begin(), pcs_.end(), [](auto& p) { return !p.second->ended; });
  if (static_cast<std::size_t>(live) >= options_.max_peer_connections)
    return {503, "text/plain; charset=utf-8", "too many peer connections\n"};
  auto pc = std::make_unique<peer_connection>();
  pc->id = next_id_++;
  pc->remote = parse_offer(r.body);
  pc->dtls_role = options_.default_role;
  if (r.query.contains("setup")) {
    const auto& s = r.query.at("setup");
    if (s != "active" && s != "passive")
      throw std::runtime_error("setup must be active or passive, not " + s);
    pc->dtls_role = s == "active" ? dtlspp::role::client : dtlspp::role::server;
  }
  if (!can_answer_as(pc->remote, pc->dtls_role))
    throw std::runtime_error("the offer's a=setup:" + pc->remote.setup + " rules out that role");
  pc->answer_fingerprint = fingerprint();
  pc->hello_drops_left = options_.drop_hellos;
  if (options_.wrong_fingerprint)
    pc->answer_fingerprint = dtlspp::identity::generate().fingerprint().to_string();

  auto& p = *pc;
  const auto* media = p.remote.media_index ? &p.remote.sections[*p.remote.media_index] : nullptr;
  pc_log(p, fmt::format(
                "offer: {}{}, browser ice-ufrag {}, a=setup:{}, {}",
                media ? fmt::format("{} (payload type {} {})", media->kind, p.remote.payload_type,
                                    media->rtpmap.contains(p.remote.payload_type)
                                        ? media->rtpmap.at(p.remote.payload_type)
                                        : "")
                      : "no media",
                p.remote.data_index ? " + data channels" : "", p.remote.ice_ufrag, p.remote.setup,
                fmt::join(p.remote.fingerprint_lines, ", ")));
  if (options_.wrong_fingerprint)
    pc_log(p, "--wrong-fingerprint: the answer names another certificate than ours");
  if (p.dtls_role == dtlspp::role::server)
    expected_.insert(expected_.end(), p.remote.fingerprints.begin(), p.remote.fingerprints.end());
  const auto answer = make_answer(p.remote, {p.ice_ufrag, p.ice_pwd, p.answer_fingerprint,
                                             p.dtls_role, options_.candidate, udp_port()});
  pc_log(p, fmt::format("answer: ice-lite, a=setup:{} (dtlspp is the DTLS {}), candidate {}:{}",
                        p.dtls_role == dtlspp::role::client ? "active" : "passive",
                        p.dtls_role == dtlspp::role::client ? "client" : "server",
                        options_.candidate, udp_port()));
  by_ufrag_[p.ice_ufrag] = &p;
  const int id = p.id;
  pcs_.emplace(id, std::move(pc));
  return {200, "application/json",
          fmt::format("{{\"id\":{},\"type\":\"answer\",\"sdp\":{}}}", id, json_string(answer))};
}

std::string server::status_json(steady::time_point now, const peer_connection* only) const {
  std::vector<std::string> pcs, lines, profiles;
  for (const auto& [id, pc] : pcs_)
    if (!only || only == pc.get()) pcs.push_back(peer_json(*pc, now));
  for (const auto& l : recent_log())
    lines.push_back(json_string(l));
  for (const auto p : context_.options().srtp_profiles)
    profiles.push_back(json_string(dtlspp::name(p)));
  const auto ls = listener_.stats();
  const bool loopback = options_.candidate.starts_with("127.");
  return fmt::format(
      "{{\"server_fingerprint\":{},\"wrong_fingerprint_mode\":{},\"candidate\":{},"
      "\"loopback\":{},\"udp_port\":{},\"default_setup\":{},\"srtp_profiles_offered\":{},"
      "\"listener\":{{\"sessions\":{},\"handshakes\":{},\"sessions_created\":{}}},"
      "\"stun_unknown\":{},\"stun_malformed\":{},\"udp_unchecked\":{},\"udp_send_failed\":{},"
      "\"peer_connections\":{},\"log\":{}}}",
      json_string(fingerprint()), options_.wrong_fingerprint, json_string(options_.candidate),
      loopback, udp_port(),
      json_string(options_.default_role == dtlspp::role::client ? "active" : "passive"),
      json_list(profiles), ls.sessions, ls.handshakes, ls.sessions_created, stun_unknown_,
      stun_malformed_, udp_unchecked_, udp_send_failed_, json_list(pcs), json_list(lines));
}

// ---------------------------------------------------------------------------------------------
// UDP: ICE, DTLS, SRTP, told apart by the first byte (RFC 7983 section 7).

// read_udp reads every datagram waiting, each with the time it was read (the time dtlspp and
// ICE consent take as its arrival).
void server::read_udp() {
  std::array<std::byte, 65536> buffer;
  while (auto d = udp_.receive(buffer)) {
    const auto now = steady::now();
    const auto datagram = std::span<std::byte>(buffer.data(), d->size);
    switch (dtlspp::classify(datagram)) {
      case dtlspp::packet_kind::stun:
        on_stun(datagram, d->from, now);
        break;
      case dtlspp::packet_kind::dtls:
        on_dtls(datagram, d->from, now);
        break;
      case dtlspp::packet_kind::rtp_rtcp:
        on_media(datagram, d->from);
        break;
      default:
        break;
    }
  }
}

void server::on_stun(std::span<const std::byte> m, const dtlspp::io::endpoint& from,
                     steady::time_point now) {
  std::string why;
  const auto request = stun::parse_binding_request(m, why);
  if (!request) {
    if (stun_malformed_++ < 5) log("stun from {}: dropped: {}", from.to_string(), why);
    return;
  }
  // USERNAME is "<our ufrag>:<the browser's ufrag>" (RFC 8445 section 7.2.2).
  const auto colon = request->username.find(':');
  const auto it = by_ufrag_.find(request->username.substr(0, colon));
  if (it == by_ufrag_.end()) {
    if (stun_unknown_++ < 5)
      log("stun from {}: dropped: no peer connection has ufrag {}", from.to_string(),
          request->username.substr(0, colon));
    return;
  }
  auto& pc = *it->second;
  ++pc.ice.requests;
  if (request->username != pc.ice_ufrag + ":" + pc.remote.ice_ufrag) {
    why = fmt::format("USERNAME {} is not {}:{}", request->username, pc.ice_ufrag,
                      pc.remote.ice_ufrag);
  } else if (!stun::integrity_ok(*request, pc.ice_pwd)) {
    why = "bad MESSAGE-INTEGRITY";
  }
  if (!why.empty()) {
    ++pc.ice.rejected;
    if (pc.ice.last_reject != why)
      pc_log(pc, fmt::format("stun from {}: dropped: {}", from.to_string(), why));
    pc.ice.last_reject = why;
    return;
  }
  udp_.send_to(stun::success_response(*request, from, pc.ice_pwd), from);
  ++pc.ice.responses;
  pc.last_consent = now;
  const auto address = key_of(from.bytes());
  if (pc.checked.insert(address).second) {
    pc_log(pc, fmt::format("ice: binding request from {} checks out; answered", from.to_string()));
    by_address_[address] = &pc;
  }
  if (request->use_candidate) {
    ++pc.ice.nominations;
    if (!pc.address || !(*pc.address == from))
      pc_log(pc, fmt::format("ice: {} nominated (USE-CANDIDATE)", from.to_string()));
    pc.address = from;
  }
  if (!pc.address) pc.address = from;
  // dtlspp as the DTLS client starts once ICE has proved the browser's address (RFC 8842
  // section 5: DTLS begins on a working ICE pair).
  if (pc.dtls_role == dtlspp::role::client && !pc.client && !pc.ended) {
    pc.client.emplace(context_, dtlspp::role::client, dtlspp::expect(pc.remote.fingerprints), now);
    pc.dtls_state = "handshaking";
    pc_log(pc, fmt::format("dtls: dtlspp sends its ClientHello to {}", pc.address->to_string()));
    drain();
  }
}

peer_connection* server::by_address(std::span<const std::byte> address) const {
  const auto it = by_address_.find(key_of(address));
  return it == by_address_.end() ? nullptr : it->second;
}

void server::on_dtls(std::span<const std::byte> d, const dtlspp::io::endpoint& from,
                     steady::time_point now) {
  auto* pc = by_address(from.bytes());
  if (!pc || pc->ended) {
    ++udp_unchecked_;
    return;
  }
  ++pc->dtls_in;
  pc->probe.observe(d, now);
  if (pc->dtls_role == dtlspp::role::client) {
    if (!pc->client) return;
    static_cast<void>(pc->client->handle_datagram(d, now));  // errors come as a closed event
  } else {
    if (pc->dtls_state == "waiting for ICE") {
      pc->dtls_state = "handshaking";
      pc->address = from;
      pc_log(*pc, fmt::format("dtls: the browser's first datagram from {} ({} bytes)",
                              from.to_string(), d.size()));
    }
    // A browser's ClientHello comes in fragments (a post-quantum key share): the listener puts
    // it back together itself.
    if (!listener_.find(from.bytes()) && ignore_hello(*pc, d)) {
      pc_log(*pc, fmt::format("dtls: --drop-hellos: ignored a ClientHello datagram ({} bytes)",
                              d.size()));
    } else {
      static_cast<void>(listener_.handle_datagram(from.bytes(), d, now));
    }
  }
  drain();
}

// ignore_hello says whether d belongs to a transmission of the ClientHello that --drop-hellos
// makes this server ignore: a transmission begins with the fragment at offset 0.
bool server::ignore_hello(peer_connection& pc, std::span<const std::byte> d) {
  const auto offset = client_hello_offset(d);
  if (!offset) return false;
  if (*offset == 0) {
    pc.dropping_hello = pc.hello_drops_left > 0;
    if (pc.dropping_hello) --pc.hello_drops_left;
  }
  return pc.dropping_hello;
}

void server::on_media(std::span<std::byte> p, const dtlspp::io::endpoint& from) {
  auto* pc = by_address(from.bytes());
  if (!pc || pc->ended) {
    ++udp_unchecked_;
    return;
  }
  if (!pc->srtp) {
    ++pc->media_before_keys;
    return;
  }
  const auto before = pc->srtp->stats().rtp_ok;
  if (!pc->srtp->unprotect(p)) {
    const auto& s = pc->srtp->stats();
    if (s.rtp_failed + s.rtcp_failed <= 3) pc_log(*pc, "srtp: " + s.last_error);
    return;
  }
  const auto n = pc->srtp->stats().rtp_ok;
  if (n != before && (n == 1 || n % 500 == 0))
    pc_log(*pc, fmt::format("srtp: {} RTP packets authenticated and decrypted", n));
}

// ---------------------------------------------------------------------------------------------
// DTLS events, SCTP and data channels.

void server::drain() {
  while (drain_events()) {
  }
}

// drain_events empties every DTLS output queue, then gives each peer connection's received
// records to its data channels; true when that made more DTLS output.
bool server::drain_events() {
  while (auto e = listener_.poll()) {
    auto* pc = by_address(e->peer);
    const auto to = dtlspp::io::endpoint::from_sockaddr(e->peer.data(), e->peer.size());
    on_event(pc && pc->dtls_role == dtlspp::role::server ? pc : nullptr, e->event, to,
             listener_.find(e->peer));
  }
  for (auto& [id, pc] : pcs_) {
    if (!pc->client) continue;
    while (auto e = pc->client->poll()) {
      if (!pc->address) continue;
      on_event(pc.get(), *e, *pc->address, &*pc->client);
    }
  }
  bool more = false;
  for (auto& [id, pc] : pcs_)
    more = service_data_channels(*pc) || more;
  return more;
}

// on_event handles one DTLS event of pc's association (pc is null for an association whose
// peer connection is gone: its last datagrams still go out). s is the association's session.
void server::on_event(peer_connection* pc, const dtlspp::event& e, const dtlspp::io::endpoint& to,
                      const dtlspp::session* s) {
  if (const auto* t = std::get_if<dtlspp::transmit>(&e)) {
    if (!udp_.send_to(t->datagram, to)) ++udp_send_failed_;
    if (pc) ++pc->dtls_out;
    return;
  }
  if (!pc) return;
  if (const auto* r = std::get_if<dtlspp::received>(&e)) {
    pc->records.emplace_back(r->data.begin(), r->data.end());
  } else if (std::holds_alternative<dtlspp::connected>(e)) {
    if (s) on_connected(*pc, *s);
  } else if (const auto* c = std::get_if<dtlspp::closed>(&e)) {
    if (pc->ended) return;
    pc->dtls_state = c->reason ? "failed" : "closed";
    pc->dtls_error_code = c->reason ? std::string(errc_name(c->reason)) : "";
    pc->dtls_error = c->reason && s ? std::string(s->error_message()) : "";
    if (s) pc->retransmissions = s->stats().retransmissions;
    end(*pc, c->reason ? "DTLS failed: " + pc->dtls_error : "DTLS closed (close_notify)");
  }
}

void server::on_connected(peer_connection& pc, const dtlspp::session& s) {
  const auto* cert = s.peer_certificate();
  // The listener's verifier accepted a certificate some offer named; it must be this offer's.
  if (!cert || pc.remote.fingerprints.empty() ||
      dtlspp::expect(pc.remote.fingerprints)(*cert) != dtlspp::verdict::accept) {
    pc.dtls_state = "failed";
    pc.dtls_error = "the browser's certificate is not the one its offer named";
    return end(pc, pc.dtls_error);
  }
  const auto stats = s.stats();
  pc.dtls_state = "connected";
  pc.cipher = s.cipher_name();
  pc.peer_fingerprint = cert->fingerprint().to_string();
  pc.retransmissions = stats.retransmissions;
  if (stats.handshake_duration)
    pc.handshake_ms = std::chrono::duration<double, std::milli>(*stats.handshake_duration).count();
  if (const auto p = s.srtp_profile()) pc.srtp_profile = dtlspp::name(*p);
  pc_log(pc,
         fmt::format("dtls: connected as the DTLS {} in {:.1f} ms, {}{}{}, browser certificate "
                     "{} (pinned)",
                     pc.dtls_role == dtlspp::role::client ? "client" : "server",
                     pc.handshake_ms.value_or(0), pc.cipher, pc.srtp_profile.empty() ? "" : ", ",
                     pc.srtp_profile, pc.peer_fingerprint));
  if (pc.remote.media_index) {
    const auto keys = s.srtp_keying_material();
    if (!keys) return end(pc, "the handshake agreed on no SRTP profile, and the offer has media");
    std::string why;
    pc.srtp = srtp_sink::make(keys->profile(), keys->remote_key(), keys->remote_salt(), why);
    if (!pc.srtp) return end(pc, "libsrtp refused the exported keys: " + why);
    pc_log(pc, fmt::format("srtp: {} keys exported (RFC 5764 section 4.2); libsrtp ready",
                           dtlspp::name(keys->profile())));
  }
  if (pc.remote.data_index) {
    // Every SCTP packet must fit one DTLS record in one datagram (RFC 8261 section 5).
    pc.channels = std::make_unique<data_channel::channels>(sctp_, s.max_send_size());
    pc_log(pc, fmt::format("sctp: association started over DTLS, packets up to {} bytes",
                           s.max_send_size()));
  }
}

// service_data_channels feeds pc's received records to SCTP, echoes every message back on its
// channel, and sends SCTP's packets as DTLS records. True when it sent any.
bool server::service_data_channels(peer_connection& pc) {
  auto records = std::exchange(pc.records, {});
  if (!pc.channels) {
    pc.records_unexpected += records.size();
    return false;
  }
  for (const auto& r : records)
    pc.channels->handle_packet(r);
  while (auto e = pc.channels->poll()) {
    if (auto* m = std::get_if<data_channel::message>(&*e)) {
      // The echo: the same bytes, the same type, on the same channel.
      if (pc.channels->send(m->stream, m->binary, m->data)) {
        ++pc.echoed;
      } else {
        ++pc.echo_failed;
      }
    } else if (const auto* o = std::get_if<data_channel::opened>(&*e)) {
      const auto* c = pc.channels->find(o->stream);
      const auto line = fmt::format(
          "opened stream {} '{}' ({}{})", o->stream, c->params.label, c->params.describe(),
          c->params.protocol.empty() ? "" : ", protocol " + c->params.protocol);
      pc.channel_history.push_back(line);
      pc_log(pc, "data channel: " + line);
    } else if (const auto* c = std::get_if<data_channel::closed>(&*e)) {
      pc.channel_history.push_back(fmt::format("closed stream {}", c->stream));
      pc_log(pc, fmt::format("data channel: stream {} closed", c->stream));
    } else if (std::holds_alternative<data_channel::transport_up>(*e)) {
      pc_log(pc, "sctp: association up");
    } else if (const auto* d = std::get_if<data_channel::transport_down>(&*e)) {
      pc_log(pc, "sctp: association down: " + d->reason);
    }
  }
  bool sent = false;
  while (auto packet = pc.channels->next_packet()) {
    send_record(pc, *packet);
    sent = true;
  }
  return sent;
}

void server::send_record(peer_connection& pc, std::span<const std::byte> record) {
  std::error_code e;
  if (pc.client) {
    e = pc.client->send(record);
  } else if (pc.address) {
    e = listener_.send(pc.address->bytes(), record);
  }
  if (e)
    pc_log(pc, fmt::format("dtls: cannot send an SCTP packet of {} bytes: {}", record.size(),
                           e.message()));
}

// ---------------------------------------------------------------------------------------------
// Time: DTLS timers, SCTP timers, consent freshness.

void server::run_timers(steady::time_point now) {
  if (const auto t = listener_.next_timeout(); t && *t <= now) listener_.handle_timeout(now);
  for (auto& [id, pc] : pcs_) {
    if (!pc->client) continue;
    if (const auto t = pc->client->next_timeout(); t && *t <= now)
      static_cast<void>(pc->client->handle_timeout(now));
  }
  sctp_.advance(now);
  for (auto& [id, pc] : pcs_)
    if (pc->channels) pc->channels->update();
  if (now >= next_housekeeping_) {
    check_consent(now);
    http_.expire(now);
    next_housekeeping_ = now + 1s;
  }
  drain();
}

// check_consent ends a peer connection whose browser stopped sending binding requests that check
// out (RFC 7675 section 5.1: consent expires 30 s after the last), or never sent one.
void server::check_consent(steady::time_point now) {
  for (auto& [id, pc] : pcs_) {
    if (pc->ended) continue;
    const auto since = pc->last_consent.value_or(pc->created);
    if (now - since < options_.consent_timeout) continue;
    end(*pc, pc->last_consent
                 ? fmt::format("consent expired: no binding request for {} s (RFC 7675)",
                               options_.consent_timeout.count())
                 : fmt::format("no ICE connectivity check within {} s of the answer",
                               options_.consent_timeout.count()));
  }
}

// end finishes pc: a close_notify to the browser if DTLS is still up, the SCTP association
// dropped, the ICE credentials and addresses forgotten (later checks fail, so the browser's own
// consent expires too).
void server::end(peer_connection& pc, std::string reason) {
  if (pc.ended) return;
  pc.ended = true;
  pc.end_reason = std::move(reason);
  pc.ended_after_s = std::chrono::duration<double>(steady::now() - pc.created).count();
  pc_log(pc, "ended: " + pc.end_reason);
  if (pc.client) {
    pc.client->close();
  } else if (pc.address && listener_.find(pc.address->bytes())) {
    listener_.close(pc.address->bytes());
  }
  if (pc.dtls_state == "connected") pc.dtls_state = "closed";
  pc.channels.reset();
  pc.srtp.reset();
  by_ufrag_.erase(pc.ice_ufrag);
  for (const auto& a : pc.checked) {
    const auto it = by_address_.find(a);
    if (it != by_address_.end() && it->second == &pc) by_address_.erase(it);
  }
  for (const auto& fp : pc.remote.fingerprints) {
    const auto it = std::find(expected_.begin(), expected_.end(), fp);
    if (pc.dtls_role == dtlspp::role::server && it != expected_.end()) expected_.erase(it);
  }
}

// forget_ended keeps the status of the last 32 ended peer connections.
void server::forget_ended() {
  std::size_t ended = 0;
  for (auto it = pcs_.rbegin(); it != pcs_.rend(); ++it)
    ended += it->second->ended;
  for (auto it = pcs_.begin(); it != pcs_.end() && ended > 32;) {
    if (it->second->ended) {
      it = pcs_.erase(it);
      --ended;
    } else {
      ++it;
    }
  }
}

void server::run(const volatile std::sig_atomic_t* stop) {
  while (!*stop) {
    auto fds = http_.fds();
    fds.push_back(udp_.fd());
    dtlspp::io::deadline next = next_housekeeping_;
    next = dtlspp::io::earliest(next, listener_.next_timeout());
    bool sctp_live = false;
    for (const auto& [id, pc] : pcs_) {
      if (pc->client) next = dtlspp::io::earliest(next, pc->client->next_timeout());
      sctp_live = sctp_live || pc->channels;
    }
    if (sctp_live) next = dtlspp::io::earliest(next, steady::now() + sctp::stack::tick);
    for (const int fd : dtlspp::io::wait_readable(fds, next)) {
      if (fd == udp_.fd()) {
        read_udp();
      } else {
        http_.on_readable(fd);
      }
    }
    run_timers(steady::now());
  }
}

}  // namespace webrtc
