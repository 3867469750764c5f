// dtlspp/fmt.hpp: fmt::formatter specialisations for dtlspp's value types (fmt 9 and later).
//
// Opt-in: no other dtlspp header includes fmt, so a program that does not log with fmt never
// compiles against it. Include this header where you log:
//
//   #include <dtlspp/fmt.hpp>
//   fmt::print("peer {} is {}\n", *s.peer_certificate(), s.state());
//   // peer CN=dtlspp sha-256 6B:31:...:9F valid 2025-01-01T10:00:00Z..2025-01-31T10:00:00Z
//   //   is connected
//
// Every formatter takes the standard string specification (fill, alignment, width, precision:
// "{:>12}", "{:.7}") and applies it to the whole text, as fmt does for a string_view.
//
//   type                    text
//   fingerprint             "sha-256 AB:CD:...", what follows "a=fingerprint:" (RFC 8122)
//   certificate             "CN=<cn> <sha-256 fingerprint> valid <notBefore>..<notAfter>", UTC
//   hash_algorithm          name(): "sha-256" (RFC 8122)
//   errc                    the category's message: "handshake timed out"
//   error                   what(): the operation, OpenSSL's reasons, the message
//   state, role, verdict    name(): "handshaking", "client", "defer"
//   key_type                name(): "ecdsa_p256"
//   srtp_profile            name(): "SRTP_AES128_CM_SHA1_80"
#pragma once

#include <fmt/format.h>

#include <chrono>
#include <string>
#include <string_view>

#include "dtlspp/certificate.hpp"
#include "dtlspp/error.hpp"
#include "dtlspp/fingerprint.hpp"
#include "dtlspp/identity.hpp"
#include "dtlspp/session.hpp"
#include "dtlspp/srtp.hpp"
#include "dtlspp/verifier.hpp"

namespace dtlspp::detail {

// utc renders t as ISO 8601 in UTC, to the second: "2025-01-31T10:00:00Z". It uses only the
// C++20 calendar (no gmtime, no locale), so it is thread-safe and the same on every platform.
inline std::string utc(std::chrono::system_clock::time_point t) {
  using namespace std::chrono;
  const auto s = floor<seconds>(t);
  const auto day = floor<days>(s);
  const year_month_day ymd{day};
  const hh_mm_ss hms{s - day};
  return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z", static_cast<int>(ymd.year()),
                     static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()),
                     hms.hours().count(), hms.minutes().count(), hms.seconds().count());
}

// text_formatter is the base of every dtlspp formatter: the text of the value, formatted as a
// string_view with the caller's specification.
struct text_formatter : fmt::formatter<fmt::string_view> {
  template <class FormatContext>
  auto format_text(std::string_view text, FormatContext& ctx) const -> decltype(ctx.out()) {
    return fmt::formatter<fmt::string_view>::format(fmt::string_view(text.data(), text.size()),
                                                    ctx);
  }
};

// named_formatter prints an enumeration value as dtlspp::name(value).
template <class E>
struct named_formatter : text_formatter {
  template <class FormatContext>
  auto format(E e, FormatContext& ctx) const -> decltype(ctx.out()) {
    return format_text(dtlspp::name(e), ctx);
  }
};

}  // namespace dtlspp::detail

// The specialisations live in namespace fmt (formatter is declared in fmt's inline versioned
// namespace, which a specialisation may name through fmt).
namespace fmt {

template <>
struct formatter<dtlspp::hash_algorithm> : dtlspp::detail::named_formatter<dtlspp::hash_algorithm> {
};

template <>
struct formatter<dtlspp::fingerprint> : dtlspp::detail::text_formatter {
  template <class FormatContext>
  auto format(const dtlspp::fingerprint& f, FormatContext& ctx) const -> decltype(ctx.out()) {
    return format_text(f.to_string(), ctx);
  }
};

template <>
struct formatter<dtlspp::certificate> : dtlspp::detail::text_formatter {
  template <class FormatContext>
  auto format(const dtlspp::certificate& c, FormatContext& ctx) const -> decltype(ctx.out()) {
    const auto cn = c.common_name();
    return format_text(fmt::format("CN={} {} valid {}..{}", cn.empty() ? "(none)" : cn,
                                   c.fingerprint().to_string(), dtlspp::detail::utc(c.not_before()),
                                   dtlspp::detail::utc(c.not_after())),
                       ctx);
  }
};

template <>
struct formatter<dtlspp::errc> : dtlspp::detail::text_formatter {
  template <class FormatContext>
  auto format(dtlspp::errc e, FormatContext& ctx) const -> decltype(ctx.out()) {
    return format_text(make_error_code(e).message(), ctx);
  }
};

template <>
struct formatter<dtlspp::error> : dtlspp::detail::text_formatter {
  template <class FormatContext>
  auto format(const dtlspp::error& e, FormatContext& ctx) const -> decltype(ctx.out()) {
    return format_text(e.what(), ctx);
  }
};

// Every public enumeration prints as its name() (the enumerator's identifier, or the RFC and
// OpenSSL spelling for hash algorithms and SRTP profiles; "unknown" outside the enumeration).
template <>
struct formatter<dtlspp::state> : dtlspp::detail::named_formatter<dtlspp::state> {};
template <>
struct formatter<dtlspp::role> : dtlspp::detail::named_formatter<dtlspp::role> {};
template <>
struct formatter<dtlspp::verdict> : dtlspp::detail::named_formatter<dtlspp::verdict> {};
template <>
struct formatter<dtlspp::key_type> : dtlspp::detail::named_formatter<dtlspp::key_type> {};
template <>
struct formatter<dtlspp::srtp_profile> : dtlspp::detail::named_formatter<dtlspp::srtp_profile> {};

}  // namespace fmt
