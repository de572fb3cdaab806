#include "base/error.h"
#include "base/file_io.h"
#include "runtime/cache.h"
#include "runtime/sha256.h"
#include "test_util.h"

#include <algorithm>
#include <catch2/catch.hpp>
#include <chrono>
#include <csignal>
#include <fcntl.h>
#include <fstream>
#include <map>
#include <random>
#include <set>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

using namespace tessera;
namespace fs = std::filesystem;
using Catch::Matchers::Contains;

namespace {

// A stand-in for NVRTC so cache mechanics are tested fast and deterministically.
struct FakeCompiler {
  std::shared_ptr<std::atomic<int>> calls = std::make_shared<std::atomic<int>>(0);
  int delay_ms = 0;

  Cache::CompileFunction fn() const {
    auto c = calls;
    int delay = delay_ms;
    return [c, delay](std::string_view source, const CompileOptions& o) {
      ++*c;
      if (delay) {
        std::this_thread::sleep_for(std::chrono::milliseconds(delay));
      }
      CompileResult r;
      r.program_name = o.program_name;
      r.source = std::string(source);
      r.arch = o.arch;
      r.nvrtc_version = nvrtc_version();
      const std::string payload = "CUBIN:" + sha256_hex(source) + ":" + o.arch;
      r.cubin.assign(payload.begin(), payload.end());
      r.ptx = "// ptx for " + std::string(source);
      r.log = "ptxas info : fake";
      r.compile_ms = 1.5;
      EntryInfo e;
      e.name = "fake";
      e.params_known = true;
      e.params = {{0, 8}, {8, 4}};
      e.resources.registers = 17;
      e.resources.shared_bytes = 256;
      e.resources.local_bytes = 0;
      e.resources.spill_store_bytes = 0;
      e.resources.spill_load_bytes = 0;
      e.resources.max_threads_per_block = 128;
      e.resources.origin = "ptxas";
      r.entries.push_back(e);
      return r;
    };
  }
};

CompileOptions opts() {
  CompileOptions o;
  o.arch = "sm_90a"; // explicit: no GPU needed
  return o;
}

CacheConfig config_for(const fs::path& dir) {
  CacheConfig c;
  c.directory = dir;
  return c;
}

void corrupt(const fs::path& file, bool truncate) {
  std::string bytes;
  {
    std::ifstream in(file, std::ios::binary);
    bytes.assign(std::istreambuf_iterator<char>(in), {});
  }
  REQUIRE(bytes.size() > 4);
  if (truncate) {
    bytes.resize(bytes.size() / 2);
  } else {
    bytes[bytes.size() / 2] ^= 0x5a;
  }
  std::ofstream out(file, std::ios::binary | std::ios::trunc);
  out << bytes;
}

std::size_t count_entries(const fs::path& dir) {
  std::size_t n = 0;
  for (const auto& shard : fs::directory_iterator(dir / "v1")) {
    if (shard.path().filename() != "tmp") {
      n += std::distance(fs::directory_iterator(shard.path()), fs::directory_iterator{});
    }
  }
  return n;
}

} // namespace

