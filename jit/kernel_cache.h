/** \file
 * The in-process memo in front of Runtime::compile: a kernel compiled once with some options is
 * handed out again — the same CompiledKernel state — when an equal kernel is compiled with equal
 * options, so callers (the mHC ops, examples, benches) keep no kernel maps of their own.
 *
 * Key: the kernel's structure (ir::structural_hash of its body and grid, plus name, parameters,
 * dims, threads and cluster) and every JitOptions field, with the target resolved. A hit is
 * confirmed with ir::equal, so a hash collision never hands out another kernel. Equality is
 * ir::equal's: buffers compare by identity, so a kernel traced twice by a builder (fresh
 * buffers) is a different kernel here, while copies of one traced kernel and trees rebuilt
 * around its buffers (IRMutator) are the same; traced kernels are cached by their builders
 * (kernels/mhc/plan.h) for that reason. Source locations are not part of the key.
 *
 * The lookup of a kernel seen before costs a hash of the kernel's header and a map lookup: the
 * hash of a body already in the memo is remembered by its node. Concurrent requests for one key
 * compile once; the others wait for that compile and share its result or its exception. A
 * failed compile is not remembered.
 *
 * Not memoized (compiled on every request): LowerOptions::dump (the caller wants the passes
 * printed) and TESSERA_DISABLE_CACHE=1 (the runtime's caches are off too). Entries live until
 * clear() or the end of the process, like the runtime's memory cache.
 */
#pragma once

#include "ir/ir.h"
#include "jit/compiled_kernel.h"
#include "jit/target.h"

#include <cstddef>
#include <memory>

namespace tessera {

/** Counters of a KernelCache. */
struct KernelCacheStats {
  std::size_t hits = 0;     ///< requests answered from the memo (also after waiting)
  std::size_t compiles = 0; ///< requests that compiled (successfully or not)
  std::size_t entries = 0;  ///< kernels held now
};

/** A thread-safe memo of compiled kernels; Runtime::compile uses global(). */
class KernelCache {
public:
  /** Compiles `kernel` with `options`, without the memo. */
  using CompileFunction = CompiledKernel (*)(const ir::Kernel& kernel, const JitOptions& options);

  KernelCache();
  ~KernelCache();
  KernelCache(const KernelCache&) = delete;
  KernelCache& operator=(const KernelCache&) = delete;

  /** The process-wide memo of Runtime::compile. */
  static KernelCache& global();

  /** The kernel compiled earlier for an equal kernel and equal options, else what
   * `compile(kernel, options)` returns (remembered when it succeeds). `target` is what
   * options.target resolves to (never automatic): the key holds it instead. Exceptions of
   * `compile` propagate to this caller and to every caller waiting for the same key. */
  CompiledKernel get(const ir::Kernel& kernel, const JitOptions& options, Target target,
                     CompileFunction compile);

  /** Whether get() memoizes a request with `options` (see the file comment). */
  static bool memoizes(const JitOptions& options);

  KernelCacheStats stats() const;
  /** Forgets every entry (kernels handed out stay valid). */
  void clear();

private:
  struct State;
  std::unique_ptr<State> state_;
};

} // namespace tessera
