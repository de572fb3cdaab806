// Lowering of the block-level tile IR to LLVM IR. Thread semantics (docs/cpu-backend.md):
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
#include "codegen/llvm/lower_to_llvm.h"

#include "codegen/llvm/emit_float.h"
#include "codegen/llvm/thread_analysis.h"
#include "dsl/ir_visitor.h"
#include "runtime/cpu/llvm_compat.h"
#include "runtime/cpu/warp_ops.h"
#include "runtime/error.h"
#include "runtime/float16.h"

#include <fmt/format.h>
#include <functional>
#include <llvm/IR/Constants.h>
#include <llvm/IR/Function.h>
#include <llvm/IR/IRBuilder.h>
#include <llvm/IR/Intrinsics.h>
#include <llvm/IR/Module.h>
#include <map>
#include <unordered_map>

namespace tessera::codegen {
namespace {

using namespace ir;
using cpu_internal::ThreadAnalysis;

// Buffers up to this size live on the host thread's stack (allocas, which LLVM optimises best);
// larger ones in the per-thread scratch area the runner passes in.
constexpr std::int64_t kMaxStackBufferBytes = 64 * 1024;

struct BufInfo {
  llvm::Value* base = nullptr; // typed pointer to the storage elements
  std::int64_t numel = 0;      // elements per thread (per-thread locals) or in total
  bool per_thread = false;
  std::vector<llvm::Value*> strides; // i64 element strides, one per dimension
  std::vector<llvm::Value*> extents; // i64 extents, one per dimension
};

bool is_half(DType t) {
  return t == DType::bf16 || t == DType::f16;
}

std::string sanitize(const std::string& name) {
  std::string out;
  for (char c : name) {
    out += (std::isalnum(static_cast<unsigned char>(c)) || c == '_') ? c : '_';
  }
  return out;
}

class Lowerer {
public:
  Lowerer(const Kernel& kernel, llvm::LLVMContext& ctx, CpuEntryPoints& ep)
      : k_(kernel), ctx_(ctx), ep_(ep), b_(ctx), analysis_(kernel) {}

  std::unique_ptr<llvm::Module> run() {
    module_ = std::make_unique<llvm::Module>("tessera_cpu_" + sanitize(k_.name), ctx_);
    const std::string base = "tessera_" + sanitize(k_.name);
    ep_.block_fn = base + "_block";
    ep_.grid_fn = base + "_grid";
    build_grid_fn();
    build_block_fn();
    return std::move(module_);
  }

private:
  // --- errors ---------------------------------------------------------------------------------
  [[noreturn]] void unsupported(const SourceLoc& loc, const std::string& what) const {
    throw CompileError(fmt::format("kernel '{}' at {}: {} is not supported by the CPU backend",
                                   k_.name, loc.str(), what),
                       "");
  }

  // --- types ----------------------------------------------------------------------------------
  llvm::Type* storage_type(DType t) {
    switch (t) {
    case DType::bf16:
    case DType::f16:
      return b_.getInt16Ty();
    case DType::f32:
      return b_.getFloatTy();
    case DType::f64:
      return b_.getDoubleTy();
    case DType::i8:
    case DType::u8:
    case DType::boolean:
      return b_.getInt8Ty();
    case DType::i32:
    case DType::u32:
      return b_.getInt32Ty();
    case DType::i64:
      return b_.getInt64Ty();
    }
    throw InternalError("storage_type: unknown dtype");
  }
  // Registers: halves are held as the float they represent (exactly), booleans as i1.
  llvm::Type* value_type(DType t) {
    if (is_half(t)) {
      return b_.getFloatTy();
    }
    if (t == DType::boolean) {
      return b_.getInt1Ty();
    }
    return storage_type(t);
  }
  llvm::Value* i64(std::int64_t v) { return b_.getInt64(static_cast<std::uint64_t>(v)); }
  llvm::Value* to_i64(llvm::Value* v, bool is_signed = true) {
    return v->getType()->isIntegerTy(64) ? v : b_.CreateIntCast(v, b_.getInt64Ty(), is_signed);
  }
  llvm::Value* smax(llvm::Value* a, llvm::Value* b) {
    return b_.CreateSelect(b_.CreateICmpSGT(a, b), a, b);
  }
  llvm::Value* smin(llvm::Value* a, llvm::Value* b) {
    return b_.CreateSelect(b_.CreateICmpSLT(a, b), a, b);
  }

