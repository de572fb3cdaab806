// Statements and thread semantics of the CPU lowering (docs/cpu-backend.md):
//
// A thread block runs on one host thread. The block-level program is mostly thread-uniform:
// tile ops (copy, fill, reduce, gemm, parallel) are collective, so they run once, as whole-tile
// loops. Code that depends on which thread runs it (thread_idx, per-thread locals, atomics,
// warp ops) runs as a loop over the thread ids of its thread range ("thread loop"), with
// per-thread locals promoted to arrays indexed by thread id. Consecutive thread-dependent
// statements share one thread loop; a barrier, a collective op or a warp op ends it. Running
// every thread up to the barrier before any thread goes past it is exactly what the barrier
// guarantees on the GPU, so no barrier needs any code. A warp op is evaluated in three steps:
// one thread loop computes its operand for every thread, a helper does the lanes' exchange as
// the device's shuffle sequence would, and a second thread loop runs the statement using the
// results. Barriers or collective ops under thread-dependent control flow (which the GPU does
// not allow either) are rejected with a CompileError naming the statement.
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

void Lowerer::lower_block_level(const Stmt& s, int tb, int te) {
  if (!s.defined()) {
    return;
  }
  if (!ThreadAnalysis::is_sync(s)) {
    if (analysis_.per_thread(s)) {
      emit_thread_loop(tb, te, [&] { lower_stmt(s); });
    } else {
      lower_stmt(s);
    }
    return;
  }
  if (ThreadAnalysis::own_has_warp_op(s)) {
    if (ThreadAnalysis::children_sync(s)) {
      unsupported(s->loc, "a warp op in the condition or bounds of a statement that contains a "
                          "barrier, collective op or warp op");
    }
    lower_warp_stmt(s, tb, te);
    return;
  }
  switch (s.kind()) {
  case StmtKind::Block: {
    std::vector<Stmt> pending; // consecutive thread-dependent statements: one thread loop
    auto flush = [&] {
      if (!pending.empty()) {
        emit_thread_loop(tb, te, [&] {
          for (const Stmt& p : pending) {
            lower_stmt(p);
          }
        });
        pending.clear();
      }
    };
    for (const Stmt& c : s.as<Block>()->stmts) {
      if (c.kind() == StmtKind::Allocate) {
        continue;
      }
      if (!ThreadAnalysis::is_sync(c) && analysis_.per_thread(c)) {
        pending.push_back(c);
        continue;
      }
      flush();
      lower_block_level(c, tb, te);
    }
    flush();
    return;
  }
  case StmtKind::For: {
    const auto* op = s.as<For>();
    if (analysis_.varying(op->min) || analysis_.varying(op->extent)) {
      unsupported(op->loc, "a loop whose trip count depends on the thread around a barrier, "
                           "collective op or warp op");
    }
    lower_for(op, [&] { lower_block_level(op->body, tb, te); });
    return;
  }
  case StmtKind::IfThenElse: {
    const auto* op = s.as<IfThenElse>();
    if (analysis_.varying(op->cond)) {
      unsupported(op->loc, "a thread-dependent branch around a barrier, collective op or warp op");
    }
    lower_if(
        op, [&] { lower_block_level(op->then_case, tb, te); },
        [&] { lower_block_level(op->else_case, tb, te); });
    return;
  }
  case StmtKind::ThreadRange: {
    const auto* op = s.as<ThreadRange>();
    lower_block_level(op->body, std::max(tb, op->begin), std::min(te, op->end));
    return;
  }
  case StmtKind::TileOp:
    if (s.as<Copy>() || s.as<Fill>()) {
      if (analysis_.per_thread(s)) {
        const Buffer& dst = s.as<Copy>() ? s.as<Copy>()->dst.buffer : s.as<Fill>()->buffer;
        if (!analysis_.varying_local(dst.get())) {
          unsupported(s->loc, "a collective copy/fill whose source or region depends on the "
                              "thread, into a buffer that is not a per-thread local");
        }
        emit_thread_loop(tb, te, [&] { lower_stmt(s); });
      } else {
        lower_stmt(s);
      }
      return;
    }
    if (analysis_.per_thread(s)) {
      unsupported(s->loc, "a reduce/gemm on a per-thread local buffer");
    }
    lower_stmt(s);
    return;
  case StmtKind::Parallel:
    if (analysis_.per_thread(s)) {
      unsupported(s->loc, "a parallel loop that uses thread_idx, a warp op or a local buffer "
                          "that differs between threads");
    }
    lower_stmt(s);
    return;
  case StmtKind::Barrier:
  case StmtKind::PdlWait:
  case StmtKind::PdlTrigger:
  case StmtKind::Allocate:
    return; // a barrier is the boundary between thread loops; PDL is stream order here
  default:
    lower_stmt(s);
  }
}

