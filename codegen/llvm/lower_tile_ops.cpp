// Tile ops of the CPU lowering: copy (with clipping of global regions), fill, reduce, gemm and
// atomics, as loops LLVM can vectorise.
#include "base/error.h"
#include "base/float16.h"
#include "codegen/llvm/emit_float.h"
#include "codegen/llvm/lowerer.h"
#include "ir/visitor.h"
#include "runtime/cpu/llvm_compat.h"
#include "runtime/cpu/warp_ops.h"

#include <fmt/format.h>
#include <llvm/IR/Constants.h>
#include <llvm/IR/Function.h>
#include <llvm/IR/Intrinsics.h>

namespace tessera::codegen::cpu_internal {

using namespace ir;

Lowerer::Side Lowerer::make_side(const Region& r) {
  Side side{&r, &buffer(r.buffer), r.buffer->scope == Scope::global, {}, -1};
  for (std::size_t d = 0; d < r.ranges.size(); ++d) {
    side.start.push_back(to_i64(expr(r.ranges[d].start)));
    if (!r.ranges[d].squeezed) {
      side.inner_dim = static_cast<int>(d);
    }
  }
  return side;
}

Lowerer::Row Lowerer::make_row(Side& side, const std::vector<llvm::Value*>& iv, std::int64_t n) {
  Row row{i64(0), b_.getTrue(), i64(0), i64(n), i64(0)};
  std::size_t k = 0;
  for (std::size_t d = 0; d < side.region->ranges.size(); ++d) {
    const Range& r = side.region->ranges[d];
    llvm::Value* idx = side.start[d];
    if (static_cast<int>(d) == side.inner_dim) {
      row.inner_stride = side.info->strides[d];
      if (side.global) {
        row.lo = smin(smax(b_.CreateNeg(idx), i64(0)), i64(n));
        row.hi = smin(smax(b_.CreateSub(side.info->extents[d], idx), i64(0)), i64(n));
      }
    } else {
      if (!r.squeezed) {
        idx = b_.CreateAdd(idx, iv.at(k++));
      }
      if (side.global) {
        row.ok = b_.CreateAnd(row.ok, b_.CreateAnd(b_.CreateICmpSGE(idx, i64(0)),
                                                   b_.CreateICmpSLT(idx, side.info->extents[d])));
      }
    }
    row.offset = b_.CreateAdd(row.offset, b_.CreateMul(idx, side.info->strides[d]));
  }
  return row;
}

void Lowerer::lower_copy(const Copy* op) {
  Side src = make_side(op->src);
  Side dst = make_side(op->dst);
  const std::vector<std::int64_t> shape = op->dst.shape();
  const DType st = op->src.buffer->dtype, dt = op->dst.buffer->dtype;
  const std::int64_t n = shape.empty() ? 1 : shape.back();
  const std::size_t outer = shape.empty() ? 0 : shape.size() - 1;
  std::vector<llvm::Value*> iv;
  std::function<void(std::size_t)> level = [&](std::size_t k) {
    if (k < outer) {
      emit_loop(0, shape[k], [&](llvm::Value* i) {
        iv.push_back(i);
        level(k + 1);
        iv.pop_back();
      });
      return;
    }
    Row d = make_row(dst, iv, n);
    Row s = make_row(src, iv, n);
    emit_if(d.ok, [&] {
      llvm::Value* s_lo = b_.CreateSelect(s.ok, s.lo, i64(0));
      llvm::Value* s_hi = b_.CreateSelect(s.ok, s.hi, i64(0));
      llvm::Value* c_lo = smin(smax(s_lo, d.lo), d.hi);
      llvm::Value* c_hi = smin(smax(s_hi, c_lo), d.hi);
      auto dst_ptr = [&](llvm::Value* i) {
        return element_ptr(op->dst.buffer, *dst.info,
                           b_.CreateAdd(d.offset, b_.CreateMul(i, d.inner_stride)));
      };
      llvm::Value* zero =
          convert(llvm::Constant::getNullValue(value_type(DType::f32)), DType::f32, dt);
      if (src.global) {
        emit_loop(d.lo, c_lo, [&](llvm::Value* i) { store_value(dt, dst_ptr(i), zero); });
      }
      emit_loop(c_lo, c_hi, [&](llvm::Value* i) {
        llvm::Value* p = element_ptr(op->src.buffer, *src.info,
                                     b_.CreateAdd(s.offset, b_.CreateMul(i, s.inner_stride)));
        store_value(dt, dst_ptr(i), convert(load_value(st, p), st, dt));
      });
      if (src.global) {
        emit_loop(c_hi, d.hi, [&](llvm::Value* i) { store_value(dt, dst_ptr(i), zero); });
      }
    });
  };
  level(0);
}

void Lowerer::lower_fill(const Fill* op) {
  BufInfo& info = buffer(op->buffer);
  llvm::Value* v = convert(expr(op->value), op->value.type(), op->buffer->dtype);
  emit_loop(0, info.numel, [&](llvm::Value* i) {
    store_value(op->buffer->dtype, element_ptr(op->buffer, info, i), v);
  });
}

llvm::Value* Lowerer::combine(ReduceOp rop, DType t, llvm::Value* acc, llvm::Value* x,
                              bool reassoc) {
  if (is_float(t)) {
    switch (rop) {
    case ReduceOp::sum: {
      auto* r = llvm::cast<llvm::Instruction>(b_.CreateFAdd(acc, x));
      if (reassoc) {
        // Lets LLVM vectorise the sum; the order is fixed at compile time, so results are
        // still identical run to run.
        llvm::FastMathFlags fmf;
        fmf.setAllowReassoc();
        r->setFastMathFlags(fmf);
      }
      return r;
    }
    case ReduceOp::max:
      return b_.CreateIntrinsic(llvm::Intrinsic::maxnum, {acc->getType()}, {acc, x});
    case ReduceOp::min:
      return b_.CreateIntrinsic(llvm::Intrinsic::minnum, {acc->getType()}, {acc, x});
    case ReduceOp::absmax:
      return b_.CreateIntrinsic(
          llvm::Intrinsic::maxnum, {acc->getType()},
          {acc, b_.CreateIntrinsic(llvm::Intrinsic::fabs, {x->getType()}, {x})});
    }
  }
  const bool s = is_signed_integer(t);
  switch (rop) {
  case ReduceOp::sum:
    return b_.CreateAdd(acc, x);
  case ReduceOp::max:
    return b_.CreateSelect(s ? b_.CreateICmpSGT(x, acc) : b_.CreateICmpUGT(x, acc), x, acc);
  case ReduceOp::min:
    return b_.CreateSelect(s ? b_.CreateICmpSLT(x, acc) : b_.CreateICmpULT(x, acc), x, acc);
  case ReduceOp::absmax: {
    llvm::Value* ax =
        s ? b_.CreateSelect(b_.CreateICmpSLT(x, llvm::ConstantInt::get(x->getType(), 0)),
                            b_.CreateNeg(x), x)
          : x;
    return b_.CreateSelect(b_.CreateICmpUGT(ax, acc), ax, acc);
  }
  }
  throw InternalError("CPU lowering: unknown reduce op");
}

llvm::Value* Lowerer::identity(ReduceOp rop, DType t) {
  llvm::Type* ty = value_type(t);
  if (is_float(t)) {
    switch (rop) {
    case ReduceOp::max:
      return llvm::ConstantFP::getInfinity(ty, true);
    case ReduceOp::min:
      return llvm::ConstantFP::getInfinity(ty, false);
    default:
      return llvm::ConstantFP::get(ty, 0.0);
    }
  }
  const unsigned bits = ty->getIntegerBitWidth();
  const bool s = is_signed_integer(t);
  switch (rop) {
  case ReduceOp::max:
    return llvm::ConstantInt::get(ctx_, s ? llvm::APInt::getSignedMinValue(bits)
                                          : llvm::APInt::getMinValue(bits));
  case ReduceOp::min:
    return llvm::ConstantInt::get(ctx_, s ? llvm::APInt::getSignedMaxValue(bits)
                                          : llvm::APInt::getMaxValue(bits));
  default:
    return llvm::ConstantInt::get(ty, 0);
  }
}

void Lowerer::lower_reduce(const Reduce* op) {
  BufInfo& src = buffer(op->src);
  BufInfo& dst = buffer(op->dst);
  const std::vector<std::int64_t> shape = const_shape(op->src);
  std::int64_t outer = 1, inner = 1;
  for (int d = 0; d < static_cast<int>(shape.size()); ++d) {
    (d < op->axis ? outer : inner) *= d == op->axis ? 1 : shape[d];
  }
  const std::int64_t k_ext = shape.at(op->axis);
  const DType st = op->src->dtype, dt = op->dst->dtype;
  const DType at = is_half(dt) ? DType::f32 : dt; // accumulate halves in f32
  auto src_at = [&](llvm::Value* o, llvm::Value* k, llvm::Value* i) {
    llvm::Value* idx =
        b_.CreateAdd(b_.CreateMul(b_.CreateAdd(b_.CreateMul(o, i64(k_ext)), k), i64(inner)), i);
    return convert(load_value(st, element_ptr(op->src, src, idx)), st, at);
  };
  auto dst_ptr = [&](llvm::Value* o, llvm::Value* i) {
    return element_ptr(op->dst, dst, b_.CreateAdd(b_.CreateMul(o, i64(inner)), i));
  };
  emit_loop(0, outer, [&](llvm::Value* o) {
    if (inner == 1 || at != dt) {
      // One running value per output element (a register), summed in index order.
      emit_loop(0, inner, [&](llvm::Value* i) {
        llvm::Value* init =
            op->clear ? identity(op->op, at) : convert(load_value(dt, dst_ptr(o, i)), dt, at);
        llvm::BasicBlock* pre = b_.GetInsertBlock();
        llvm::Function* fn = pre->getParent();
        llvm::BasicBlock* loop = llvm::BasicBlock::Create(ctx_, "red", fn);
        llvm::BasicBlock* done = llvm::BasicBlock::Create(ctx_, "red.end", fn);
        b_.CreateBr(loop);
        b_.SetInsertPoint(loop);
        llvm::PHINode* k = b_.CreatePHI(b_.getInt64Ty(), 2);
        llvm::PHINode* acc = b_.CreatePHI(value_type(at), 2);
        k->addIncoming(i64(0), pre);
        acc->addIncoming(init, pre);
        llvm::Value* next_acc = combine(op->op, at, acc, src_at(o, k, i), inner == 1);
        llvm::Value* next_k = b_.CreateAdd(k, i64(1), "", false, true);
        k->addIncoming(next_k, b_.GetInsertBlock());
        acc->addIncoming(next_acc, b_.GetInsertBlock());
        b_.CreateCondBr(b_.CreateICmpSLT(next_k, i64(k_ext)), loop, done);
        b_.SetInsertPoint(done);
        store_value(dt, dst_ptr(o, i), convert(next_acc, at, dt));
      });
      return;
    }
    // Reducing an outer axis of a float tile: accumulate rows into dst (vectorises over i).
    if (op->clear) {
      emit_loop(0, inner,
                [&](llvm::Value* i) { store_value(dt, dst_ptr(o, i), identity(op->op, at)); });
    }
    emit_loop(0, k_ext, [&](llvm::Value* k) {
      emit_loop(0, inner, [&](llvm::Value* i) {
        llvm::Value* p = dst_ptr(o, i);
        store_value(dt, p, combine(op->op, at, load_value(dt, p), src_at(o, k, i), false));
      });
    });
  });
}

llvm::Value* Lowerer::round_tf32(llvm::Value* v) {
  llvm::Value* u = b_.CreateBitCast(v, b_.getInt32Ty());
  llvm::Value* r = b_.CreateAnd(b_.CreateAdd(u, b_.getInt32(0x1000)), b_.getInt32(0xffffe000u));
  llvm::Value* finite =
      b_.CreateICmpULT(b_.CreateAnd(u, b_.getInt32(0x7f800000)), b_.getInt32(0x7f800000));
  return b_.CreateBitCast(b_.CreateSelect(finite, r, u), b_.getFloatTy());
}

void Lowerer::lower_gemm(const Gemm* op) {
  BufInfo& a = buffer(op->a);
  BufInfo& bb = buffer(op->b);
  BufInfo& c = buffer(op->c);
  const auto ash = const_shape(op->a), bsh = const_shape(op->b), csh = const_shape(op->c);
  const std::int64_t m_ext = csh.at(0), n_ext = csh.at(1);
  const std::int64_t k_ext = op->trans_a ? ash.at(0) : ash.at(1);
  const bool tf32 = op->precision == ops::GemmPrecision::tf32;
  auto operand = [&](const Buffer& buf, BufInfo& info, llvm::Value* idx) {
    llvm::Value* v =
        convert(load_value(buf->dtype, element_ptr(buf, info, idx)), buf->dtype, DType::f32);
    return tf32 && buf->dtype == DType::f32 ? round_tf32(v) : v;
  };
  auto a_at = [&](llvm::Value* m, llvm::Value* k) {
    return operand(op->a, a,
                   op->trans_a ? b_.CreateAdd(b_.CreateMul(k, i64(m_ext)), m)
                               : b_.CreateAdd(b_.CreateMul(m, i64(k_ext)), k));
  };
  auto b_at = [&](llvm::Value* k, llvm::Value* n) {
    return operand(op->b, bb,
                   op->trans_b ? b_.CreateAdd(b_.CreateMul(n, i64(k_ext)), k)
                               : b_.CreateAdd(b_.CreateMul(k, i64(n_ext)), n));
  };
  auto c_ptr = [&](llvm::Value* m, llvm::Value* n) {
    return element_ptr(op->c, c, b_.CreateAdd(b_.CreateMul(m, i64(n_ext)), n));
  };
  auto fmuladd = [&](llvm::Value* x, llvm::Value* y, llvm::Value* z) {
    return b_.CreateIntrinsic(llvm::Intrinsic::fmuladd, {b_.getFloatTy()}, {x, y, z});
  };
  const DType ct = op->c->dtype;
  if (op->clear) {
    emit_loop(0, m_ext * n_ext, [&](llvm::Value* i) {
      store_value(ct, element_ptr(op->c, c, i), llvm::ConstantFP::get(b_.getFloatTy(), 0.0));
    });
  }
  // k ascending for every element in both loop orders, so results do not depend on them.
  emit_loop(0, m_ext, [&](llvm::Value* m) {
    if (!op->trans_b) {
      emit_loop(0, k_ext, [&](llvm::Value* k) {
        llvm::Value* av = a_at(m, k);
        emit_loop(0, n_ext, [&](llvm::Value* n) {
          llvm::Value* p = c_ptr(m, n);
          store_value(ct, p, fmuladd(av, b_at(k, n), load_value(ct, p)));
        });
      });
    } else {
      emit_loop(0, n_ext, [&](llvm::Value* n) {
        llvm::Value* p = c_ptr(m, n);
        llvm::Value* acc_ptr = entry_alloca(b_.getFloatTy(), 1);
        b_.CreateStore(load_value(ct, p), acc_ptr);
        emit_loop(0, k_ext, [&](llvm::Value* k) {
          b_.CreateStore(fmuladd(a_at(m, k), b_at(k, n), b_.CreateLoad(b_.getFloatTy(), acc_ptr)),
                         acc_ptr);
        });
        store_value(ct, p, b_.CreateLoad(b_.getFloatTy(), acc_ptr));
      });
    }
  });
}

void Lowerer::lower_atomic(const Atomic* op) {
  const DType t = op->buffer->dtype;
  llvm::Value* ptr = address(op->buffer, op->indices);
  llvm::Value* v = convert(expr(op->value), op->value.type(), t);
  const auto order = llvm::AtomicOrdering::Monotonic; // relaxed, like CUDA atomics
  if (!is_float(t)) {
    const auto rmw = op->op == AtomicOp::add ? llvm::AtomicRMWInst::Add
                                             : (is_signed_integer(t) ? llvm::AtomicRMWInst::Max
                                                                     : llvm::AtomicRMWInst::UMax);
    if (t == DType::boolean) {
      unsupported(op->loc, "an atomic on a bool buffer");
    }
    b_.CreateAtomicRMW(rmw, ptr, v, llvm::MaybeAlign(dtype_size(t)), order);
    return;
  }
  // Floats: compare-and-swap loop on the bits (also covers bf16/f16, rounded once).
  llvm::Type* bits_ty = b_.getIntNTy(static_cast<unsigned>(dtype_size(t) * 8));
  llvm::Value* bits_ptr = tessera::internal::cast_ptr(b_, ptr, bits_ty);
  llvm::BasicBlock* pre = b_.GetInsertBlock();
  llvm::Function* fn = pre->getParent();
  llvm::Value* first = b_.CreateLoad(bits_ty, bits_ptr);
  llvm::BasicBlock* loop = llvm::BasicBlock::Create(ctx_, "cas", fn);
  llvm::BasicBlock* done = llvm::BasicBlock::Create(ctx_, "cas.end", fn);
  b_.CreateBr(loop);
  b_.SetInsertPoint(loop);
  llvm::PHINode* old = b_.CreatePHI(bits_ty, 2);
  old->addIncoming(first, pre);
  llvm::Value* old_v = nullptr;
  switch (t) {
  case DType::bf16:
    old_v = tessera::internal::emit_bf16_to_f32(b_, old);
    break;
  case DType::f16:
    old_v = tessera::internal::emit_f16_to_f32(b_, old);
    break;
  default:
    old_v = b_.CreateBitCast(old, value_type(t));
  }
  llvm::Value* new_v = op->op == AtomicOp::add ? b_.CreateFAdd(old_v, v)
                                               : b_.CreateIntrinsic(llvm::Intrinsic::maxnum,
                                                                    {old_v->getType()}, {old_v, v});
  llvm::Value* new_bits = nullptr;
  switch (t) {
  case DType::bf16:
    new_bits = tessera::internal::emit_f32_to_bf16(b_, new_v);
    break;
  case DType::f16:
    new_bits = tessera::internal::emit_f32_to_f16(b_, new_v);
    break;
  default:
    new_bits = b_.CreateBitCast(new_v, bits_ty);
  }
  llvm::Value* pair = b_.CreateAtomicCmpXchg(bits_ptr, old, new_bits,
                                             llvm::MaybeAlign(dtype_size(t)), order, order);
  old->addIncoming(b_.CreateExtractValue(pair, 0), b_.GetInsertBlock());
  b_.CreateCondBr(b_.CreateExtractValue(pair, 1), done, loop);
  b_.SetInsertPoint(done);
}
} // namespace tessera::codegen::cpu_internal
