/** \file
 * Internal: compiling an in-memory llvm::Module (built with IRBuilder by codegen/llvm). Only
 * forward declarations of LLVM types here; the including .cpp has the real LLVM headers.
 */
#pragma once

#include "runtime/cpu/orc_jit.h"

#include <memory>
#include <string>
#include <vector>

namespace llvm {
class LLVMContext;
class Module;
} // namespace llvm

namespace tessera::cpu::internal {

/**
 * Verifies, optimises and JIT-compiles `module` (which must live in `context`), then looks up
 * `entry_points` so that code generation happens now. Sets the module's target triple and data
 * layout to the host's. Throws CompileError on a verifier failure (with the verifier's report
 * and the IR), which always means a Tessera bug in the lowering.
 */
OrcModule compile_module(std::unique_ptr<llvm::LLVMContext> context,
                         std::unique_ptr<llvm::Module> module,
                         const std::vector<std::string>& entry_points, const OrcOptions& options);

/** Initialises LLVM's native target, asm printer and parser once per process (thread-safe). */
void initialize_llvm_native_target();

} // namespace tessera::cpu::internal