void Lowerer::lower_warp_stmt(const Stmt& s, int tb, int te) {
  std::vector<const Call*> calls; // innermost first
  std::function<void(const Expr&)> collect = [&](const Expr& e) {
    if (!e.defined()) {
      return;
    }
    switch (e.kind()) {
    case ExprKind::Binary:
      collect(e.as<Binary>()->a);
      collect(e.as<Binary>()->b);
      break;
    case ExprKind::Unary:
      collect(e.as<Unary>()->a);
      break;
    case ExprKind::Select:
      collect(e.as<Select>()->cond);
      collect(e.as<Select>()->true_value);
      collect(e.as<Select>()->false_value);
      break;
    case ExprKind::Cast:
      collect(e.as<Cast>()->value);
      break;
    case ExprKind::Load:
      for (const Expr& i : e.as<Load>()->indices) {
        collect(i);
      }
      break;
    case ExprKind::Call: {
      const auto* c = e.as<Call>();
      for (const Expr& a : c->args) {
        collect(a);
      }
      if (ThreadAnalysis::has_warp_op(e) &&
          (c->op == CallOp::warp_sum || c->op == CallOp::warp_max || c->op == CallOp::shfl_xor ||
           c->op == CallOp::shfl_idx) &&
          std::find(calls.begin(), calls.end(), c) == calls.end()) {
        calls.push_back(c);
      }
      break;
    }
    default:
      break;
    }
  };
  own_exprs(s, collect);

  llvm::Type* ptr = tessera::internal::void_ptr_type(ctx_);
  llvm::FunctionCallee helper = module_->getOrInsertFunction(
      cpu::kWarpOpSymbol,
      llvm::FunctionType::get(b_.getVoidTy(),
                              {b_.getInt32Ty(), b_.getInt32Ty(), ptr,
                               tessera::internal::ptr_to(b_.getInt32Ty()), ptr, b_.getInt64Ty(),
                               b_.getInt64Ty(), b_.getInt32Ty()},
                              false));
  for (const Call* c : calls) {
    cpu::WarpType wt;
    switch (c->type) {
    case DType::f32:
      wt = cpu::WarpType::f32;
      break;
    case DType::f64:
      wt = cpu::WarpType::f64;
      break;
    case DType::i32:
    case DType::u32:
      wt = cpu::WarpType::i32;
      break;
    case DType::i64:
      wt = cpu::WarpType::i64;
      break;
    default:
      unsupported(s->loc, fmt::format("{} on {} values", call_op_name(c->op), dtype_name(c->type)));
    }
    cpu::WarpOp wop = cpu::WarpOp::sum;
    std::int32_t arg = 0;
    if (c->op == CallOp::shfl_idx) {
      wop = cpu::WarpOp::shfl_idx;
    } else {
      const auto* imm = c->args.at(1).as<IntImm>();
      if (imm == nullptr) {
        unsupported(s->loc,
                    fmt::format("{} with a non-constant width or mask", call_op_name(c->op)));
      }
      arg = static_cast<std::int32_t>(imm->value);
      wop = c->op == CallOp::warp_sum   ? cpu::WarpOp::sum
            : c->op == CallOp::warp_max ? cpu::WarpOp::max
                                        : cpu::WarpOp::shfl_xor;
      if ((wop == cpu::WarpOp::sum || wop == cpu::WarpOp::max) &&
          (arg <= 0 || tb % arg != 0 || te % arg != 0)) {
        unsupported(s->loc, fmt::format("{} of width {} over threads [{}, {}), which are not "
                                        "whole groups of lanes",
                                        call_op_name(c->op), arg, tb, te));
      }
    }
    llvm::Type* vt = value_type(c->type);
    llvm::Value* vals = entry_alloca(vt, k_.threads);
    llvm::Value* res = entry_alloca(vt, k_.threads);
    llvm::Value* src =
        wop == cpu::WarpOp::shfl_idx ? entry_alloca(b_.getInt32Ty(), k_.threads) : nullptr;
    emit_thread_loop(tb, te, [&] {
      b_.CreateStore(expr(c->args.at(0)), b_.CreateInBoundsGEP(vt, vals, {to_i64(tid_)}));
      if (src) {
        b_.CreateStore(b_.CreateIntCast(expr(c->args.at(1)), b_.getInt32Ty(), true),
                       b_.CreateInBoundsGEP(b_.getInt32Ty(), src, {to_i64(tid_)}));
      }
    });
    b_.CreateCall(
        helper,
        {b_.getInt32(static_cast<std::int32_t>(wop)), b_.getInt32(static_cast<std::int32_t>(wt)),
         b_.CreatePointerCast(vals, ptr),
         src ? src : llvm::ConstantPointerNull::get(tessera::internal::ptr_to(b_.getInt32Ty())),
         b_.CreatePointerCast(res, ptr), i64(tb), i64(te), b_.getInt32(arg)});
    warp_results_[c] = res;
  }
  emit_thread_loop(tb, te, [&] { lower_stmt(s); });
  for (const Call* c : calls) {
    warp_results_.erase(c);
  }
}

