/** \file
 * Lowers a block-level tile-IR kernel (before fragment partitioning) to an LLVM module for the
 * CPU backend. Internal to codegen/llvm: LLVM types are only forward-declared here, and the
 * public entry point is compile_cpu_kernel() in codegen/llvm/cpu_kernel.h.
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

/** What the launcher needs to know about a lowered kernel's functions. */
struct CpuEntryPoints {
  /** `void block(void** args, i64 bx, i64 by, i64 bz, void* scratch)`: one thread block. */
  std::string block_fn;
  /** `void grid(void** args, i64* out3)`: evaluates the grid extents from the arguments. */
  std::string grid_fn;
  /** Bytes of per-host-thread scratch that block_fn needs (large shared/fragment buffers). */
  std::size_t scratch_bytes = 0;
};

/**
 * Builds the module. `args` of both functions holds one pointer per kernel parameter in
 * declaration order (a tensor's data pointer; a pointer to a scalar's value), then one pointer
 * to the i32 value of each dynamic dim. Throws CompileError naming the construct and its DSL
 * line when the kernel uses something the CPU backend cannot run.
 */
std::unique_ptr<llvm::Module> lower_to_llvm(const ir::Kernel& kernel, llvm::LLVMContext& context,
                                            CpuEntryPoints& entry_points);

} // namespace tessera::codegen
