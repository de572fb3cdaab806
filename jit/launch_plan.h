/** \file
 * Launch planning for DSL kernels: what every launch must check and compute, precomputed from
 * the IR at compile time (parameter slots, which tensor dim binds which dynamic dim), and the
 * check itself as a pure function, so argument errors are testable without a GPU. Nothing on
 * the launch path allocates unless it throws.
 */
#pragma once

#include "base/dtype.h"
#include "ir/ir.h"
#include "runtime/tensor.h"

#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <type_traits>
#include <vector>

namespace tessera {

/** One launch argument: a tensor view or a scalar value. Built on the launch path. */
struct KernelArg {
  enum class Kind : std::uint8_t { tensor, scalar };
  Kind kind = Kind::scalar;
  const TensorView* tensor = nullptr;
  DType dtype = DType::i32; ///< scalars: the C++ type's dtype
  double f = 0;             ///< scalars: value as double
  std::int64_t i = 0;       ///< scalars: value as integer

  static KernelArg from(const TensorView& t) {
    KernelArg a;
    a.kind = Kind::tensor;
    a.tensor = &t;
    return a;
  }
  template <class T>
  requires std::is_arithmetic_v<T>
  static KernelArg from(T v) {
    KernelArg a;
    a.f = static_cast<double>(v);
    a.i = static_cast<std::int64_t>(v);
    if constexpr (std::is_same_v<T, float>) {
      a.dtype = DType::f32;
    } else if constexpr (std::is_same_v<T, double>) {
      a.dtype = DType::f64;
    } else if constexpr (std::is_same_v<T, bool>) {
      a.dtype = DType::boolean;
    } else if constexpr (std::is_integral_v<T> && sizeof(T) == 8) {
      a.dtype = std::is_signed_v<T> ? DType::i64 : DType::u32;
    } else if constexpr (std::is_same_v<T, unsigned> || std::is_same_v<T, unsigned short>) {
      a.dtype = DType::u32;
    } else if constexpr (std::is_same_v<T, std::int8_t>) {
      a.dtype = DType::i8;
    } else if constexpr (std::is_same_v<T, std::uint8_t>) {
      a.dtype = DType::u8;
    } else {
      a.dtype = DType::i32;
    }
    return a;
  }
};

/** Most parameters (declared + dynamic dims) a DSL kernel may have. */
inline constexpr int kMaxKernelParams = 48;

/** The checked, ready-to-launch form of one call: grid, block, argument slots. */
struct BoundLaunch {
  std::array<unsigned, 3> grid{1, 1, 1};
  unsigned block = 0;
  unsigned shared_bytes = 0;
  bool empty = false; ///< some grid extent is 0: nothing to launch
  int count = 0;
  std::array<std::uint64_t, kMaxKernelParams> storage{};
  std::array<void*, kMaxKernelParams> args{};
};

/** Precomputed checks for one kernel. */
class LaunchPlan {
public:
  LaunchPlan() = default;
  /** The plan of `kernel` launched with `shared_bytes` of dynamic shared memory, its tensors in
   *  `memory` (device memory for the cuda target, host memory for the cpu target). */
  LaunchPlan(const ir::Kernel& kernel, std::int64_t shared_bytes,
             MemoryKind memory = MemoryKind::cuda);

  /**
   * Checks `args` against the kernel's parameters (count, tensor vs scalar, dtype, rank,
   * constant extents, consistency of dims shared between tensors, contiguity, the target's memory,
   * non-null and 16-byte aligned data, scalar types) and computes the launch. Throws UserError
   * naming the kernel, parameter, dimension, expected and actual values. No GPU needed.
   */
  void bind(std::span<const KernelArg> args, BoundLaunch& out) const;

  const std::string& kernel_name() const { return name_; }
  std::size_t param_count() const { return params_.size(); }

private:
  struct DimRef {
    std::int64_t constant = -1; ///< >= 0: constant extent
    int dim = -1;               ///< else: index of the dynamic dim
  };
  struct ParamSlot {
    bool tensor = false;
    std::string name;
    DType dtype = DType::f32;
    std::vector<DimRef> shape;
  };

  std::string name_;
  std::vector<ParamSlot> params_;
  std::vector<std::string> dim_names_;
  std::vector<ir::Expr> grid_;
  int threads_ = 0;
  std::int64_t shared_bytes_ = 0;
  MemoryKind memory_ = MemoryKind::cuda;
};

} // namespace tessera
