/** \file
 * The JIT cache: an in-memory map (concurrent requests for one program compile once) in front
 * of an on-disk cache shared safely by many processes.
 *
 * Key: SHA-256 over a length-prefixed serialisation of the cache format, Tessera's version,
 * NVRTC's version, the arch, the sorted NVRTC options, the program name, the source, the
 * in-memory headers and the kernel name expressions.
 *
 * Disk layout: `<dir>/v1/<key[0:2]>/<key>/` holding kernel.cu, kernel.cubin, kernel.ptx,
 * key.bin (the exact key material and the SHA-256 of meta.json) and meta.json. Entries are
 * published by renaming a complete directory written under `<dir>/v1/tmp/`; the first writer
 * wins. Every load is verified — key.bin against the key material and meta.json's bytes,
 * meta.json's key and source hash against the request, the cubin and PTX sizes and SHA-256
 * against meta.json — so every file is bound to the key: a corrupt, truncated or foreign
 * (copied from another entry) entry is a miss and is replaced. An unusable directory disables the
 * disk cache with one warning on stderr.
 *
 * Environment: TESSERA_CACHE_DIR (directory), else $XDG_CACHE_HOME/tessera, else
 * $HOME/.cache/tessera; TESSERA_DISABLE_CACHE=1 bypasses memory and disk; TESSERA_DUMP_DIR=dir
 * writes the source, PTX, cubin and log of every program compiled or loaded from disk.
 */
#pragma once

