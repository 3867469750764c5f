// bench/heap_count.cpp: the counting operator new/delete and OpenSSL allocator.
#include "heap_count.hpp"

#include <cxxabi.h>
#include <dlfcn.h>
#include <execinfo.h>
#include <malloc.h>
#include <sys/mman.h>

#include <openssl/crypto.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <new>
#include <utility>

namespace bench {
namespace {

// Per thread: counting costs a few instructions and never shares a cache line between threads
// (section 6 runs handshakes on two threads at once). Every reader is on the main thread;
// section 6's threads count into their own counters, which nobody reads.
thread_local heap_counts counts;

// ---- site recorder ---------------------------------------------------------------------------

constexpr int max_frames = 10;

struct site {
  bool used = false;
  bool openssl = false;
  const char* file = nullptr;  // OpenSSL: the caller's __FILE__ (a string literal)
  int line = 0;
  void* caller = nullptr;  // ours: the first frame outside operator new
  void* frames[max_frames] = {};
  int depth = 0;
  std::uint64_t allocs = 0;
  std::int64_t live_bytes = 0;
  std::uint64_t live_blocks = 0;
};

struct block {
  void* ptr;  // nullptr: empty; tombstone: deleted
  std::uint32_t site;
  std::uint32_t size;
};

constexpr std::size_t site_capacity = 1 << 14;
constexpr std::size_t block_capacity = 1 << 21;
void* const tombstone = reinterpret_cast<void*>(1);

site* site_table = nullptr;    // mmap'ed: the recorder never uses the heap it watches
block* block_table = nullptr;  // mmap'ed
bool recording = false;
thread_local bool inside = false;  // set while the recorder runs: no recursion

template <class T>
T* map_table(std::size_t n) {
  void* p =
      mmap(nullptr, n * sizeof(T), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) std::abort();
  return static_cast<T*>(p);
}

std::size_t hash_ptr(const void* p) noexcept {
  auto v = reinterpret_cast<std::uintptr_t>(p);
  v ^= v >> 33;
  v *= 0xff51afd7ed558ccdULL;
  v ^= v >> 33;
  return static_cast<std::size_t>(v);
}

// Frames of a recorded allocation: 0 record_alloc, 1 ours_alloc or openssl_malloc, 2 operator new
// or CRYPTO_malloc, 3 the code that asked.
constexpr int first_caller_frame = 3;

bool in_libstdcxx(void* addr) noexcept {
  Dl_info info{};
  return dladdr(addr, &info) != 0 && info.dli_fname != nullptr &&
         std::strstr(info.dli_fname, "libstdc++") != nullptr;
}

// find_site returns the site of an allocation: OpenSSL's by the file:line it passed; ours by the
// first caller outside libstdc++ (std::string and std::vector internals are not a site).
std::uint32_t find_site(bool openssl, const char* file, int line, void* const* frames,
                        int depth) noexcept {
  void* caller = nullptr;
  if (!openssl) {
    for (int f = first_caller_frame; f < depth && caller == nullptr; ++f) {
      if (!in_libstdcxx(frames[f])) caller = frames[f];
    }
  }
  std::size_t h =
      openssl ? hash_ptr(file) * 31 + static_cast<std::size_t>(line) : hash_ptr(caller) * 17 + 1;
  for (std::size_t i = 0; i < site_capacity; ++i) {
    const std::size_t at = (h + i) & (site_capacity - 1);
    site& s = site_table[at];
    if (!s.used) {
      s.used = true;
      s.openssl = openssl;
      s.file = file;
      s.line = line;
      s.caller = caller;
      s.depth = std::min(depth, max_frames);
      std::copy_n(frames, s.depth, s.frames);
      return static_cast<std::uint32_t>(at);
    }
    if (s.openssl == openssl &&
        (openssl ? (s.file == file && s.line == line) : s.caller == caller)) {
      return static_cast<std::uint32_t>(at);
    }
  }
  return 0;  // table full: lump into slot 0
}

[[gnu::noinline]] void record_alloc(bool openssl, void* p, std::size_t size, const char* file,
                                    int line) noexcept {
  if (!recording || inside || p == nullptr) return;
  inside = true;
  void* frames[max_frames];
  const int depth = backtrace(frames, max_frames);
  const std::uint32_t at = find_site(openssl, file, line, frames, depth);
  site& s = site_table[at];
  ++s.allocs;
  s.live_bytes += static_cast<std::int64_t>(size);
  ++s.live_blocks;
  std::size_t h = hash_ptr(p);
  for (std::size_t i = 0; i < block_capacity; ++i) {
    block& b = block_table[(h + i) & (block_capacity - 1)];
    if (b.ptr == nullptr || b.ptr == tombstone) {
      b = {p, at, static_cast<std::uint32_t>(size)};
      break;
    }
  }
  inside = false;
}

void record_free(void* p) noexcept {
  if (site_table == nullptr || p == nullptr || inside) return;
  std::size_t h = hash_ptr(p);
  for (std::size_t i = 0; i < block_capacity; ++i) {
    block& b = block_table[(h + i) & (block_capacity - 1)];
    if (b.ptr == nullptr) return;  // allocated before recording started
    if (b.ptr == p) {
      site& s = site_table[b.site];
      s.live_bytes -= b.size;
      --s.live_blocks;
      b.ptr = tombstone;
      return;
    }
  }
}

// ---- the two allocators ----------------------------------------------------------------------

[[gnu::noinline]] void* ours_alloc(std::size_t size) noexcept {
  void* p = std::malloc(size == 0 ? 1 : size);
  if (p == nullptr) return nullptr;
  ++counts.ours_allocs;
  const std::size_t usable = malloc_usable_size(p);
  counts.ours_live += static_cast<std::int64_t>(usable);
  record_alloc(false, p, usable, nullptr, 0);
  return p;
}

[[gnu::noinline]] void* ours_aligned_alloc(std::size_t size, std::size_t align) noexcept {
  void* p = nullptr;
  if (posix_memalign(&p, std::max(align, sizeof(void*)), size == 0 ? 1 : size) != 0) {
    return nullptr;
  }
  ++counts.ours_allocs;
  const std::size_t usable = malloc_usable_size(p);
  counts.ours_live += static_cast<std::int64_t>(usable);
  record_alloc(false, p, usable, nullptr, 0);
  return p;
}

// The replaced operator new allocates with malloc, so its operator delete frees with free. GCC
// 12 cannot see the replacement when it inlines this into a standard container's delete, and
// warns of a mismatch (-Wmismatched-new-delete) that is not one.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
void ours_free(void* p) noexcept {
  if (p == nullptr) return;
  counts.ours_live -= static_cast<std::int64_t>(malloc_usable_size(p));
  record_free(p);
  std::free(p);
}
#pragma GCC diagnostic pop

[[gnu::noinline]] void* openssl_malloc(std::size_t size, const char* file, int line) {
  void* p = std::malloc(size);
  if (p == nullptr) return nullptr;
  ++counts.openssl_allocs;
  const std::size_t usable = malloc_usable_size(p);
  counts.openssl_live += static_cast<std::int64_t>(usable);
  record_alloc(true, p, usable, file, line);
  return p;
}

void* openssl_realloc(void* old, std::size_t size, const char* file, int line) {
  if (old == nullptr) return openssl_malloc(size, file, line);
  const std::size_t old_usable = malloc_usable_size(old);
  record_free(old);
  void* p = std::realloc(old, size);
  if (p == nullptr) {
    if (size != 0) record_alloc(true, old, old_usable, file, line);
    return nullptr;
  }
  if (p != old) ++counts.openssl_allocs;  // a realloc that moves is heap traffic
  const std::size_t usable = malloc_usable_size(p);
  counts.openssl_live += static_cast<std::int64_t>(usable) - static_cast<std::int64_t>(old_usable);
  record_alloc(true, p, usable, file, line);
  return p;
}

void openssl_free(void* p, const char*, int) {
  if (p == nullptr) return;
  counts.openssl_live -= static_cast<std::int64_t>(malloc_usable_size(p));
  record_free(p);
  std::free(p);
}

// without_parameters drops a demangled name's trailing parameter list: "ns::f(int) const" ->
// "ns::f" ("(anonymous namespace)" inside the name stays).
std::string without_parameters(std::string name) {
  if (name.empty() || (name.back() != ')' && name.find(") const") == std::string::npos)) {
    return name;
  }
  int depth = 0;
  for (std::size_t i = name.rfind(')') + 1; i-- > 0;) {
    if (name[i] == ')') ++depth;
    if (name[i] == '(' && --depth == 0) return name.substr(0, i);
  }
  return name;
}

// local_symbol asks addr2line for the function at offset in a module of this project (built
// with a symbol table, unlike the system's OpenSSL): static functions have no dynamic symbol.
std::string local_symbol(const char* module, std::size_t offset) {
  static std::map<std::pair<std::string, std::size_t>, std::string> cache;
  auto key = std::make_pair(std::string(module), offset);
  if (auto it = cache.find(key); it != cache.end()) return it->second;
  std::string name;
  char hex[32];  // addr2line reads addresses in hexadecimal
  std::snprintf(hex, sizeof hex, "0x%zx", offset);
  const std::string command = "addr2line -f -C -e '" + key.first + "' " + hex + " 2>/dev/null";
  if (FILE* pipe = popen(command.c_str(), "r")) {
    char line[4096];
    if (std::fgets(line, sizeof line, pipe) != nullptr) {
      name = line;
      while (!name.empty() && (name.back() == '\n' || name.back() == '\r'))
        name.pop_back();
      if (name == "??") name.clear();
    }
    pclose(pipe);
  }
  name = without_parameters(name);
  cache.emplace(std::move(key), name);
  return name;
}

std::string symbolize(void* addr) {
  Dl_info info{};
  if (dladdr(addr, &info) == 0 || info.dli_fname == nullptr) return "?";
  const char* base = std::strrchr(info.dli_fname, '/');
  std::string module = base != nullptr ? base + 1 : info.dli_fname;
  const auto offset =
      static_cast<std::size_t>(static_cast<char*>(addr) - static_cast<char*>(info.dli_fbase));
  // This project's modules: the function by name, from the symbol table.
  if (module.find("dtlspp") != std::string::npos) {
    // A return address points after the call: look up the call instruction itself.
    const std::string name = local_symbol(info.dli_fname, offset - 1);
    if (!name.empty()) return name;
  }
  char buffer[64];
  std::string out = module;
  if (info.dli_sname != nullptr) {
    int status = 0;
    char* demangled = abi::__cxa_demangle(info.dli_sname, nullptr, nullptr, &status);
    out += '!';
    out += without_parameters(status == 0 && demangled != nullptr ? demangled : info.dli_sname);
    std::free(demangled);
    std::snprintf(
        buffer, sizeof buffer, "+0x%zx",
        static_cast<std::size_t>(static_cast<char*>(addr) - static_cast<char*>(info.dli_saddr)));
    out += buffer;
  } else {
    std::snprintf(buffer, sizeof buffer, "@0x%zx", offset);
    out += buffer;
  }
  return out;
}

}  // namespace

heap_counts heap() noexcept {
  return counts;
}

bool install_openssl_hooks() noexcept {
  // backtrace() loads libgcc's unwinder on first use, with malloc: do it now, not inside a hook.
  void* frames[2];
  backtrace(frames, 2);
  return CRYPTO_set_mem_functions(openssl_malloc, openssl_realloc, openssl_free) == 1;
}

void start_sites() {
  if (site_table == nullptr) {
    site_table = map_table<site>(site_capacity);
    block_table = map_table<block>(block_capacity);
  }
  std::fill_n(site_table, site_capacity, site{});
  std::fill_n(block_table, block_capacity, block{nullptr, 0, 0});
  recording = true;
}

void stop_sites() {
  recording = false;
}

std::vector<site_report> sites() {
  std::vector<site_report> out;
  if (site_table == nullptr) return out;
  const bool was = recording;
  recording = false;
  for (std::size_t i = 0; i < site_capacity; ++i) {
    const site& s = site_table[i];
    if (!s.used) continue;
    site_report r;
    r.openssl = s.openssl;
    r.allocs = s.allocs;
    r.live_bytes = s.live_bytes;
    r.live_blocks = s.live_blocks;
    for (int f = first_caller_frame; f < s.depth; ++f) {
      if (!r.stack.empty()) r.stack += " < ";
      r.stack += symbolize(s.frames[f]);
    }
    if (s.openssl) {
      r.where = std::string(s.file != nullptr ? s.file : "?") + ":" + std::to_string(s.line);
    } else {
      r.where = s.caller != nullptr ? symbolize(s.caller) : "?";
    }
    out.push_back(std::move(r));
  }
  std::sort(out.begin(), out.end(),
            [](const site_report& a, const site_report& b) { return a.allocs > b.allocs; });
  recording = was;
  return out;
}

}  // namespace bench

