#include "dsl/verifier.h"

#include "base/error.h"
#include "ir/verify_context.h"
#include "ir/visitor.h"

#include <fmt/format.h>
#include <map>
#include <unordered_map>
#include <unordered_set>

namespace tessera::ir {

namespace {

// The shared memory a block may use on sm_90 (227 KiB of the 228 KiB per SM). The codegen may
// add scratch of its own, so the launcher checks the device's exact limit again.
constexpr std::int64_t kMaxSharedBytes = 227 * 1024;
constexpr int kMaxClusterSize = 8; // the portable cluster size limit

// ---------------------------------------------------------------------------------------------
// Small analyses
// ---------------------------------------------------------------------------------------------

/** Whether an expression has the same value in every thread of the block: it may not read
 *  thread_idx, per-thread (local) buffers, warp shuffles, or loop variables of loops whose
 *  bounds are themselves per-thread. */
class UniformCheck : public IRVisitor {
public:
  explicit UniformCheck(const std::unordered_set<const ExprNode*>& varying) : varying_(varying) {}
  bool uniform = true;

protected:
  void visit_var(const Var* op) override {
    if (op->var_kind == VarKind::thread_idx || varying_.count(op)) {
      uniform = false;
    }
  }
  void visit_load(const Load* op) override {
    if (op->buffer->scope == Scope::local) {
      uniform = false;
    }
    IRVisitor::visit_load(op);
  }
  void visit_call(const Call* op) override {
    if (is_warp_op(op->op)) {
      uniform = false;
    }
    IRVisitor::visit_call(op);
  }

private:
  const std::unordered_set<const ExprNode*>& varying_;
};

/** Finds the first statement or warp call in a subtree that needs whole warps to take part. */
class FindCollective : public IRVisitor {
public:
  const char* found = nullptr;

private:
  std::string name_;

protected:
  void visit_tile_op(const TileOp* op) override {
    if (!found) {
      name_ = op->op_name();
      found = name_.c_str();
    }
  }
  void visit_barrier(const Barrier*) override { found = found ? found : "barrier"; }
  void visit_parallel(const Parallel* op) override {
    found = found ? found : "parallel";
    IRVisitor::visit_parallel(op);
  }
  void visit_call(const Call* op) override {
    if (is_warp_op(op->op) && !found) {
      found = call_op_name(op->op);
    }
    IRVisitor::visit_call(op);
  }
};

/** Collects the dynamic dims that appear in an expression. */
class CollectDims : public IRVisitor {
public:
  std::unordered_set<const ExprNode*> dims;

protected:
  void visit_var(const Var* op) override {
    if (op->var_kind == VarKind::dim) {
      dims.insert(op);
    }
  }
};

/** For each (buffer, dimension) a statement subtree stores to: the one index expression every
 *  store there uses, or null where they use different ones. */
class StoreIndices : public IRVisitor {
public:
  std::map<std::pair<const BufferNode*, std::size_t>, const ExprNode*> index;

protected:
  void visit_store(const Store* op) override {
    for (std::size_t d = 0; d < op->indices.size(); ++d) {
      const ExprNode* e = op->indices[d].get();
      auto [it, inserted] = index.try_emplace({op->buffer.get(), d}, e);
      if (!inserted && it->second != e) {
        it->second = nullptr;
      }
    }
    IRVisitor::visit_store(op);
  }
};

std::string extents_string(const std::vector<std::int64_t>& extents) {
  std::string s = "{";
  for (std::size_t i = 0; i < extents.size(); ++i) {
    s += (i ? ", " : "") + std::to_string(extents[i]);
  }
  return s + "}";
}

// ---------------------------------------------------------------------------------------------
// Kernel-level checks (launch shape, parameters)
// ---------------------------------------------------------------------------------------------

/** Atomics: global or shared buffers, element types the hardware supports natively. */
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
  ctx.check_indices(op->loc, b, op->indices, what);
  ctx.check_writable(op->loc, b, what);
  ctx.check_value_type(op->loc, b, op->value, what);
}

SourceLoc launch_loc(const Kernel& k) {
  return k.body.defined() && k.body->loc.line > 0 ? k.body->loc : k.loc;
}

void check_threads(const VerifyContext& ctx, const Kernel& k) {
  if (k.threads < 32 || k.threads > 1024 || k.threads % 32 != 0) {
    ctx.fail(launch_loc(k),
             fmt::format("threads({}) must be a multiple of 32 in [32, 1024]", k.threads));
  }
}

void check_grid(const VerifyContext& ctx, const Kernel& k) {
  if (k.grid.empty() || k.grid.size() > 3) {
    ctx.fail(launch_loc(k),
             fmt::format("the grid has {} dimensions; it needs 1 to 3", k.grid.size()));
  }
  for (std::size_t i = 0; i < k.grid.size(); ++i) {
    const Expr& e = k.grid[i];
    if (!e.defined() || !is_integer(e.type())) {
      ctx.fail(launch_loc(k), fmt::format("grid dimension {} must be an integer expression", i));
    }
    if (const IntImm* imm = e.as<IntImm>(); imm && imm->value <= 0) {
      ctx.fail(launch_loc(k),
               fmt::format("grid dimension {} is {}; it must be positive", i, imm->value));
    }
  }
}

void check_cluster(const VerifyContext& ctx, const Kernel& k) {
  if (k.cluster.empty()) {
    return;
  }
  if (k.cluster.size() > 3) {
    ctx.fail(launch_loc(k),
             fmt::format("cluster has {} dimensions; it needs 1 to 3", k.cluster.size()));
  }
  int size = 1;
  for (std::size_t i = 0; i < k.cluster.size(); ++i) {
    const int c = k.cluster[i];
    if (c < 1 || c > kMaxClusterSize) {
      ctx.fail(launch_loc(k), fmt::format("cluster dimension {} is {}; it must be in [1, {}]", i, c,
                                          kMaxClusterSize));
    }
    size *= c;
    // A missing grid dimension has extent 1; a dynamic one is checked at launch.
    const IntImm* g = i < k.grid.size() ? k.grid[i].as<IntImm>() : nullptr;
    const std::int64_t extent = i < k.grid.size() ? (g ? g->value : -1) : 1;
    if (extent > 0 && extent % c != 0) {
      ctx.fail(launch_loc(k), fmt::format("cluster dimension {} ({}) does not divide grid "
                                          "dimension {} ({})",
                                          i, c, i, extent));
    }
  }
  if (size > kMaxClusterSize) {
    ctx.fail(launch_loc(k), fmt::format("cluster of {} blocks exceeds the portable limit of {}",
                                        size, kMaxClusterSize));
  }
}

void check_params(const VerifyContext& ctx, const Kernel& k) {
  std::unordered_set<std::string> names;
  CollectDims used;
  for (const Param& p : k.params) {
    if (!names.insert(p.name).second) {
      ctx.fail(k.loc, fmt::format("two parameters are named '{}'", p.name));
    }
    if (p.kind == Param::Kind::tensor) {
      if (!p.buffer || p.buffer->scope != Scope::global) {
        throw InternalError(
            fmt::format("kernel '{}': tensor parameter '{}' has no global buffer", k.name, p.name));
      }
      for (const Expr& e : p.buffer->shape) {
        used.visit(e);
      }
      continue;
    }
    const Var* v = p.var.as<Var>();
    if (v == nullptr || v->var_kind != VarKind::scalar || v->type != p.dtype) {
      ctx.fail(k.loc, fmt::format("scalar parameter '{}' must be a scalar variable of type {}",
                                  p.name, dtype_name(p.dtype)));
    }
  }
  for (const DynamicDim& d : k.dims) {
    const Var* v = d.var.as<Var>();
    if (v == nullptr || v->var_kind != VarKind::dim || v->type != DType::i32) {
      ctx.fail(k.loc, fmt::format("dynamic dim '{}' must be an i32 dim variable", d.name));
    }
    if (!used.dims.count(v)) {
      ctx.fail(k.loc, fmt::format("dynamic dim '{}' is used by no tensor shape, so it cannot be "
                                  "bound at launch; pass it as a scalar() instead",
                                  d.name));
    }
  }
}

// ---------------------------------------------------------------------------------------------
// The statement walk
// ---------------------------------------------------------------------------------------------

/** Walks the body tracking what is in scope (loop variables, live buffers), the control context
 *  (parallel loop, thread ranges, branches that differ between threads) and the live shared
 *  memory; each statement kind gets its checks from here or from verifier_ops. */
class Verifier : public IRVisitor {
public:
  explicit Verifier(const Kernel& k) : k_(k), ctx_{k} {
    for (const Param& p : k.params) {
      if (p.kind == Param::Kind::tensor) {
        params_.insert(p.buffer.get());
      } else {
        scalars_.insert(p.var.get());
      }
    }
    for (const DynamicDim& d : k.dims) {
      dims_.insert(d.var.get());
    }
  }

