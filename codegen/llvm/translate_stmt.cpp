// Statements and thread semantics of the CPU translation (docs/cpu-backend.md):
//
// A thread block runs on one host thread. After lowering, most statements depend on the thread
// that runs them; they run as loops over the thread ids of their thread range ("thread loops"),
// with per-thread locals (register arrays) promoted to arrays indexed by thread id. Consecutive
// thread-dependent statements share one thread loop; a barrier or a warp op ends it. Running
// every thread up to the barrier before any thread goes past it is exactly what the barrier
// guarantees on the GPU, so a barrier needs no code. Thread-uniform statements (the same on
// every thread) run once. A warp op is evaluated in three steps: one thread loop computes its
// operand for every thread, a helper does the lanes' exchange as the device's shuffle sequence
// would, and a second thread loop runs the statement using the results. A let of a
// thread-dependent value around a barrier is evaluated again in each thread loop. Barriers under
// thread-dependent control flow (which the GPU does not allow either) are a CompileError naming
// the statement. Asynchronous copies run at once, so their commits and waits need no code.
#include "base/error.h"
#include "codegen/llvm/emit_float.h"
#include "codegen/llvm/translator.h"
#include "ir/util.h"
#include "ir/visitor.h"
#include "runtime/cpu/cluster.h"
#include "runtime/cpu/llvm_compat.h"
#include "runtime/cpu/warp_ops.h"

#include <fmt/format.h>
#include <llvm/IR/Constants.h>
#include <llvm/IR/Function.h>
#include <llvm/IR/Intrinsics.h>

namespace tessera::codegen::cpu_internal {

using namespace ir;

void Translator::block_level(const Stmt& s, int tb, int te) {
  if (!s.defined()) {
    return;
  }
  if (!ThreadAnalysis::is_sync(s)) {
    if (analysis_.per_thread(s)) {
      emit_thread_loop(tb, te, [&] { stmt(s); });
    } else {
      stmt(s);
    }
    return;
  }
  if (ThreadAnalysis::own_has_warp_op(s)) {
    if (ThreadAnalysis::children_sync(s)) {
      unsupported(s->loc, "a warp op in the condition or bounds of a statement that contains a "
                          "barrier or warp op");
    }
    warp_stmt(s, tb, te);
    return;
  }
  switch (s.kind()) {
  case StmtKind::Block: {
    std::vector<Stmt> pending; // consecutive thread-dependent statements: one thread loop
    auto flush = [&] {
      if (!pending.empty()) {
        emit_thread_loop(tb, te, [&] {
          for (const Stmt& p : pending) {
            stmt(p);
          }
        });
        pending.clear();
      }
    };
    for (const Stmt& c : s.as<Block>()->stmts) {
      if (c.kind() == StmtKind::Allocate) {
        bind_view(c.as<Allocate>()->buffer);
        continue;
      }
      if (!ThreadAnalysis::is_sync(c) && analysis_.per_thread(c)) {
        pending.push_back(c);
        continue;
      }
      flush();
      block_level(c, tb, te);
    }
    flush();
    return;
  }
  case StmtKind::For: {
    const auto* op = s.as<For>();
    if (analysis_.varying(op->min) || analysis_.varying(op->extent)) {
      unsupported(op->loc, "a loop whose trip count depends on the thread around a barrier or "
                           "warp op");
    }
    for_loop(op, [&] { block_level(op->body, tb, te); });
    return;
  }
  case StmtKind::IfThenElse: {
    const auto* op = s.as<IfThenElse>();
    if (analysis_.varying(op->cond)) {
      unsupported(op->loc, "a thread-dependent branch around a barrier or warp op");
    }
    emit_if(
        expr(op->cond), [&] { block_level(op->then_case, tb, te); },
        op->else_case.defined() ? std::function<void()>([&] { block_level(op->else_case, tb, te); })
                                : std::function<void()>());
    return;
  }
  case StmtKind::LetStmt: {
    const auto* op = s.as<LetStmt>();
    if (analysis_.varying(op->value)) {
      lazy_vars_[op->var.get()] = op->value;
      block_level(op->body, tb, te);
      lazy_vars_.erase(op->var.get());
    } else {
      vars_[op->var.get()] = expr(op->value);
      block_level(op->body, tb, te);
      vars_.erase(op->var.get());
    }
    return;
  }
  case StmtKind::ThreadRange: {
    const auto* op = s.as<ThreadRange>();
    block_level(op->body, std::max(tb, op->begin), std::min(te, op->end));
    return;
  }
  case StmtKind::MmaTile:
    unsupported(s->loc, "a tensor-core tile (the cpu target lowers gemm to loops)");
  case StmtKind::Barrier:
    if (s.as<Barrier>()->scope == BarrierScope::cluster) {
      // The thread loops before it have run every thread of this block; the helper waits for
      // the cluster's other blocks, which run on their own host threads (runtime/cpu/cluster.h).
      b_.CreateCall(module_->getOrInsertFunction(
          cpu::kClusterBarrierSymbol, llvm::FunctionType::get(b_.getVoidTy(), {}, false)));
    }
    return;
  case StmtKind::PdlWait:
  case StmtKind::PdlTrigger:
  case StmtKind::AsyncCommit:
  case StmtKind::AsyncWait:
  case StmtKind::Allocate:
    return; // a barrier is the boundary between thread loops; PDL is stream order here
  default:
    stmt(s);
  }
}

void Translator::warp_stmt(const Stmt& s, int tb, int te) {
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
      if (is_warp_op(c->op) && std::find(calls.begin(), calls.end(), c) == calls.end()) {
        calls.push_back(c);
      }
      break;
    }
    default:
      break;
    }
  };
  if (s.kind() != StmtKind::Store && s.kind() != StmtKind::IfThenElse &&
      s.kind() != StmtKind::For && s.kind() != StmtKind::Atomic && s.kind() != StmtKind::LetStmt) {
    unsupported(s->loc, "a warp op in this kind of statement");
  }
  for_each_own_expr(s, collect);

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
            : c->op == CallOp::warp_min ? cpu::WarpOp::min
                                        : cpu::WarpOp::shfl_xor;
      if (wop != cpu::WarpOp::shfl_xor && (arg <= 0 || tb % arg != 0 || te % arg != 0)) {
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
  emit_thread_loop(tb, te, [&] { stmt(s); });
  for (const Call* c : calls) {
    warp_results_.erase(c);
  }
}

