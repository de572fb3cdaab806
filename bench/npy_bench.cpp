// .npy I/O throughput of the CLI's reader and writer (tools/npy.cpp), the path `tessera run
// --inputs/--outputs` takes: write a bf16-bits array and an fp32 array of --mib MiB each to a
// directory (default: a fresh one under the system temporary directory), read them back, and
// print the median GB/s of each direction over --runs runs. No GPU.
//   npy_bench [--mib 512] [--runs 5] [--dir DIR]
#include "bench/bench_util.h"
#include "tools/npy.h"

#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fmt/format.h>
#include <random>
#include <string>
#include <unistd.h>

using namespace tessera;

namespace {

struct Options {
  std::int64_t mib = 512;
  int runs = 5;
  std::string dir;
};

Options parse(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    const bool has_value = i + 1 < argc;
    if (a == "--mib" && has_value) {
      o.mib = std::stoll(argv[++i]);
    } else if (a == "--runs" && has_value) {
      o.runs = std::stoi(argv[++i]);
    } else if (a == "--dir" && has_value) {
      o.dir = argv[++i];
    } else {
      std::fprintf(stderr, "usage: npy_bench [--mib N] [--runs N] [--dir DIR]\n");
      std::exit(2);
    }
  }
  if (o.mib < 1 || o.runs < 1) {
    std::fprintf(stderr, "npy_bench: --mib and --runs must be positive\n");
    std::exit(2);
  }
  return o;
}

} // namespace

int main(int argc, char** argv) {
  const Options o = parse(argc, argv);
  const std::filesystem::path dir =
      o.dir.empty() ? std::filesystem::temp_directory_path() /
                          fmt::format("tessera-npy-bench-{}", static_cast<long>(::getpid()))
                    : std::filesystem::path(o.dir);
  std::filesystem::create_directories(dir);
  const std::int64_t bytes = o.mib << 20;
  std::mt19937 rng(1);
  fmt::print("npy_bench: {} MiB per file, {} runs, in {}\n", o.mib, o.runs, dir.string());
  fmt::print("{:<6} {:>12} {:>12}\n", "dtype", "write GB/s", "read GB/s");
  for (const char* descr : {"<u2", "<f4"}) {
    cli::NpyArray a;
    a.descr = descr;
    const int eb = a.descr == "<f4" ? 4 : 2;
    a.shape = {bytes / eb / 4096, 4096};
    a.bytes.resize(static_cast<std::size_t>(a.numel() * eb));
    for (std::size_t i = 0; i < a.bytes.size(); i += 4096) {
      a.bytes[i] = static_cast<std::uint8_t>(rng()); // touch every page; contents do not matter
    }
    const std::string path = (dir / fmt::format("a{}.npy", eb)).string();
    std::vector<double> write_s, read_s;
    for (int r = 0; r < o.runs; ++r) {
      double t0 = bench::now_us();
      cli::write_npy(path, a);
      write_s.push_back((bench::now_us() - t0) * 1e-6);
      t0 = bench::now_us();
      const cli::NpyArray b = cli::read_npy(path);
      read_s.push_back((bench::now_us() - t0) * 1e-6);
      if (b.bytes != a.bytes || b.shape != a.shape) {
        std::fprintf(stderr, "npy_bench: %s read back differs from what was written\n", descr);
        return 1;
      }
    }
    std::filesystem::remove(path);
    const double gb = static_cast<double>(a.bytes.size()) * 1e-9;
    fmt::print("{:<6} {:>12.2f} {:>12.2f}\n", descr, gb / bench::median(write_s),
               gb / bench::median(read_s));
  }
  if (o.dir.empty()) {
    std::filesystem::remove_all(dir);
  }
  return 0;
}