  void check_grid_exprs() {
    loc_ = launch_loc(k_);
    for (const Expr& e : k_.grid) {
      in_grid_ = true;
      visit(e);
      in_grid_ = false;
    }
  }

  void run() {
    if (!k_.body.defined()) {
      ctx_.fail(k_.loc, "the kernel has no body; call launch()");
    }
    visit(k_.body);
  }

protected:
  // ----------------------------------------------------------------------- expressions

  void visit_var(const Var* op) override {
    if (op->type != DType::i32 && op->var_kind != VarKind::scalar) {
      ctx_.fail(loc_, fmt::format("variable '{}' has type {}; loop variables, dims and thread / "
                                  "block indices are i32",
                                  op->name, dtype_name(op->type)));
    }
    if (in_grid_ && op->var_kind != VarKind::dim && op->var_kind != VarKind::scalar) {
      ctx_.fail(loc_, fmt::format("the grid uses '{}'; grid extents may only use constants, dims "
                                  "and scalar parameters",
                                  op->name));
    }
    switch (op->var_kind) {
    case VarKind::loop:
      if (!loop_vars_.count(op)) {
        ctx_.fail(loc_, fmt::format("loop variable '{}' is used outside its loop", op->name));
      }
      return;
    case VarKind::dim:
      if (!dims_.count(op)) {
        ctx_.fail(loc_, fmt::format("dim '{}' belongs to another kernel", op->name));
      }
      return;
    case VarKind::scalar:
      if (!scalars_.count(op)) {
        ctx_.fail(loc_, fmt::format("scalar '{}' belongs to another kernel", op->name));
      }
      return;
    case VarKind::block_idx:
      if (op->axis < 0 || op->axis >= static_cast<int>(k_.grid.size())) {
        ctx_.fail(loc_, fmt::format("'{}' is used but the grid has {} dimension(s)", op->name,
                                    k_.grid.size()));
      }
      return;
    case VarKind::thread_idx:
      return;
    }
  }

