// Translation of thread-level IR to LLVM IR: types, conversions, expressions, addressing and
// loops. See translator.h for how the translator is split over files.
#include "base/error.h"
#include "base/float16.h"
#include "codegen/llvm/emit_float.h"
#include "codegen/llvm/translator.h"
#include "ir/visitor.h"
#include "runtime/cpu/llvm_compat.h"
#include "runtime/cpu/warp_ops.h"

#include <fmt/format.h>
#include <llvm/IR/Constants.h>
#include <llvm/IR/Function.h>
#include <llvm/IR/Intrinsics.h>

namespace tessera::codegen::cpu_internal {

using namespace ir;

namespace {
bool any_load(const Expr& e) {
  bool found = false;
  class Finder : public IRVisitor {
  public:
    explicit Finder(bool& f) : f_(f) {}
    using IRVisitor::visit;

  protected:
    void visit_load(const Load*) override { f_ = true; }

  private:
    bool& f_;
  } finder(found);
  finder.visit(e);
  return found;
}
} // namespace

void Translator::unsupported(const SourceLoc& loc, const std::string& what) const {
  throw CompileError(fmt::format("kernel '{}' at {}: {} is not supported by the CPU backend",
                                 k_.name, loc.str(), what),
                     "");
}

llvm::Type* Translator::storage_type(DType t) {
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

llvm::Type* Translator::value_type(DType t) {
  if (is_half(t)) {
    return b_.getFloatTy();
  }
  if (t == DType::boolean) {
    return b_.getInt1Ty();
  }
  return storage_type(t);
}

llvm::Value* Translator::to_i64(llvm::Value* v, bool is_signed) {
  return v->getType()->isIntegerTy(64) ? v : b_.CreateIntCast(v, b_.getInt64Ty(), is_signed);
}

llvm::Value* Translator::load_value(DType t, llvm::Value* ptr) {
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

void Translator::store_value(DType t, llvm::Value* ptr, llvm::Value* v) {
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

llvm::Value* Translator::round_to(DType t, llvm::Value* v) {
  if (t == DType::bf16) {
    return tessera::internal::emit_bf16_to_f32(b_, tessera::internal::emit_f32_to_bf16(b_, v));
  }
  if (t == DType::f16) {
    return tessera::internal::emit_f16_to_f32(b_, tessera::internal::emit_f32_to_f16(b_, v));
  }
  return v;
}

llvm::Value* Translator::convert(llvm::Value* v, DType from, DType to) {
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

llvm::Value* Translator::var_value(const Var* v) {
  if (v->var_kind == VarKind::thread_idx) {
    if (tid_ == nullptr) {
      throw InternalError("CPU translation: thread_idx outside a thread loop");
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
  if (auto it = lazy_vars_.find(v); it != lazy_vars_.end()) {
    return expr(it->second); // a thread-dependent let bound outside the current thread loop
  }
  if (auto it = named_.find(v->name); it != named_.end() && v->var_kind != VarKind::loop) {
    return it->second;
  }
  throw InternalError(fmt::format("CPU translation: unbound variable '{}'", v->name));
}

llvm::Value* Translator::expr(const Expr& e) {
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
  case ExprKind::Select:
    return select(e.as<Select>());
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
  throw InternalError("CPU translation: unknown expression kind");
}

llvm::Value* Translator::binary(const Binary* op) {
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
      throw InternalError("CPU translation: logical op on floats");
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
  throw InternalError("CPU translation: unknown binary op");
}

llvm::Value* Translator::select(const Select* op) {
  const bool loads = any_load(op->true_value) || any_load(op->false_value);
  llvm::Value* c = expr(op->cond);
  if (!loads) {
    return b_.CreateSelect(c, expr(op->true_value), expr(op->false_value));
  }
  llvm::Function* fn = b_.GetInsertBlock()->getParent();
  llvm::BasicBlock* t_bb = llvm::BasicBlock::Create(ctx_, "sel.true", fn);
  llvm::BasicBlock* f_bb = llvm::BasicBlock::Create(ctx_, "sel.false", fn);
  llvm::BasicBlock* done = llvm::BasicBlock::Create(ctx_, "sel.end", fn);
  b_.CreateCondBr(c, t_bb, f_bb);
  b_.SetInsertPoint(t_bb);
  llvm::Value* tv = expr(op->true_value);
  llvm::BasicBlock* t_end = b_.GetInsertBlock();
  b_.CreateBr(done);
  b_.SetInsertPoint(f_bb);
  llvm::Value* fv = expr(op->false_value);
  llvm::BasicBlock* f_end = b_.GetInsertBlock();
  b_.CreateBr(done);
  b_.SetInsertPoint(done);
  llvm::PHINode* phi = b_.CreatePHI(tv->getType(), 2);
  phi->addIncoming(tv, t_end);
  phi->addIncoming(fv, f_end);
  return phi;
}

llvm::Value* Translator::libm_call(const char* name, llvm::Value* x) {
  llvm::FunctionCallee f = module_->getOrInsertFunction(
      name, llvm::FunctionType::get(x->getType(), {x->getType()}, false));
  return b_.CreateCall(f, {x});
}

llvm::Value* Translator::call(const Call* op) {
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
    r = f64 ? b_.CreateFDiv(
                  llvm::ConstantFP::get(ty, 1.0),
                  b_.CreateFAdd(llvm::ConstantFP::get(ty, 1.0),
                                b_.CreateIntrinsic(llvm::Intrinsic::exp, {ty}, {b_.CreateFNeg(x)})))
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
  case CallOp::round_tf32:
    return round_tf32(x);
  case CallOp::warp_sum:
  case CallOp::warp_max:
  case CallOp::warp_min:
  case CallOp::shfl_xor:
  case CallOp::shfl_idx:
    throw InternalError("CPU translation: warp op outside a warp statement");
  }
  return round_to(t, r);
}

llvm::Value* Translator::round_tf32(llvm::Value* v) {
  llvm::Value* u = b_.CreateBitCast(v, b_.getInt32Ty());
  llvm::Value* r = b_.CreateAnd(b_.CreateAdd(u, b_.getInt32(0x1000)), b_.getInt32(0xffffe000u));
  llvm::Value* finite =
      b_.CreateICmpULT(b_.CreateAnd(u, b_.getInt32(0x7f800000)), b_.getInt32(0x7f800000));
  return b_.CreateBitCast(b_.CreateSelect(finite, r, u), b_.getFloatTy());
}

llvm::Value* Translator::address(const Buffer& buf, const std::vector<Expr>& indices) {
  BufInfo& info = buffer(buf);
  llvm::Value* offset = i64(0);
  for (std::size_t d = 0; d < indices.size(); ++d) {
    llvm::Value* idx = to_i64(expr(indices[d]), is_signed_integer(indices[d].type()) ||
                                                    indices[d].type() == DType::boolean);
    offset = b_.CreateAdd(offset, b_.CreateMul(idx, info.strides[d]));
  }
  return element_ptr(buf, info, offset);
}

llvm::Value* Translator::element_ptr(const Buffer& buf, BufInfo& info, llvm::Value* offset) {
  if (info.per_thread) {
    if (tid_ == nullptr) {
      throw InternalError("CPU translation: per-thread local '" + buf->name +
                          "' outside a thread loop");
    }
    offset = b_.CreateAdd(offset, b_.CreateMul(to_i64(tid_), i64(info.numel)));
  }
  return b_.CreateInBoundsGEP(storage_type(buf->dtype), info.base, {offset});
}

BufInfo& Translator::buffer(const Buffer& buf) {
  auto it = buffers_.find(buf.get());
  if (it == buffers_.end()) {
    throw InternalError("CPU translation: buffer '" + buf->name + "' has no storage");
  }
  return it->second;
}

void Translator::emit_loop(llvm::Value* begin, llvm::Value* end,
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

void Translator::emit_if(llvm::Value* cond, const std::function<void()>& then_fn,
                         const std::function<void()>& else_fn) {
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

void Translator::emit_thread_loop(int begin, int end, const std::function<void()>& body) {
  emit_loop(b_.getInt32(begin), b_.getInt32(end), [&](llvm::Value* t) {
    llvm::Value* saved = tid_;
    tid_ = t;
    body();
    tid_ = saved;
  });
}

} // namespace tessera::codegen::cpu_internal
