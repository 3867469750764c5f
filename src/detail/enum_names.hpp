// src/detail/enum_names.hpp: the one way every public enumeration gets its name and is parsed.
#pragma once

#include <algorithm>
#include <array>
#include <cctype>
#include <optional>
#include <string_view>
#include <utility>

namespace dtlspp::detail {

// iequals compares ASCII text without regard to case.
inline bool iequals(std::string_view a, std::string_view b) noexcept {
  return std::ranges::equal(a, b, [](char x, char y) {
    return std::tolower(static_cast<unsigned char>(x)) ==
           std::tolower(static_cast<unsigned char>(y));
  });
}

// enum_names is an enumeration's table of names. name() answers "unknown" for a value outside
// the table; parse() reads a name in any case and answers nothing for anything else.
template <class E, std::size_t N>
struct enum_names {
  std::array<std::pair<E, std::string_view>, N> entries;

  std::string_view name(E e) const noexcept {
    const auto* it = std::ranges::find(entries, e, &std::pair<E, std::string_view>::first);
    return it != entries.end() ? it->second : std::string_view("unknown");
  }
  std::optional<E> parse(std::string_view text) const noexcept {
    for (const auto& [e, n] : entries) {
      if (iequals(text, n)) return e;
    }
    return std::nullopt;
  }
};

template <class E, class... T>
enum_names(std::pair<E, T>...) -> enum_names<E, sizeof...(T)>;

}  // namespace dtlspp::detail