  llvm::Value* load_value(DType t, llvm::Value* ptr) {
    llvm::Value* raw = b_.CreateLoad(storage_type(t), ptr);
    switch (t) {
    case DType::bf16:
      return tessera::internal::emit_bf16_to_f32(b_, raw);
    case DType::f16:
      return tessera::internal::emit_f16_to_f32(b_, raw);
    case DType::boolean:
      return b_.CreateICmpNE(raw, b_.getInt8(0));
    default:
      return raw;
    }
  }
  void store_value(DType t, llvm::Value* ptr, llvm::Value* v) {
    switch (t) {
    case DType::bf16:
      v = tessera::internal::emit_f32_to_bf16(b_, v);
      break;
    case DType::f16:
      v = tessera::internal::emit_f32_to_f16(b_, v);
      break;
    case DType::boolean:
      v = b_.CreateZExt(v, b_.getInt8Ty());
      break;
    default:
      break;
    }
    b_.CreateStore(v, ptr);
  }

  // Rounds a float register value to what a half type can hold.
  llvm::Value* round_to(DType t, llvm::Value* v) {
    if (t == DType::bf16) {
      return tessera::internal::emit_bf16_to_f32(b_, tessera::internal::emit_f32_to_bf16(b_, v));
    }
    if (t == DType::f16) {
      return tessera::internal::emit_f16_to_f32(b_, tessera::internal::emit_f32_to_f16(b_, v));
    }
    return v;
  }

  llvm::Value* convert(llvm::Value* v, DType from, DType to) {
    if (from == to) {
      return v;
    }
    if (to == DType::boolean) {
      return is_float(from) ? b_.CreateFCmpUNE(v, llvm::ConstantFP::get(v->getType(), 0.0))
                            : b_.CreateICmpNE(v, llvm::ConstantInt::get(v->getType(), 0));
    }
    if (from == DType::boolean) {
      return is_float(to) ? round_to(to, b_.CreateUIToFP(v, value_type(to)))
                          : b_.CreateZExt(v, value_type(to));
    }
    if (is_float(from) && is_float(to)) {
      if (to == DType::f64) {
        return b_.CreateFPExt(v, b_.getDoubleTy());
      }
      if (from == DType::f64) {
        v = b_.CreateFPTrunc(v, b_.getFloatTy());
      }
      return round_to(to, v);
    }
    if (is_float(from)) {
      // Saturating, NaN -> 0: what the device's cvt.rzi does (LLVM's plain fptosi is poison).
      const auto id =
          is_signed_integer(to) ? llvm::Intrinsic::fptosi_sat : llvm::Intrinsic::fptoui_sat;
      return b_.CreateIntrinsic(id, {value_type(to), v->getType()}, {v});
    }
    if (is_float(to)) {
      llvm::Type* ft = to == DType::f64 ? b_.getDoubleTy() : b_.getFloatTy();
      v = is_signed_integer(from) ? b_.CreateSIToFP(v, ft) : b_.CreateUIToFP(v, ft);
      return round_to(to, v);
    }
    return b_.CreateIntCast(v, value_type(to), is_signed_integer(from));
  }

  // --- expressions ----------------------------------------------------------------------------
  llvm::Value* var_value(const Var* v) {
    if (v->var_kind == VarKind::thread_idx) {
      if (tid_ == nullptr) {
        throw InternalError("CPU lowering: thread_idx outside a thread loop");
      }
      return b_.CreateIntCast(tid_, value_type(v->type), true);
    }
    if (v->var_kind == VarKind::block_idx) {
      if (block_idx_[0] == nullptr) {
        throw UserError(fmt::format("kernel '{}': block_idx used in the grid size", k_.name));
      }
      return b_.CreateIntCast(block_idx_[std::clamp(v->axis, 0, 2)], value_type(v->type), true);
    }
    if (auto it = vars_.find(v); it != vars_.end()) {
      return it->second;
    }
    if (auto it = named_.find(v->name); it != named_.end() && v->var_kind != VarKind::loop) {
      return it->second;
    }
    throw InternalError(fmt::format("CPU lowering: unbound variable '{}'", v->name));
  }

