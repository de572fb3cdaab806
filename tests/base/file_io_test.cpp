// base/file_io.h: whole files or nothing. A write that fails part-way (here: a file-size limit,
// the same EFBIG/ENOSPC path a full disk takes) leaves the previous file untouched and no
// temporary behind; reads refuse directories and devices before reading.
#include "base/error.h"
#include "base/file_io.h"

#include <catch2/catch.hpp>
#include <csignal>
#include <filesystem>
#include <string>
#include <sys/resource.h>
#include <unistd.h>

namespace fs = std::filesystem;
using Catch::Matchers::Contains;

namespace {

struct Scratch {
  fs::path dir = fs::temp_directory_path() / ("tessera-io-" + std::to_string(::getpid()));
  Scratch() { fs::create_directories(dir); }
  ~Scratch() { fs::remove_all(dir); }
  std::size_t entries() const {
    return static_cast<std::size_t>(std::distance(fs::directory_iterator(dir), {}));
  }
};

/** RLIMIT_FSIZE lowered for the scope; SIGXFSZ ignored so write() fails with EFBIG instead. */
struct FileSizeLimit {
  rlimit saved{};
  void (*old_handler)(int) = nullptr;
  explicit FileSizeLimit(rlim_t bytes) {
    REQUIRE(::getrlimit(RLIMIT_FSIZE, &saved) == 0);
    old_handler = std::signal(SIGXFSZ, SIG_IGN);
    rlimit lowered = saved;
    lowered.rlim_cur = bytes;
    REQUIRE(::setrlimit(RLIMIT_FSIZE, &lowered) == 0);
  }
  ~FileSizeLimit() {
    ::setrlimit(RLIMIT_FSIZE, &saved);
    std::signal(SIGXFSZ, old_handler);
  }
};

} // namespace

TEST_CASE("write_file_atomic writes whole files and replaces old ones", "[base][io]") {
  Scratch s;
  const fs::path path = s.dir / "a.bin";
  std::string bytes(100000, '\0');
  for (std::size_t i = 0; i < bytes.size(); ++i) {
    bytes[i] = static_cast<char>(i * 131 % 251);
  }
  tessera::write_file_atomic(path, bytes);
  CHECK(tessera::read_file(path) == bytes);
  tessera::write_file_atomic(path, "short");
  CHECK(tessera::read_file(path) == "short");
  CHECK(s.entries() == 1); // no temporaries left
}

TEST_CASE("a failed write names the path and reason and loses nothing", "[base][io]") {
  Scratch s;
  const fs::path path = s.dir / "out.npy";
  tessera::write_file_atomic(path, "previous contents");
  {
    FileSizeLimit limit(4096);
    try {
      tessera::write_file_atomic(path, std::string(64 * 1024, 'x'));
      FAIL("a write past the file-size limit succeeded");
    } catch (const tessera::IoError& e) {
      CHECK_THAT(e.what(), Contains(path.string()) && Contains("File too large"));
    }
  }
  CHECK(tessera::read_file(path) == "previous contents");
  CHECK(s.entries() == 1);
  CHECK_THROWS_WITH(tessera::write_file_atomic(s.dir / "missing" / "x", "y"),
                    Contains("missing/x") && Contains("No such file or directory"));
}

TEST_CASE("read_file refuses what it cannot size", "[base][io]") {
  Scratch s;
  CHECK_THROWS_AS(tessera::read_file(s.dir), tessera::IoError);
  CHECK_THROWS_WITH(tessera::read_file(s.dir), Contains("is a directory"));
  CHECK_THROWS_WITH(tessera::read_file("/dev/zero"), Contains("not a regular file"));
  CHECK_THROWS_WITH(tessera::read_file(s.dir / "nope"), Contains("No such file or directory"));
  fs::create_symlink("/dev/zero", s.dir / "zero.npy");
  CHECK_THROWS_WITH(tessera::read_file(s.dir / "zero.npy"), Contains("not a regular file"));
}