void Lowerer::own_exprs(const Stmt& s, const std::function<void(const Expr&)>& fn) {
  switch (s.kind()) {
  case StmtKind::For:
    fn(s.as<For>()->min);
    fn(s.as<For>()->extent);
    break;
  case StmtKind::IfThenElse:
    fn(s.as<IfThenElse>()->cond);
    break;
  case StmtKind::Store:
    for (const Expr& i : s.as<Store>()->indices) {
      fn(i);
    }
    fn(s.as<Store>()->value);
    break;
  case StmtKind::Atomic:
    for (const Expr& i : s.as<Atomic>()->indices) {
      fn(i);
    }
    fn(s.as<Atomic>()->value);
    break;
  default:
    unsupported(s->loc, "a warp op in this kind of statement");
  }
}

void Lowerer::lower_for(const For* op, const std::function<void()>& body) {
  llvm::Value* mn = expr(op->min);
  llvm::Value* ext = b_.CreateIntCast(expr(op->extent), mn->getType(), true);
  emit_loop(mn, b_.CreateAdd(mn, ext), [&](llvm::Value* i) {
    vars_[op->var.get()] = b_.CreateIntCast(i, value_type(op->var.type()), true);
    body();
  });
}

void Lowerer::lower_if(const IfThenElse* op, const std::function<void()>& then_fn,
                       const std::function<void()>& else_fn) {
  if (op->else_case.defined()) {
    emit_if(expr(op->cond), then_fn, else_fn);
  } else {
    emit_if(expr(op->cond), then_fn);
  }
}

void Lowerer::lower_stmt(const Stmt& s) {
  if (!s.defined()) {
    return;
  }
  switch (s.kind()) {
  case StmtKind::Block:
    for (const Stmt& c : s.as<Block>()->stmts) {
      lower_stmt(c);
    }
    return;
  case StmtKind::Allocate:
  case StmtKind::Barrier:
  case StmtKind::PdlWait:
  case StmtKind::PdlTrigger:
    return;
  case StmtKind::For: {
    const auto* op = s.as<For>();
    lower_for(op, [&] { lower_stmt(op->body); });
    return;
  }
  case StmtKind::Parallel:
    lower_parallel(s.as<Parallel>(), 0);
    return;
  case StmtKind::IfThenElse: {
    const auto* op = s.as<IfThenElse>();
    lower_if(
        op, [&] { lower_stmt(op->then_case); }, [&] { lower_stmt(op->else_case); });
    return;
  }
  case StmtKind::ThreadRange: {
    const auto* op = s.as<ThreadRange>();
    if (tid_ == nullptr) {
      lower_stmt(op->body); // thread-uniform body: once for the range
      return;
    }
    emit_if(b_.CreateAnd(b_.CreateICmpSGE(tid_, b_.getInt32(op->begin)),
                         b_.CreateICmpSLT(tid_, b_.getInt32(op->end))),
            [&] { lower_stmt(op->body); });
    return;
  }
  case StmtKind::Store: {
    const auto* op = s.as<Store>();
    llvm::Value* v = convert(expr(op->value), op->value.type(), op->buffer->dtype);
    store_value(op->buffer->dtype, address(op->buffer, op->indices), v);
    return;
  }
  case StmtKind::TileOp:
    if (const Copy* op = s.as<Copy>()) {
      return lower_copy(op);
    }
    if (const Fill* op = s.as<Fill>()) {
      return lower_fill(op);
    }
    if (const Reduce* op = s.as<Reduce>()) {
      return lower_reduce(op);
    }
    if (const Gemm* op = s.as<Gemm>()) {
      return lower_gemm(op);
    }
    unsupported(s->loc, "tile op " + s.as<TileOp>()->op_name());
  case StmtKind::Atomic:
    lower_atomic(s.as<Atomic>());
    return;
  }
  throw InternalError("CPU lowering: unknown statement kind");
}

void Lowerer::lower_parallel(const Parallel* op, std::size_t level) {
  if (level == op->vars.size()) {
    lower_stmt(op->body);
    return;
  }
  emit_loop(b_.getInt32(0), b_.getInt32(static_cast<std::int32_t>(op->extents[level])),
            [&](llvm::Value* i) {
              vars_[op->vars[level].get()] =
                  b_.CreateIntCast(i, value_type(op->vars[level].type()), true);
              lower_parallel(op, level + 1);
            });
}
} // namespace tessera::codegen::cpu_internal