TEST_CASE("cache: miss compiles, repeat is a memory hit, new process is a disk hit", "[cache]") {
  test::TempDir dir;
  FakeCompiler fake;
  std::shared_ptr<const Program> first;
  {
    Cache cache(config_for(dir.path()), fake.fn());
    REQUIRE(cache.disk_enabled());
    first = cache.get("source A", opts());
    CHECK(first->origin() == ProgramOrigin::compiled);
    auto again = cache.get("source A", opts());
    CHECK(again.get() == first.get());
    CHECK(cache.stats().compiles == 1);
    CHECK(cache.stats().memory_hits == 1);
    CHECK(cache.stats().disk_writes == 1);
    CHECK(fs::exists(cache.entry_path(first->cache_key()) / "meta.json"));
    CHECK(fs::exists(cache.entry_path(first->cache_key()) / "kernel.cu"));
  }
  Cache fresh(config_for(dir.path()), fake.fn());
  auto loaded = fresh.get("source A", opts());
  CHECK(loaded->origin() == ProgramOrigin::disk_cache);
  CHECK(fresh.stats().disk_hits == 1);
  CHECK(fresh.stats().compiles == 0);
  CHECK(*fake.calls == 1);
  CHECK(loaded->cache_key() == first->cache_key());
  CHECK(std::equal(loaded->cubin().begin(), loaded->cubin().end(), first->cubin().begin(),
                   first->cubin().end()));
  CHECK(loaded->ptx() == first->ptx());
  CHECK(loaded->log() == first->log());
  CHECK(loaded->cuda_source() == "source A");
  CHECK(loaded->compile_ms() == 1.5);
  REQUIRE(loaded->entries().size() == 1);
  CHECK(loaded->entries()[0].params.size() == 2);
  CHECK(loaded->entries()[0].params[1].offset == 8);
  CHECK(loaded->resources("fake").registers == 17);
  CHECK(loaded->resources().shared_bytes == 256);
  CHECK_THROWS_AS(loaded->resources("other"), UserError);
  const DiskUsage usage = fresh.disk_usage();
  CHECK(usage.entries == 1);
  CHECK(usage.bytes > 0);
  // A different source misses.
  fresh.get("source B", opts());
  CHECK(fresh.stats().compiles == 1);
  fresh.clear();
  CHECK(fresh.disk_usage().entries == 0);
  fresh.get("source A", opts());
  CHECK(fresh.stats().compiles == 2);
}

TEST_CASE("cache key depends on every input and not on option order", "[cache]") {
  CacheKeyInputs base;
  base.source = "extern \"C\" __global__ void k() {}";
  base.program_name = "kernel.cu";
  base.headers = {{"a.h", "int a;"}, {"b.h", "int b;"}};
  base.name_expressions = {"k"};
  base.options = {"-std=c++20", "--gpu-architecture=sm_90a", "-default-device"};
  base.arch = "sm_90a";
  base.nvrtc_version = "13.0";
  base.tessera_version = "0.1.0";
  const std::string k0 = cache_key(base);
  CHECK(k0.size() == 64);
  CHECK(cache_key(base) == k0);

  auto differs = [&](auto mutate) {
    CacheKeyInputs in = base;
    mutate(in);
    return cache_key(in) != k0;
  };
  CHECK(differs([](CacheKeyInputs& in) { in.source += " "; }));
  CHECK(differs([](CacheKeyInputs& in) { in.program_name = "other.cu"; }));
  CHECK(differs([](CacheKeyInputs& in) { in.headers[0].content = "int a2;"; }));
  CHECK(differs([](CacheKeyInputs& in) { in.headers[1].name = "c.h"; }));
  CHECK(differs([](CacheKeyInputs& in) { in.name_expressions = {"k2"}; }));
  CHECK(differs([](CacheKeyInputs& in) { in.options.push_back("-lineinfo"); }));
  CHECK(differs([](CacheKeyInputs& in) { in.options[0] = "-std=c++17"; }));
  CHECK(differs([](CacheKeyInputs& in) { in.arch = "sm_90"; }));
  CHECK(differs([](CacheKeyInputs& in) { in.nvrtc_version = "13.1"; }));
  CHECK(differs([](CacheKeyInputs& in) { in.tessera_version = "0.1.1"; }));
  // Field boundaries are unambiguous: moving bytes between fields changes the key.
  CHECK(differs([](CacheKeyInputs& in) {
    in.headers[0].name = "a.hi";
    in.headers[0].content = "nt a;";
  }));
  // Order of options and headers does not matter.
  CHECK_FALSE(differs([](CacheKeyInputs& in) { std::swap(in.options[0], in.options[2]); }));
  CHECK_FALSE(differs([](CacheKeyInputs& in) { std::swap(in.headers[0], in.headers[1]); }));

  // From CompileOptions: each user-visible option reaches the key.
  const std::string src = test::kAxpySource;
  const std::string kopt = cache_key(cache_key_inputs(src, opts()));
  auto opt_differs = [&](auto mutate) {
    CompileOptions o = opts();
    mutate(o);
    return cache_key(cache_key_inputs(src, o)) != kopt;
  };
  CHECK(opt_differs([](CompileOptions& o) { o.arch = "sm_80"; }));
  CHECK(opt_differs([](CompileOptions& o) { o.fast_math = true; }));
  CHECK(opt_differs([](CompileOptions& o) { o.lineinfo = true; }));
  CHECK(opt_differs([](CompileOptions& o) { o.defines = {"X=1"}; }));
  CHECK(opt_differs([](CompileOptions& o) { o.include_paths = {"/tmp"}; }));
  CHECK(opt_differs([](CompileOptions& o) { o.extra_options = {"-G"}; }));
  CHECK(opt_differs([](CompileOptions& o) { o.cpp_std = "c++17"; }));
  CHECK_FALSE(opt_differs([](CompileOptions& o) { o.device = 3; })); // arch is explicit
}

