#include "dsl/verifier_ops.h"

#include "base/error.h"
#include "ir/printer.h"

#include <fmt/format.h>

namespace tessera::ir::internal {

void VerifyContext::fail(const SourceLoc& loc, const std::string& message) const {
  const SourceLoc& where = loc.line > 0 ? loc : kernel.loc;
  throw UserError(fmt::format("kernel '{}' at {}: {}", kernel.name, where.str(), message));
}

std::string shape_string(const std::vector<std::int64_t>& shape) {
  std::string s = "[";
  for (std::size_t i = 0; i < shape.size(); ++i) {
    s += (i ? ", " : "") + std::to_string(shape[i]);
  }
  return s + "]";
}

std::string describe(const Buffer& b) {
  std::string s = fmt::format("{} '{}' {}[", scope_name(b->scope), b->name, dtype_name(b->dtype));
  for (std::size_t i = 0; i < b->shape.size(); ++i) {
    s += (i ? ", " : "") + to_string(b->shape[i]);
  }
  return s + "]";
}

namespace {

std::vector<std::int64_t> const_shape(const Buffer& b) {
  std::vector<std::int64_t> s;
  for (std::size_t d = 0; d < b->shape.size(); ++d) {
    s.push_back(const_extent(b, static_cast<int>(d)));
  }
  return s;
}

void check_value_type(const VerifyContext& ctx, const SourceLoc& loc, const Buffer& b,
                      const Expr& value, const char* what) {
  if (!value.defined()) {
    ctx.fail(loc, fmt::format("{} into '{}' has no value", what, b->name));
  }
  if (value.type() != b->dtype) {
    ctx.fail(loc, fmt::format("{} into {} with a value of type {}; cast it to {}", what,
                              describe(b), dtype_name(value.type()), dtype_name(b->dtype)));
  }
}

/** A region has one range per dimension, integer starts, positive extents, and stays inside a
 *  non-global buffer when its start is constant (global regions are clipped at run time). */
void check_region(const VerifyContext& ctx, const SourceLoc& loc, const Region& r,
                  const char* role) {
  const Buffer& b = r.buffer;
  if (r.ranges.size() != b->shape.size()) {
    ctx.fail(loc, fmt::format("copy {} '{}' has {} index ranges for rank {}", role, b->name,
                              r.ranges.size(), b->shape.size()));
  }
  for (std::size_t d = 0; d < r.ranges.size(); ++d) {
    const Range& range = r.ranges[d];
    if (!range.start.defined() || !is_integer(range.start.type())) {
      ctx.fail(loc, fmt::format("copy {} '{}': the start of dimension {} must be an integer "
                                "expression",
                                role, b->name, d));
    }
    if (range.extent <= 0) {
      ctx.fail(loc, fmt::format("copy {} '{}': dimension {} has extent {}", role, b->name, d,
                                range.extent));
    }
    const std::int64_t dim = const_extent(b, static_cast<int>(d));
    const IntImm* start = range.start.as<IntImm>();
    if (b->scope == Scope::global || dim < 0 || start == nullptr) {
      continue;
    }
    if (start->value < 0 || start->value + range.extent > dim) {
      ctx.fail(loc, fmt::format("copy {} '{}': dimension {} reads [{}, {}) outside [0, {})", role,
                                b->name, d, start->value, start->value + range.extent, dim));
    }
  }
}

bool is_tile_scope(Scope s) {
  return s == Scope::shared || s == Scope::fragment;
}

} // namespace

void check_indices(const VerifyContext& ctx, const SourceLoc& loc, const Buffer& b,
                   const std::vector<Expr>& indices, const char* what) {
  if (indices.size() != b->shape.size()) {
    ctx.fail(loc, fmt::format("{} of '{}' has {} indices for rank {}", what, b->name,
                              indices.size(), b->shape.size()));
  }
  for (std::size_t d = 0; d < indices.size(); ++d) {
    if (!indices[d].defined() || !is_integer(indices[d].type())) {
      ctx.fail(loc,
               fmt::format("{} of '{}': index {} is {}, not an integer", what, b->name, d,
                           indices[d].defined() ? dtype_name(indices[d].type()) : "undefined"));
    }
  }
}

void check_writable(const VerifyContext& ctx, const SourceLoc& loc, const Buffer& b,
                    const char* what) {
  if (!b->writable) {
    ctx.fail(loc, fmt::format("{} writes to input tensor '{}' (declared at {}); declare it with "
                              "KernelBuilder::output() to write it",
                              what, b->name, b->loc.str()));
  }
}

void check_store(const VerifyContext& ctx, const Store* op) {
  check_indices(ctx, op->loc, op->buffer, op->indices, "store");
  check_writable(ctx, op->loc, op->buffer, "store");
  check_value_type(ctx, op->loc, op->buffer, op->value, "store");
}

void check_copy(const VerifyContext& ctx, const Copy* op) {
  const Buffer& src = op->src.buffer;
  const Buffer& dst = op->dst.buffer;
  check_region(ctx, op->loc, op->src, "source");
  check_region(ctx, op->loc, op->dst, "destination");
  if (src->scope == Scope::global && dst->scope == Scope::global) {
    ctx.fail(op->loc, fmt::format("copy from global tensor '{}' to global tensor '{}': copies "
                                  "between two global tensors are not supported; stage the "
                                  "tile through a fragment or shared buffer",
                                  src->name, dst->name));
  }
  const auto src_shape = op->src.shape();
  const auto dst_shape = op->dst.shape();
  if (src_shape != dst_shape) {
    ctx.fail(op->loc, fmt::format("copy from '{}' to '{}': shapes {} and {} differ", src->name,
                                  dst->name, shape_string(src_shape), shape_string(dst_shape)));
  }
  check_writable(ctx, op->loc, dst, "copy");
}

void check_fill(const VerifyContext& ctx, const Fill* op) {
  if (op->buffer->scope == Scope::global) {
    ctx.fail(op->loc, fmt::format("fill of global tensor '{}': fill() works on shared, fragment "
                                  "and local buffers; fill a fragment and copy it out",
                                  op->buffer->name));
  }
  check_writable(ctx, op->loc, op->buffer, "fill");
  check_value_type(ctx, op->loc, op->buffer, op->value, "fill");
}

void check_reduce(const VerifyContext& ctx, const Reduce* op) {
  const char* name = reduce_op_name(op->op);
  if (!is_tile_scope(op->src->scope)) {
    ctx.fail(op->loc, fmt::format("reduce_{} from {}: the source must be a fragment or shared "
                                  "buffer",
                                  name, describe(op->src)));
  }
  if (op->dst->scope == Scope::global) {
    ctx.fail(op->loc, fmt::format("reduce_{} into {}: reduce into a fragment, shared or local "
                                  "buffer and copy the result out",
                                  name, describe(op->dst)));
  }
  if (op->src->dtype == DType::boolean || op->dst->dtype == DType::boolean) {
    ctx.fail(op->loc, fmt::format("reduce_{} from '{}' into '{}': booleans cannot be reduced", name,
                                  op->src->name, op->dst->name));
  }
  const auto src_shape = const_shape(op->src);
  if (op->axis < 0 || op->axis >= static_cast<int>(src_shape.size())) {
    ctx.fail(op->loc, fmt::format("reduce_{} of '{}' along axis {}: '{}' has rank {}", name,
                                  op->src->name, op->axis, op->src->name, src_shape.size()));
  }
  auto expected = src_shape;
  expected.erase(expected.begin() + op->axis);
  if (const_shape(op->dst) != expected) {
    ctx.fail(op->loc, fmt::format("reduce_{} of '{}' {} along axis {} gives shape {}, but '{}' "
                                  "has shape {}",
                                  name, op->src->name, shape_string(src_shape), op->axis,
                                  shape_string(expected), op->dst->name,
                                  shape_string(const_shape(op->dst))));
  }
  check_writable(ctx, op->loc, op->dst, "reduce");
}

void check_gemm(const VerifyContext& ctx, const Gemm* op) {
  for (const Buffer* operand : {&op->a, &op->b}) {
    if (!is_tile_scope((*operand)->scope)) {
      ctx.fail(op->loc, fmt::format("gemm operand {}: A and B must be shared or fragment tiles",
                                    describe(*operand)));
    }
  }
  if (op->c->scope != Scope::fragment || op->c->dtype != DType::f32) {
    ctx.fail(op->loc,
             fmt::format("gemm accumulator {}: C must be an f32 fragment", describe(op->c)));
  }
  for (const Buffer* operand : {&op->a, &op->b, &op->c}) {
    if ((*operand)->shape.size() != 2) {
      ctx.fail(op->loc, fmt::format("gemm operand {} must be 2-D", describe(*operand)));
    }
  }
  const DType ta = op->a->dtype, tb = op->b->dtype;
  const bool half = (ta == DType::bf16 || ta == DType::f16) && tb == ta;
  if (!half && !(ta == DType::f32 && tb == DType::f32)) {
    ctx.fail(op->loc, fmt::format("gemm of '{}' ({}) and '{}' ({}): operands must both be bf16, "
                                  "both f16 or both f32",
                                  op->a->name, dtype_name(ta), op->b->name, dtype_name(tb)));
  }
  const auto a = const_shape(op->a), b = const_shape(op->b), c = const_shape(op->c);
  const std::int64_t m = op->trans_a ? a[1] : a[0], ka = op->trans_a ? a[0] : a[1];
  const std::int64_t kb = op->trans_b ? b[1] : b[0], n = op->trans_b ? b[0] : b[1];
  if (ka != kb) {
    ctx.fail(op->loc, fmt::format("gemm of '{}'{} {} and '{}'{} {}: inner dimensions {} and {} "
                                  "differ",
                                  op->a->name, op->trans_a ? "^T" : "", shape_string(a),
                                  op->b->name, op->trans_b ? "^T" : "", shape_string(b), ka, kb));
  }
  if (c[0] != m || c[1] != n) {
    ctx.fail(op->loc,
             fmt::format("gemm into '{}' {}: the product of '{}' and '{}' is {}", op->c->name,
                         shape_string(c), op->a->name, op->b->name, shape_string({m, n})));
  }
  check_writable(ctx, op->loc, op->c, "gemm");
}

void check_atomic(const VerifyContext& ctx, const Atomic* op) {
  const char* what = op->op == AtomicOp::add ? "atomic_add" : "atomic_max";
  const Buffer& b = op->buffer;
  if (b->scope != Scope::global && b->scope != Scope::shared) {
    ctx.fail(op->loc, fmt::format("{} on {}: atomics work on global and shared buffers only", what,
                                  describe(b)));
  }
  // What the hardware (and the CUDA prelude) does natively; anything else would be a CAS loop.
  const DType t = b->dtype;
  const bool ok = op->op == AtomicOp::add
                      ? (t == DType::f32 || t == DType::f64 || t == DType::i32 || t == DType::u32 ||
                         t == DType::bf16 || t == DType::f16)
                      : (t == DType::i32 || t == DType::u32 || t == DType::i64);
  if (!ok) {
    ctx.fail(op->loc,
             fmt::format("{} on '{}': element type {} is not supported (add: f32, f64, bf16, f16, "
                         "i32, u32; max: i32, u32, i64)",
                         what, b->name, dtype_name(t)));
  }
  check_indices(ctx, op->loc, b, op->indices, what);
  check_writable(ctx, op->loc, b, what);
  check_value_type(ctx, op->loc, b, op->value, what);
}

} // namespace tessera::ir::internal