  void visit_load(const Load* op) override {
    if (in_grid_) {
      ctx_.fail(loc_, fmt::format("the grid reads buffer '{}'; grid extents may only use "
                                  "constants, dims and scalar parameters",
                                  op->buffer->name));
    }
    check_buffer_in_scope(op->buffer);
    ctx_.check_indices(loc_, op->buffer, op->indices, "read");
    check_parallel_indices(op->buffer, op->indices, false);
    IRVisitor::visit_load(op);
  }

  // ----------------------------------------------------------------------- statements

  void visit_block(const Block* op) override {
    scopes_.emplace_back();
    IRVisitor::visit_block(op);
    for (const Buffer& b : scopes_.back()) {
      live_.erase(b.get());
      shared_bytes_ -= shared_cost_.at(b.get());
    }
    scopes_.pop_back();
  }

  void visit_allocate(const Allocate* op) override {
    loc_ = op->loc;
    const Buffer& b = op->buffer;
    if (b->scope == Scope::global) {
      ctx_.fail(loc_, fmt::format("'{}' is allocated in global scope; global tensors are kernel "
                                  "parameters",
                                  b->name));
    }
    if (!allocated_.insert(b.get()).second) {
      ctx_.fail(loc_, fmt::format("buffer '{}' (declared at {}) is allocated twice", b->name,
                                  b->loc.str()));
    }
    if (parallel_ && b->scope != Scope::local) {
      ctx_.fail(loc_, fmt::format("{} is allocated inside the parallel loop at {}; only local "
                                  "buffers can be declared in a parallel body",
                                  describe(b), parallel_->loc.str()));
    }
    if (const_numel(b) <= 0) {
      ctx_.fail(loc_, fmt::format("{} needs positive constant extents", describe(b)));
    }
    if (parallel_) {
      parallel_locals_.insert(b.get());
    }
    if (scopes_.empty()) {
      scopes_.emplace_back(); // an Allocate outside any Block: give it the kernel's lifetime
    }
    scopes_.back().push_back(b);
    live_.insert(b.get());
    account_shared(b);
  }