TEST_CASE("cache: a corrupt entry is a miss and is rewritten", "[cache]") {
  const char* file = GENERATE("kernel.cubin", "meta.json", "key.bin", "kernel.ptx");
  const bool truncate = GENERATE(false, true);
  INFO(file << (truncate ? " truncated" : " flipped"));
  test::TempDir dir;
  FakeCompiler fake;
  std::string key;
  {
    Cache cache(config_for(dir.path()), fake.fn());
    key = cache.get("src", opts())->cache_key();
    corrupt(cache.entry_path(key) / file, truncate);
  }
  {
    Cache cache(config_for(dir.path()), fake.fn());
    auto p = cache.get("src", opts());
    CHECK(p->origin() == ProgramOrigin::compiled);
    CHECK(cache.stats().bad_entries == 1);
    CHECK(cache.stats().compiles == 1);
    CHECK(cache.stats().disk_writes == 1);
  }
  Cache cache(config_for(dir.path()), fake.fn());
  CHECK(cache.get("src", opts())->origin() == ProgramOrigin::disk_cache);
  CHECK(cache.stats().bad_entries == 0);
  CHECK(*fake.calls == 2);
}

TEST_CASE("cache: files copied from another entry are a miss, never a wrong hit", "[cache]") {
  // Another program's cubin, PTX and meta.json under this entry's key.bin (the attack of issue
  // 11); then the same with key.bin copied too.
  const bool with_key = GENERATE(false, true);
  test::TempDir dir;
  FakeCompiler fake;
  std::string key_a, key_b;
  std::vector<std::uint8_t> cubin_a;
  {
    Cache cache(config_for(dir.path()), fake.fn());
    auto a = cache.get("program A", opts());
    cubin_a.assign(a->cubin().begin(), a->cubin().end());
    key_a = a->cache_key();
    key_b = cache.get("program B", opts())->cache_key();
    std::vector<std::string> files = {"kernel.cubin", "kernel.ptx", "meta.json"};
    if (with_key) {
      files.push_back("key.bin");
    }
    for (const std::string& f : files) {
      fs::copy_file(cache.entry_path(key_b) / f, cache.entry_path(key_a) / f,
                    fs::copy_options::overwrite_existing);
    }
  }
  Cache cache(config_for(dir.path()), fake.fn());
  auto p = cache.get("program A", opts());
  CHECK(p->origin() == ProgramOrigin::compiled);
  CHECK(cache.stats().bad_entries == 1);
  CHECK(std::equal(p->cubin().begin(), p->cubin().end(), cubin_a.begin(), cubin_a.end()));
  Cache again(config_for(dir.path()), fake.fn());
  CHECK(again.get("program A", opts())->origin() == ProgramOrigin::disk_cache);
  CHECK(again.get("program B", opts())->origin() == ProgramOrigin::disk_cache);
}

