#include "jit/kernel_cache.h"

#include "ir/equal.h"

#include <cstdlib>
#include <functional>
#include <future>
#include <iosfwd>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

namespace tessera {

namespace {

/** boost::hash_combine, widened to 64 bits (as ir/equal.cpp). */
void combine(std::size_t& seed, std::size_t v) {
  seed ^= v + 0x9e3779b97f4a7c15ull + (seed << 6) + (seed >> 2);
}

template <class T> std::size_t hash_of(const T& v) {
  return std::hash<T>{}(v);
}

/** The options part of a key: every JitOptions field, with the target resolved. */
struct OptionsKey {
  Target target = Target::cuda;
  std::string arch;
  int device = 0;
  bool fast_math = false;
  bool lineinfo = false;
  const void* lower_target = nullptr;
  bool dump = false;
  std::ostream* dump_stream = nullptr;
  bool record_ir = true;

  bool operator==(const OptionsKey&) const = default;
};

OptionsKey options_key(const JitOptions& options, Target target) {
  // NOTES: the structured bindings name every field of JitOptions and LowerOptions, so a field
  // added there stops this from compiling until the key covers it; a forgotten field would
  // hand out kernels compiled with other options.
  const auto& [requested_target, arch, device, fast_math, lineinfo, lower] = options;
  const auto& [lower_target, dump, dump_stream, record_ir] = lower;
  static_cast<void>(requested_target); // `target` is what it resolved to
  return {target, arch, device, fast_math, lineinfo, lower_target, dump, dump_stream, record_ir};
}

std::size_t options_hash(const OptionsKey& o) {
  std::size_t seed = hash_of(o.arch);
  combine(seed, static_cast<std::size_t>(o.target));
  combine(seed, hash_of(o.device));
  combine(seed, (o.fast_math ? 1u : 0u) | (o.lineinfo ? 2u : 0u) | (o.dump ? 4u : 0u) |
                    (o.record_ir ? 8u : 0u));
  combine(seed, hash_of(o.lower_target));
  combine(seed, hash_of(static_cast<const void*>(o.dump_stream)));
  return seed;
}

// NOTES: as with the options, the structured bindings below list every field of ir::Kernel,
// ir::Param and ir::DynamicDim: a new field must be added to the hash and the comparison
// before this compiles again. `loc` (the kernel's source location) is deliberately ignored,
// like the statements' locations in ir::equal.

/** Hash of everything but the body (cheap: names, parameters, dims and the grid extents). */
std::size_t header_hash(const ir::Kernel& kernel) {
  const auto& [name, params, dims, grid, threads, cluster, body, loc, shared_bytes] = kernel;
  std::size_t seed = hash_of(name);
  combine(seed, hash_of(shared_bytes));
  combine(seed, hash_of(threads));
  for (int c : cluster) {
    combine(seed, hash_of(c));
  }
  for (const ir::Param& p : params) {
    const auto& [kind, param_name, dtype, buffer, var] = p;
    combine(seed, static_cast<std::size_t>(kind) * 256 + static_cast<std::size_t>(dtype));
    combine(seed, hash_of(param_name));
    combine(seed, hash_of(buffer.get())); // buffers compare by identity (ir/equal.h)
    combine(seed, ir::structural_hash(var));
  }
  for (const ir::DynamicDim& d : dims) {
    const auto& [dim_name, var] = d;
    combine(seed, hash_of(dim_name));
    combine(seed, ir::structural_hash(var));
  }
  for (const ir::Expr& e : grid) {
    combine(seed, ir::structural_hash(e));
  }
  return seed;
}

bool same_params(const ir::Param& a, const ir::Param& b) {
  const auto& [kind, name, dtype, buffer, var] = a;
  return kind == b.kind && name == b.name && dtype == b.dtype && buffer == b.buffer &&
         ir::equal(var, b.var);
}

/** Structural equality of whole kernels, in ir::equal's sense. */
bool same_kernel(const ir::Kernel& a, const ir::Kernel& b) {
  const auto& [name, params, dims, grid, threads, cluster, body, loc, shared_bytes] = a;
  if (name != b.name || threads != b.threads || cluster != b.cluster ||
      shared_bytes != b.shared_bytes || params.size() != b.params.size() ||
      dims.size() != b.dims.size() || grid.size() != b.grid.size()) {
    return false;
  }
  for (std::size_t i = 0; i < params.size(); ++i) {
    if (!same_params(params[i], b.params[i])) {
      return false;
    }
  }
  for (std::size_t i = 0; i < dims.size(); ++i) {
    if (dims[i].name != b.dims[i].name || !ir::equal(dims[i].var, b.dims[i].var)) {
      return false;
    }
  }
  for (std::size_t i = 0; i < grid.size(); ++i) {
    if (!ir::equal(grid[i], b.grid[i])) {
      return false;
    }
  }
  return ir::equal(body, b.body);
}

bool caches_disabled_by_env() {
  static const bool disabled = [] {
    const char* v = std::getenv("TESSERA_DISABLE_CACHE");
    return v != nullptr && *v != '\0' && std::string_view(v) != "0";
  }();
  return disabled;
}

/** One memoized compile; `result` is ready once the compiling thread is done. */
struct Entry {
  ir::Kernel kernel;
  OptionsKey options;
  std::shared_future<CompiledKernel> result;
};

} // namespace

struct KernelCache::State {
  std::mutex mutex;
  std::unordered_multimap<std::size_t, std::shared_ptr<Entry>> entries;
  // Body hashes of the compiled entries, by node: the entries hold those nodes, so an address
  // here always denotes the body it was computed for.
  std::unordered_map<const ir::StmtNode*, std::size_t> body_hashes;
  std::size_t hits = 0;
  std::size_t compiles = 0;
};

KernelCache::KernelCache() : state_(std::make_unique<State>()) {}
KernelCache::~KernelCache() = default;

KernelCache& KernelCache::global() {
  // Leaked on purpose: kernels may be compiled during static destruction of other objects.
  static KernelCache* cache = new KernelCache();
  return *cache;
}

bool KernelCache::memoizes(const JitOptions& options) {
  return !options.lower.dump && !caches_disabled_by_env();
}

CompiledKernel KernelCache::get(const ir::Kernel& kernel, const JitOptions& options, Target target,
                                CompileFunction compile) {
  State& s = *state_;
  if (!memoizes(options)) {
    {
      std::lock_guard<std::mutex> lock(s.mutex);
      ++s.compiles;
    }
    return compile(kernel, options);
  }
  const OptionsKey okey = options_key(options, target);
  std::optional<std::size_t> body_hash;
  {
    std::lock_guard<std::mutex> lock(s.mutex);
    if (auto it = s.body_hashes.find(kernel.body.get()); it != s.body_hashes.end()) {
      body_hash = it->second;
    }
  }
  if (!body_hash) {
    body_hash = ir::structural_hash(kernel.body); // outside the lock: O(size of the kernel)
  }
  std::size_t key = header_hash(kernel);
  combine(key, *body_hash);
  combine(key, options_hash(okey));

  std::promise<CompiledKernel> promise;
  std::shared_ptr<Entry> entry;
  bool compiles_here = false;
  {
    std::lock_guard<std::mutex> lock(s.mutex);
    auto [it, end] = s.entries.equal_range(key);
    for (; it != end; ++it) {
      if (it->second->options == okey && same_kernel(it->second->kernel, kernel)) {
        ++s.hits;
        entry = it->second;
        break;
      }
    }
    if (!entry) {
      // Reserve the key: concurrent requests for it find this entry and wait on `result`.
      ++s.compiles;
      entry = std::make_shared<Entry>(Entry{kernel, okey, promise.get_future().share()});
      s.entries.emplace(key, entry);
      compiles_here = true;
    }
  }
  if (!compiles_here) {
    return entry->result.get(); // a hit, or a wait for the thread compiling it
  }
  try {
    CompiledKernel ck = compile(kernel, options);
    promise.set_value(ck);
    std::lock_guard<std::mutex> lock(s.mutex);
    s.body_hashes.emplace(entry->kernel.body.get(), *body_hash);
    return ck;
  } catch (...) {
    // Waiters get the exception; later requests compile again.
    promise.set_exception(std::current_exception());
    std::lock_guard<std::mutex> lock(s.mutex);
    auto [it, end] = s.entries.equal_range(key);
    for (; it != end; ++it) {
      if (it->second == entry) {
        s.entries.erase(it);
        break;
      }
    }
    throw;
  }
}

KernelCacheStats KernelCache::stats() const {
  std::lock_guard<std::mutex> lock(state_->mutex);
  return {state_->hits, state_->compiles, state_->entries.size()};
}

void KernelCache::clear() {
  std::lock_guard<std::mutex> lock(state_->mutex);
  state_->entries.clear();
  state_->body_hashes.clear();
}

} // namespace tessera
