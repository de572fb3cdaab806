// tools/npy: round trips and clear errors for unsupported dtypes, shapes and corrupt files.
#include "base/error.h"
#include "tools/npy.h"

#include <catch2/catch.hpp>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <string>
#include <unistd.h>

using tessera::cli::encode_npy;
using tessera::cli::NpyArray;
using tessera::cli::parse_npy;

namespace {

std::vector<std::uint8_t> image(const std::string& header, std::size_t data_bytes) {
  std::string h = header;
  while ((10 + h.size() + 1) % 64 != 0) {
    h += ' ';
  }
  h += '\n';
  std::vector<std::uint8_t> out = {0x93,
                                   'N',
                                   'U',
                                   'M',
                                   'P',
                                   'Y',
                                   1,
                                   0,
                                   static_cast<std::uint8_t>(h.size() & 0xFF),
                                   static_cast<std::uint8_t>(h.size() >> 8)};
  out.insert(out.end(), h.begin(), h.end());
  out.resize(out.size() + data_bytes, 0);
  return out;
}

} // namespace

TEST_CASE("npy round trip of float32 and uint16 (bf16 bits)", "[npy]") {
  for (const char* descr : {"<f4", "<u2"}) {
    NpyArray a;
    a.descr = descr;
    a.shape = {3, 2, 5};
    const int eb = std::string(descr) == "<f4" ? 4 : 2;
    a.bytes.resize(30 * eb);
    for (std::size_t i = 0; i < a.bytes.size(); ++i) {
      a.bytes[i] = static_cast<std::uint8_t>(i * 7);
    }
    const auto file = encode_npy(a);
    CHECK((file.size() - a.bytes.size()) % 64 == 0);
    const NpyArray b = parse_npy(file, "x.npy");
    CHECK(b.descr == a.descr);
    CHECK(b.shape == a.shape);
    CHECK(b.bytes == a.bytes);
  }
  NpyArray one{"<f4", {4}, std::vector<std::uint8_t>(16, 1)};
  CHECK(parse_npy(encode_npy(one), "one").shape == std::vector<std::int64_t>{4});
  NpyArray empty{"<u2", {0, 7}, {}};
  CHECK(parse_npy(encode_npy(empty), "empty").numel() == 0);
}

TEST_CASE("npy errors name the file and the problem", "[npy]") {
  using Catch::Contains;
  CHECK_THROWS_WITH(parse_npy({1, 2, 3}, "a.npy"), Contains("a.npy: not a .npy file"));
  CHECK_THROWS_WITH(
      parse_npy(image("{'descr': '<f8', 'fortran_order': False, 'shape': (2,), }", 16), "d.npy"),
      Contains("d.npy: unsupported dtype '<f8'"));
  CHECK_THROWS_WITH(
      parse_npy(image("{'descr': '<f4', 'fortran_order': True, 'shape': (2,), }", 8), "f.npy"),
      Contains("Fortran-order"));
  CHECK_THROWS_WITH(
      parse_npy(image("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }", 8), "t.npy"),
      Contains("needs 24 data bytes, the file has 8"));
  CHECK_THROWS_WITH(parse_npy(image("{'descr': '<f4', 'shape': (2,), }", 8), "h.npy"),
                    Contains("corrupt or unsupported .npy header"));
  CHECK_THROWS_WITH(
      parse_npy(image("{'descr': '<f4', 'fortran_order': False, 'shape': (x,), }", 8), "s.npy"),
      Contains("bad shape entry"));
  auto v9 = image("{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }", 8);
  v9[6] = 9;
  CHECK_THROWS_WITH(parse_npy(v9, "v.npy"), Contains("unsupported .npy format version 9"));
  CHECK_THROWS_WITH(tessera::cli::read_npy("/nonexistent/x.npy"),
                    Contains("cannot read '/nonexistent/x.npy': No such file"));
}

TEST_CASE("read_npy checks the header against the file size before reading the payload", "[npy]") {
  // A 16 GiB sparse file (no disk space used) whose header claims 4 floats: refused from the
  // header and the file's size alone. Reading the whole file first (as read_npy once did) would
  // allocate 16 GiB before finding out.
  const std::string path = (std::filesystem::temp_directory_path() /
                            ("tessera-npy-sparse-" + std::to_string(::getpid()) + ".npy"))
                               .string();
  const auto head = image("{'descr': '<f4', 'fortran_order': False, 'shape': (4,), }", 16);
  {
    std::FILE* f = std::fopen(path.c_str(), "wb");
    REQUIRE(f != nullptr);
    REQUIRE(std::fwrite(head.data(), 1, head.size(), f) == head.size());
    std::fclose(f);
  }
  REQUIRE(::truncate(path.c_str(), std::int64_t{16} << 30) == 0);
  const std::int64_t payload =
      (std::int64_t{16} << 30) - static_cast<std::int64_t>(head.size() - 16);
  CHECK_THROWS_WITH(
      tessera::cli::read_npy(path),
      Catch::Contains("needs 16 data bytes, the file has " + std::to_string(payload)));
  // The same header with its 16 bytes reads back, payload in place.
  REQUIRE(::truncate(path.c_str(), static_cast<off_t>(head.size())) == 0);
  const NpyArray a = tessera::cli::read_npy(path);
  CHECK(a.shape == std::vector<std::int64_t>{4});
  CHECK(a.bytes.size() == 16);
  std::filesystem::remove(path);
}
