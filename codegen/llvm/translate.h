/** \file
 * Translates a thread-level kernel (what codegen::lower returns for the cpu target) into an LLVM
 * module for the CPU backend. Internal to codegen/llvm: LLVM types are only forward-declared
 * here; the public entry point is compile_cpu_kernel() in codegen/llvm/cpu_kernel.h.
 */
#pragma once

#include "ir/ir.h"

#include <cstddef>
#include <memory>
#include <string>

namespace llvm {
class LLVMContext;
class Module;
} // namespace llvm

namespace tessera::codegen {

/** What the launcher needs to know about a translated kernel. */
struct CpuEntryPoints {
  /** `void block(void** args, i64 bx, i64 by, i64 bz, void* scratch)`: one thread block. `args`
   *  is the launch's argument array, as for a CUDA launch: per kernel parameter a pointer to its
   *  value (a tensor's data pointer, a scalar), then a pointer to each dynamic dim's i32. */
  std::string block_fn;
  /** Bytes of per-host-thread scratch that block_fn needs (shared memory, large locals). */
  std::size_t scratch_bytes = 0;
};

/**
 * Builds the module of `lowered`, a kernel after every lowering pass (thread-level IR). A block
 * runs on one host thread: thread-dependent code as loops over the thread ids between
 * barriers. Throws CompileError naming the construct and its DSL line for what the CPU cannot
 * run (a barrier under thread-dependent control flow, which the GPU does not allow either).
 */
std::unique_ptr<llvm::Module> translate_to_llvm(const ir::Kernel& lowered,
                                                llvm::LLVMContext& context,
                                                CpuEntryPoints& entry_points);

} // namespace tessera::codegen
