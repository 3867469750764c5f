// src/io/files.cpp: PEM files for identities.
#include "dtlspp/io/files.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

namespace dtlspp::io {
namespace {

constexpr std::size_t max_file_bytes = 16 << 20;  // far beyond any certificate chain

[[noreturn]] void fail(int e, std::string_view verb, const std::string& path) {
  throw std::system_error(e, std::system_category(), std::string(verb) + " " + path);
}

// file_descriptor owns one open file descriptor.
class file_descriptor {
 public:
  explicit file_descriptor(int fd) noexcept : fd_(fd) {}
  file_descriptor(const file_descriptor&) = delete;
  file_descriptor& operator=(const file_descriptor&) = delete;
  ~file_descriptor() {
    if (fd_ >= 0) ::close(fd_);
  }
  int get() const noexcept { return fd_; }
  // close closes now and returns close(2)'s errno (0 when it succeeded): a write's error may
  // only show there.
  int close() noexcept {
    const int rc = ::close(std::exchange(fd_, -1));
    return rc == 0 ? 0 : errno;
  }

 private:
  int fd_;
};

bool exists(const std::string& path) {
  struct stat st {};
  return ::lstat(path.c_str(), &st) == 0;
}

// write_all writes text to fd; returns errno, or 0.
int write_all(int fd, std::string_view text) {
  while (!text.empty()) {
    const ssize_t n = ::write(fd, text.data(), text.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return errno;
    }
    text.remove_prefix(static_cast<std::size_t>(n));
  }
  return 0;
}

// write_file writes text to a new file at path with exactly `mode`. With replace, it writes a
// temporary file beside path and renames it over path (atomic; an old file's mode is not
// kept); without, an existing path is EEXIST.
void write_file(const std::string& path, std::string_view text, mode_t mode, bool replace) {
  std::string target = path;
  if (replace) {
    target = path + ".XXXXXX";
    const int fd = ::mkstemp(target.data());
    if (fd < 0) fail(errno, "cannot write", path);
    ::close(fd);
  }
  const int flags = O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW | (replace ? O_TRUNC : O_EXCL);
  file_descriptor fd(::open(target.c_str(), flags, mode));
  int e = fd.get() < 0 ? errno : 0;
  if (e == 0 && ::fchmod(fd.get(), mode) != 0) e = errno;  // exactly mode, whatever the umask
  if (e == 0) e = write_all(fd.get(), text);
  if (e == 0) e = fd.close();
  if (e == 0 && replace && ::rename(target.c_str(), path.c_str()) != 0) e = errno;
  if (e != 0) {
    if (replace || fd.get() >= 0) ::unlink(target.c_str());
    fail(e, "cannot write", path);
  }
}

}  // namespace

std::string read_file(const std::string& path) {
  const file_descriptor fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.get() < 0) fail(errno, "cannot read", path);
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) fail(errno, "cannot read", path);
  if (S_ISDIR(st.st_mode)) fail(EISDIR, "cannot read", path);
  std::string text;
  std::vector<char> chunk(65536);
  while (true) {
    const ssize_t n = ::read(fd.get(), chunk.data(), chunk.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      fail(errno, "cannot read", path);
    }
    if (n == 0) break;
    if (text.size() + static_cast<std::size_t>(n) > max_file_bytes)
      fail(EFBIG, "cannot read", path);
    text.append(chunk.data(), static_cast<std::size_t>(n));
  }
  return text;
}

dtlspp::identity load_identity(const std::string& certificate_path, const std::string& key_path) {
  const auto certificate = read_file(certificate_path);
  const auto key = read_file(key_path);
  return dtlspp::identity::from_pem(certificate, key);
}

dtlspp::certificate load_certificate(const std::string& path) {
  return dtlspp::certificate::from_pem(read_file(path));
}

void save_identity(const dtlspp::identity& id, const std::string& certificate_path,
                   const std::string& key_path, overwrite mode) {
  const bool replace = mode == overwrite::yes;
  if (!replace) {
    for (const auto* path : {&certificate_path, &key_path}) {
      if (exists(*path)) fail(EEXIST, "cannot write", *path);
    }
  }
  std::string key = id.private_key_pem();
  try {
    write_file(key_path, key, 0600, replace);  // the key is the identity: its owner only
  } catch (...) {
    ::explicit_bzero(key.data(), key.size());
    throw;
  }
  ::explicit_bzero(key.data(), key.size());  // key material is wiped (invariant: wiped keys)
  write_file(certificate_path, id.certificate_pem(), 0644, replace);
}

}  // namespace dtlspp::io