  void visit_for(const For* op) override {
    loc_ = op->loc;
    const Var* v = op->var.as<Var>();
    if (v == nullptr || v->var_kind != VarKind::loop) {
      ctx_.fail(loc_, "the loop variable must be a Var of kind loop");
    }
    for (const Expr* e : {&op->min, &op->extent}) {
      if (!e->defined() || !is_integer(e->type())) {
        ctx_.fail(loc_, fmt::format("loop '{}': bounds must be integer expressions", v->name));
      }
      visit(*e);
    }
    if (op->for_kind == ForKind::unrolled && !op->extent.as<IntImm>()) {
      ctx_.fail(loc_, fmt::format("unrolled loop '{}' needs a constant extent", v->name));
    }
    if (op->for_kind == ForKind::pipelined && op->stages < 1) {
      ctx_.fail(loc_, fmt::format("pipelined loop '{}' has {} stages; it needs at least 1", v->name,
                                  op->stages));
    }
    const bool varying = !is_uniform(op->min) || !is_uniform(op->extent);
    bind_loop_var(op->var, varying);
    if (varying) {
      divergent_.push_back(op);
    }
    const int saved_stages = pipeline_stages_;
    if (op->for_kind == ForKind::pipelined) {
      pipeline_stages_ = op->stages;
    }
    visit(op->body);
    pipeline_stages_ = saved_stages;
    if (varying) {
      divergent_.pop_back();
    }
    unbind_loop_var(op->var);
  }

  void visit_parallel(const Parallel* op) override {
    loc_ = op->loc;
    check_collective(op, "parallel");
    for (std::size_t i = 0; i < op->vars.size(); ++i) {
      const Var* v = op->vars[i].as<Var>();
      if (v == nullptr || v->var_kind != VarKind::loop) {
        ctx_.fail(loc_, "parallel loop variables must be Vars of kind loop");
      }
      if (i >= op->extents.size() || op->extents[i] <= 0) {
        ctx_.fail(loc_, fmt::format("parallel extent {} must be positive", i));
      }
      bind_loop_var(op->vars[i], true);
    }
    parallel_ = op;
    parallel_guards_ = 0;
    StoreIndices stores;
    stores.visit(op->body);
    parallel_stores_ = std::move(stores.index);
    visit(op->body);
    parallel_ = nullptr;
    parallel_locals_.clear();
    parallel_stores_.clear();
    for (const Expr& v : op->vars) {
      unbind_loop_var(v);
    }
  }

