#include "runtime/cache.h"

#include "base/error.h"
#include "base/file_io.h"
#include "runtime/sha256.h"

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fmt/format.h>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <random>
#include <sstream>
#include <unistd.h>

#ifndef TESSERA_VERSION
#define TESSERA_VERSION "0.0.0"
#endif

namespace tessera {

namespace fs = std::filesystem;
using json = nlohmann::json;

namespace {

const char* env(const char* name) {
  const char* v = std::getenv(name);
  return v && *v ? v : nullptr;
}

bool env_flag(const char* name) {
  const char* v = env(name);
  if (!v) {
    return false;
  }
  std::string s(v);
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s == "1" || s == "true" || s == "yes" || s == "on";
}

// Appends "<tag>:<length>:<bytes>;" so no two different inputs serialise alike.
void put(std::string& out, std::string_view tag, std::string_view bytes) {
  out += tag;
  out += ':';
  out += std::to_string(bytes.size());
  out += ':';
  out += bytes;
  out += ';';
}

/** key.bin: the key material, then the SHA-256 of meta.json (the entry's manifest). */
std::string key_file(const std::string& material, std::string_view meta_text) {
  return material + "\nmanifest meta.json sha256 " + sha256_hex(meta_text) + "\n";
}

std::string unique_suffix() {
  static std::atomic<std::uint64_t> counter{0};
  static const std::uint64_t seed = std::random_device{}();
  return fmt::format("{}-{:x}-{}", ::getpid(), seed, counter.fetch_add(1));
}

std::uint64_t mix(std::uint64_t h, std::uint64_t v) {
  return h ^ (v + 0x9e3779b97f4a7c15ull + (h << 6) + (h >> 2));
}

// Cheap hash for the in-memory map; equality is then checked on the full request.
std::uint64_t request_hash(std::string_view source, const CompileOptions& o) {
  std::hash<std::string_view> h;
  std::uint64_t x = h(source);
  x = mix(x, h(o.arch));
  x = mix(x, static_cast<std::uint64_t>(o.device));
  x = mix(x, h(o.program_name));
  x = mix(x, o.headers.size() * 31 + o.name_expressions.size() * 7 + o.extra_options.size());
  for (const auto& e : o.name_expressions) {
    x = mix(x, h(e));
  }
  return x;
}

json resources_to_json(const KernelResources& r) {
  return {{"registers", r.registers},
          {"shared_bytes", r.shared_bytes},
          {"local_bytes", r.local_bytes},
          {"spill_store_bytes", r.spill_store_bytes},
          {"spill_load_bytes", r.spill_load_bytes},
          {"max_threads_per_block", r.max_threads_per_block},
          {"origin", r.origin}};
}

KernelResources resources_from_json(const json& j) {
  KernelResources r;
  r.registers = j.at("registers").get<int>();
  r.shared_bytes = j.at("shared_bytes").get<int>();
  r.local_bytes = j.at("local_bytes").get<int>();
  r.spill_store_bytes = j.at("spill_store_bytes").get<int>();
  r.spill_load_bytes = j.at("spill_load_bytes").get<int>();
  r.max_threads_per_block = j.at("max_threads_per_block").get<int>();
  r.origin = j.at("origin").get<std::string>();
  return r;
}

std::string_view as_chars(const std::vector<std::uint8_t>& bytes) {
  return {reinterpret_cast<const char*>(bytes.data()), bytes.size()};
}

} // namespace

std::string tessera_version() {
  return TESSERA_VERSION;
}

CacheKeyInputs cache_key_inputs(std::string_view source, const CompileOptions& options) {
  CacheKeyInputs in;
  in.source = std::string(source);
  in.program_name = options.program_name;
  in.headers = options.headers;
  in.name_expressions = options.name_expressions;
  in.arch = resolve_arch(options);
  in.options = nvrtc_options(options, in.arch);
  in.nvrtc_version = nvrtc_version();
  in.tessera_version = tessera_version();
  return in;
}

std::string cache_key_material(const CacheKeyInputs& in) {
  std::string out;
  out.reserve(in.source.size() + 512);
  put(out, "format", std::to_string(kCacheFormatVersion));
  put(out, "tessera", in.tessera_version);
  put(out, "nvrtc", in.nvrtc_version);
  put(out, "arch", in.arch);
  std::vector<std::string> options = in.options;
  std::sort(options.begin(), options.end());
  put(out, "options", std::to_string(options.size()));
  for (const auto& o : options) {
    put(out, "option", o);
  }
  std::vector<std::string> names = in.name_expressions;
  std::sort(names.begin(), names.end());
  put(out, "names", std::to_string(names.size()));
  for (const auto& n : names) {
    put(out, "name", n);
  }
  std::vector<const HeaderSource*> headers;
  for (const auto& h : in.headers) {
    headers.push_back(&h);
  }
  std::sort(headers.begin(), headers.end(),
            [](const HeaderSource* a, const HeaderSource* b) { return a->name < b->name; });
  put(out, "headers", std::to_string(headers.size()));
  for (const auto* h : headers) {
    put(out, "header_name", h->name);
    put(out, "header", h->content);
  }
  put(out, "program", in.program_name);
  put(out, "source", in.source);
  return out;
}

std::string cache_key(const CacheKeyInputs& inputs) {
  return sha256_hex(cache_key_material(inputs));
}

fs::path CacheConfig::default_directory() {
  if (const char* d = env("TESSERA_CACHE_DIR")) {
    return d;
  }
  if (const char* d = env("XDG_CACHE_HOME")) {
    return fs::path(d) / "tessera";
  }
  if (const char* d = env("HOME")) {
    return fs::path(d) / ".cache" / "tessera";
  }
  return {};
}

CacheConfig CacheConfig::from_env() {
  CacheConfig c;
  c.enabled = !env_flag("TESSERA_DISABLE_CACHE");
  c.directory = default_directory();
  if (const char* d = env("TESSERA_DUMP_DIR")) {
    c.dump_directory = d;
  }
  if (const char* m = env("TESSERA_CACHE_MAX_BYTES")) {
    std::uint64_t v = 0;
    const char* end = m + std::strlen(m);
    const auto [ptr, ec] = std::from_chars(m, end, v, 10);
    if (ec == std::errc() && ptr == end) {
      c.max_bytes = v;
    } else {
      std::cerr << "tessera: warning: TESSERA_CACHE_MAX_BYTES='" << m
                << "' is not a decimal byte count; keeping " << c.max_bytes << "\n";
    }
  }
  return c;
}

Cache::Cache(CacheConfig config, CompileFunction compile)
    : config_(std::move(config)), compile_(std::move(compile)) {
  if (!compile_) {
    compile_ = [](std::string_view source, const CompileOptions& options) {
      return tessera::compile(source, options);
    };
  }
  if (!config_.enabled || config_.directory.empty()) {
    return;
  }
  // Probe once: the directory must be creatable and writable, else the disk cache is off. A
  // default location under a HOME that does not exist is not created (a service account
  // with HOME=/nonexistent must not get one).
  const char* home = env("HOME");
  if (home != nullptr && env("TESSERA_CACHE_DIR") == nullptr && env("XDG_CACHE_HOME") == nullptr &&
      config_.directory == CacheConfig::default_directory()) {
    std::error_code ec;
    if (!fs::is_directory(home, ec)) {
      disable_disk(fmt::format("HOME '{}' does not exist; set TESSERA_CACHE_DIR", home));
      return;
    }
  }
  try {
    const fs::path tmp = config_.directory / "v1" / "tmp";
    fs::create_directories(tmp);
    const fs::path probe = tmp / ("probe-" + unique_suffix());
    write_file_atomic(probe, "ok");
    fs::remove(probe);
    disk_enabled_ = true;
    sweep_stale_tmp();
  } catch (const std::exception& e) {
    // A pre-filled cache on a read-only mount (a container image, a shared volume) still
    // serves its hits; only publishing is off.
    std::error_code ec;
    if (fs::is_directory(config_.directory / "v1", ec)) {
      read_only_ = true;
      disk_enabled_ = true;
      std::cerr << "tessera: warning: disk cache " << config_.directory.string()
                << " is read-only (" << e.what() << "): serving hits, storing nothing\n";
      return;
    }
    disable_disk(e.what());
  }
}

Cache& Cache::global() {
  // Leaked on purpose: Programs may be released during static destruction.
  static Cache* cache = new Cache();
  return *cache;
}

void Cache::disable_disk(const std::string& why) {
  disk_enabled_ = false;
  std::call_once(warned_, [&] {
    std::cerr << "tessera: warning: disk cache disabled (" << config_.directory.string()
              << "): " << why << "\n";
  });
}

fs::path Cache::entry_path(const std::string& key) const {
  return config_.directory / "v1" / key.substr(0, 2) / key;
}

std::shared_ptr<const Program> Cache::get(std::string_view source, const CompileOptions& options) {
  if (!config_.enabled) {
    return produce(source, options);
  }
  const std::uint64_t hash = request_hash(source, options);
  std::shared_future<std::shared_ptr<const Program>> existing;
  std::shared_ptr<MemoryEntry> mine;
  std::promise<std::shared_ptr<const Program>> promise;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    auto& bucket = memory_[hash];
    for (const auto& e : bucket) {
      if (e->source == source && e->options == options) {
        existing = e->program;
        break;
      }
    }
    if (!existing.valid()) {
      mine = std::make_shared<MemoryEntry>();
      mine->source = std::string(source);
      mine->options = options;
      mine->program = promise.get_future().share();
      bucket.push_back(mine);
    }
  }
  if (existing.valid()) {
    // Waits outside the lock when another thread is still producing this program.
    memory_hits_.fetch_add(1, std::memory_order_relaxed);
    return existing.get();
  }
  try {
    auto program = produce(source, options);
    promise.set_value(program);
    return program;
  } catch (...) {
    promise.set_exception(std::current_exception());
    // A failed compile is not cached: the next request tries again.
    std::lock_guard<std::mutex> lock(mutex_);
    auto& bucket = memory_[hash];
    bucket.erase(std::remove(bucket.begin(), bucket.end(), mine), bucket.end());
    throw;
  }
}

