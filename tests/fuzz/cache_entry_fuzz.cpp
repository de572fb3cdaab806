// Fuzzes the disk cache's entry loader: the input is cut into key.bin, meta.json, kernel.cubin
// and kernel.ptx of a real entry's directory. Loading must give the right program (a disk hit
// only when the entry is the genuine one) or a miss that recompiles — never a crash, a wrong
// program or an escaping exception.
#include "runtime/cache.h"
#include "runtime/sha256.h"

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <unistd.h>

namespace fs = std::filesystem;
using namespace tessera;

namespace {

CompileResult fake_compile(std::string_view source, const CompileOptions& o) {
  CompileResult r;
  r.program_name = o.program_name;
  r.source = std::string(source);
  r.arch = o.arch;
  r.nvrtc_version = nvrtc_version();
  const std::string payload = "CUBIN:" + sha256_hex(source);
  r.cubin.assign(payload.begin(), payload.end());
  r.ptx = "// ptx";
  EntryInfo e;
  e.name = "fake";
  r.entries.push_back(e);
  return r;
}

CacheConfig config(const fs::path& dir) {
  CacheConfig c;
  c.directory = dir;
  return c;
}

CompileOptions options() {
  CompileOptions o;
  o.arch = "sm_90a";
  return o;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const fs::path dir =
      fs::temp_directory_path() / ("tessera-fuzz-" + std::to_string(::getpid()));
  static const std::string expected = "CUBIN:" + sha256_hex("fuzz");
  std::string key;
  {
    Cache cache(config(dir), fake_compile);
    key = cache.get("fuzz", options())->cache_key();
  }
  // Four files from the input: each length is one byte (scaled) of the first four.
  const std::string bytes(reinterpret_cast<const char*>(data), size);
  std::size_t at = 4;
  const char* names[] = {"key.bin", "meta.json", "kernel.cubin", "kernel.ptx"};
  for (int i = 0; i < 4 && size >= 4; ++i) {
    const std::size_t len =
        std::min<std::size_t>(static_cast<std::uint8_t>(bytes[i]) * 8, at < size ? size - at : 0);
    const fs::path entry = dir / "v1" / key.substr(0, 2) / key;
    fs::create_directories(entry);
    std::ofstream(entry / names[i], std::ios::binary | std::ios::trunc)
        << bytes.substr(std::min(at, size), len);
    at += len;
  }
  Cache cache(config(dir), fake_compile);
  const auto program = cache.get("fuzz", options());
  const auto cubin = program->cubin();
  if (std::string(cubin.begin(), cubin.end()) != expected) {
    std::abort(); // a wrong program was served
  }
  return 0;
}