void Translator::for_loop(const For* op, const std::function<void()>& body) {
  llvm::Value* mn = expr(op->min);
  llvm::Value* ext = b_.CreateIntCast(expr(op->extent), mn->getType(), true);
  emit_loop(mn, b_.CreateAdd(mn, ext), [&](llvm::Value* i) {
    vars_[op->var.get()] = b_.CreateIntCast(i, value_type(op->var.type()), true);
    body();
  });
  vars_.erase(op->var.get());
}

void Translator::stmt(const Stmt& s) {
  if (!s.defined()) {
    return;
  }
  switch (s.kind()) {
  case StmtKind::Block:
    for (const Stmt& c : s.as<Block>()->stmts) {
      stmt(c);
    }
    return;
  case StmtKind::Allocate:
    bind_view(s.as<Allocate>()->buffer);
    return;
  case StmtKind::Barrier:
  case StmtKind::PdlWait:
  case StmtKind::PdlTrigger:
  case StmtKind::AsyncCommit:
  case StmtKind::AsyncWait:
    return;
  case StmtKind::For: {
    const auto* op = s.as<For>();
    for_loop(op, [&] { stmt(op->body); });
    return;
  }
  case StmtKind::IfThenElse: {
    const auto* op = s.as<IfThenElse>();
    if (op->else_case.defined()) {
      emit_if(
          expr(op->cond), [&] { stmt(op->then_case); }, [&] { stmt(op->else_case); });
    } else {
      emit_if(expr(op->cond), [&] { stmt(op->then_case); });
    }
    return;
  }
  case StmtKind::LetStmt: {
    const auto* op = s.as<LetStmt>();
    vars_[op->var.get()] = expr(op->value);
    stmt(op->body);
    vars_.erase(op->var.get());
    return;
  }
  case StmtKind::ThreadRange: {
    const auto* op = s.as<ThreadRange>();
    if (tid_ == nullptr) {
      stmt(op->body); // thread-uniform body: once for the range
      return;
    }
    emit_if(b_.CreateAnd(b_.CreateICmpSGE(tid_, b_.getInt32(op->begin)),
                         b_.CreateICmpSLT(tid_, b_.getInt32(op->end))),
            [&] { stmt(op->body); });
    return;
  }
  case StmtKind::Store: {
    const auto* op = s.as<Store>();
    llvm::Value* v = convert(expr(op->value), op->value.type(), op->buffer->dtype);
    store_value(op->buffer->dtype, address(op->buffer, op->indices), v);
    return;
  }
  case StmtKind::VectorCopy:
    return vector_copy(s.as<VectorCopy>());
  case StmtKind::Atomic:
    return atomic(s.as<Atomic>());
  case StmtKind::MmaTile:
    unsupported(s->loc, "a tensor-core tile (the cpu target lowers gemm to loops)");
  case StmtKind::Parallel:
  case StmtKind::TileOp:
    break;
  }
  throw InternalError(
      fmt::format("CPU translation: statement at {} is not thread-level IR", s->loc.str()));
}