  llvm::Value* expr(const Expr& e) {
    switch (e.kind()) {
    case ExprKind::IntImm: {
      const auto* op = e.as<IntImm>();
      return llvm::ConstantInt::get(value_type(op->type), static_cast<std::uint64_t>(op->value),
                                    true);
    }
    case ExprKind::FloatImm: {
      const auto* op = e.as<FloatImm>();
      double v = op->value;
      if (op->type == DType::bf16) {
        v = bf16_bits_to_float(float_to_bf16_bits(static_cast<float>(v)));
      } else if (op->type == DType::f16) {
        v = f16_bits_to_float(float_to_f16_bits(static_cast<float>(v)));
      } else if (op->type == DType::f32) {
        v = static_cast<float>(v);
      }
      return llvm::ConstantFP::get(value_type(op->type), v);
    }
    case ExprKind::Var:
      return var_value(e.as<Var>());
    case ExprKind::Binary:
      return binary(e.as<Binary>());
    case ExprKind::Unary: {
      const auto* op = e.as<Unary>();
      llvm::Value* a = expr(op->a);
      if (op->op == UnaryOp::Neg) {
        return is_float(op->a.type()) ? round_to(op->type, b_.CreateFNeg(a)) : b_.CreateNeg(a);
      }
      return b_.CreateNot(a);
    }
    case ExprKind::Select: {
      const auto* op = e.as<Select>();
      return b_.CreateSelect(expr(op->cond), expr(op->true_value), expr(op->false_value));
    }
    case ExprKind::Cast: {
      const auto* op = e.as<Cast>();
      return convert(expr(op->value), op->value.type(), op->type);
    }
    case ExprKind::Call:
      return call(e.as<Call>());
    case ExprKind::Load: {
      const auto* op = e.as<Load>();
      return load_value(op->buffer->dtype, address(op->buffer, op->indices));
    }
    }
    throw InternalError("CPU lowering: unknown expression kind");
  }

  llvm::Value* binary(const Binary* op) {
    const DType t = op->a.type();
    llvm::Value* a = expr(op->a);
    llvm::Value* b = expr(op->b);
    if (is_float(t)) {
      llvm::Value* r = nullptr;
      switch (op->op) {
      case BinaryOp::Add:
        r = b_.CreateFAdd(a, b);
        break;
      case BinaryOp::Sub:
        r = b_.CreateFSub(a, b);
        break;
      case BinaryOp::Mul:
        r = b_.CreateFMul(a, b);
        break;
      case BinaryOp::Div:
        r = b_.CreateFDiv(a, b);
        break;
      case BinaryOp::Mod:
        r = b_.CreateFRem(a, b);
        break;
      case BinaryOp::Min: // fminf / fmaxf: a NaN operand is ignored
        r = b_.CreateIntrinsic(llvm::Intrinsic::minnum, {a->getType()}, {a, b});
        break;
      case BinaryOp::Max:
        r = b_.CreateIntrinsic(llvm::Intrinsic::maxnum, {a->getType()}, {a, b});
        break;
      case BinaryOp::EQ:
        return b_.CreateFCmpOEQ(a, b);
      case BinaryOp::NE:
        return b_.CreateFCmpUNE(a, b);
      case BinaryOp::LT:
        return b_.CreateFCmpOLT(a, b);
      case BinaryOp::LE:
        return b_.CreateFCmpOLE(a, b);
      case BinaryOp::GT:
        return b_.CreateFCmpOGT(a, b);
      case BinaryOp::GE:
        return b_.CreateFCmpOGE(a, b);
      case BinaryOp::And:
      case BinaryOp::Or:
        throw InternalError("CPU lowering: logical op on floats");
      }
      return round_to(op->type, r);
    }
    const bool s = is_signed_integer(t);
    switch (op->op) {
    case BinaryOp::Add:
      return b_.CreateAdd(a, b);
    case BinaryOp::Sub:
      return b_.CreateSub(a, b);
    case BinaryOp::Mul:
      return b_.CreateMul(a, b);
    case BinaryOp::Div:
    case BinaryOp::Mod: {
      // A zero divisor is garbage on the device but SIGFPE on the host: divide by 1 instead.
      if (!llvm::isa<llvm::ConstantInt>(b) || llvm::cast<llvm::ConstantInt>(b)->isZero()) {
        llvm::Value* one = llvm::ConstantInt::get(b->getType(), 1);
        b = b_.CreateSelect(b_.CreateICmpEQ(b, llvm::ConstantInt::get(b->getType(), 0)), one, b);
      }
      if (op->op == BinaryOp::Div) {
        return s ? b_.CreateSDiv(a, b) : b_.CreateUDiv(a, b);
      }
      return s ? b_.CreateSRem(a, b) : b_.CreateURem(a, b);
    }
    case BinaryOp::Min:
      return b_.CreateSelect(s ? b_.CreateICmpSLT(a, b) : b_.CreateICmpULT(a, b), a, b);
    case BinaryOp::Max:
      return b_.CreateSelect(s ? b_.CreateICmpSGT(a, b) : b_.CreateICmpUGT(a, b), a, b);
    case BinaryOp::EQ:
      return b_.CreateICmpEQ(a, b);
    case BinaryOp::NE:
      return b_.CreateICmpNE(a, b);
    case BinaryOp::LT:
      return s ? b_.CreateICmpSLT(a, b) : b_.CreateICmpULT(a, b);
    case BinaryOp::LE:
      return s ? b_.CreateICmpSLE(a, b) : b_.CreateICmpULE(a, b);
    case BinaryOp::GT:
      return s ? b_.CreateICmpSGT(a, b) : b_.CreateICmpUGT(a, b);
    case BinaryOp::GE:
      return s ? b_.CreateICmpSGE(a, b) : b_.CreateICmpUGE(a, b);
    case BinaryOp::And:
      return b_.CreateAnd(a, b);
    case BinaryOp::Or:
      return b_.CreateOr(a, b);
    }
    throw InternalError("CPU lowering: unknown binary op");
  }

