/** \file
 * One call of an mHC op on host values, in the memory of a target: allocate every tensor of
 * the op's OpSpec (TensorStorage), upload the inputs, poison the outputs, call the op, copy the
 * outputs back. What `tessera run` and the host and GPU tests do with an op, written once.
 *
 * \code
 *   const mhc::Plan plan = mhc::make_plan({.op = op, .config = cfg, .tokens = T,
 *                                          .target = mhc::target_for(MemoryKind::host)});
 *   const mhc::OpSpec& spec = mhc::op_spec(op);
 *   auto inputs = spec.inputs(cfg, T, plan.splits, seed);
 *   auto outputs = mhc::run_op(plan, inputs, MemoryKind::host);
 *   auto want = spec.reference(cfg, T, plan.splits, inputs);
 * \endcode
 */
#pragma once

#include "kernels/mhc/op_spec.h"
#include "kernels/mhc/plan.h"
#include "runtime/tensor.h"

#include <span>
#include <vector>

namespace tessera::mhc {

/**
 * Runs plan.op for plan.config and plan.tokens on `inputs` (one per input of the op's
 * OpSpec::tensors, in order; UserError when a name, dtype or size differs) in `memory`: device
 * memory of device 0 (a private stream, synchronised before returning) or host memory (the CPU
 * backend). The plan's S sizes the stage partials; the op itself plans again for the device.
 * Outputs are filled with NaN bytes first, so an element the kernels miss fails a comparison.
 * Returns the outputs in signature order.
 */
std::vector<HostTensor> run_op(const Plan& plan, std::span<const HostTensor> inputs,
                               MemoryKind memory);

} // namespace tessera::mhc