TEST_CASE("cache: a size bound evicts the least recently used entries", "[cache]") {
  test::TempDir dir;
  FakeCompiler fake;
  std::uint64_t one = 0;
  std::map<std::string, std::string> key; // program source -> cache key
  {
    Cache cache(config_for(dir.path()), fake.fn());
    key["A"] = cache.get("A", opts())->cache_key();
    one = cache.disk_usage().bytes;
    key["B"] = cache.get("B", opts())->cache_key();
    key["C"] = cache.get("C", opts())->cache_key();
  }
  // A deterministic order: B oldest, then C, then A (a disk hit refreshes an entry).
  const auto base = fs::file_time_type::clock::now() - std::chrono::hours(3);
  {
    Cache cache(config_for(dir.path()), fake.fn());
    for (const DiskEntry& e : cache.disk_entries()) {
      fs::last_write_time(e.path / "key.bin", base);
    }
    fs::last_write_time(cache.entry_path(key["C"]) / "key.bin", base + std::chrono::hours(1));
    CHECK(cache.get("A", opts())->origin() == ProgramOrigin::disk_cache); // refreshed: now
    const auto order = cache.disk_entries();
    REQUIRE(order.size() == 3);
    CHECK(order[0].key == key["A"]);
    CHECK(order[2].key == key["B"]);
  }
  CacheConfig bounded = config_for(dir.path());
  bounded.max_bytes = 3 * one + one / 2; // three entries and a half
  Cache cache(bounded, fake.fn());
  key["D"] = cache.get("D", opts())->cache_key(); // four: over the bound, evict to 90% of it
  std::set<std::string> kept;
  for (const DiskEntry& e : cache.disk_entries()) {
    kept.insert(e.key);
  }
  CHECK(kept == std::set<std::string>{key["D"], key["A"], key["C"]});
  CHECK(cache.disk_usage().bytes <= bounded.max_bytes / 10 * 9);
  Cache after(config_for(dir.path()), fake.fn());
  CHECK(after.get("B", opts())->origin() == ProgramOrigin::compiled);
  CHECK(after.get("A", opts())->origin() == ProgramOrigin::disk_cache);
}

TEST_CASE("cache: prune reclaims entries of another format, and read-only caches serve hits",
          "[cache]") {
  test::TempDir dir;
  FakeCompiler fake;
  std::string key;
  {
    Cache cache(config_for(dir.path()), fake.fn());
    key = cache.get("old", opts())->cache_key();
    cache.get("new", opts());
    // Rewrite one entry's meta.json as an older Tessera would have: another format version.
    const fs::path meta = cache.entry_path(key) / "meta.json";
    std::string text = read_file(meta);
    const auto at = text.find("\"format\": 2");
    REQUIRE(at != std::string::npos);
    text.replace(at, 12, "\"format\": 1");
    write_file_atomic(meta, text);
    const PruneResult r = cache.prune(0);
    CHECK(r.removed_entries == 1);
    CHECK(r.kept_entries == 1);
    CHECK_FALSE(fs::exists(cache.entry_path(key)));
  }
  // Read-only: the temporary directory cannot be made (a file is in its way), the entries can
  // be read. Hits are served; a miss compiles without storing.
  fs::remove_all(dir.path() / "v1" / "tmp");
  write_file_atomic(dir.path() / "v1" / "tmp", "in the way");
  Cache cache(config_for(dir.path()), fake.fn());
  CHECK(cache.disk_read_only());
  CHECK(cache.get("new", opts())->origin() == ProgramOrigin::disk_cache);
  CHECK(cache.get("unseen", opts())->origin() == ProgramOrigin::compiled);
  CHECK(cache.stats().disk_writes == 0);
}

TEST_CASE("cache: an entry missing a file is a miss and is rewritten", "[cache]") {
  test::TempDir dir;
  FakeCompiler fake;
  std::string key;
  {
    Cache cache(config_for(dir.path()), fake.fn());
    key = cache.get("src", opts())->cache_key();
    fs::remove(cache.entry_path(key) / "kernel.cubin");
  }
  Cache cache(config_for(dir.path()), fake.fn());
  CHECK(cache.get("src", opts())->origin() == ProgramOrigin::compiled);
  CHECK(cache.stats().bad_entries == 1);
  CHECK(fs::exists(cache.entry_path(key) / "kernel.cubin"));
}