  llvm::Value* libm_call(const char* name, llvm::Value* x) {
    llvm::FunctionCallee f = module_->getOrInsertFunction(
        name, llvm::FunctionType::get(x->getType(), {x->getType()}, false));
    return b_.CreateCall(f, {x});
  }

  llvm::Value* call(const Call* op) {
    namespace ie = tessera::internal;
    if (auto it = warp_results_.find(op); it != warp_results_.end()) {
      llvm::Type* vt = value_type(op->type);
      return b_.CreateLoad(vt, b_.CreateInBoundsGEP(vt, it->second, {to_i64(tid_)}));
    }
    const DType t = op->type;
    llvm::Value* x = expr(op->args.at(0));
    llvm::Type* ty = x->getType();
    const bool f64 = t == DType::f64;
    auto intr = [&](llvm::Intrinsic::ID id) { return b_.CreateIntrinsic(id, {ty}, {x}); };
    llvm::Value* r = nullptr;
    switch (op->op) {
    case CallOp::exp:
      r = f64 ? intr(llvm::Intrinsic::exp) : ie::emit_exp_f32(b_, x);
      break;
    case CallOp::exp2:
      r = f64 ? intr(llvm::Intrinsic::exp2) : ie::emit_exp2_f32(b_, x);
      break;
    case CallOp::log:
      r = f64 ? intr(llvm::Intrinsic::log) : ie::emit_log_f32(b_, x);
      break;
    case CallOp::log2:
      r = f64 ? intr(llvm::Intrinsic::log2) : ie::emit_log2_f32(b_, x);
      break;
    case CallOp::sqrt:
      r = intr(llvm::Intrinsic::sqrt);
      break;
    case CallOp::rsqrt:
      r = b_.CreateFDiv(llvm::ConstantFP::get(ty, 1.0), intr(llvm::Intrinsic::sqrt));
      break;
    case CallOp::sigmoid:
      r = f64 ? b_.CreateFDiv(llvm::ConstantFP::get(ty, 1.0),
                              b_.CreateFAdd(llvm::ConstantFP::get(ty, 1.0),
                                            b_.CreateIntrinsic(llvm::Intrinsic::exp, {ty},
                                                               {b_.CreateFNeg(x)})))
              : ie::emit_sigmoid_f32(b_, x);
      break;
    case CallOp::tanh:
      r = f64 ? libm_call("tanh", x) : ie::emit_tanh_f32(b_, x);
      break;
    case CallOp::abs:
      if (!is_float(t)) {
        return is_signed_integer(t)
                   ? b_.CreateSelect(b_.CreateICmpSLT(x, llvm::ConstantInt::get(ty, 0)),
                                     b_.CreateNeg(x), x)
                   : x;
      }
      r = intr(llvm::Intrinsic::fabs);
      break;
    case CallOp::floor:
      r = is_float(t) ? intr(llvm::Intrinsic::floor) : x;
      break;
    case CallOp::ceil:
      r = is_float(t) ? intr(llvm::Intrinsic::ceil) : x;
      break;
    case CallOp::fma:
      if (!is_float(t)) {
        return b_.CreateAdd(b_.CreateMul(x, expr(op->args.at(1))), expr(op->args.at(2)));
      }
      r = b_.CreateIntrinsic(llvm::Intrinsic::fma, {ty},
                             {x, expr(op->args.at(1)), expr(op->args.at(2))});
      break;
    case CallOp::warp_sum:
    case CallOp::warp_max:
    case CallOp::shfl_xor:
    case CallOp::shfl_idx:
      throw InternalError("CPU lowering: warp op outside a warp statement");
    }
    return round_to(t, r);
  }