// ---- replacement of the global allocation functions (all of them, so that none bypasses the
// count). Throwing forms throw std::bad_alloc like the standard ones. ---------------------------

// ---- replacement of the global allocation functions -------------------------------------------
// All of them, so that no C++ allocation bypasses the count. The throwing forms throw
// std::bad_alloc like the standard ones; every delete form frees with free().

[[gnu::noinline]] void* operator new(std::size_t size) {
  if (void* p = bench::ours_alloc(size)) return p;
  throw std::bad_alloc();
}
[[gnu::noinline]] void* operator new[](std::size_t size) {
  if (void* p = bench::ours_alloc(size)) return p;
  throw std::bad_alloc();
}
void* operator new(std::size_t size, const std::nothrow_t&) noexcept {
  return bench::ours_alloc(size);
}
void* operator new[](std::size_t size, const std::nothrow_t&) noexcept {
  return bench::ours_alloc(size);
}
void* operator new(std::size_t size, std::align_val_t align) {
  if (void* p = bench::ours_aligned_alloc(size, static_cast<std::size_t>(align))) return p;
  throw std::bad_alloc();
}
void* operator new[](std::size_t size, std::align_val_t align) {
  if (void* p = bench::ours_aligned_alloc(size, static_cast<std::size_t>(align))) return p;
  throw std::bad_alloc();
}
void* operator new(std::size_t size, std::align_val_t align, const std::nothrow_t&) noexcept {
  return bench::ours_aligned_alloc(size, static_cast<std::size_t>(align));
}
void* operator new[](std::size_t size, std::align_val_t align, const std::nothrow_t&) noexcept {
  return bench::ours_aligned_alloc(size, static_cast<std::size_t>(align));
}
void operator delete(void* p) noexcept {
  bench::ours_free(p);
}
void operator delete[](void* p) noexcept {
  bench::ours_free(p);
}
void operator delete(void* p, std::size_t) noexcept {
  bench::ours_free(p);
}
void operator delete[](void* p, std::size_t) noexcept {
  bench::ours_free(p);
}
void operator delete(void* p, const std::nothrow_t&) noexcept {
  bench::ours_free(p);
}
void operator delete[](void* p, const std::nothrow_t&) noexcept {
  bench::ours_free(p);
}
void operator delete(void* p, std::align_val_t) noexcept {
  bench::ours_free(p);
}
void operator delete[](void* p, std::align_val_t) noexcept {
  bench::ours_free(p);
}
void operator delete(void* p, std::size_t, std::align_val_t) noexcept {
  bench::ours_free(p);
}
void operator delete[](void* p, std::size_t, std::align_val_t) noexcept {
  bench::ours_free(p);
}
void operator delete(void* p, std::align_val_t, const std::nothrow_t&) noexcept {
  bench::ours_free(p);
}
void operator delete[](void* p, std::align_val_t, const std::nothrow_t&) noexcept {
  bench::ours_free(p);
}