TEST_CASE("cache: an unusable directory disables the disk cache with one warning", "[cache]") {
  test::TempDir dir;
  { std::ofstream(dir.path() / "a_file") << "x"; }
  const fs::path log = dir.path() / "stderr.txt";
  FakeCompiler fake;
  // Capture stderr while the cache is built and used.
  const int saved = ::dup(2);
  const int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  ::dup2(fd, 2);
  ::close(fd);
  bool disk_enabled = true;
  std::shared_ptr<const Program> p;
  {
    // A directory below a regular file can never be created (even by root).
    Cache cache(config_for(dir.path() / "a_file" / "cache"), fake.fn());
    disk_enabled = cache.disk_enabled();
    p = cache.get("src", opts());
    cache.get("src2", opts());
  }
  std::fflush(stderr);
  ::dup2(saved, 2);
  ::close(saved);
  CHECK_FALSE(disk_enabled);
  CHECK(p->origin() == ProgramOrigin::compiled);
  std::ifstream in(log);
  const std::string text((std::istreambuf_iterator<char>(in)), {});
  CHECK_THAT(text, Contains("warning: disk cache disabled"));
  CHECK(text.find("warning", text.find("warning") + 1) == std::string::npos);
}

TEST_CASE("cache: stale temporary directories are swept, fresh ones kept", "[cache]") {
  test::TempDir dir;
  const fs::path tmp = dir.path() / "v1" / "tmp";
  fs::create_directories(tmp / "old-writer");
  fs::create_directories(tmp / "live-writer");
  fs::last_write_time(tmp / "old-writer", fs::file_time_type::clock::now() - std::chrono::hours(2));
  Cache cache(config_for(dir.path()));
  CHECK_FALSE(fs::exists(tmp / "old-writer"));
  CHECK(fs::exists(tmp / "live-writer"));
}

TEST_CASE("cache: concurrent requests for one program compile once", "[cache]") {
  test::TempDir dir;
  FakeCompiler fake;
  fake.delay_ms = 50;
  Cache cache(config_for(dir.path()), fake.fn());
  std::vector<std::thread> threads;
  std::vector<const Program*> got(8);
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] { got[t] = cache.get("same", opts()).get(); });
  }
  for (auto& t : threads) {
    t.join();
  }
  CHECK(*fake.calls == 1);
  for (auto* p : got) {
    CHECK(p == got[0]);
  }
  CHECK(cache.stats().compiles == 1);
  CHECK(cache.stats().memory_hits == 7);
}

TEST_CASE("cache: a failed compile is not cached", "[cache]") {
  test::TempDir dir;
  int calls = 0;
  Cache cache(config_for(dir.path()), [&](std::string_view source, const CompileOptions& o) {
    if (++calls == 1) {
      throw CompileError("first attempt fails", "log");
    }
    return FakeCompiler{}.fn()(source, o);
  });
  CHECK_THROWS_AS(cache.get("src", opts()), CompileError);
  CHECK(cache.get("src", opts())->origin() == ProgramOrigin::compiled);
  CHECK(calls == 2);
}

TEST_CASE("cache: disabled cache compiles every time; dump dir receives artefacts", "[cache]") {
  test::TempDir dir;
  FakeCompiler fake;
  CacheConfig c = config_for(dir.path() / "cache");
  c.enabled = false;
  c.dump_directory = dir.path() / "dump";
  Cache cache(c, fake.fn());
  auto p = cache.get("src", opts());
  cache.get("src", opts());
  CHECK(*fake.calls == 2);
  CHECK_FALSE(cache.disk_enabled());
  CHECK_FALSE(fs::exists(dir.path() / "cache" / "v1"));
  const std::string stem = "kernel-" + p->cache_key().substr(0, 12);
  for (const char* ext : {".cu", ".ptx", ".cubin", ".log"}) {
    CHECK(fs::exists(dir.path() / "dump" / (stem + ext)));
  }
}