  // Pointer to one element. Global tensors are row-major with strides from their (possibly
  // dynamic) shape; per-thread locals are offset by the current thread's copy.
  llvm::Value* address(const Buffer& buf, const std::vector<Expr>& indices) {
    BufInfo& info = buffer(buf);
    llvm::Value* offset = i64(0);
    for (std::size_t d = 0; d < indices.size(); ++d) {
      llvm::Value* idx = to_i64(expr(indices[d]), is_signed_integer(indices[d].type()) ||
                                                      indices[d].type() == DType::boolean);
      offset = b_.CreateAdd(offset, b_.CreateMul(idx, info.strides[d]));
    }
    return element_ptr(buf, info, offset);
  }
  llvm::Value* element_ptr(const Buffer& buf, BufInfo& info, llvm::Value* offset) {
    if (info.per_thread) {
      if (tid_ == nullptr) {
        throw InternalError("CPU lowering: per-thread local '" + buf->name +
                            "' outside a thread loop");
      }
      offset = b_.CreateAdd(offset, b_.CreateMul(to_i64(tid_), i64(info.numel)));
    }
    return b_.CreateInBoundsGEP(storage_type(buf->dtype), info.base, {offset});
  }
  BufInfo& buffer(const Buffer& buf) {
    auto it = buffers_.find(buf.get());
    if (it == buffers_.end()) {
      throw InternalError("CPU lowering: buffer '" + buf->name + "' has no storage");
    }
    return it->second;
  }

  // --- loops ----------------------------------------------------------------------------------
  // for (i = begin; i < end; ++i) body(i), as a guarded do-while (LLVM's preferred shape).
  void emit_loop(llvm::Value* begin, llvm::Value* end,
                 const std::function<void(llvm::Value*)>& body) {
    llvm::Function* fn = b_.GetInsertBlock()->getParent();
    llvm::BasicBlock* pre = b_.GetInsertBlock();
    llvm::BasicBlock* loop = llvm::BasicBlock::Create(ctx_, "loop", fn);
    llvm::BasicBlock* exit = llvm::BasicBlock::Create(ctx_, "loop.end", fn);
    b_.CreateCondBr(b_.CreateICmpSLT(begin, end), loop, exit);
    b_.SetInsertPoint(loop);
    llvm::PHINode* i = b_.CreatePHI(begin->getType(), 2);
    i->addIncoming(begin, pre);
    body(i);
    llvm::Value* next = b_.CreateAdd(i, llvm::ConstantInt::get(begin->getType(), 1), "", false,
                                     /*HasNSW=*/true);
    i->addIncoming(next, b_.GetInsertBlock());
    b_.CreateCondBr(b_.CreateICmpSLT(next, end), loop, exit);
    b_.SetInsertPoint(exit);
  }
  void emit_loop(std::int64_t begin, std::int64_t end,
                 const std::function<void(llvm::Value*)>& body) {
    emit_loop(i64(begin), i64(end), body);
  }
  void emit_if(llvm::Value* cond, const std::function<void()>& then_fn,
               const std::function<void()>& else_fn = {}) {
    llvm::Function* fn = b_.GetInsertBlock()->getParent();
    llvm::BasicBlock* then_bb = llvm::BasicBlock::Create(ctx_, "then", fn);
    llvm::BasicBlock* else_bb = else_fn ? llvm::BasicBlock::Create(ctx_, "else", fn) : nullptr;
    llvm::BasicBlock* done = llvm::BasicBlock::Create(ctx_, "endif", fn);
    b_.CreateCondBr(cond, then_bb, else_bb ? else_bb : done);
    b_.SetInsertPoint(then_bb);
    then_fn();
    b_.CreateBr(done);
    if (else_bb) {
      b_.SetInsertPoint(else_bb);
      else_fn();
      b_.CreateBr(done);
    }
    b_.SetInsertPoint(done);
  }
  // Runs body once per thread id in [begin, end), with thread_idx bound.
  void emit_thread_loop(int begin, int end, const std::function<void()>& body) {
    emit_loop(b_.getInt32(begin), b_.getInt32(end), [&](llvm::Value* t) {
      llvm::Value* saved = tid_;
      tid_ = t;
      body();
      tid_ = saved;
    });
  }

