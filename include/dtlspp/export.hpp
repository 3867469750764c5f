// dtlspp/export.hpp: what libdtlspp exports. The library is built with hidden visibility, so
// only what its headers declare with DTLSPP_API is in its dynamic symbol table: the ABI of the
// shared library is what the headers say, and no detail:: or impl symbol leaks.
#pragma once

#if defined(__GNUC__) || defined(__clang__)
#define DTLSPP_API __attribute__((visibility("default")))
#define DTLSPP_HIDDEN __attribute__((visibility("hidden")))
#else
#define DTLSPP_API
#define DTLSPP_HIDDEN
#endif