std::shared_ptr<const Program> Cache::produce(std::string_view source,
                                              const CompileOptions& options) {
  const auto start = std::chrono::steady_clock::now();
  auto elapsed_ms = [&] {
    return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start)
        .count();
  };
  const CacheKeyInputs inputs = cache_key_inputs(source, options);
  const std::string material = cache_key_material(inputs);
  const std::string key = sha256_hex(material);
  if (config_.enabled && disk_enabled()) {
    if (auto loaded = load_from_disk(key, material, source)) {
      disk_hits_.fetch_add(1, std::memory_order_relaxed);
      dump(key, *loaded);
      return std::make_shared<Program>(std::move(*loaded), key, ProgramOrigin::disk_cache,
                                       elapsed_ms());
    }
  }
  CompileResult result = compile_(source, options);
  compiles_.fetch_add(1, std::memory_order_relaxed);
  if (config_.enabled && disk_enabled() && !read_only_) {
    store_to_disk(key, material, result);
  }
  dump(key, result);
  return std::make_shared<Program>(std::move(result), key, ProgramOrigin::compiled, elapsed_ms());
}

std::shared_ptr<CompileResult> Cache::load_from_disk(const std::string& key,
                                                     const std::string& material,
                                                     std::string_view source) {
  const fs::path dir = entry_path(key);
  std::error_code ec;
  if (!fs::exists(dir, ec)) {
    return nullptr;
  }
  try {
    // key.bin binds the entry to its key material and to meta.json's exact bytes; meta.json
    // binds the cubin and PTX (sizes, hashes), the key and the source. Files copied in from
    // another entry fail one of these and make the entry a miss.
    const std::string meta_text = read_file(dir / "meta.json");
    if (read_file(dir / "key.bin") != key_file(material, meta_text)) {
      throw std::runtime_error("key material or manifest differs");
    }
    const json meta = json::parse(meta_text);
    if (meta.at("format").get<int>() != kCacheFormatVersion) {
      throw std::runtime_error("format differs");
    }
    if (meta.at("key").get<std::string>() != key ||
        meta.at("source_sha256").get<std::string>() != sha256_hex(source)) {
      throw std::runtime_error("entry belongs to another program");
    }
    auto result = std::make_shared<CompileResult>();
    const std::string cubin = read_file(dir / "kernel.cubin");
    if (cubin.size() != meta.at("cubin_size").get<std::size_t>() || cubin.empty() ||
        sha256_hex(cubin) != meta.at("cubin_sha256").get<std::string>()) {
      throw std::runtime_error("cubin size or hash differs");
    }
    result->cubin.assign(cubin.begin(), cubin.end());
    if (meta.at("ptx_size").get<std::size_t>() > 0) {
      result->ptx = read_file(dir / "kernel.ptx");
      if (result->ptx.size() != meta.at("ptx_size").get<std::size_t>() ||
          sha256_hex(result->ptx) != meta.at("ptx_sha256").get<std::string>()) {
        throw std::runtime_error("ptx size or hash differs");
      }
    }
    result->source = std::string(source);
    result->program_name = meta.at("program_name").get<std::string>();
    result->arch = meta.at("arch").get<std::string>();
    result->options = meta.at("options").get<std::vector<std::string>>();
    result->nvrtc_version = meta.at("nvrtc_version").get<std::string>();
    result->log = meta.at("log").get<std::string>();
    result->compile_ms = meta.at("compile_ms").get<double>();
    for (const json& e : meta.at("entries")) {
      EntryInfo entry;
      entry.name = e.at("name").get<std::string>();
      entry.expression = e.at("expression").get<std::string>();
      entry.params_known = e.at("params_known").get<bool>();
      for (const json& p : e.at("params")) {
        entry.params.push_back({p.at(0).get<std::size_t>(), p.at(1).get<std::size_t>()});
      }
      entry.resources = resources_from_json(e.at("resources"));
      result->entries.push_back(std::move(entry));
    }
    // Least-recently-used order for eviction: a hit refreshes the entry (best effort: a
    // read-only cache cannot record it).
    fs::last_write_time(dir / "key.bin", fs::file_time_type::clock::now(), ec);
    return result;
  } catch (const std::exception&) {
    // Corrupt, truncated or foreign entry: a miss. Remove it so the fresh compile can publish.
    bad_entries_.fetch_add(1, std::memory_order_relaxed);
    discard_entry(dir);
    return nullptr;
  }
}