  // --- statements at block level (thread loops are opened here) --------------------------
  void lower_block_level(const Stmt& s, int tb, int te) {
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
        unsupported(op->loc,
                    "a thread-dependent branch around a barrier, collective op or warp op");
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
    case StmtKind::Copy:
    case StmtKind::Fill: {
      if (analysis_.per_thread(s)) {
        const Buffer& dst =
            s.kind() == StmtKind::Copy ? s.as<Copy>()->dst.buffer : s.as<Fill>()->buffer;
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
    case StmtKind::Reduce:
    case StmtKind::Gemm:
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

  // A statement whose own expressions hold warp ops (see the comment at the top of the file).
  void lower_warp_stmt(const Stmt& s, int tb, int te) {
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
        unsupported(s->loc,
                    fmt::format("{} on {} values", call_op_name(c->op), dtype_name(c->type)));
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

  void own_exprs(const Stmt& s, const std::function<void(const Expr&)>& fn) {
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

  // --- statements (inside a thread loop, or uniform) -------------------------------------------
  void lower_for(const For* op, const std::function<void()>& body) {
    llvm::Value* mn = expr(op->min);
    llvm::Value* ext = b_.CreateIntCast(expr(op->extent), mn->getType(), true);
    emit_loop(mn, b_.CreateAdd(mn, ext), [&](llvm::Value* i) {
      vars_[op->var.get()] = b_.CreateIntCast(i, value_type(op->var.type()), true);
      body();
    });
  }
  void lower_if(const IfThenElse* op, const std::function<void()>& then_fn,
                const std::function<void()>& else_fn) {
    if (op->else_case.defined()) {
      emit_if(expr(op->cond), then_fn, else_fn);
    } else {
      emit_if(expr(op->cond), then_fn);
    }
  }

  void lower_stmt(const Stmt& s) {
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
    case StmtKind::Copy:
      lower_copy(s.as<Copy>());
      return;
    case StmtKind::Fill:
      lower_fill(s.as<Fill>());
      return;
    case StmtKind::Reduce:
      lower_reduce(s.as<Reduce>());
      return;
    case StmtKind::Gemm:
      lower_gemm(s.as<Gemm>());
      return;
    case StmtKind::Atomic:
      lower_atomic(s.as<Atomic>());
      return;
    }
    throw InternalError("CPU lowering: unknown statement kind");
  }

  void lower_parallel(const Parallel* op, std::size_t level) {
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

  // Copy with clipping of global regions: out-of-range source elements read as zero,
  // out-of-range destination elements are not written. The innermost dimension's valid range is
  // computed once per row, so the element loops are plain (vectorisable) loops.
  struct Side {
    const Region* region;
    BufInfo* info;
    bool global;
    std::vector<llvm::Value*> start; // i64 per buffer dim
    int inner_dim = -1;              // buffer dim of the innermost region dim
  };
  Side make_side(const Region& r) {
    Side side{&r, &buffer(r.buffer), r.buffer->scope == Scope::global, {}, -1};
    for (std::size_t d = 0; d < r.ranges.size(); ++d) {
      side.start.push_back(to_i64(expr(r.ranges[d].start)));
      if (!r.ranges[d].squeezed) {
        side.inner_dim = static_cast<int>(d);
      }
    }
    return side;
  }
  // Row offset and validity of a side for outer loop indices `iv` (one per non-squeezed dim
  // except the innermost); also the valid [lo, hi) of the inner loop of extent n.
  struct Row {
    llvm::Value* offset;
    llvm::Value* ok;
    llvm::Value* lo;
    llvm::Value* hi;
    llvm::Value* inner_stride;
  };
  Row make_row(Side& side, const std::vector<llvm::Value*>& iv, std::int64_t n) {
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

  void lower_copy(const Copy* op) {
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

  void lower_fill(const Fill* op) {
    BufInfo& info = buffer(op->buffer);
    llvm::Value* v = convert(expr(op->value), op->value.type(), op->buffer->dtype);
    emit_loop(0, info.numel, [&](llvm::Value* i) {
      store_value(op->buffer->dtype, element_ptr(op->buffer, info, i), v);
    });
  }

  llvm::Value* combine(ReduceOp rop, DType t, llvm::Value* acc, llvm::Value* x, bool reassoc) {
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
  llvm::Value* identity(ReduceOp rop, DType t) {
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

  void lower_reduce(const Reduce* op) {
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

  // tf32 operand rounding as cvt.rna.tf32.f32 (nearest, ties away from zero); inf/NaN kept.
  llvm::Value* round_tf32(llvm::Value* v) {
    llvm::Value* u = b_.CreateBitCast(v, b_.getInt32Ty());
    llvm::Value* r = b_.CreateAnd(b_.CreateAdd(u, b_.getInt32(0x1000)), b_.getInt32(0xffffe000u));
    llvm::Value* finite =
        b_.CreateICmpULT(b_.CreateAnd(u, b_.getInt32(0x7f800000)), b_.getInt32(0x7f800000));
    return b_.CreateBitCast(b_.CreateSelect(finite, r, u), b_.getFloatTy());
  }

  void lower_gemm(const Gemm* op) {
    BufInfo& a = buffer(op->a);
    BufInfo& bb = buffer(op->b);
    BufInfo& c = buffer(op->c);
    const auto ash = const_shape(op->a), bsh = const_shape(op->b), csh = const_shape(op->c);
    const std::int64_t m_ext = csh.at(0), n_ext = csh.at(1);
    const std::int64_t k_ext = op->trans_a ? ash.at(0) : ash.at(1);
    const bool tf32 = op->precision == GemmPrecision::tf32;
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

  void lower_atomic(const Atomic* op) {
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
    llvm::Value* new_v =
        op->op == AtomicOp::add
            ? b_.CreateFAdd(old_v, v)
            : b_.CreateIntrinsic(llvm::Intrinsic::maxnum, {old_v->getType()}, {old_v, v});
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

  // --- functions ------------------------------------------------------------------------------
  llvm::Value* entry_alloca(llvm::Type* ty, std::int64_t count) {
    llvm::IRBuilder<> eb(&entry_->getParent()->getEntryBlock(),
                         entry_->getParent()->getEntryBlock().begin());
    llvm::AllocaInst* a = eb.CreateAlloca(ty, eb.getInt64(static_cast<std::uint64_t>(count)));
    a->setAlignment(llvm::Align(64));
    return a;
  }

  // Loads scalars and dims from the argument array and sets up global tensors.
  void bind_arguments(llvm::Value* args) {
    llvm::Type* vp = tessera::internal::void_ptr_type(ctx_);
    auto slot = [&](std::size_t i) {
      return b_.CreateLoad(vp, b_.CreateInBoundsGEP(vp, args, {i64(static_cast<std::int64_t>(i))}));
    };
    for (std::size_t d = 0; d < k_.dims.size(); ++d) {
      llvm::Value* v =
          b_.CreateLoad(b_.getInt32Ty(), tessera::internal::cast_ptr(b_, slot(k_.params.size() + d),
                                                                     b_.getInt32Ty()));
      vars_[k_.dims[d].var.get()] = v;
      named_[k_.dims[d].name] = v;
      if (const auto* var = k_.dims[d].var.as<Var>()) {
        named_[var->name] = v;
      }
    }
    for (std::size_t p = 0; p < k_.params.size(); ++p) {
      const Param& param = k_.params[p];
      if (param.kind == Param::Kind::scalar) {
        llvm::Value* v = load_value(
            param.dtype, tessera::internal::cast_ptr(b_, slot(p), storage_type(param.dtype)));
        vars_[param.var.get()] = v;
        if (const auto* var = param.var.as<Var>()) {
          named_[var->name] = v;
        }
        continue;
      }
      const Buffer& buf = param.buffer;
      BufInfo info;
      info.base = tessera::internal::cast_ptr(b_, slot(p), storage_type(buf->dtype));
      const std::size_t rank = buf->shape.size();
      info.extents.resize(rank);
      info.strides.resize(rank);
      llvm::Value* stride = i64(1);
      for (std::size_t d = rank; d-- > 0;) {
        info.extents[d] = to_i64(expr(buf->shape[d]));
        info.strides[d] = stride;
        stride = b_.CreateMul(stride, info.extents[d]);
      }
      buffers_[buf.get()] = std::move(info);
    }
  }

  void build_grid_fn() {
    llvm::Type* vp = tessera::internal::void_ptr_type(ctx_);
    auto* fty = llvm::FunctionType::get(
        b_.getVoidTy(), {tessera::internal::ptr_to(vp), tessera::internal::ptr_to(b_.getInt64Ty())},
        false);
    auto* fn = llvm::Function::Create(fty, llvm::Function::ExternalLinkage, ep_.grid_fn, *module_);
    entry_ = llvm::BasicBlock::Create(ctx_, "entry", fn);
    b_.SetInsertPoint(entry_);
    bind_arguments(fn->getArg(0));
    for (int axis = 0; axis < 3; ++axis) {
      llvm::Value* v = axis < static_cast<int>(k_.grid.size())
                           ? to_i64(expr(k_.grid[static_cast<std::size_t>(axis)]))
                           : i64(1);
      b_.CreateStore(v, b_.CreateInBoundsGEP(b_.getInt64Ty(), fn->getArg(1), {i64(axis)}));
    }
    b_.CreateRetVoid();
    vars_.clear();
    named_.clear();
    buffers_.clear();
  }

  void allocate_buffers(llvm::Value* scratch) {
    std::vector<Buffer> allocs;
    class Collect : public IRVisitor {
    public:
      explicit Collect(std::vector<Buffer>& out) : out_(out) {}

    protected:
      void visit_allocate(const Allocate* op) override { out_.push_back(op->buffer); }

    private:
      std::vector<Buffer>& out_;
    } collect(allocs);
    collect.visit(k_.body);
    std::int64_t scratch_bytes = 0;
    for (const Buffer& buf : allocs) {
      if (buffers_.count(buf.get())) {
        continue;
      }
      const std::int64_t numel = const_numel(buf);
      if (numel < 0) {
        unsupported(buf->loc, "a " + std::string(scope_name(buf->scope)) + " buffer '" + buf->name +
                                  "' with a dynamic shape");
      }
      BufInfo info;
      info.numel = numel;
      info.per_thread = buf->scope == Scope::local && analysis_.varying_local(buf.get());
      const std::int64_t count = numel * (info.per_thread ? k_.threads : 1);
      const std::int64_t bytes = count * static_cast<std::int64_t>(dtype_size(buf->dtype));
      if (bytes <= kMaxStackBufferBytes) {
        info.base = entry_alloca(storage_type(buf->dtype), std::max<std::int64_t>(count, 1));
      } else {
        info.base = tessera::internal::cast_ptr(
            b_, b_.CreateInBoundsGEP(b_.getInt8Ty(), scratch, {i64(scratch_bytes)}),
            storage_type(buf->dtype));
        scratch_bytes += (bytes + 63) / 64 * 64;
      }
      std::int64_t stride = 1;
      const std::vector<std::int64_t> shape = const_shape(buf);
      info.strides.resize(shape.size());
      info.extents.resize(shape.size());
      for (std::size_t d = shape.size(); d-- > 0;) {
        info.strides[d] = i64(stride);
        info.extents[d] = i64(shape[d]);
        stride *= shape[d];
      }
      buffers_[buf.get()] = std::move(info);
    }
    ep_.scratch_bytes = static_cast<std::size_t>(scratch_bytes);
  }

  static std::vector<std::int64_t> const_shape(const Buffer& b) {
    std::vector<std::int64_t> s;
    for (std::size_t d = 0; d < b->shape.size(); ++d) {
      s.push_back(const_extent(b, static_cast<int>(d)));
    }
    return s;
  }

  void build_block_fn() {
    llvm::Type* vp = tessera::internal::void_ptr_type(ctx_);
    llvm::Type* i64t = b_.getInt64Ty();
    auto* fty = llvm::FunctionType::get(
        b_.getVoidTy(), {tessera::internal::ptr_to(vp), i64t, i64t, i64t, vp}, false);
    auto* fn = llvm::Function::Create(fty, llvm::Function::ExternalLinkage, ep_.block_fn, *module_);
    fn->addParamAttr(4, llvm::Attribute::NoAlias);
    entry_ = llvm::BasicBlock::Create(ctx_, "entry", fn);
    b_.SetInsertPoint(entry_);
    for (int axis = 0; axis < 3; ++axis) {
      block_idx_[axis] = fn->getArg(static_cast<unsigned>(1 + axis));
    }
    bind_arguments(fn->getArg(0));
    allocate_buffers(fn->getArg(4));
    lower_block_level(k_.body, 0, k_.threads);
    b_.CreateRetVoid();
  }

  const Kernel& k_;
  llvm::LLVMContext& ctx_;
  CpuEntryPoints& ep_;
  llvm::IRBuilder<> b_;
  ThreadAnalysis analysis_;
  std::unique_ptr<llvm::Module> module_;
  llvm::BasicBlock* entry_ = nullptr;
  llvm::Value* tid_ = nullptr; // i32 thread id inside a thread loop
  llvm::Value* block_idx_[3] = {nullptr, nullptr, nullptr};
  std::unordered_map<const ExprNode*, llvm::Value*> vars_;
  std::map<std::string, llvm::Value*> named_; // dims and scalars by name
  std::unordered_map<const BufferNode*, BufInfo> buffers_;
  std::unordered_map<const Call*, llvm::Value*> warp_results_;
};

} // namespace

std::unique_ptr<llvm::Module> lower_to_llvm(const ir::Kernel& kernel, llvm::LLVMContext& context,
                                            CpuEntryPoints& entry_points) {
  return Lowerer(kernel, context, entry_points).run();
}

} // namespace tessera::codegen
