// files_test: identities in PEM files, and the system's reasons when files fail.
#include <dtlspp/identity.hpp>
#include <dtlspp/io/files.hpp>

#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include <cerrno>
#include <cstdlib>
#include <string>
#include <system_error>

namespace {

// temp_dir is a fresh directory, removed with its files.
struct temp_dir {
  std::string path;
  temp_dir() {
    std::string t = "/tmp/dtlspp-io-test.XXXXXX";
    REQUIRE(::mkdtemp(t.data()) != nullptr);
    path = t;
  }
  ~temp_dir() { static_cast<void>(std::system(("rm -rf '" + path + "'").c_str())); }
};

mode_t mode_of(const std::string& path) {
  struct stat st {};
  REQUIRE(::stat(path.c_str(), &st) == 0);
  return st.st_mode & 0777;
}

int error_of(auto&& f) {
  try {
    f();
  } catch (const std::system_error& e) {
    return e.code().category() == std::system_category() ? e.code().value() : -1;
  }
  return 0;
}

}  // namespace

TEST_CASE(
    "save_identity writes a key only its owner reads, refuses to overwrite, and "
    "load_identity reads it back",
    "[io][files]") {
  temp_dir dir;
  const auto cert = dir.path + "/id.pem", key = dir.path + "/id.key";
  const auto id = dtlspp::identity::generate();
  dtlspp::io::save_identity(id, cert, key);
  CHECK(mode_of(key) == 0600);
  CHECK(mode_of(cert) == 0644);
  CHECK(dtlspp::io::load_identity(cert, key).fingerprint() == id.fingerprint());
  CHECK(dtlspp::io::load_certificate(cert).fingerprint() == id.fingerprint());

  const auto other = dtlspp::identity::generate();
  CHECK(error_of([&] { dtlspp::io::save_identity(other, cert, key); }) == EEXIST);
  CHECK(dtlspp::io::load_identity(cert, key).fingerprint() == id.fingerprint());

  // overwrite::yes replaces both, and the key is 0600 again even if someone widened it.
  REQUIRE(::chmod(key.c_str(), 0644) == 0);
  dtlspp::io::save_identity(other, cert, key, dtlspp::io::overwrite::yes);
  CHECK(mode_of(key) == 0600);
  CHECK(dtlspp::io::load_identity(cert, key).fingerprint() == other.fingerprint());
}

TEST_CASE("file errors carry errno and name the path: missing, a directory, unreadable",
          "[io][files]") {
  temp_dir dir;
  try {
    dtlspp::io::read_file(dir.path + "/missing.pem");
    FAIL("read a missing file");
  } catch (const std::system_error& e) {
    CHECK(e.code() == std::error_code(ENOENT, std::system_category()));
    CHECK(std::string(e.what()) ==
          "cannot read " + dir.path + "/missing.pem: No such file or directory");
  }
  CHECK(error_of([&] { dtlspp::io::read_file(dir.path); }) == EISDIR);
  CHECK(error_of([&] {
          dtlspp::io::save_identity(dtlspp::identity::generate(), dir.path + "/no/such/c.pem",
                                    dir.path + "/no/such/k.pem");
        }) == ENOENT);
  if (::geteuid() == 0) {
    WARN("EACCES not checked: running as root, which reads any file");
  } else {
    const auto locked = dir.path + "/locked.pem";
    REQUIRE(std::system(("touch '" + locked + "' && chmod 000 '" + locked + "'").c_str()) == 0);
    CHECK(error_of([&] { dtlspp::io::read_file(locked); }) == EACCES);
  }
}