void Translator::vector_copy(const VectorCopy* op) {
  // Element by element; LLVM vectorises the lanes where the host can.
  std::vector<Expr> di = op->dst_index, si = op->src_index;
  const Expr dlast = di.back(), slast = si.back();
  emit_loop(b_.getInt32(0), b_.getInt32(op->lanes), [&](llvm::Value* k) {
    const Expr kv = Var::make(DType::i32, "k_", VarKind::loop);
    vars_[kv.get()] = k;
    di.back() = Binary::make(BinaryOp::Add, dlast, kv);
    si.back() = Binary::make(BinaryOp::Add, slast, kv);
    llvm::Value* v =
        convert(load_value(op->src->dtype, address(op->src, si)), op->src->dtype, op->dst->dtype);
    store_value(op->dst->dtype, address(op->dst, di), v);
    vars_.erase(kv.get());
  });
}

void Translator::atomic(const Atomic* op) {
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

// ---------------------------------------------------------------------------------------------
// The block function
// ---------------------------------------------------------------------------------------------

llvm::Value* Translator::entry_alloca(llvm::Type* ty, std::int64_t count) {
  llvm::IRBuilder<> eb(&entry_->getParent()->getEntryBlock(),
                       entry_->getParent()->getEntryBlock().begin());
  llvm::AllocaInst* a = eb.CreateAlloca(ty, eb.getInt64(static_cast<std::uint64_t>(count)));
  a->setAlignment(llvm::Align(64));
  return a;
}

void Translator::bind_arguments(llvm::Value* args) {
  llvm::Type* vp = tessera::internal::void_ptr_type(ctx_);
  auto slot = [&](std::size_t i) {
    return b_.CreateLoad(vp, b_.CreateInBoundsGEP(vp, args, {i64(static_cast<std::int64_t>(i))}));
  };
  for (std::size_t d = 0; d < k_.dims.size(); ++d) {
    llvm::Value* v =
        b_.CreateLoad(b_.getInt32Ty(),
                      tessera::internal::cast_ptr(b_, slot(k_.params.size() + d), b_.getInt32Ty()));
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
    // The slot points at the tensor's data pointer, as a CUDA kernel parameter does.
    const Buffer& buf = param.buffer;
    BufInfo info;
    info.base = tessera::internal::cast_ptr(
        b_, b_.CreateLoad(vp, tessera::internal::cast_ptr(b_, slot(p), vp)),
        storage_type(buf->dtype));
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

void Translator::allocate_buffers(llvm::Value* scratch) {
  std::vector<const Allocate*> allocs;
  class Collect : public IRVisitor {
  public:
    explicit Collect(std::vector<const Allocate*>& out) : out_(out) {}

  protected:
    void visit_allocate(const Allocate* op) override { out_.push_back(op); }

  private:
    std::vector<const Allocate*>& out_;
  } collect(allocs);
  collect.visit(k_.body);
  std::int64_t scratch_bytes = 0;
  auto storage = [&](std::int64_t bytes, llvm::Type* ty) -> llvm::Value* {
    const auto elem = static_cast<std::int64_t>(ty->getPrimitiveSizeInBits() / 8);
    if (bytes <= kMaxStackBufferBytes) {
      return entry_alloca(ty, std::max<std::int64_t>((bytes + elem - 1) / elem, 1));
    }
    llvm::Value* p = tessera::internal::cast_ptr(
        b_, b_.CreateInBoundsGEP(b_.getInt8Ty(), scratch, {i64(scratch_bytes)}), ty);
    scratch_bytes += (bytes + 63) / 64 * 64;
    return p;
  };
  // Shared memory: one block of the planned size; buffers at their planned offsets (buffers
  // with disjoint lifetimes share bytes, as on the GPU).
  llvm::Value* smem = k_.shared_bytes > 0 ? storage(k_.shared_bytes, b_.getInt8Ty()) : nullptr;
  for (const Allocate* a : allocs) {
    const Buffer& buf = a->buffer;
    if (buffers_.count(buf.get()) || buf->view_of) {
      continue; // views get their base where they are declared (bind_view)
    }
    const std::int64_t numel = storage_numel(buf);
    if (numel < 0) {
      unsupported(buf->loc, "a " + std::string(scope_name(buf->scope)) + " buffer '" + buf->name +
                                "' with a dynamic shape");
    }
    BufInfo info;
    info.numel = numel;
    if (buf->scope == Scope::shared) {
      if (a->offset < 0 || smem == nullptr) {
        throw InternalError("CPU translation: shared buffer '" + buf->name + "' was not planned");
      }
      info.base = tessera::internal::cast_ptr(
          b_, b_.CreateInBoundsGEP(b_.getInt8Ty(), smem, {i64(a->offset)}),
          storage_type(buf->dtype));
    } else if (buf->scope == Scope::local) {
      info.per_thread = analysis_.varying_local(buf.get());
      const std::int64_t count = numel * (info.per_thread ? k_.threads : 1);
      info.base = storage(count * static_cast<std::int64_t>(dtype_size(buf->dtype)),
                          storage_type(buf->dtype));
    } else {
      throw InternalError(fmt::format("CPU translation: {} buffer '{}' in lowered IR",
                                      scope_name(buf->scope), buf->name));
    }
    set_dense_strides(buf, info);
    buffers_[buf.get()] = std::move(info);
  }
  ep_.scratch_bytes = static_cast<std::size_t>(scratch_bytes);
}

void Translator::set_dense_strides(const Buffer& buf, BufInfo& info) {
  std::int64_t stride = 1;
  const std::vector<std::int64_t> shape = const_shape(buf);
  info.strides.resize(shape.size());
  info.extents.resize(shape.size());
  for (std::size_t d = shape.size(); d-- > 0;) {
    info.strides[d] = i64(stride);
    info.extents[d] = i64(shape[d]);
    stride *= d + 1 == shape.size() ? storage_row_pitch(buf) : shape[d];
  }
}

void Translator::bind_view(const Buffer& buf) {
  if (!buf->view_of) {
    return;
  }
  const auto parent = buffers_.find(buf->view_of.get());
  if (parent == buffers_.end()) {
    throw InternalError("CPU translation: view '" + buf->name + "' of an unplaced buffer");
  }
  BufInfo info;
  info.numel = storage_numel(buf);
  llvm::Value* offset = b_.CreateSExt(expr(buf->view_offset), b_.getInt64Ty());
  info.base = b_.CreateInBoundsGEP(storage_type(buf->dtype), parent->second.base, {offset});
  set_dense_strides(buf, info);
  buffers_[buf.get()] = std::move(info);
}

void Translator::build_block_fn() {
  llvm::Type* vp = tessera::internal::void_ptr_type(ctx_);
  llvm::Type* i64t = b_.getInt64Ty();
  auto* fty = llvm::FunctionType::get(b_.getVoidTy(),
                                      {tessera::internal::ptr_to(vp), i64t, i64t, i64t, vp}, false);
  auto* fn = llvm::Function::Create(fty, llvm::Function::ExternalLinkage, ep_.block_fn, *module_);
  fn->addParamAttr(4, llvm::Attribute::NoAlias);
  entry_ = llvm::BasicBlock::Create(ctx_, "entry", fn);
  b_.SetInsertPoint(entry_);
  for (int axis = 0; axis < 3; ++axis) {
    block_idx_[axis] = fn->getArg(static_cast<unsigned>(1 + axis));
  }
  bind_arguments(fn->getArg(0));
  allocate_buffers(fn->getArg(4));
  block_level(k_.body, 0, k_.threads);
  b_.CreateRetVoid();
}

std::unique_ptr<llvm::Module> Translator::run() {
  module_ = std::make_unique<llvm::Module>("tessera_cpu_" + sanitize(k_.name), ctx_);
  ep_.block_fn = "tessera_" + sanitize(k_.name) + "_block";
  build_block_fn();
  return std::move(module_);
}

} // namespace tessera::codegen::cpu_internal

namespace tessera::codegen {

std::unique_ptr<llvm::Module> translate_to_llvm(const ir::Kernel& lowered,
                                                llvm::LLVMContext& context,
                                                CpuEntryPoints& entry_points) {
  return cpu_internal::Translator(lowered, context, entry_points).run();
}

} // namespace tessera::codegen
