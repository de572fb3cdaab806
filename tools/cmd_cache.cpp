// `tessera cache stats|path|clear`: the on-disk JIT cache.
#include "runtime/cache.h"
#include "tools/commands.h"

#include <fmt/format.h>
#include <iostream>

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
      std::cout << "status:    " << (cache.disk_enabled() ? "enabled" : "unusable") << "\n";
    }
    const DiskUsage usage = cache.disk_usage();
    std::cout << "entries:   " << usage.entries << "\n";
    std::cout << "size:      " << human_bytes(usage.bytes) << "\n";
    std::cout << "format:    v" << kCacheFormatVersion << ", tessera " << tessera_version() << "\n";
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