  void visit_if(const IfThenElse* op) override {
    loc_ = op->loc;
    if (!op->cond.defined() || op->cond.type() != DType::boolean) {
      ctx_.fail(loc_, "if_() needs a boolean condition");
    }
    visit(op->cond);
    const bool varying = !is_uniform(op->cond);
    if (varying) {
      divergent_.push_back(op);
    }
    parallel_guards_ += parallel_ ? 1 : 0;
    visit(op->then_case);
    visit(op->else_case);
    parallel_guards_ -= parallel_ ? 1 : 0;
    if (varying) {
      divergent_.pop_back();
    }
  }

  void visit_thread_range(const ThreadRange* op) override {
    loc_ = op->loc;
    if (parallel_) {
      ctx_.fail(loc_, fmt::format("thread_range inside the parallel loop at {}: which thread runs "
                                  "an iteration is the compiler's choice",
                                  parallel_->loc.str()));
    }
    const int lo = thread_ranges_.empty() ? 0 : thread_ranges_.back()->begin;
    const int hi = thread_ranges_.empty() ? k_.threads : thread_ranges_.back()->end;
    if (op->begin < lo || op->end > hi || op->begin >= op->end) {
      ctx_.fail(loc_, fmt::format("thread_range({}, {}) is not a non-empty part of [{}, {})",
                                  op->begin, op->end, lo, hi));
    }
    FindCollective fc;
    fc.visit(op->body);
    if (fc.found && (op->begin % 32 != 0 || op->end % 32 != 0)) {
      ctx_.fail(loc_, fmt::format("thread_range({}, {}) contains {}, so its bounds must be "
                                  "multiples of 32 (whole warps)",
                                  op->begin, op->end, fc.found));
    }
    thread_ranges_.push_back(op);
    visit(op->body);
    thread_ranges_.pop_back();
  }

  void visit_store(const Store* op) override {
    loc_ = op->loc;
    check_buffer_in_scope(op->buffer);
    ctx_.check_indices(loc_, op->buffer, op->indices, "store");
    check_parallel_indices(op->buffer, op->indices, true);
    ctx_.check_writable(loc_, op->buffer, "store");
    ctx_.check_value_type(loc_, op->buffer, op->value, "store");
    if (parallel_ && op->buffer->scope == Scope::local &&
        !parallel_locals_.count(op->buffer.get())) {
      ctx_.fail(loc_, fmt::format("local '{}' (declared at {}) is written inside the parallel loop "
                                  "at {}: iterations run on different threads in any order; "
                                  "declare it inside the loop body or use a fragment",
                                  op->buffer->name, op->buffer->loc.str(), parallel_->loc.str()));
    }
    IRVisitor::visit_store(op);
  }

  void visit_tile_op(const TileOp* op) override {
    loc_ = op->loc;
    const std::string name = op->op_name();
    check_collective(op, name.c_str());
    for (const Operand& o : op->operands()) {
      check_buffer_in_scope(o.region.buffer);
    }
    op->verify(ctx_);
    IRVisitor::visit_tile_op(op);
  }

  void visit_atomic(const Atomic* op) override {
    loc_ = op->loc;
    check_buffer_in_scope(op->buffer);
    check_atomic(ctx_, op);
    check_parallel_indices(op->buffer, op->indices, false);
    IRVisitor::visit_atomic(op);
  }

  void visit_barrier(const Barrier* op) override {
    loc_ = op->loc;
    const bool cluster = op->scope == BarrierScope::cluster;
    check_collective(op, cluster ? "cluster_barrier" : "barrier");
    int cluster_size = 1;
    for (const int c : k_.cluster) {
      cluster_size *= c;
    }
    if (cluster && cluster_size < 2) {
      ctx_.fail(loc_, "cluster_barrier in a kernel without a cluster of two or more blocks: "
                      "declare one with KernelBuilder::cluster({...}), or use barrier()");
    }
    if (!thread_ranges_.empty()) {
      ctx_.fail(loc_, fmt::format("barrier inside thread_range({}, {}) at {}: every thread of the "
                                  "block must reach a barrier",
                                  thread_ranges_.back()->begin, thread_ranges_.back()->end,
                                  thread_ranges_.back()->loc.str()));
    }
  }

