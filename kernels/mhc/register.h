/** \file
 * Registers the mHC kernels in the kernel registry (jit/kernel_registry.h) for `tessera list` and
 * `tessera emit`. Each kernel of an op is one entry named "<op>.<kernel>" (e.g.
 * "mhc_pre.stage_a", "mhc_pre.big_fuse"); mhc_kernel_entries("mhc_pre") lists them in launch
 * order, so `tessera emit mhc_pre --param hidden=7168` can print the op's plan and every kernel.
 * The kernels are the op's plan (kernels/mhc/plan.h) for the parameters, on a
 * kReferenceSmCount-SM GPU.
 *
 * Parameters: hidden (7168), hc_mult (4), tokens (1; picks the small-T or large-T kernels and
 * the automatic split count), splits (0 = automatic), norm (0/1: fused RMSNorm), iters (20),
 * precision (0 = tf32, 1 = fp32).
 */
#pragma once

#include "jit/kernel_registry.h"
#include "kernels/mhc/plan.h"

#include <string>
#include <vector>

namespace tessera::mhc {

/** Adds every mHC kernel entry to `registry` (idempotent). */
void register_kernels(KernelRegistry& registry = KernelRegistry::global());

/** Registry entry names of `op`'s kernels in launch order (empty for an unknown op). The fused
 * post+pre lists both regimes: fused_post (T ≤ 16), post and stage_a (T > 16), big_fuse. */
std::vector<std::string> mhc_kernel_entries(const std::string& op);

/** The plan the entries of `op` come from, for registry parameter values (see the file
 * comment); UserError for an unknown op or an invalid configuration. */
Plan registry_plan(const std::string& op, const KernelParams& params);

} // namespace tessera::mhc