void Cache::discard_entry(const fs::path& entry) {
  // Rename first so readers never see a half-deleted entry, then delete at leisure.
  const fs::path trash = config_.directory / "v1" / "tmp" / ("bad-" + unique_suffix());
  std::error_code ec;
  if (::rename(entry.c_str(), trash.c_str()) == 0) {
    fs::remove_all(trash, ec);
  }
}

void Cache::store_to_disk(const std::string& key, const std::string& material,
                          const CompileResult& r) {
  const fs::path tmp = config_.directory / "v1" / "tmp" / unique_suffix();
  const fs::path final_dir = entry_path(key);
  std::error_code ec;
  try {
    fs::create_directories(tmp);
    json entries = json::array();
    for (const auto& e : r.entries) {
      json params = json::array();
      for (const auto& p : e.params) {
        params.push_back({p.offset, p.size});
      }
      entries.push_back({{"name", e.name},
                         {"expression", e.expression},
                         {"params_known", e.params_known},
                         {"params", params},
                         {"resources", resources_to_json(e.resources)}});
    }
    const json meta = {{"format", kCacheFormatVersion},
                       {"key", key},
                       {"tessera_version", tessera_version()},
                       {"nvrtc_version", r.nvrtc_version},
                       {"arch", r.arch},
                       {"program_name", r.program_name},
                       {"options", r.options},
                       {"source_sha256", sha256_hex(r.source)},
                       {"cubin_size", r.cubin.size()},
                       {"cubin_sha256", sha256_hex(as_chars(r.cubin))},
                       {"ptx_size", r.ptx.size()},
                       {"ptx_sha256", sha256_hex(r.ptx)},
                       {"log", r.log},
                       {"compile_ms", r.compile_ms},
                       {"created_unix", std::chrono::duration_cast<std::chrono::seconds>(
                                            std::chrono::system_clock::now().time_since_epoch())
                                            .count()},
                       {"entries", entries}};
    write_file_atomic(tmp / "kernel.cu", r.source);
    write_file_atomic(tmp / "kernel.cubin", as_chars(r.cubin));
    if (!r.ptx.empty()) {
      write_file_atomic(tmp / "kernel.ptx", r.ptx);
    }
    const std::string meta_text = meta.dump(2, ' ', false, json::error_handler_t::replace);
    write_file_atomic(tmp / "meta.json", meta_text);
    write_file_atomic(tmp / "key.bin", key_file(material, meta_text));
    fs::create_directories(final_dir.parent_path());
    if (::rename(tmp.c_str(), final_dir.c_str()) != 0) {
      const int err = errno;
      fs::remove_all(tmp, ec);
      if (err == EEXIST || err == ENOTEMPTY) {
        return; // another process or thread published the same entry first: keep the winner
      }
      throw std::runtime_error(
          fmt::format("rename to {} failed: {}", final_dir.string(), std::strerror(err)));
    }
    disk_writes_.fetch_add(1, std::memory_order_relaxed);
    if (config_.max_bytes > 0 && disk_usage().bytes > config_.max_bytes) {
      prune(config_.max_bytes / 10 * 9); // headroom, so the next stores do not prune again
    }
  } catch (const std::exception& e) {
    fs::remove_all(tmp, ec);
    disable_disk(e.what());
  }
}

