/** \file
 * In-memory cache of JIT-compiled CPU modules. The key is the exact text of what was compiled
 * (the kernel's IR) plus everything else that changes the machine code: JIT options, LLVM
 * version, host CPU name and features. Concurrent requests for one key compile once.
 *
 * There is no disk cache: compiling a kernel takes tens of milliseconds (bench/cpu_jit_bench),
 * less than reading, checking and relocating an object file would save.
 */
#pragma once

#include "runtime/cpu/orc_jit.h"

#include <cstdint>
#include <functional>
#include <future>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

namespace tessera::cpu {

/** A thread-safe map from compile key to compiled module. */
class JitCache {
public:
  /** The process-wide cache. */
  static JitCache& global();

  /** The full key for `source` (IR text or any exact description of the code) under `options`. */
  static std::string make_key(std::string_view source, const OrcOptions& options);

  /** The module cached under `key`, or the result of `compile()` stored under it. If compile
   * throws, nothing is cached and the exception propagates (to every concurrent waiter). */
  OrcModule get_or_compile(const std::string& key, const std::function<OrcModule()>& compile);

  /** Drops every entry (modules still referenced elsewhere stay alive). */
  void clear();
  std::size_t size() const;
  std::uint64_t hits() const { return hits_; }
  std::uint64_t misses() const { return misses_; }

private:
  mutable std::mutex mutex_;
  std::unordered_map<std::string, std::shared_future<OrcModule>> entries_;
  std::uint64_t hits_ = 0;
  std::uint64_t misses_ = 0;
};

} // namespace tessera::cpu