TEST_CASE("cache config follows the environment", "[cache]") {
  ::setenv("TESSERA_CACHE_DIR", "/tmp/tessera-env-test", 1);
  CHECK(CacheConfig::default_directory() == "/tmp/tessera-env-test");
  ::unsetenv("TESSERA_CACHE_DIR");
  ::setenv("XDG_CACHE_HOME", "/tmp/xdg", 1);
  CHECK(CacheConfig::default_directory() == "/tmp/xdg/tessera");
  ::unsetenv("XDG_CACHE_HOME");
  ::setenv("HOME", "/tmp/home", 1);
  CHECK(CacheConfig::default_directory() == "/tmp/home/.cache/tessera");
  ::setenv("TESSERA_DISABLE_CACHE", "1", 1);
  CHECK_FALSE(CacheConfig::from_env().enabled);
  ::setenv("TESSERA_DISABLE_CACHE", "0", 1);
  CHECK(CacheConfig::from_env().enabled);
  ::unsetenv("TESSERA_DISABLE_CACHE");
}

TEST_CASE("cache: two processes filling the same key both succeed", "[cache]") {
  test::TempDir dir;
  int go[2];
  REQUIRE(::pipe(go) == 0);
  std::vector<pid_t> children;
  for (int i = 0; i < 2; ++i) {
    const pid_t pid = ::fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
      int code = 1;
      try {
        char byte;
        ::close(go[1]);
        // Both children start compiling at the same moment, then race to publish.
        if (::read(go[0], &byte, 1) == 0) {
          FakeCompiler fake;
          fake.delay_ms = 30;
          Cache cache(config_for(dir.path()), fake.fn());
          auto p = cache.get("shared source", opts());
          const std::string payload(p->cubin().begin(), p->cubin().end());
          code = payload.rfind("CUBIN:", 0) == 0 && cache.disk_enabled() ? 0 : 2;
        }
      } catch (...) {
        code = 3;
      }
      ::_exit(code);
    }
    children.push_back(pid);
  }
  ::close(go[0]);
  ::close(go[1]); // releases both children (read returns 0)
  for (pid_t pid : children) {
    int status = 0;
    REQUIRE(::waitpid(pid, &status, 0) == pid);
    CHECK(WIFEXITED(status));
    CHECK(WEXITSTATUS(status) == 0);
  }
  CHECK(count_entries(dir.path()) == 1);
  CHECK(fs::is_empty(dir.path() / "v1" / "tmp"));
  FakeCompiler fake;
  Cache cache(config_for(dir.path()), fake.fn());
  CHECK(cache.get("shared source", opts())->origin() == ProgramOrigin::disk_cache);
  CHECK(*fake.calls == 0);
}

TEST_CASE("cache: real NVRTC programs round-trip through the disk cache", "[cache]") {
  test::TempDir dir;
  std::string ptx;
  {
    Cache cache(config_for(dir.path()));
    auto p = cache.get(test::kAxpySource, opts());
    ptx = p->ptx();
    CHECK(p->resources("axpy").registers > 0);
  }
  Cache cache(config_for(dir.path()));
  auto p = cache.get(test::kAxpySource, opts());
  CHECK(p->origin() == ProgramOrigin::disk_cache);
  CHECK(p->ptx() == ptx);
  CHECK(p->entries()[0].params.size() == 4);
  CHECK(p->resources("axpy").registers > 0);
}

namespace {

/** The payload FakeCompiler gives `source`: what a correct hit must return. */
std::string expected_payload(const std::string& source) {
  return "CUBIN:" + sha256_hex(source) + ":sm_90a";
}

std::string payload_of(const std::shared_ptr<const Program>& p) {
  return std::string(p->cubin().begin(), p->cubin().end());
}

} // namespace