void Cache::dump(const std::string& key, const CompileResult& r) const {
  if (config_.dump_directory.empty()) {
    return;
  }
  try {
    fs::create_directories(config_.dump_directory);
    const std::string stem =
        fmt::format("{}-{}", fs::path(r.program_name).stem().string(), key.substr(0, 12));
    const fs::path base = config_.dump_directory / stem;
    write_file_atomic(base.string() + ".cu", r.source);
    write_file_atomic(base.string() + ".ptx", r.ptx);
    write_file_atomic(base.string() + ".cubin", as_chars(r.cubin));
    write_file_atomic(base.string() + ".log", r.log);
  } catch (const std::exception& e) {
    std::cerr << "tessera: warning: TESSERA_DUMP_DIR: " << e.what() << "\n";
  }
}

void Cache::sweep_stale_tmp() {
  std::error_code ec;
  const auto now = fs::file_time_type::clock::now();
  for (const auto& item : fs::directory_iterator(config_.directory / "v1" / "tmp", ec)) {
    const auto when = fs::last_write_time(item.path(), ec);
    if (!ec && now - when > std::chrono::hours(1)) {
      fs::remove_all(item.path(), ec);
    }
  }
}

CacheStats Cache::stats() const {
  return {memory_hits_.load(), disk_hits_.load(), compiles_.load(), bad_entries_.load(),
          disk_writes_.load()};
}

