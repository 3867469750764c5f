// bench/records.cpp: section 2, application records per second and MB/s on an established
// association, dtlspp beside raw OpenSSL, and the heap allocations and growth of the timed
// rounds (the steady-state target).
#include <fmt/format.h>
#include <openssl/ssl.h>

#include <cstddef>
#include <string>
#include <vector>

#include "bench.hpp"
#include "workloads.hpp"

namespace bench {
namespace {

// case_result is one record case measured, both libraries.
struct case_result {
  std::size_t size = 0;            // plaintext bytes per record
  series dtlspp, raw;              // records/s, one per round
  record_run dtlspp_sum, raw_sum;  // allocations and heap growth summed over the rounds
};

void accumulate(record_run& sum, const record_run& r) {
  sum.ours_allocs += r.ours_allocs;
  sum.openssl_allocs += r.openssl_allocs;
  sum.growth += r.growth;
}

// payload_size is the case's record size; for size 0, the largest that fits a datagram, on
// which dtlspp and OpenSSL must agree. A size that does not fit ends the program.
std::size_t payload_size(const record_case& c, pair<dtlspp_side>& pd, pair<raw_side>& pr) {
  const std::size_t fits = pd.client->session.max_send_size();
  if (fits != DTLS_get_data_mtu(pr.client->ssl())) die("dtlspp and OpenSSL disagree on sizes");
  const std::size_t size = c.size == 0 ? fits : c.size;
  if (size > fits) die("record does not fit");
  return size;
}

// measure runs one case: 2000 records of warm-up each, then o.rounds interleaved rounds of
// o.records records per library.
case_result measure(const fixture& f, const options& o, const record_case& c) {
  pair<dtlspp_side> pd(f.dtlspp_at(c.mtu), c.mtu);
  pair<raw_side> pr(f.raw_at(c.mtu), c.mtu);
  case_result out;
  out.size = payload_size(c, pd, pr);
  const std::vector<std::byte> payload(out.size, std::byte{0x5a});
  run_records(pd, payload, 2000);
  run_records(pr, payload, 2000);
  interleave(
      o.rounds,
      [&](int) {
        const record_run r = run_records(pd, payload, o.records);
        out.dtlspp.add(r.per_second);
        accumulate(out.dtlspp_sum, r);
      },
      [&](int) {
        const record_run r = run_records(pr, payload, o.records);
        out.raw.add(r.per_second);
        accumulate(out.raw_sum, r);
      });
  return out;
}

// megabytes turns records/s into plaintext MB/s.
series megabytes(const series& rates, std::size_t size) {
  series mb;
  for (double x : rates.v)
    mb.add(x * static_cast<double>(size) / 1e6);
  return mb;
}

// allocations gathers the allocation table's rows and the steady-state target's verdict.
struct allocations {
  bool zero = true;
  std::string text;  // the target's "measured" cell
  std::string rows;

  void add(const record_case& c, const case_result& r, double total) {
    const record_run& d = r.dtlspp_sum;
    rows += fmt::format("| {} | {:.0f} | {} | {} | {:.2f} | {} | {:.2f} |\n", c.label, total,
                        d.ours_allocs, d.openssl_allocs, static_cast<double>(d.growth) / total,
                        r.raw_sum.openssl_allocs, static_cast<double>(r.raw_sum.growth) / total);
    if (d.ours_allocs + d.openssl_allocs != 0 || d.growth > 0) zero = false;
    text += fmt::format("{}{}: {} + {} in {:.0f} records, heap +{:.1f} B/record",
                        text.empty() ? "" : "; ", c.label, d.ours_allocs, d.openssl_allocs, total,
                        static_cast<double>(d.growth) / total);
  }
};

void print_intro(const options& o) {
  fmt::print("## 2. Records\n\n");
  fmt::print(
      "Application records per second, client to server on an established association, one "
      "record per datagram: send(), the datagram crosses the wire, handle_datagram() and the "
      "received event (raw: SSL_write, BIO, SSL_read). MB/s counts plaintext. {} rounds of {} "
      "records per size and library, after 2000 records of warm-up. Cipher suite "
      "ECDHE-ECDSA-AES128-GCM-SHA256 (29 bytes of overhead per datagram).\n\n",
      o.rounds, o.records);
  fmt::print(
      "1200 B of plaintext does not fit one datagram at MTU 1200 (the largest record is "
      "session.max_send_size() = 1200 - 13 header - 8 explicit nonce - 16 tag = 1163 B), so two "
      "cases stand for it: 1163 B at MTU 1200, and 1200 B with both contexts set to MTU 1500.\n\n");
  fmt::print(
      "| plaintext | MTU | dtlspp records/s | raw records/s | dtlspp / raw | target | | "
      "dtlspp MB/s | raw MB/s |\n|---|---|---|---|---|---|---|---|---|\n");
}

// print_rate_row prints one case's row of the rate table and adds its target.
void print_rate_row(const record_case& c, const case_result& r) {
  const series q = ratios(r.dtlspp, r.raw);
  fmt::print("| {} | {} | {} | {} | {} | >= 0.95x | {} | {} | {} |\n", c.label, c.mtu,
             cell(r.dtlspp, 0), cell(r.raw, 0), ratio_cell(q), met(q.median() >= 0.95),
             cell(megabytes(r.dtlspp, r.size), 1), cell(megabytes(r.raw, r.size), 1));
  targets.push_back({fmt::format("records/s >= 0.95x raw, {} at MTU {}", c.label, c.mtu),
                     fmt::format("{:.3f}x", q.median()), q.median() >= 0.95});
}

void print_allocations(const allocations& a) {
  fmt::print(
      "\nHeap allocations during the timed rounds (steady state: after the warm-up), counted, not "
      "sampled; 'heap growth' is the live heap bytes gained over them (a steady state holds 0). "
      "Instructions per record: see the callgrind table.\n\n| plaintext | records | dtlspp: "
      "ours (operator new) | dtlspp: OpenSSL's | dtlspp heap growth, B/record | raw: OpenSSL's | "
      "raw heap growth, B/record |\n|---|---|---|---|---|---|---|\n{}\n",
      a.rows);
  targets.push_back(
      {"zero heap allocations per record in steady state (ours + OpenSSL)", a.text, a.zero});
}

}  // namespace

void bench_records(const fixture& f, const options& o) {
  print_intro(o);
  const std::vector<record_case> cases = {
      {"100 B", 1200, 100}, {"1163 B (max at MTU 1200)", 1200, 0}, {"1200 B", 1500, 1200}};
  allocations a;
  for (const auto& c : cases) {
    const case_result r = measure(f, o, c);
    print_rate_row(c, r);
    a.add(c, r, static_cast<double>(o.records) * o.rounds);
  }
  print_allocations(a);
}

}  // namespace bench
