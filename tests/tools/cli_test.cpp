// Runs the `tessera` binary as a user would and checks output and exit codes.
#include <array>
#include <catch2/catch.hpp>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <sys/wait.h>
#include <unistd.h>

namespace fs = std::filesystem;
using Catch::Matchers::Contains;

namespace {

struct Result {
  int status = -1;
  std::string output; // stdout and stderr together
};

Result run(const std::string& args, const std::string& env = "") {
  const std::string cmd = env + " " + TESSERA_CLI_PATH + " " + args + " 2>&1";
  Result r;
  FILE* pipe = ::popen(cmd.c_str(), "r");
  REQUIRE(pipe != nullptr);
  std::array<char, 4096> buf;
  std::size_t n;
  while ((n = std::fread(buf.data(), 1, buf.size(), pipe)) > 0) {
    r.output.append(buf.data(), n);
  }
  const int status = ::pclose(pipe);
  r.status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

struct Scratch {
  fs::path dir = fs::temp_directory_path() / ("tessera-cli-" + std::to_string(::getpid()));
  Scratch() { fs::create_directories(dir); }
  ~Scratch() { fs::remove_all(dir); }
  fs::path write(const std::string& name, const std::string& text) const {
    std::ofstream(dir / name) << text;
    return dir / name;
  }
};

} // namespace

TEST_CASE("tessera --help lists the subcommands", "[cli]") {
  const Result r = run("--help");
  CHECK(r.status == 0);
  CHECK_THAT(r.output, Contains("compile"));
  CHECK_THAT(r.output, Contains("cache"));
  CHECK_THAT(r.output, Contains("info"));
  CHECK(run("").status != 0);
  CHECK(run("no-such-command").status != 0);
}

TEST_CASE("tessera compile writes a cubin or PTX and reports resources", "[cli]") {
  Scratch s;
  s.write("helper.cuh", "__device__ inline float twice(float x) { return 2 * x; }\n");
  const fs::path src = s.write("k.cu", "#include \"helper.cuh\"\n"
                                       "extern \"C\" __global__ void k(float* x) { *x = "
                                       "twice(*x); }\n");
  Result r = run("compile " + src.string() + " --arch sm_90a");
  CHECK(r.status == 0);
  CHECK(fs::file_size(s.dir / "k.cubin") > 0);
  CHECK_THAT(r.output, Contains("registers"));
  r = run("compile " + src.string() + " --arch sm_80 --ptx -o " + (s.dir / "out.ptx").string());
  CHECK(r.status == 0);
  std::ifstream in(s.dir / "out.ptx");
  const std::string ptx((std::istreambuf_iterator<char>(in)), {});
  CHECK_THAT(ptx, Contains(".target sm_80"));
}

TEST_CASE("tessera compile fails with a one-line reason", "[cli]") {
  Scratch s;
  const fs::path bad = s.write("bad.cu", "extern \"C\" __global__ void k(float* x) {\n"
                                         "  x[0] = nope;\n}\n");
  Result r = run("compile " + bad.string() + " --arch sm_90a");
  CHECK(r.status == 1);
  CHECK_THAT(r.output, Contains("tessera: error: NVRTC failed to compile bad.cu for sm_90a"));
  CHECK_THAT(r.output, Contains("bad.cu:2 |   x[0] = nope;"));
  r = run("compile " + (s.dir / "missing.cu").string() + " --arch sm_90a");
  CHECK(r.status != 0);
  r = run("compile " + bad.string() + " --arch nonsense");
  CHECK(r.status == 1);
  CHECK_THAT(r.output, Contains("invalid target arch 'nonsense'"));
}

TEST_CASE("tessera cache path, stats and clear follow TESSERA_CACHE_DIR", "[cli]") {
  Scratch s;
  const std::string env = "TESSERA_CACHE_DIR=" + (s.dir / "cache").string();
  Result r = run("cache path", env);
  CHECK(r.status == 0);
  CHECK_THAT(r.output, Contains((s.dir / "cache").string()));
  // A fake entry, as the cache would have published it.
  fs::create_directories(s.dir / "cache" / "v1" / "ab" / "abcdef");
  std::ofstream(s.dir / "cache" / "v1" / "ab" / "abcdef" / "kernel.cubin") << "0123456789";
  r = run("cache stats", env);
  CHECK(r.status == 0);
  CHECK_THAT(r.output, Contains("entries:   1"));
  r = run("cache clear", env);
  CHECK(r.status == 0);
  CHECK_THAT(r.output, Contains("removed 1 entries"));
  CHECK_FALSE(fs::exists(s.dir / "cache" / "v1" / "ab"));
}

TEST_CASE("tessera info reports NVRTC, the cache and the driver", "[cli]") {
  const Result r = run("info", "TESSERA_LIBCUDA=/nonexistent/libcuda.so.1");
  CHECK(r.status == 0);
  CHECK_THAT(r.output, Contains("NVRTC:"));
  CHECK_THAT(r.output, Contains("sm_90a"));
  CHECK_THAT(r.output, Contains("cache:"));
  CHECK_THAT(r.output, Contains("driver:    none (no CUDA driver found"));
}

TEST_CASE("tessera run --target picks where an mHC op runs", "[cli]") {
  // Without a driver, auto is the CPU backend in LLVM builds; --check compares every output.
  const std::string no_gpu = "TESSERA_LIBCUDA=/nonexistent/libcuda.so.1";
  const Result info = run("info", no_gpu);
  CHECK(info.status == 0);
  const bool cpu = info.output.find("LLVM backend built") != std::string::npos;
  CHECK_THAT(info.output, Contains(cpu ? "target:    auto -> cpu" : "target:    auto -> none"));
  for (const char* target : {"auto", "cpu"}) {
    const Result r =
        run(std::string("run mhc_post --tokens 3 --hidden 256 --check --target ") + target, no_gpu);
    if (cpu) {
      CHECK(r.status == 0);
      CHECK_THAT(r.output, Contains("on the CPU (LLVM backend)") && Contains("out"));
    } else {
      CHECK(r.status != 0);
      CHECK_THAT(r.output, Contains("without the LLVM CPU backend"));
    }
  }
  const Result bad = run("run mhc_post --tokens 3 --hidden 256 --target gpu");
  CHECK(bad.status != 0);
  CHECK_THAT(bad.output, Contains("--target") && Contains("expected auto, cuda or cpu"));
  const Result cuda = run("run mhc_post --tokens 3 --hidden 256 --target cuda", no_gpu);
  CHECK(cuda.status != 0);
  CHECK_THAT(cuda.output, Contains("no CUDA driver found"));
}

TEST_CASE("tessera fails when its output cannot be written", "[cli]") {
  // Standard output on a full device: the listing is lost, so the command must fail.
  CHECK(run("list >/dev/full").status != 0);
  CHECK(run("list >/dev/null").status == 0);
  // .npy outputs past a file-size limit (SIGXFSZ ignored, so write() fails as on a full disk):
  // an error naming the file, no "outputs written", and no partial file under the final name.
  Scratch s;
  const std::string limited =
      "trap '' XFSZ; ulimit -f 8; TESSERA_LIBCUDA=/nonexistent/libcuda.so.1";
  const Result r = run(
      "run mhc_post --tokens 64 --hidden 1024 --target cpu --outputs " + s.dir.string(), limited);
  const bool cpu = run("info").output.find("LLVM backend built") != std::string::npos;
  CHECK(r.status != 0);
  if (cpu) {
    CHECK_THAT(r.output,
               Contains("cannot write") && Contains("out.npy") && Contains("File too large"));
    CHECK_FALSE(fs::exists(s.dir / "out.npy"));
  }
  CHECK(r.output.find("outputs written") == std::string::npos);
}

TEST_CASE("tessera reads numbers as decimal, checks ranges and names the flag", "[cli]") {
  const std::string no_gpu = "TESSERA_LIBCUDA=/nonexistent/libcuda.so.1";
  struct Case {
    const char* args;
    const char* message;
  };
  for (const Case& c : {
           Case{"run mhc_post --tokens 0x10 --hidden 256", "--tokens: '0x10' is not a decimal"},
           Case{"run mhc_post --tokens 99999999999999999999", "--tokens: '9999"},
           Case{"run mhc_post --tokens -1", "--tokens: -1 is outside [0, "},
           Case{"run mhc_pre --splits -7", "--splits: -7 is outside [1, 1024]"},
           Case{"run mhc_post --seed -1", "--seed: -1 is outside [0, "},
           Case{"run mhc_pre --precision fp64", "--precision: 'fp64' is not one of: tf32 | fp32"},
           Case{"run mhc_pre --variant fancy", "--variant: 'fancy' is not one of"},
           Case{"run mhc_post --post-mult nan", "--post-mult: 'nan' is not a finite"},
           Case{"run mhc_post --hc-mult 9", "--hc-mult: 9 is outside [2, 8]"},
           Case{"emit rmsnorm --hidden -5", "--hidden: -5 is outside [1, "},
           Case{"emit rmsnorm --param hidden=0x10", "'hidden' must be a decimal integer"},
           Case{"emit rmsnorm --param eps=nan", "'eps' must be a finite decimal number"},
           Case{"emit rmsnorm --param eps=inf", "'eps' must be a finite decimal number"},
           Case{"tune mhc_post --tokens 1,0x2", "--tokens: '0x2' is not a decimal"},
       }) {
    const Result r = run(c.args, no_gpu);
    INFO(c.args << "\n" << r.output);
    CHECK(r.status != 0);
    CHECK_THAT(r.output, Contains(c.message));
  }
  // Leading zeros are decimal, not octal.
  const Result r = run("run mhc_post --tokens 010 --hidden 256 --target cpu", no_gpu);
  if (r.status == 0) {
    CHECK_THAT(r.output, Contains("T=10 "));
  }
  Scratch s;
  const Result compiled =
      run("compile rmsnorm --arch sm_80 --hidden 512 -o " + (s.dir / "r.cubin").string());
  CHECK(compiled.status == 0);
  CHECK(fs::file_size(s.dir / "r.cubin") > 0);
}

TEST_CASE("tessera run checks sizes and paths before doing any work", "[cli]") {
  const std::string no_gpu = "TESSERA_LIBCUDA=/nonexistent/libcuda.so.1";
  // Petabytes of tensors: refused at once, before a single input is drawn.
  const Result huge = run("run mhc_post -T 68719476736 -H 4096 --target cpu", no_gpu);
  CHECK(huge.status != 0);
  CHECK_THAT(huge.output, Contains("GiB of host memory") && Contains("is available"));
  Scratch s;
  s.write("file.txt", "not a directory");
  const Result blocked = run("run mhc_post -T 4 -H 256 --target cpu --outputs " +
                                 (s.dir / "file.txt" / "sub").string(),
                             no_gpu);
  CHECK(blocked.status != 0);
  CHECK_THAT(blocked.output, Contains("--outputs: cannot create"));
  CHECK(blocked.output.find("mhc_post T=4") == std::string::npos); // nothing ran
  // An input path that is a directory is named as such.
  fs::create_directories(s.dir / "in" / "y.npy");
  const Result dir_input =
      run("run mhc_post -T 4 -H 256 --target cpu --inputs " + (s.dir / "in").string(), no_gpu);
  CHECK(dir_input.status != 0);
  CHECK_THAT(dir_input.output, Contains("y.npy") && Contains("is a directory"));
}

TEST_CASE("a HOME that does not exist is not created for the cache", "[cli]") {
  Scratch s;
  const fs::path home = s.dir / "no-such-home";
  const Result r = run("compile rmsnorm --arch sm_80 -o " + (s.dir / "r.cubin").string(),
                       "env -u TESSERA_CACHE_DIR -u XDG_CACHE_HOME HOME=" + home.string());
  CHECK(r.status == 0);
  CHECK_THAT(r.output, Contains("disk cache disabled") && Contains("does not exist"));
  CHECK_FALSE(fs::exists(home));
}

TEST_CASE("a wrong CUDA_HOME is named in the compile error", "[cli]") {
  const Result r =
      run("emit rmsnorm --arch sm_80", "CUDA_HOME=/nonexistent/cuda TESSERA_DISABLE_CACHE=1");
  CHECK(r.status != 0);
  CHECK_THAT(r.output, Contains("hint: CUDA_HOME='/nonexistent/cuda' has no include/cuda_bf16.h"));
}

TEST_CASE("without libnvrtc the CPU backend runs and CUDA work says what is missing", "[cli]") {
  const std::string no_toolkit =
      "TESSERA_LIBNVRTC=/nonexistent/libnvrtc.so.13 TESSERA_LIBCUDA=/nonexistent/libcuda.so.1";
  const Result info = run("info", no_toolkit);
  CHECK(info.status == 0);
  CHECK_THAT(info.output, Contains("NVRTC:     none (NVRTC not found"));
  if (info.output.find("LLVM backend built") != std::string::npos) {
    const Result cpu = run("run mhc_post -T 3 -H 256 --check --target cpu", no_toolkit);
    CHECK(cpu.status == 0);
    CHECK_THAT(cpu.output, Contains("ok"));
  }
  const Result cuda = run("compile rmsnorm --arch sm_80", no_toolkit);
  CHECK(cuda.status != 0);
  CHECK_THAT(cuda.output, Contains("NVRTC not found") && Contains("TESSERA_LIBNVRTC"));
}

TEST_CASE("tessera tune checks its arguments, and needs a GPU", "[cli]") {
  const std::string no_gpu = "TESSERA_LIBCUDA=/nonexistent/libcuda.so.1";
  const Result help = run("tune --help");
  CHECK(help.status == 0);
  CHECK_THAT(help.output, Contains("--tokens") && Contains("--dry-run"));
  const std::pair<const char*, const char*> refusals[] = {
      {"tune sinkhorn", "expected mhc_pre, mhc_post"},
      {"tune mhc_pre --tokens 1,0", "--tokens: '0'"},
      {"tune mhc_pre --precision bf16", "--precision: 'bf16' is not one of: tf32 | fp32"},
      {"tune mhc_pre --hidden 7168", "no CUDA driver found"},
  };
  for (const auto& [args, message] : refusals) {
    const Result r = run(args, no_gpu);
    INFO(args << "\n" << r.output);
    CHECK(r.status != 0);
    CHECK_THAT(r.output, Contains(message));
  }
}
