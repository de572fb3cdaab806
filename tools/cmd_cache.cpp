// `tessera cache stats|path|clear`: the on-disk JIT cache.
#include "runtime/cache.h"
#include "tools/cli_values.h"
#include "tools/commands.h"

#include <chrono>
#include <filesystem>
#include <fmt/format.h>
#include <iostream>
#include <limits>
#include <memory>

namespace tessera::cli {

namespace {

std::string human_bytes(std::uint64_t bytes) {
  if (bytes >= (1u << 20)) {
    return fmt::format("{:.1f} MiB", bytes / double(1u << 20));
  }
  if (bytes >= 1024) {
    return fmt::format("{:.1f} KiB", bytes / 1024.0);
  }
  return fmt::format("{} B", bytes);
}

} // namespace

void add_cache_command(CLI::App& app) {
  CLI::App* cache = app.add_subcommand("cache", "Inspect or clear the on-disk JIT cache");
  cache->require_subcommand(1);

  cache->add_subcommand("path", "Print the cache directory")->callback([] {
    std::cout << CacheConfig::default_directory().string() << "\n";
  });

  cache->add_subcommand("stats", "Print the cache directory, entry count and size")->callback([] {
    const CacheConfig config = CacheConfig::from_env();
    std::cout << "directory: " << config.directory.string() << "\n";
    if (!config.enabled) {
      std::cout << "status:    disabled (TESSERA_DISABLE_CACHE)\n";
    }
    CacheConfig probe = config;
    probe.enabled = true;
    const Cache cache(probe);
    if (config.enabled) {
      std::cout << "status:    "
                << (!cache.disk_enabled()    ? "unusable"
                    : cache.disk_read_only() ? "read-only (hits served, nothing stored)"
                                             : "enabled")
                << "\n";
    }
    const DiskUsage usage = cache.disk_usage();
    std::cout << "entries:   " << usage.entries << "\n";
    std::cout << "size:      " << human_bytes(usage.bytes) << " (bound "
              << (config.max_bytes > 0 ? human_bytes(config.max_bytes) : "none")
              << ", least recently used evicted past it)\n";
    std::cout << "format:    v" << kCacheFormatVersion << ", tessera " << tessera_version() << "\n";
  });

  cache->add_subcommand("ls", "List the cached kernels, most recently used first")->callback([] {
    CacheConfig config = CacheConfig::from_env();
    config.enabled = true;
    const Cache cache(config);
    const auto now = std::filesystem::file_time_type::clock::now();
    std::cout << fmt::format("{:<14} {:<28} {:<8} {:>10} {:>12}\n", "key", "program", "arch",
                             "size", "last used");
    for (const DiskEntry& e : cache.disk_entries()) {
      const auto age = std::chrono::duration_cast<std::chrono::minutes>(now - e.last_used);
      std::cout << fmt::format(
          "{:<14} {:<28} {:<8} {:>10} {:>9} min{}\n", e.key.substr(0, 12),
          e.program_name.empty() ? "?" : e.program_name, e.arch, human_bytes(e.bytes), age.count(),
          e.format == kCacheFormatVersion ? "" : fmt::format("  (format v{}: pruned)", e.format));
    }
  });

  auto max_bytes = std::make_shared<std::uint64_t>(0);
  CLI::App* prune = cache->add_subcommand(
      "prune", "Remove other-format entries, then the least recently used past the bound");
  prune
      ->add_option("--max-bytes", *max_bytes,
                   "Keep at most this many bytes (default: TESSERA_CACHE_MAX_BYTES or 2 GiB)")
      ->transform(decimal_integer(0, std::numeric_limits<std::int64_t>::max()));
  prune->callback([max_bytes] {
    CacheConfig config = CacheConfig::from_env();
    config.enabled = true;
    Cache cache(config);
    const std::uint64_t bound = *max_bytes > 0 ? *max_bytes : config.max_bytes;
    const PruneResult r = cache.prune(bound);
    std::cout << fmt::format("removed {} entries ({}), kept {} ({}) within {}\n", r.removed_entries,
                             human_bytes(r.removed_bytes), r.kept_entries,
                             human_bytes(r.kept_bytes), human_bytes(bound));
  });

  cache->add_subcommand("clear", "Delete every cached kernel")->callback([] {
    CacheConfig config = CacheConfig::from_env();
    config.enabled = true;
    Cache cache(config);
    const DiskUsage before = cache.disk_usage();
    cache.clear();
    std::cout << fmt::format("removed {} entries ({}) from {}\n", before.entries,
                             human_bytes(before.bytes), config.directory.string());
  });
}

} // namespace tessera::cli
