/** \file
 * The mHC ops as data: one OpSpec per op with its tensor signature (names, dtypes and shapes
 * for a Config, T and split count; inputs, then outputs), its workspace, the spec's random
 * inputs (kernels/mhc/inputs.h), the fp64 reference (kernels/mhc/reference.h) and the test
 * tolerances of ../shared/docs/mhc-spec.md §7. `tessera run`, bench/mhc_bench and the tests
 * iterate this table instead of writing code per op; which kernels an op launches is its plan
 * (kernels/mhc/plan.h). Tensor names are the argument names of validate.h.
 *
 * \code
 *   const mhc::OpSpec& spec = mhc::op_spec(mhc::Op::mhc_post);
 *   auto inputs = spec.inputs(cfg, T, S, seed);        // one HostTensor per input, in order
 *   ... run the op on them (kernels/mhc/op_runner.h) ...
 *   auto want = spec.reference(cfg, T, S, inputs);     // one HostTensor per output, in order
 * \endcode
 */
#pragma once

#include "base/dtype.h"
#include "base/float16.h"
#include "kernels/mhc/config.h"

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace tessera::mhc {

/** The mHC operators of the host API (ops.h), stages included. */
enum class Op : std::uint8_t {
  mhc_pre,
  mhc_pre_broadcast,
  mhc_post,
  mhc_fused_post_pre,
  hc_head,
  sinkhorn,
  stage_a,  ///< stage A alone: x · fnᵀ partials
  big_fuse, ///< stage B alone, on given partials
};

/** "mhc_pre", "mhc_pre_broadcast", ... */
const char* op_name(Op op);
/** Every op, in declaration order. */
std::span<const Op> all_ops();
/** The op named `name`; UserError listing the names otherwise. */
Op parse_op(std::string_view name);

/** `|got − want| <= atol + rtol·|want|` per element (non-finite values always fail). */
struct Tolerance {
  double atol = 0;
  double rtol = 0;
  /** atol is relative to the largest |want| of the tensor (partial sums that cancel). */
  bool atol_scaled = false;
};

/** One tensor of an op's signature. */
struct TensorSpec {
  std::string name;
  DType dtype = DType::f32;
  std::vector<std::int64_t> shape;
  bool output = false;
  /** Dimension 0 is T (per-token data), as opposed to weights like fn. */
  bool per_token = false;
  /** A handful of parameters (scale, base), left out of the bytes an op must move, as the peer
   * benchmark counts them (../shared/peer/torch_mhc.py). */
  bool small = false;
  /** Outputs: how close to the reference the kernels are held (the spec's §7 test tolerance). */
  Tolerance tolerance;

  std::int64_t numel() const;
  std::int64_t bytes() const;
};

/** A tensor's values on the host: fp32 values in `f32`, bf16 values in `b16`. */
struct HostTensor {
  std::string name;
  DType dtype = DType::f32;
  std::vector<std::int64_t> shape;
  std::vector<float> f32;
  std::vector<bf16> b16;

  std::int64_t numel() const;
  std::size_t bytes() const;
  const void* data() const;
  void* data();
  /** Value `i` as a double. */
  double value(std::int64_t i) const;
  /** A tensor of `spec`'s name, dtype and shape with zero values. */
  static HostTensor zeros(const TensorSpec& spec);
};

/** Functions of (config, T, S): S is the plan's split count (Plan::splits). */
struct OpSpec {
  Op op;
  /** Inputs, then outputs, in the argument order of validate.h (norm_weight only when
   * config.norm_eps is set). */
  std::vector<TensorSpec> (*tensors)(const Config& config, std::int64_t tokens, int splits);
  /** Workspace bytes the op needs (0: it takes none). */
  std::int64_t (*workspace_bytes)(const Config& config, std::int64_t tokens, int splits);
  /** The spec's random inputs for `seed`, one per input tensor, in order. */
  std::vector<HostTensor> (*inputs)(const Config& config, std::int64_t tokens, int splits,
                                    std::uint64_t seed);
  /** The fp64 reference's outputs for `inputs`, one per output tensor, in order. */
  std::vector<HostTensor> (*reference)(const Config& config, std::int64_t tokens, int splits,
                                       std::span<const HostTensor> inputs);
};

/** The spec of `op`. */
const OpSpec& op_spec(Op op);

/** The input (or output) tensors of `tensors`. */
std::vector<TensorSpec> inputs_of(const std::vector<TensorSpec>& tensors);
std::vector<TensorSpec> outputs_of(const std::vector<TensorSpec>& tensors);

/** Bytes the op must move at least (every tensor but the small ones, read or written once). */
std::int64_t traffic_bytes(const std::vector<TensorSpec>& tensors);

/** The spec's suggested tolerance for a dtype (§7, "strategy"): about one bf16 ulp for bf16
 * (atol 1.6e-2, rtol 1e-2), the TF32 bound for fp32 (1e-3, 1e-3). `tessera run --check`
 * uses it for every op. */
Tolerance dtype_tolerance(DType dtype);

/** How far `got` is from `want`. */
struct Comparison {
  double max_abs = 0;          ///< over finite elements
  double max_rel = 0;          ///< over finite elements, |err| / max(|want|, 1e-12)
  std::int64_t outside = 0;    ///< finite elements outside the tolerance
  std::int64_t non_finite = 0; ///< NaN or infinite elements of `got` (poison left behind) or of
                               ///< the reference
  bool ok() const { return outside == 0 && non_finite == 0; }
};
/** Compares element by element; UserError when the sizes differ. */
Comparison compare(const HostTensor& got, const HostTensor& want, Tolerance tolerance);

} // namespace tessera::mhc