void Cache::reset_stats() {
  memory_hits_ = 0;
  disk_hits_ = 0;
  compiles_ = 0;
  bad_entries_ = 0;
  disk_writes_ = 0;
}

void Cache::clear_memory() {
  std::lock_guard<std::mutex> lock(mutex_);
  memory_.clear();
}

void Cache::clear() {
  clear_memory();
  if (config_.directory.empty()) {
    return;
  }
  std::error_code ec;
  const fs::path root = config_.directory / "v1";
  for (const auto& item : fs::directory_iterator(root, ec)) {
    if (item.path().filename() != "tmp") {
      fs::remove_all(item.path(), ec);
    }
  }
}

DiskUsage Cache::disk_usage() const {
  DiskUsage usage;
  if (config_.directory.empty()) {
    return usage;
  }
  std::error_code ec;
  const fs::path root = config_.directory / "v1";
  for (const auto& shard : fs::directory_iterator(root, ec)) {
    if (shard.path().filename() == "tmp" || !shard.is_directory(ec)) {
      continue;
    }
    for (const auto& entry : fs::directory_iterator(shard.path(), ec)) {
      ++usage.entries;
      for (const auto& f : fs::recursive_directory_iterator(entry.path(), ec)) {
        if (f.is_regular_file(ec)) {
          usage.bytes += f.file_size(ec);
        }
      }
    }
  }
  return usage;
}

std::vector<DiskEntry> Cache::disk_entries() const {
  std::vector<DiskEntry> out;
  if (config_.directory.empty()) {
    return out;
  }
  std::error_code ec;
  for (const auto& shard : fs::directory_iterator(config_.directory / "v1", ec)) {
    if (shard.path().filename() == "tmp" || !shard.is_directory(ec)) {
      continue;
    }
    for (const auto& dir : fs::directory_iterator(shard.path(), ec)) {
      DiskEntry e;
      e.key = dir.path().filename().string();
      e.path = dir.path();
      for (const auto& f : fs::recursive_directory_iterator(dir.path(), ec)) {
        if (f.is_regular_file(ec)) {
          e.bytes += f.file_size(ec);
        }
      }
      e.last_used = fs::last_write_time(dir.path() / "key.bin", ec);
      if (ec) {
        e.last_used = fs::last_write_time(dir.path(), ec);
      }
      try {
        const json meta = json::parse(read_file(dir.path() / "meta.json"));
        e.format = meta.value("format", 0);
        e.program_name = meta.value("program_name", std::string());
        e.arch = meta.value("arch", std::string());
      } catch (const std::exception&) {
        e.format = 0; // unreadable: reclaimed by prune
      }
      out.push_back(std::move(e));
    }
  }
  std::sort(out.begin(), out.end(),
            [](const DiskEntry& a, const DiskEntry& b) { return a.last_used > b.last_used; });
  return out;
}

PruneResult Cache::prune(std::uint64_t max_bytes) {
  PruneResult r;
  std::vector<DiskEntry> entries = disk_entries(); // most recently used first
  std::uint64_t total = 0;
  bool full = false;
  std::vector<const DiskEntry*> doomed;
  for (const DiskEntry& e : entries) {
    if (e.format != kCacheFormatVersion) {
      doomed.push_back(&e); // another format (older Tessera) or unreadable
      continue;
    }
    full = full || (max_bytes > 0 && total + e.bytes > max_bytes);
    if (full) {
      doomed.push_back(&e); // past the bound: everything less recently used goes too
      continue;
    }
    total += e.bytes;
    ++r.kept_entries;
  }
  r.kept_bytes = total;
  for (const DiskEntry* e : doomed) {
    discard_entry(e->path);
    ++r.removed_entries;
    r.removed_bytes += e->bytes;
  }
  return r;
}

} // namespace tessera