TEST_CASE("cache: eight processes on one bounded directory only ever get their own program",
          "[cache]") {
  test::TempDir dir;
  FakeCompiler fake;
  std::uint64_t one = 0;
  {
    Cache probe(config_for(dir.path()), fake.fn());
    probe.get("probe", opts());
    one = probe.disk_usage().bytes;
  }
  // Six entries' worth for sixteen programs: publishing, evicting and reading race all along.
  CacheConfig bounded = config_for(dir.path());
  bounded.max_bytes = 6 * one;
  constexpr int kProcesses = 8, kPrograms = 16, kRequests = 40;
  std::vector<pid_t> children;
  for (int i = 0; i < kProcesses; ++i) {
    const pid_t pid = ::fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
      int code = 0;
      try {
        for (int j = 0; j < kRequests && code == 0; ++j) {
          // A fresh Cache per request: every lookup goes to the disk, as a new process would.
          Cache cache(bounded, fake.fn());
          const std::string source = "program " + std::to_string((i * 7 + j) % kPrograms);
          code = payload_of(cache.get(source, opts())) == expected_payload(source) ? 0 : 2;
        }
      } catch (...) {
        code = 3;
      }
      ::_exit(code);
    }
    children.push_back(pid);
  }
  for (pid_t pid : children) {
    int status = 0;
    REQUIRE(::waitpid(pid, &status, 0) == pid);
    CHECK(WIFEXITED(status));
    CHECK(WEXITSTATUS(status) == 0); // 2: a wrong program was served; 3: an exception
  }
  Cache after(bounded, fake.fn());
  // Each publish evicts down to the bound; racing publishers may each add one entry past it.
  CHECK(after.disk_usage().bytes <= bounded.max_bytes + kProcesses * one);
  for (int k = 0; k < kPrograms; ++k) {
    const std::string source = "program " + std::to_string(k);
    CHECK(payload_of(after.get(source, opts())) == expected_payload(source));
  }
}

TEST_CASE("cache: writers killed (SIGKILL) at random moments leave no entry that serves wrong "
          "code",
          "[cache]") {
  test::TempDir dir;
  FakeCompiler fake;
  // A bound of two entries for ten programs keeps the writer publishing and evicting, so the
  // kill lands inside a write, a rename or an eviction as often as not.
  CacheConfig bounded = config_for(dir.path());
  {
    Cache probe(config_for(dir.path()), fake.fn());
    probe.get("program 0", opts());
    bounded.max_bytes = 2 * probe.disk_usage().bytes + 1;
  }
  constexpr int kPrograms = 10;
  std::mt19937 rng(5);
  for (int round = 0; round < 16; ++round) {
    const pid_t pid = ::fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
      for (int j = 0;; ++j) {
        Cache cache(bounded, fake.fn());
        const std::string source = "program " + std::to_string(j % kPrograms);
        if (payload_of(cache.get(source, opts())) != expected_payload(source)) {
          ::_exit(2);
        }
      }
    }
    std::this_thread::sleep_for(
        std::chrono::microseconds(std::uniform_int_distribution<int>(200, 20000)(rng)));
    int status = 0;
    if (::waitpid(pid, &status, WNOHANG) == 0) {
      ::kill(pid, SIGKILL);
      REQUIRE(::waitpid(pid, &status, 0) == pid);
    }
    INFO("round " << round);
    // Anything but our SIGKILL — exit code 2 (a wrong program served), an abort from an
    // escaping exception — is a failure.
    CHECK(WIFSIGNALED(status));
    CHECK(WTERMSIG(status) == SIGKILL);
  }
  // Whatever the kills left (temporaries, half-evicted entries), every lookup is the right
  // program, from the disk or compiled again, and every listed entry is whole.
  Cache after(config_for(dir.path()), fake.fn());
  for (int k = 0; k < kPrograms; ++k) {
    const std::string source = "program " + std::to_string(k);
    CHECK(payload_of(after.get(source, opts())) == expected_payload(source));
  }
  Cache again(config_for(dir.path()), fake.fn());
  const int before = *fake.calls;
  for (int k = 0; k < kPrograms; ++k) {
    CHECK(again.get("program " + std::to_string(k), opts())->origin() == ProgramOrigin::disk_cache);
  }
  CHECK(*fake.calls == before);
}