  void visit_pdl_wait(const PdlWait* op) override { loc_ = op->loc; }
  void visit_pdl_trigger(const PdlTrigger* op) override { loc_ = op->loc; }

private:
  bool is_uniform(const Expr& e) const {
    UniformCheck u(varying_vars_);
    u.visit(e);
    return u.uniform;
  }

  void bind_loop_var(const Expr& var, bool varying) {
    const Var* v = var.as<Var>();
    if (v->type != DType::i32) {
      ctx_.fail(loc_, fmt::format("loop variable '{}' has type {}; it must be i32", v->name,
                                  dtype_name(v->type)));
    }
    if (!loop_vars_.insert(v).second) {
      ctx_.fail(loc_, fmt::format("loop variable '{}' is bound by two nested loops", v->name));
    }
    if (varying) {
      varying_vars_.insert(v);
    }
  }

  void unbind_loop_var(const Expr& var) {
    loop_vars_.erase(var.get());
    varying_vars_.erase(var.get());
  }

  /** Collective ops must be reached by every participating thread: never inside a parallel
   *  body, nor under a branch or loop bound that differs between threads. */
  void check_collective(const StmtNode* op, const char* what) {
    if (parallel_) {
      ctx_.fail(op->loc, fmt::format("{} inside the parallel loop at {}: a parallel body is "
                                     "elementwise and cannot contain collective ops (copy, fill, "
                                     "reduce, gemm, barrier, parallel)",
                                     what, parallel_->loc.str()));
    }
    if (!divergent_.empty()) {
      const StmtNode* d = divergent_.back();
      ctx_.fail(op->loc,
                fmt::format("{} under the {} at {}, whose {} may differ between threads: "
                            "collective ops must be reached by all threads; use "
                            "thread_range() to select threads",
                            what, d->kind == StmtKind::For ? "loop" : "branch", d->loc.str(),
                            d->kind == StmtKind::For ? "bounds" : "condition"));
    }
  }

  void check_buffer_in_scope(const Buffer& b) {
    if (b->scope == Scope::global) {
      if (!params_.count(b.get())) {
        ctx_.fail(loc_, fmt::format("tensor '{}' is not a parameter of this kernel", b->name));
      }
      return;
    }
    if (live_.count(b.get())) {
      return;
    }
    if (allocated_.count(b.get())) {
      ctx_.fail(loc_, fmt::format("buffer '{}' (declared at {}) is used outside the block where "
                                  "it was allocated",
                                  b->name, b->loc.str()));
    }
    ctx_.fail(loc_, fmt::format("buffer '{}' (declared at {}) is used before its allocation",
                                b->name, b->loc.str()));
  }

