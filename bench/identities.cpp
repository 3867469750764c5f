// bench/identities.cpp: section 5, key + self-signed certificate per second, dtlspp beside the
// same certificate built with raw OpenSSL calls; where a raw P-256 build's time goes, stage by
// stage and for each way of putting the public key in; and the calls inside X509_set_pubkey.
#include <fmt/format.h>

#include <algorithm>
#include <string>

#include "bench.hpp"
#include "raw_identity.hpp"
#include "workloads.hpp"

namespace bench {
namespace {

// print_rates prints the identities/s table, the key types in interleaved rounds.
void print_rates(const options& o) {
  fmt::print("## 5. Identity generation\n\n");
  fmt::print(
      "Key + self-signed certificate per second: dtlspp::identity::generate() against the same "
      "certificate built with raw OpenSSL calls (EVP_PKEY_Q_keygen, X509_new, the same fields, "
      "X509_set_pubkey, X509_sign). {} rounds; {} identities per round ({} for RSA-2048, whose "
      "key generation time varies a lot by nature: prime search).\n\n",
      o.rounds, o.identities, o.rsa_identities);
  fmt::print(
      "| key | dtlspp identities/s | raw identities/s | dtlspp / raw |\n|---|---|---|---|\n");
  for (const key_case& k : key_cases) {
    const int n = k.slow ? o.rsa_identities : o.identities;
    series sd, sr;
    interleave(
        o.rounds,
        [&](int) {
          const stopwatch watch;
          generate_dtlspp(k, n);
          sd.add(n / watch.seconds());
        },
        [&](int) {
          const stopwatch watch;
          generate_raw(k, n);
          sr.add(n / watch.seconds());
        });
    fmt::print("| {} | {} | {} | {} |\n", k.name, cell(sd, 1), cell(sr, 1),
               ratio_cell(ratios(sd, sr)));
  }
}

// path is one way of putting the public key into the certificate.
struct path {
  const char* name;
  raw::pubkey_path p;
};

constexpr path paths[] = {
    {"X509_set_pubkey(x509, key): the raw baseline (and dtlspp before)",
     raw::pubkey_path::set_pubkey},
    {"the public point on the curve's parameters (d2i_PublicKey), then X509_set_pubkey (what "
     "dtlspp does)",
     raw::pubkey_path::public_point},
    {"X509_PUBKEY_set0_param, then re-read the signed DER",
     raw::pubkey_path::set0_param_then_reparse},
};
constexpr int path_count = 3;

// problems builds one P-256 certificate along path p and says what is wrong with it: "yes" when
// it is correct and usable.
std::string problems(raw::pubkey_path p) {
  raw::built b = raw::build(raw::key_kind::p256, p);
  const std::string what = raw::check(b);
  b.free();
  return what.empty() ? "yes" : what;
}

// print_stages times n P-256 builds along each path, stage by stage, and prints the table.
void print_stages(int n) {
  fmt::print("\n### Where P-256 key + certificate time goes (raw OpenSSL, {} builds)\n\n", n);
  raw::build_times times[path_count];
  // Interleaved in rounds of 10 builds so that drift hits every path alike.
  for (int done = 0; done < n; done += 10) {
    for (int i = 0; i < path_count; ++i) {
      for (int j = 0; j < 10; ++j)
        raw::build(raw::key_kind::p256, paths[i].p, &times[i]).free();
    }
  }
  fmt::print(
      "| public key path | keygen µs | fields µs | public key µs | sign µs | total µs | "
      "keys+certs/s | public key share | correct and usable |\n"
      "|---|---|---|---|---|---|---|---|---|\n");
  const int built_n = ((n + 9) / 10) * 10;
  for (int i = 0; i < path_count; ++i) {
    const auto& t = times[i];
    const double total = t.keygen + t.fields + t.pubkey + t.sign;
    fmt::print("| {} | {:.1f} | {:.1f} | {:.1f} | {:.1f} | {:.1f} | {:.0f} | {:.0f}% | {} |\n",
               paths[i].name, t.keygen / built_n / 1e3, t.fields / built_n / 1e3,
               t.pubkey / built_n / 1e3, t.sign / built_n / 1e3, total / built_n / 1e3,
               built_n / (total / 1e9), 100 * t.pubkey / total, problems(paths[i].p));
  }
  fmt::print("| (X509_PUBKEY_set0_param without the re-read) | | | | | | | | {} |\n",
             problems(raw::pubkey_path::set0_param_unusable));
}

// print_inside_set_pubkey times, n times each, the public calls X509_set_pubkey makes.
void print_inside_set_pubkey(int n) {
  raw::built b = raw::build(raw::key_kind::p256, raw::pubkey_path::set_pubkey);
  const raw::pubkey_parts parts = raw::pubkey_internals(b.key, n);
  b.free();
  const double sum = parts.encoder_ctx + parts.encode + parts.decode;
  fmt::print(
      "\nInside X509_set_pubkey for a provider key (OpenSSL 3.0 crypto/x509/x_pubkey.c), the "
      "calls it makes, timed one by one over {} runs: OSSL_ENCODER_CTX_new_for_pkey {:.1f} µs "
      "({:.0f}%), OSSL_ENCODER_to_data {:.1f} µs ({:.0f}%), d2i_X509_PUBKEY of that DER (a fresh "
      "OSSL_DECODER_CTX and a full key decode, whose result X509_PUBKEY_set then frees) {:.1f} "
      "µs ({:.0f}%).\n\n",
      n, parts.encoder_ctx / n / 1e3, 100 * parts.encoder_ctx / sum, parts.encode / n / 1e3,
      100 * parts.encode / sum, parts.decode / n / 1e3, 100 * parts.decode / sum);
}

}  // namespace

void bench_identities(const options& o) {
  print_rates(o);
  const int n = std::max(o.identities * 2, 20);
  print_stages(n);
  print_inside_set_pubkey(n);
}

}  // namespace bench
