#include "runtime/cpu/jit_cache.h"

#include <llvm/Config/llvm-config.h>

namespace tessera::cpu {

JitCache& JitCache::global() {
  static JitCache cache;
  return cache;
}

std::string JitCache::make_key(std::string_view source, const OrcOptions& options) {
  std::string key = "llvm " LLVM_VERSION_STRING "|" + options.describe();
  if (options.host_features) {
    key += "|" + host_cpu().name + "|" + host_cpu().features;
  }
  key += options.keep_ir ? "|ir\n" : "\n";
  key += source;
  return key;
}

OrcModule JitCache::get_or_compile(const std::string& key,
                                   const std::function<OrcModule()>& compile) {
  std::promise<OrcModule> promise;
  std::shared_future<OrcModule> future;
  bool owner = false;
  {
    std::lock_guard lock(mutex_);
    if (auto it = entries_.find(key); it != entries_.end()) {
      ++hits_;
      future = it->second;
    } else {
      ++misses_;
      owner = true;
      future = promise.get_future().share();
      entries_.emplace(key, future);
    }
  }
  if (!owner) {
    return future.get(); // compiled already, or being compiled by another thread
  }
  try {
    promise.set_value(compile());
  } catch (...) {
    // Waiters see the same error; the entry goes so that a later call tries again.
    promise.set_exception(std::current_exception());
    std::lock_guard lock(mutex_);
    entries_.erase(key);
  }
  return future.get();
}

void JitCache::clear() {
  std::lock_guard lock(mutex_);
  entries_.clear();
}

std::size_t JitCache::size() const {
  std::lock_guard lock(mutex_);
  return entries_.size();
}

} // namespace tessera::cpu