  /** Inside a parallel loop, an index that is exactly one of the loop's variables runs over the
   *  loop's extent, which must fit the buffer's dimension: a larger extent reaches past it
   *  (refused unless an if_() inside the loop may guard the access), and a fragment whose stores
   *  in the loop all index that dimension by the variable alone, over a smaller extent, is left
   *  partly unwritten (the CPU target would run it so; the CUDA lowering refuses it later, and
   *  without the extents, once the fragment is distributed over threads). Other index
   *  expressions (`h + 32`, `63 - h`), smaller extents in reads and in shared or local stores
   *  are legitimate and not checked. */
  void check_parallel_indices(const Buffer& b, const std::vector<Expr>& indices, bool store) {
    if (parallel_ == nullptr || b->scope == Scope::global) {
      return;
    }
    const Parallel* p = parallel_;
    for (std::size_t d = 0; d < indices.size(); ++d) {
      for (std::size_t k = 0; k < p->vars.size() && k < p->extents.size(); ++k) {
        if (!indices[d].same_as(p->vars[k])) {
          continue;
        }
        const std::int64_t extent = p->extents[k];
        const std::int64_t dim = const_extent(b, static_cast<int>(d));
        const std::string var = p->vars[k].as<Var>()->name;
        if (dim < 0 || extent == dim) {
          continue;
        }
        if (extent > dim && parallel_guards_ == 0) {
          ctx_.fail(p->loc,
                    fmt::format("parallel({}) indexes dimension {} of {} (declared at {}) with "
                                "its loop variable '{}', whose extent {} is larger than the "
                                "dimension's {}: iterations {} to {} access '{}' out of range; "
                                "make the parallel extent {}, or guard the access with if_()",
                                extents_string(p->extents), d, describe(b), b->loc.str(), var,
                                extent, dim, dim, extent - 1, b->name, dim));
        }
        const auto it = parallel_stores_.find({b.get(), d});
        if (extent < dim && store && b->scope == Scope::fragment && it != parallel_stores_.end() &&
            it->second == indices[d].get()) {
          ctx_.fail(p->loc,
                    fmt::format("parallel({}) writes {} (declared at {}) indexing dimension {} "
                                "with its loop variable '{}', whose extent {} is smaller than the "
                                "dimension's {}: the loop never writes elements {} to {} of that "
                                "dimension; make the parallel extent {} (the fragment's shape), or "
                                "declare '{}' with extent {}",
                                extents_string(p->extents), describe(b), b->loc.str(), d, var,
                                extent, dim, extent, dim - 1, dim, b->name, extent));
        }
      }
    }
  }

  /** Shared buffers in a pipelined loop get one copy per stage; allocations are rounded to the
   *  16 bytes the shared-memory planner aligns them to. */
  void account_shared(const Buffer& b) {
    std::int64_t bytes = 0;
    if (b->scope == Scope::shared) {
      bytes = (const_numel(b) * static_cast<std::int64_t>(dtype_size(b->dtype)) + 15) / 16 * 16;
      bytes *= pipeline_stages_;
    }
    shared_cost_[b.get()] = bytes;
    shared_bytes_ += bytes;
    if (shared_bytes_ > kMaxSharedBytes) {
      ctx_.fail(loc_, fmt::format("shared buffer '{}' ({} bytes{}) brings the live shared memory "
                                  "to {} bytes, over the {} bytes ({} KiB) a block can use",
                                  b->name, bytes,
                                  pipeline_stages_ > 1
                                      ? fmt::format(", {} pipeline stages", pipeline_stages_)
                                      : "",
                                  shared_bytes_, kMaxSharedBytes, kMaxSharedBytes / 1024));
    }
  }

  const Kernel& k_;
  VerifyContext ctx_;
  SourceLoc loc_;
  bool in_grid_ = false;

  std::unordered_set<const BufferNode*> params_;
  std::unordered_set<const ExprNode*> scalars_, dims_;

  std::unordered_set<const ExprNode*> loop_vars_, varying_vars_;
  std::vector<std::vector<Buffer>> scopes_;
  std::unordered_set<const BufferNode*> live_, allocated_;
  std::unordered_map<const BufferNode*, std::int64_t> shared_cost_;
  std::int64_t shared_bytes_ = 0;
  int pipeline_stages_ = 1;

  const Parallel* parallel_ = nullptr;
  std::unordered_set<const BufferNode*> parallel_locals_;
  int parallel_guards_ = 0; ///< if_() statements entered inside the parallel body
  std::map<std::pair<const BufferNode*, std::size_t>, const ExprNode*> parallel_stores_;
  std::vector<const ThreadRange*> thread_ranges_;
  std::vector<const StmtNode*> divergent_;
};

} // namespace

void verify(const Kernel& kernel) {
  const VerifyContext ctx{kernel};
  check_threads(ctx, kernel);
  check_grid(ctx, kernel);
  check_cluster(ctx, kernel);
  check_params(ctx, kernel);
  Verifier v(kernel);
  v.check_grid_exprs();
  v.run();
}

} // namespace tessera::ir
