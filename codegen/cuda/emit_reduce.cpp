// CUDA emitter: reductions of fragments along one axis.
//
//  * distributed source, last axis: per-thread partials over the registers each thread holds,
//    a warp butterfly all-reduce, then (more than one warp) a round through shared scratch so
//    every participating thread ends with every result;
//  * distributed source, a leading axis: register-local (the partition is unchanged);
//  * replicated source: every thread computes every result.
#include "base/error.h"
#include "codegen/cuda/cuda_emitter.h"
#include "codegen/cuda/emitter.h"
#include "ir/util.h"

#include <fmt/format.h>

namespace tessera::codegen::internal {

using namespace ir;

namespace {

std::string identity(ReduceOp op, DType t) {
  const bool f64 = t == DType::f64;
  switch (op) {
  case ReduceOp::sum:
  case ReduceOp::absmax:
    return f64 ? "0.0" : "0.0f";
  case ReduceOp::max:
    return f64 ? "-__longlong_as_double(0x7ff0000000000000ll)" : "-__int_as_float(0x7f800000)";
  case ReduceOp::min:
    return f64 ? "__longlong_as_double(0x7ff0000000000000ll)" : "__int_as_float(0x7f800000)";
  }
  return "0";
}

std::string combine(ReduceOp op, const std::string& a, const std::string& b) {
  switch (op) {
  case ReduceOp::sum:
    return fmt::format("{} + {}", a, b);
  case ReduceOp::max:
  case ReduceOp::absmax:
    return fmt::format("tessera::max({}, {})", a, b);
  case ReduceOp::min:
    return fmt::format("tessera::min({}, {})", a, b);
  }
  return a;
}

/** The value an element contributes (|x| for absmax), in the accumulation type. */
std::string term(ReduceOp op, const std::string& x, DType from, DType acc) {
  std::string v = from == acc ? x : fmt::format("tessera::convert<{}>({})", cuda_type(acc), x);
  return op == ReduceOp::absmax ? fmt::format("tessera::abs({})", v) : v;
}

const char* warp_fn(ReduceOp op) {
  switch (op) {
  case ReduceOp::sum:
    return "tessera::warp_sum";
  case ReduceOp::max:
  case ReduceOp::absmax:
    return "tessera::warp_max";
  case ReduceOp::min:
    return "tessera::warp_min";
  }
  return "";
}

} // namespace

void CudaEmitter::reduce(const Reduce* op) {
  const Buffer& src = op->src;
  const Buffer& dst = op->dst;
  auto fail = [&](const std::string& why) {
    throw UserError(fmt::format("kernel '{}': reduce_{}({} -> {}) at {}: {}", lk.kernel.name,
                                reduce_op_name(op->op), src->name, dst->name, op->loc.str(), why));
  };
  if (src->scope != Scope::fragment) {
    fail("the source must be a fragment");
  }
  if (dst->scope != Scope::fragment && dst->scope != Scope::local) {
    fail("the destination must be a fragment or local buffer");
  }
  const int rank = static_cast<int>(src->shape.size());
  if (op->axis < 0 || op->axis >= rank) {
    fail(fmt::format("axis {} is out of range for rank {}", op->axis, rank));
  }
  const Layout& ls = lk.layout(src);
  const bool dst_frag = dst->scope == Scope::fragment;
  const Layout ld = dst_frag ? lk.layout(dst) : Layout::replicated(const_shape(dst));
  if (ls.kind == LayoutKind::mapped || ld.kind == LayoutKind::mapped) {
    fail("tensor-core fragments cannot be reduced yet");
  }
  const DType acc_t = src->dtype == DType::f64 ? DType::f64 : DType::f32;
  const std::string at = cuda_type(acc_t);
  const std::string sname = name(src), dname = name(dst);
  const std::string dt = cuda_type(dst->dtype);
  auto store = [&](const std::string& target, const std::string& value) {
    const std::string v =
        acc_t == dst->dtype ? value : fmt::format("tessera::convert<{}>({})", dt, value);
    if (op->clear) {
      line(fmt::format("{} = {};", target, v));
    } else {
      const std::string cur =
          acc_t == dst->dtype ? target : fmt::format("tessera::convert<{}>({})", at, target);
      const std::string m = combine(op->op, cur, value);
      line(fmt::format("{} = {};", target,
                       acc_t == dst->dtype ? m : fmt::format("tessera::convert<{}>({})", dt, m)));
    }
  };
  auto dst_ref = [&](std::int64_t linear) {
    if (dst->scope == Scope::local && dst->shape.empty()) {
      return dname;
    }
    return fmt::format("{}[{}]", dname, linear);
  };

  open("");
  if (ls.kind == LayoutKind::distributed && op->axis == rank - 1) {
    // Cross-thread: per-thread partials, warp all-reduce, cross-warp through shared scratch.
    const std::int64_t lead = ls.lead_numel();
    const std::int64_t cv = ls.chunks * ls.vec;
    const bool full = ls.last_extent() % (static_cast<std::int64_t>(ls.threads) * ls.vec) == 0;
    line(fmt::format("{} part_[{}];", at, lead));
    line("#pragma unroll");
    open(fmt::format("for (int lead_ = 0; lead_ < {}; ++lead_)", lead));
    line(fmt::format("part_[lead_] = {};", identity(op->op, acc_t)));
    line("#pragma unroll");
    open(fmt::format("for (int r_ = 0; r_ < {}; ++r_)", cv));
    const std::string x =
        term(op->op, fmt::format("{}[lead_ * {} + r_]", sname, cv), src->dtype, acc_t);
    if (full) {
      line(fmt::format("part_[lead_] = {};", combine(op->op, "part_[lead_]", x)));
    } else {
      // Register r_ holds element h = ((r_ / V) * P + t) * V + r_ % V; tail slots hold nothing.
      open(fmt::format("if (((r_ / {}) * {} + {}) * {} + r_ % {} < {})", ls.vec, ls.threads, tid,
                       ls.vec, ls.vec, ls.last_extent()));
      line(fmt::format("part_[lead_] = {};", combine(op->op, "part_[lead_]", x)));
      close();
    }
    close();
    line(fmt::format("part_[lead_] = {}(part_[lead_]);", warp_fn(op->op)));
    close();
    const int warps = (ls.threads + 31) / 32;
    if (ls.threads % 32 != 0) {
      fail(fmt::format("a reduction over {} threads needs a multiple of 32", ls.threads));
    }
    if (warps > 1) {
      const std::int64_t off = lk.smem.scratch.at(op);
      line(fmt::format("{}* scratch_ = reinterpret_cast<{}*>(tessera_smem + {});", at, at, off));
      open(fmt::format("if ({} % 32 == 0)", tid));
      line("#pragma unroll");
      open(fmt::format("for (int lead_ = 0; lead_ < {}; ++lead_)", lead));
      line(fmt::format("scratch_[{} / 32 * {} + lead_] = part_[lead_];", tid, lead));
      close();
      close();
      line(sync());
      line("#pragma unroll");
      open(fmt::format("for (int lead_ = 0; lead_ < {}; ++lead_)", lead));
      line("part_[lead_] = scratch_[lead_];");
      line("#pragma unroll");
      open(fmt::format("for (int w_ = 1; w_ < {}; ++w_)", warps));
      line(fmt::format(
          "part_[lead_] = {};",
          combine(op->op, "part_[lead_]", fmt::format("scratch_[w_ * {} + lead_]", lead))));
      close();
      close();
      line(sync() + "  // scratch may be reused");
    }
    // Results: every thread has all of them.
    for (std::int64_t i = 0; i < lead; ++i) {
      const std::string value = fmt::format("part_[{}]", i);
      if (ld.kind == LayoutKind::distributed) {
        // Owner-predicated write at a constant register index.
        std::vector<std::int64_t> idx;
        std::int64_t rem = i;
        for (std::size_t d = ld.shape.size(); d-- > 0;) {
          idx.insert(idx.begin(), rem % ld.shape[d]);
          rem /= ld.shape[d];
        }
        const Slot s = ld.locate(idx);
        open(fmt::format("if ({} == {})", tid, s.thread));
        store(fmt::format("{}[{}]", dname, s.reg), value);
        close();
      } else {
        store(dst_ref(i), value);
      }
    }
  } else if (ls.kind == LayoutKind::distributed) {
    // Leading axis: register-local, same partition for src and dst.
    if (ld.kind != LayoutKind::distributed || !ls.same_partition(ld)) {
      fail("the destination must share the source's partition");
    }
    const std::int64_t cv = ls.chunks * ls.vec;
    std::int64_t outer = 1, inner = 1;
    for (int d = 0; d < op->axis; ++d) {
      outer *= ls.shape[d];
    }
    for (int d = op->axis + 1; d < rank - 1; ++d) {
      inner *= ls.shape[d];
    }
    const std::int64_t k = ls.shape[op->axis];
    line("#pragma unroll");
    open(fmt::format("for (int o_ = 0; o_ < {}; ++o_)", outer * inner));
    line("#pragma unroll");
    open(fmt::format("for (int r_ = 0; r_ < {}; ++r_)", cv));
    const std::string srow = fmt::format("(o_ / {} * {} + o_ % {})", inner, k * inner, inner);
    line(fmt::format("{} acc_ = {};", at, identity(op->op, acc_t)));
    line("#pragma unroll");
    open(fmt::format("for (int k_ = 0; k_ < {}; ++k_)", k));
    line(fmt::format(
        "acc_ = {};",
        combine(op->op, "acc_",
                term(op->op, fmt::format("{}[({} + k_ * {}) * {} + r_]", sname, srow, inner, cv),
                     src->dtype, acc_t))));
    close();
    store(fmt::format("{}[o_ * {} + r_]", dname, cv), "acc_");
    close();
    close();
  } else {
    // Replicated source: every thread computes every result.
    if (ld.kind == LayoutKind::distributed) {
      fail("a replicated source cannot produce a distributed destination");
    }
    std::int64_t outer = 1, inner = 1;
    for (int d = 0; d < op->axis; ++d) {
      outer *= ls.shape[d];
    }
    for (int d = op->axis + 1; d < rank; ++d) {
      inner *= ls.shape[d];
    }
    const std::int64_t k = ls.shape[op->axis];
    line("#pragma unroll");
    open(fmt::format("for (int o_ = 0; o_ < {}; ++o_)", outer * inner));
    line(fmt::format("{} acc_ = {};", at, identity(op->op, acc_t)));
    line("#pragma unroll");
    open(fmt::format("for (int k_ = 0; k_ < {}; ++k_)", k));
    line(fmt::format("acc_ = {};", combine(op->op, "acc_",
                                           term(op->op,
                                                fmt::format("{}[o_ / {} * {} + k_ * {} + o_ % {}]",
                                                            sname, inner, k * inner, inner, inner),
                                                src->dtype, acc_t))));
    close();
    store(dst->scope == Scope::local && dst->shape.empty() ? dname : fmt::format("{}[o_]", dname),
          "acc_");
    close();
  }
  close();
}

} // namespace tessera::codegen::internal
