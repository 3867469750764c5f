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
//   hash_algorithm          "sha-256" (RFC 8122 name)
//   errc                    the category's message: "handshake timed out"
//   error                   what(): the operation, OpenSSL's reasons, the message
//   state                   "handshaking", "connected", "closed", "failed"
//   role                    "client", "server"
//   srtp_profile            "SRTP_AES128_CM_SHA1_80" (name())
#pragma once

#include <fmt/format.h>

#include <chrono>
#include <string>
#include <string_view>

#include "dtlspp/certificate.hpp"
#include "dtlspp/error.hpp"
#include "dtlspp/fingerprint.hpp"
#include "dtlspp/session.hpp"
#include "dtlspp/srtp.hpp"

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

}  // namespace dtlspp::detail

// The specialisations live in namespace fmt (formatter is declared in fmt's inline versioned
// namespace, which a specialisation may name through fmt).
namespace fmt {

template <>
struct formatter<dtlspp::hash_algorithm> : dtlspp::detail::text_formatter {
  template <class FormatContext>
  auto format(dtlspp::hash_algorithm a, FormatContext& ctx) const -> decltype(ctx.out()) {
    return format_text(dtlspp::name(a), ctx);
  }
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

template <>
struct formatter<dtlspp::state> : dtlspp::detail::text_formatter {
  template <class FormatContext>
  auto format(dtlspp::state s, FormatContext& ctx) const -> decltype(ctx.out()) {
    std::string_view text = "unknown";
    switch (s) {
      case dtlspp::state::handshaking:
        text = "handshaking";
        break;
      case dtlspp::state::connected:
        text = "connected";
        break;
      case dtlspp::state::closed:
        text = "closed";
        break;
      case dtlspp::state::failed:
        text = "failed";
        break;
    }
    return format_text(text, ctx);
  }
};

template <>
struct formatter<dtlspp::role> : dtlspp::detail::text_formatter {
  template <class FormatContext>
  auto format(dtlspp::role r, FormatContext& ctx) const -> decltype(ctx.out()) {
    return format_text(r == dtlspp::role::client ? "client" : "server", ctx);
  }
};

template <>
struct formatter<dtlspp::srtp_profile> : dtlspp::detail::text_formatter {
  template <class FormatContext>
  auto format(dtlspp::srtp_profile p, FormatContext& ctx) const -> decltype(ctx.out()) {
    return format_text(dtlspp::name(p), ctx);
  }
};

}  // namespace fmt
