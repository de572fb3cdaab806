/** \file
 * The lowering pipeline: tile IR → LoweredKernel, a linear script of passes (Halide's Lower.cpp
 * style). Each step is one pass from its own file pair; the IR after every pass can be printed
 * (TESSERA_DUMP_PASSES=1, or LowerOptions::dump) and is recorded for CompiledKernel.
 */
#pragma once

#include "codegen/lowered.h"
#include "ir/ir.h"

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
  /** Print the IR after every pass to `dump_stream` (stderr when null). Also switched on by the
   *  environment variable TESSERA_DUMP_PASSES=1. */
  bool dump = false;
  std::ostream* dump_stream = nullptr;
};

/**
 * Runs every lowering pass over `kernel`: simplify, layout inference and thread partitioning,
 * copy vectorization, software pipelining, shared-memory planning, barrier insertion, PDL
 * checks. Appends one PassRecord per pass to `records` when given. Throws UserError for kernels
 * the CUDA backend cannot lower (the message names the buffer and DSL line).
 */
LoweredKernel lower(const ir::Kernel& kernel, const LowerOptions& options = {},
                    std::vector<PassRecord>* records = nullptr);

} // namespace tessera::codegen
