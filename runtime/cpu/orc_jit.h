/** \file
 * The CPU backend's JIT: LLVM IR to native code for the host CPU through ORC LLJIT, optimised at
 * O2/O3 with the host's CPU features (so loops vectorise to AVX2/AVX-512 where LLVM can).
 *
 * This header is LLVM-free: code that builds an llvm::Module in memory uses the internal
 * runtime/cpu/jit_llvm.h instead. A OrcModule owns its LLJIT instance; copies share it, and the
 * code stays valid until the last copy is gone.
 */
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace tessera::cpu {

/** LLVM optimisation level for the middle end (PassBuilder) and the code generator. */
enum class OptLevel : std::uint8_t { O0, O1, O2, O3 };

/** How a module is compiled. Part of every cache key. */
struct OrcOptions {
  OptLevel opt = OptLevel::O3;
  /** Compile for the host CPU (its name and all its features, e.g. AVX-512); when false, for the
   * baseline of the host's architecture (e.g. x86-64 SSE2), which is what CI compares against. */
  bool host_features = true;
  /** Let LLVM unroll loops (partial and full unrolling). Off by default: it multiplies JIT time
   * for little run-time gain on tile loops (docs/cpu-backend.md, "Measurements"). */
  bool unroll_loops = false;
  /** Keep the optimised IR text (OrcModule::optimized_ir), for debugging and the CLI. */
  bool keep_ir = false;

  /** A short stable text such as "O3 host" for cache keys and messages. */
  std::string describe() const;
};

/** The host CPU as LLVM sees it. */
struct HostCpu {
  std::string triple;   ///< e.g. "x86_64-pc-linux-gnu"
  std::string name;     ///< e.g. "znver4"
  std::string features; ///< e.g. "+avx2,+fma,..." (enabled features only)
};

/** Detects the host once (thread-safe) and returns it. */
const HostCpu& host_cpu();

/** Wall time of each compile stage, in milliseconds. */
struct OrcTimings {
  double parse_ms = 0;    ///< IR text to module (0 when the module was built in memory)
  double optimize_ms = 0; ///< PassBuilder pipeline
  double codegen_ms = 0;  ///< instruction selection to linked native code (LLJIT materialisation)
  double total_ms = 0;
};

/** Native code of one compiled module. Cheap to copy (shared ownership). */
class OrcModule {
public:
  OrcModule() = default;

  /** True when it holds compiled code. */
  explicit operator bool() const { return impl_ != nullptr; }

  /** Address of a function or global of the module; throws CompileError if it does not exist. */
  void* lookup(std::string_view symbol) const;

  /** lookup() cast to a function pointer type, e.g. lookup_function<void(float*)>("f"). */
  template <class Fn> Fn* lookup_function(std::string_view symbol) const {
    return reinterpret_cast<Fn*>(lookup(symbol));
  }

  /** How long compiling took. */
  const OrcTimings& timings() const;

  /** The optimised IR, when OrcOptions::keep_ir was set (otherwise empty). */
  const std::string& optimized_ir() const;

  struct Impl;
  explicit OrcModule(std::shared_ptr<Impl> impl) : impl_(std::move(impl)) {}

private:
  std::shared_ptr<Impl> impl_;
};

/**
 * Parses LLVM IR text, verifies, optimises and compiles it, and materialises `entry_points`
 * eagerly (so timings include code generation and a bad module fails here, not at launch).
 * Throws CompileError with LLVM's diagnostic on a parse or verifier failure.
 */
OrcModule jit_compile_ir_text(std::string_view ir_text, std::string_view module_name,
                              const std::vector<std::string>& entry_points,
                              const OrcOptions& options = {});

} // namespace tessera::cpu