#include "runtime/compiler.h"
#include "runtime/program.h"

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace tessera {

/** Tessera's version as it enters cache keys. */
std::string tessera_version();

/** Bump when the disk format or the meaning of cached data changes. */
inline constexpr int kCacheFormatVersion = 2;

/** Everything that determines a compiled program. */
struct CacheKeyInputs {
  std::string source;
  std::string program_name;
  std::vector<HeaderSource> headers;
  std::vector<std::string> name_expressions;
  /** NVRTC options (sorted before hashing). */
  std::vector<std::string> options;
  std::string arch;
  std::string nvrtc_version;
  std::string tessera_version;
};

/** Key inputs for compiling `source` with `options` (resolves the arch, builds NVRTC options). */
CacheKeyInputs cache_key_inputs(std::string_view source, const CompileOptions& options);
/** Canonical, length-prefixed serialisation of the key inputs (what key.bin holds). */
std::string cache_key_material(const CacheKeyInputs& inputs);
/** SHA-256 hex of cache_key_material(). */
std::string cache_key(const CacheKeyInputs& inputs);

/** The disk cache's default bound: 2 GiB (an mHC build fills ~150 MB). */
inline constexpr std::uint64_t kDefaultCacheMaxBytes = std::uint64_t{2} << 30;

/** Where and whether to cache. */
struct CacheConfig {
  /** Memory and disk caching; false compiles every request (TESSERA_DISABLE_CACHE=1). */
  bool enabled = true;
  /** Disk cache root; empty disables the disk cache. */
  std::filesystem::path directory;
  /** When set, every compiled or disk-loaded program is written here too (TESSERA_DUMP_DIR). */
  std::filesystem::path dump_directory;
  /** Bound of the disk cache, bytes (0: unbounded): past it, publishing an entry evicts the
   * least recently used ones down to 90% of the bound (TESSERA_CACHE_MAX_BYTES). */
  std::uint64_t max_bytes = kDefaultCacheMaxBytes;
  /** Reads TESSERA_DISABLE_CACHE, TESSERA_CACHE_DIR, XDG_CACHE_HOME, HOME, TESSERA_DUMP_DIR,
   * TESSERA_CACHE_MAX_BYTES (decimal bytes; a malformed value keeps the default, with a
   * warning). */
  static CacheConfig from_env();
  /** The directory from_env() would use. */
  static std::filesystem::path default_directory();
};

/** Counters since construction (or reset()). */
struct CacheStats {
  std::uint64_t memory_hits = 0;
  std::uint64_t disk_hits = 0;
  std::uint64_t compiles = 0;
  /** Entries found corrupt, truncated or mismatched on disk (each then recompiled). */
  std::uint64_t bad_entries = 0;
  /** Entries this process published to disk. */
  std::uint64_t disk_writes = 0;
};

/** Size of the on-disk cache. */
struct DiskUsage {
  std::uint64_t entries = 0;
  std::uint64_t bytes = 0;
};

/** One entry of the disk cache (`tessera cache ls`). */
struct DiskEntry {
  std::string key;
  std::string program_name; ///< empty when meta.json is unreadable
  std::string arch;
  int format = 0; ///< 0 when meta.json is unreadable
  std::uint64_t bytes = 0;
  std::filesystem::file_time_type last_used; ///< key.bin's mtime, touched on every disk hit
  std::filesystem::path path;
};

/** What Cache::prune removed and kept. */
struct PruneResult {
  std::uint64_t removed_entries = 0, removed_bytes = 0;
  std::uint64_t kept_entries = 0, kept_bytes = 0;
};

/** The cache. Thread-safe; one process-wide instance is global(). */
class Cache {
public:
  /** Produces a CompileResult; replaceable for tests (defaults to tessera::compile). */
  using CompileFunction = std::function<CompileResult(std::string_view, const CompileOptions&)>;

  explicit Cache(CacheConfig config = CacheConfig::from_env(), CompileFunction compile = {});
  Cache(const Cache&) = delete;
  Cache& operator=(const Cache&) = delete;

  /** The process-wide cache, configured from the environment on first use. */
  static Cache& global();

  /**
   * The program for `source` + `options`: from memory, else disk, else compiled (and stored).
   * Concurrent calls for the same program compile once. Throws what compile throws.
   */
  std::shared_ptr<const Program> get(std::string_view source, const CompileOptions& options);

  CacheStats stats() const;
  void reset_stats();
  /** Forgets the in-memory entries (Programs already handed out stay valid). */
  void clear_memory();
  /** clear_memory() and deletes every entry on disk. */
  void clear();
  DiskUsage disk_usage() const;
  /** Every entry on disk, most recently used first. */
  std::vector<DiskEntry> disk_entries() const;
  /** Removes entries of another format version (or unreadable ones), then the least recently
   * used until at most `max_bytes` remain (0: only the first step). Concurrent readers are
   * safe: an entry is renamed away before it is deleted, and a removed entry is a miss. */
  PruneResult prune(std::uint64_t max_bytes);
  /** True when the directory could not be written but its entries can be read: hits are
   * served, nothing is stored. */
  bool disk_read_only() const { return read_only_; }

  bool enabled() const { return config_.enabled; }
  /** False when there is no directory or it proved unusable. */
  bool disk_enabled() const { return disk_enabled_.load(); }
  const std::filesystem::path& directory() const { return config_.directory; }
  /** `<dir>/v1/<key[0:2]>/<key>` */
  std::filesystem::path entry_path(const std::string& key) const;

private:
  struct MemoryEntry {
    std::string source;
    CompileOptions options;
    std::shared_future<std::shared_ptr<const Program>> program;
  };

  std::shared_ptr<const Program> produce(std::string_view source, const CompileOptions& options);
  std::shared_ptr<CompileResult> load_from_disk(const std::string& key, const std::string& material,
                                                std::string_view source);
  void store_to_disk(const std::string& key, const std::string& material,
                     const CompileResult& result);
  void dump(const std::string& key, const CompileResult& result) const;
  void disable_disk(const std::string& why);
  void discard_entry(const std::filesystem::path& entry);
  void sweep_stale_tmp();

  CacheConfig config_;
  CompileFunction compile_;
  std::atomic<bool> disk_enabled_{false};
  bool read_only_ = false;
  std::once_flag warned_;
  mutable std::mutex mutex_;
  std::unordered_map<std::uint64_t, std::vector<std::shared_ptr<MemoryEntry>>> memory_;
  std::atomic<std::uint64_t> memory_hits_{0}, disk_hits_{0}, compiles_{0}, bad_entries_{0},
      disk_writes_{0};
};

} // namespace tessera
