/** \file
 * The lowering pipeline: tile IR in, thread-level IR out, as a linear script of passes
 * (Halide's Lower.cpp style). Each step is one pass from its own file pair; both backends run
 * all of them (the target only changes what an op lowers to, ops::TargetInfo). The IR after
 * every pass can be printed (TESSERA_DUMP_PASSES=1, LowerOptions::dump, `tessera emit --ir
 * --after PASS`) and is recorded for CompiledKernel.
 *
 *   simplify           algebraic simplification of the traced IR
 *   infer_layouts      fragment layouts and parallel-loop plans (recorded in the IR)
 *   vectorize_copies   vector widths and cp.async of copies (ops::CopyPlan)
 *   pipeline_loops     software pipelining of pipelined() loops: ring slots, async waits
 *   insert_barriers    barriers between shared-memory producers and consumers
 *   check_pdl          programmatic-dependent-launch rules
 *   lower_tile_ops     tile ops, parallel loops, fragments → thread-level IR
 *   plan_shared_memory offsets of every shared buffer, the block's shared-memory size
 */
#pragma once

#include "ir/ir.h"
#include "ops/tile_op.h"

#include <iosfwd>
#include <string>
#include <vector>

namespace tessera::codegen {

/** The IR after one pass, and how long the pass took. */
struct PassRecord {
  std::string pass;
  std::string ir;
  double ms = 0;
};

struct LowerOptions {
  /** The target the kernel is lowered for (null: CUDA, codegen/target_info.h). */
  const ops::TargetInfo* target = nullptr;
  /** Print the IR after every pass to `dump_stream` (stderr when null). Also switched on by the
   *  environment variable TESSERA_DUMP_PASSES=1. */
  bool dump = false;
  std::ostream* dump_stream = nullptr;
  /** Record (and print) the IR text after each pass. Off, the passes run without printing,
   *  which keeps the JIT's cold compile short; dump and TESSERA_DUMP_PASSES switch it on. */
  bool record_ir = true;
};

/** The passes lower() runs, in order. */
const std::vector<std::string>& pass_names();

/**
 * Runs every pass over `kernel` and returns the thread-level kernel. Appends one PassRecord per
 * pass to `records` when given. Throws UserError for kernels the target cannot lower (the
 * message names the buffer and DSL line).
 */
ir::Kernel lower(const ir::Kernel& kernel, const LowerOptions& options = {},
                 std::vector<PassRecord>* records = nullptr);

} // namespace tessera::codegen
