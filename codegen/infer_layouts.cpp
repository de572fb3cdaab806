#include "codegen/infer_layouts.h"

#include "base/error.h"
#include "ir/layout.h"
#include "ir/printer.h"
#include "ir/util.h"
#include "ir/visitor.h"
#include "ops/copy.h"
#include "ops/tile_op.h"

#include <fmt/format.h>
#include <numeric>
#include <set>

namespace tessera::codegen {

using namespace ir;
using ops::Copy;

namespace {

/** True if `idx` is exactly the loop variables of `op`, in order, over the buffer's own shape:
 *  the access pattern that lets a loop follow a mapped layout register by register. */
bool indexes_by_loop(const Parallel* op, const Buffer& b, const std::vector<Expr>& idx) {
  if (idx.size() != op->vars.size() || b->shape.size() != idx.size()) {
    return false;
  }
  for (std::size_t d = 0; d < idx.size(); ++d) {
    if (!same_var(idx[d], op->vars[d]) || const_extent(b, static_cast<int>(d)) != op->extents[d]) {
      return false;
    }
  }
  return true;
}

/** The mapped layout a parallel loop follows: that of the first fragment with a mapped layout
 *  it accesses by exactly its loop variables (nullptr: none). */
const Layout* loop_mapped_layout(const Parallel* op,
                                 const std::map<const BufferNode*, Layout>& layouts) {
  const Layout* found = nullptr;
  for_each_access(op->body, [&](const Buffer& b, const std::vector<Expr>& idx, bool) {
    if (found != nullptr || b->scope != Scope::fragment) {
      return;
    }
    auto it = layouts.find(b.get());
    if (it != layouts.end() && it->second.kind == LayoutKind::mapped &&
        indexes_by_loop(op, b, idx)) {
      found = &it->second;
    }
  });
  return found;
}

using ops::Participants;

struct FragmentInfo {
  Buffer buffer;
  Participants where{};
  bool candidate = false;      ///< wants the distributed layout
  int global_bytes = 0;        ///< widest global element type copied to/from it
  std::optional<Layout> fixed; ///< imposed by another lowering (gemm)
};

// ---------------------------------------------------------------------------------------------
// Phase 1: collect what each fragment wants
// ---------------------------------------------------------------------------------------------

class Collector {
public:
  explicit Collector(const Kernel& k) : kernel_(k) {}

  std::map<const BufferNode*, FragmentInfo> frags;
  std::vector<const BufferNode*> order; ///< declaration order (deterministic)
  std::vector<std::pair<const BufferNode*, const BufferNode*>> links;

  void run() {
    walk(kernel_.body, Participants{kernel_.threads, 0});
    propagate();
  }

  const BufferNode* find(const BufferNode* b) {
    while (parent_.count(b) && parent_[b] != b) {
      b = parent_[b];
    }
    return b;
  }

private:
  /** What the ops ask for, recorded into the collector. */
  class Requests final : public ops::LayoutRequests {
  public:
    Requests(Collector& c, Participants p) : c_(c), p_(p) {}
    const std::string& kernel_name() const override { return c_.kernel_.name; }
    ops::Participants participants() const override { return p_; }
    void global_access(const Buffer& frag, int bytes) override {
      auto& info = c_.frags.at(frag.get());
      info.global_bytes = std::max(info.global_bytes, bytes);
    }
    void distribute(const Buffer& frag) override { c_.frags.at(frag.get()).candidate = true; }
    void same_partition(const Buffer& a, const Buffer& b) override {
      c_.links.emplace_back(a.get(), b.get());
    }
    void fix(const Buffer& b, Layout layout) override { c_.frags.at(b.get()).fixed = layout; }

  private:
    Collector& c_;
    Participants p_;
  };

  void unite(const BufferNode* a, const BufferNode* b) {
    parent_.try_emplace(a, a);
    parent_.try_emplace(b, b);
    a = find(a);
    b = find(b);
    if (a != b) {
      parent_[b] = a;
    }
  }

  void walk(const Stmt& s, Participants p) {
    if (!s.defined()) {
      return;
    }
    switch (s.kind()) {
    case StmtKind::Block:
      for (const Stmt& c : s.as<Block>()->stmts) {
        walk(c, p);
      }
      return;
    case StmtKind::Allocate: {
      const Buffer& b = s.as<Allocate>()->buffer;
      if (b->scope == Scope::fragment) {
        frags[b.get()] = FragmentInfo{b, p};
        order.push_back(b.get());
      }
      return;
    }
    case StmtKind::For:
      walk(s.as<For>()->body, p);
      return;
    case StmtKind::IfThenElse:
      walk(s.as<IfThenElse>()->then_case, p);
      walk(s.as<IfThenElse>()->else_case, p);
      return;
    case StmtKind::ThreadRange: {
      const ThreadRange* op = s.as<ThreadRange>();
      walk(op->body, Participants{op->end - op->begin, op->begin});
      return;
    }
    case StmtKind::Parallel:
      parallel(s.as<Parallel>());
      return;
    case StmtKind::TileOp:
      if (const auto* op = s.as<ops::TileOpNode>()) {
        Requests r(*this, p);
        op->request_layouts(r);
      }
      return;
    default:
      return;
    }
  }

  void parallel(const Parallel* op) {
    const Expr& inner = op->vars.back();
    const std::int64_t extent = op->extents.back();
    const BufferNode* first = nullptr;
    for_each_access(op->body, [&](const Buffer& b, const std::vector<Expr>& idx, bool) {
      if (b->scope != Scope::fragment || idx.empty()) {
        return;
      }
      if (same_var(idx.back(), inner) &&
          const_extent(b, static_cast<int>(idx.size()) - 1) == extent) {
        auto& info = frags.at(b.get());
        info.candidate = true;
        if (first) {
          unite(first, b.get());
        } else {
          first = b.get();
          unite(first, first);
        }
      }
    });
  }

  void propagate() {
    for (bool changed = true; changed;) {
      changed = false;
      for (auto [a, b] : links) {
        if (frags.at(a).candidate != frags.at(b).candidate) {
          frags.at(a).candidate = frags.at(b).candidate = true;
          changed = true;
        }
        if (frags.at(a).candidate && find(a) != find(b)) {
          unite(a, b);
          changed = true;
        }
      }
    }
  }

  const Kernel& kernel_;
  std::map<const BufferNode*, const BufferNode*> parent_;
};

std::string where(const Kernel& k, const Buffer& b) {
  return fmt::format("kernel '{}', {}", k.name, b->loc.str());
}

// ---------------------------------------------------------------------------------------------
// Phase 3: reads that do not follow a fragment's partition go through shared memory
// ---------------------------------------------------------------------------------------------

class RoundTrips {
public:
  RoundTrips(const Kernel& k, const std::map<const BufferNode*, Layout>& layouts,
             const std::set<const BufferNode*>& defaulted)
      : kernel_(k), layouts_(layouts), defaulted_(defaulted) {}

  Stmt run(const Stmt& s) { return rewrite(s); }

private:
  bool distributed(const Buffer& b) const {
    auto it = layouts_.find(b.get());
    return it != layouts_.end() && it->second.kind != LayoutKind::replicated;
  }

  /** Fragments `op` reads against their partition, in first-use order. */
  std::vector<Buffer> parallel_conflicts(const Parallel* op) {
    const Expr& inner = op->vars.back();
    // A loop over a mapped fragment (the mma accumulator) runs on its registers; only fragments
    // with the same mapped layout, indexed by the loop variables, follow it.
    const Layout* mapped = loop_mapped_layout(op, layouts_);
    bool is_distributed = mapped != nullptr;
    if (mapped == nullptr) {
      for_each_access(op->body, [&](const Buffer& b, const std::vector<Expr>& idx, bool) {
        if (distributed(b) && same_var(idx.back(), inner) &&
            layouts_.at(b.get()).last_extent() == op->extents.back()) {
          is_distributed = true;
        }
      });
    }
    auto follows_loop = [&](const Buffer& b, const std::vector<Expr>& idx) {
      const Layout& l = layouts_.at(b.get());
      if (mapped != nullptr) {
        return l.same_partition(*mapped) && indexes_by_loop(op, b, idx);
      }
      return is_distributed && l.kind == LayoutKind::distributed && same_var(idx.back(), inner) &&
             l.last_extent() == op->extents.back();
    };
    std::vector<Buffer> out;
    for_each_access(op->body, [&](const Buffer& b, const std::vector<Expr>& idx, bool store) {
      if (b->scope == Scope::fragment && !distributed(b) && store && is_distributed) {
        throw UserError(fmt::format(
            "fragment '{}' ({}) is written inside the parallel loop at {}, whose iterations are "
            "split over threads, but not indexed by the loop's innermost variable: each thread "
            "would update only its own copy. Index its last dimension with the innermost "
            "variable, or use reduce_*()",
            b->name, where(kernel_, b), op->loc.str()));
      }
      if (!distributed(b)) {
        return;
      }
      if (follows_loop(b, idx)) {
        return;
      }
      if (store) {
        refuse_replication(b);
        if (mapped != nullptr || layouts_.at(b.get()).kind == LayoutKind::mapped) {
          throw UserError(fmt::format(
              "fragment '{}' ({}) is written by the parallel loop at {}, which runs on the "
              "registers of a tensor-core (mapped) fragment, but '{}' does not share that layout "
              "or is not indexed by exactly the loop variables; give it the accumulator's shape "
              "and index it by the loop variables in order, or write it in a separate loop",
              b->name, where(kernel_, b), op->loc.str(), b->name));
        }
        throw UserError(fmt::format(
            "fragment '{}' ({}) is distributed over threads by its last axis, but the parallel "
            "loop at {} writes it with last index {}; write it with the innermost loop "
            "variable of a loop over its last axis",
            b->name, where(kernel_, b), op->loc.str(), to_string(idx.back())));
      }
      if (std::find(out.begin(), out.end(), b) == out.end()) {
        out.push_back(b);
      }
    });
    return out;
  }

  std::vector<Buffer> own_conflicts(const Stmt& s) {
    std::vector<Buffer> out;
    for_each_own_load(s, [&](const Load* l) {
      if (distributed(l->buffer) && std::find(out.begin(), out.end(), l->buffer) == out.end()) {
        out.push_back(l->buffer);
      }
    });
    if (const Store* st = s.as<Store>(); st && distributed(st->buffer)) {
      refuse_replication(st->buffer);
      throw UserError(fmt::format(
          "fragment '{}' ({}) is distributed over threads; the store at {} outside a parallel "
          "loop would run on every thread. Write it inside parallel() indexed by the loop "
          "variable",
          st->buffer->name, where(kernel_, st->buffer), s->loc.str()));
    }
    return out;
  }

  /** Copies between fragments of different partitions: src goes through shared memory. */
  bool copy_conflict(const Copy* op) const {
    const Buffer& a = op->src.buffer;
    const Buffer& b = op->dst.buffer;
    if (!distributed(a)) {
      return false;
    }
    if (b->scope == Scope::fragment || b->scope == Scope::local) {
      return !(distributed(b) && layouts_.at(a.get()).same_partition(layouts_.at(b.get())));
    }
    return false;
  }

  Buffer staging_buffer(const Buffer& frag) {
    auto b = std::make_shared<BufferNode>(*frag);
    b->name = frag->name + "_smem";
    b->scope = Scope::shared;
    return b;
  }

  /** Prepends `frag → frag_smem` copies for each conflict and redirects the reads. */
  void stage(const std::vector<Buffer>& conflicts, Stmt& s, std::vector<Stmt>& out, bool own) {
    for (const Buffer& f : conflicts) {
      Buffer sm = staging_buffer(f);
      out.push_back(Allocate::make(sm, s->loc));
      out.push_back(Copy::make(Region::whole(f), Region::whole(sm), s->loc));
      s = own ? replace_buffer_own(s, f, sm) : replace_buffer(s, f, sm);
    }
  }

  Stmt rewrite(const Stmt& s) {
    if (!s.defined()) {
      return s;
    }
    switch (s.kind()) {
    case StmtKind::Block: {
      std::vector<Stmt> out;
      for (const Stmt& c : s.as<Block>()->stmts) {
        Stmt r = rewrite(c);
        std::vector<Stmt> pre;
        if (const Parallel* p = r.as<Parallel>()) {
          stage(parallel_conflicts(p), r, pre, false);
        } else if (const Copy* cp = r.as<Copy>(); cp && copy_conflict(cp)) {
          Buffer sm = staging_buffer(cp->src.buffer);
          pre.push_back(Allocate::make(sm, r->loc));
          pre.push_back(Copy::make(Region::whole(cp->src.buffer), Region::whole(sm), r->loc));
          Region src = cp->src;
          src.buffer = sm;
          r = Copy::make(src, cp->dst, r->loc);
        } else {
          stage(own_conflicts(r), r, pre, true);
        }
        out.insert(out.end(), pre.begin(), pre.end());
        out.push_back(r);
      }
      return Block::make(std::move(out), s->loc);
    }
    case StmtKind::For: {
      const For* op = s.as<For>();
      return For::make(op->var, op->min, op->extent, op->for_kind, rewrite(op->body), op->loc,
                       op->stages, op->unroll);
    }
    case StmtKind::IfThenElse: {
      const IfThenElse* op = s.as<IfThenElse>();
      return IfThenElse::make(op->cond, rewrite(op->then_case), rewrite(op->else_case), op->loc);
    }
    case StmtKind::ThreadRange: {
      const ThreadRange* op = s.as<ThreadRange>();
      return ThreadRange::make(op->begin, op->end, rewrite(op->body), op->loc);
    }
    default:
      return s;
    }
  }

  /** The error for a write that needs every thread to hold a fragment too big to replicate. */
  void refuse_replication(const Buffer& b) const {
    if (defaulted_.count(b.get())) {
      throw UserError(fmt::format(
          "fragment '{}' ({}) is accessed in a way that needs every thread to hold all {} "
          "elements; index its last dimension with the parallel loop's innermost variable, or "
          "use shared memory",
          b->name, where(kernel_, b), const_numel(b)));
    }
  }

  const Kernel& kernel_;
  const std::map<const BufferNode*, Layout>& layouts_;
  const std::set<const BufferNode*>& defaulted_;
};

// ---------------------------------------------------------------------------------------------
// Phase 4: a plan for every parallel loop
// ---------------------------------------------------------------------------------------------

/** Records the decisions in the IR: each fragment's layout on its Allocate, each parallel
 *  loop's plan on the loop. */
class Annotate : public IRMutator {
public:
  Annotate(const Kernel& k, const std::map<const BufferNode*, Layout>& layouts)
      : kernel_(k), layouts_(layouts), p_{k.threads, 0} {}

protected:
  Stmt mutate_allocate(const Allocate* op, const Stmt& s) override {
    auto it = layouts_.find(op->buffer.get());
    if (it == layouts_.end()) {
      return s;
    }
    return Allocate::make(op->buffer, op->loc, std::make_shared<const Layout>(it->second),
                          op->offset);
  }

  Stmt mutate_thread_range(const ThreadRange* op, const Stmt& s) override {
    const Participants saved = p_;
    p_ = Participants{op->end - op->begin, op->begin};
    Stmt r = IRMutator::mutate_thread_range(op, s);
    p_ = saved;
    return r;
  }

  Stmt mutate_parallel(const Parallel* op, const Stmt& s) override {
    return Parallel::make(op->vars, op->extents, op->body, op->loc,
                          std::make_shared<const ParallelPlan>(plan(op)));
  }

private:
  ParallelPlan plan(const Parallel* op) const {
    ParallelPlan plan;
    plan.threads = p_.threads;
    plan.begin = p_.begin;
    if (const Layout* m = loop_mapped_layout(op, layouts_)) {
      if (m->threads != p_.threads || m->begin != p_.begin) {
        throw UserError(fmt::format(
            "the parallel loop at {} (kernel '{}') runs on {} threads from {} over a tensor-core "
            "fragment laid out for {} threads from {}; run it in the thread_range of the gemm",
            op->loc.str(), kernel_.name, p_.threads, p_.begin, m->threads, m->begin));
      }
      plan.kind = ParallelPlan::Kind::mapped;
      plan.layout = *m;
      return plan;
    }
    bool writes_private = false;
    for_each_access(op->body, [&](const Buffer& b, const std::vector<Expr>& idx, bool store) {
      if (b->scope == Scope::fragment) {
        const Layout& l = layouts_.at(b.get());
        if (l.kind == LayoutKind::distributed && same_var(idx.back(), op->vars.back()) &&
            l.last_extent() == op->extents.back() && plan.kind != ParallelPlan::Kind::distributed) {
          if (l.threads != p_.threads || l.begin != p_.begin) {
            throw UserError(fmt::format(
                "fragment '{}' (kernel '{}', {}) is declared for {} threads from {} but used by "
                "the parallel loop at {} running on {} threads from {}; declare it inside the "
                "thread_range that uses it",
                b->name, kernel_.name, b->loc.str(), l.threads, l.begin, op->loc.str(), p_.threads,
                p_.begin));
          }
          plan.kind = ParallelPlan::Kind::distributed;
          plan.layout = l;
        }
      }
      if (store && (b->scope == Scope::fragment || b->scope == Scope::local)) {
        writes_private = true;
      }
    });
    if (plan.kind != ParallelPlan::Kind::distributed) {
      plan.kind = writes_private ? ParallelPlan::Kind::replicated : ParallelPlan::Kind::split;
    }
    return plan;
  }

  const Kernel& kernel_;
  const std::map<const BufferNode*, Layout>& layouts_;
  Participants p_;
};

} // namespace

namespace {

/** Refuses per-thread storage past kMaxThreadBufferBytes / kMaxThreadStorageBytes. */
void check_thread_storage(const Kernel& kernel, const Stmt& body) {
  class Sizes : public IRVisitor {
  public:
    std::vector<std::pair<const BufferNode*, std::int64_t>> buffers; ///< bytes per thread
    using IRVisitor::visit;

  protected:
    void visit_allocate(const Allocate* op) override {
      const BufferNode* b = op->buffer.get();
      std::int64_t elements = 0;
      if (b->scope == Scope::fragment && op->layout) {
        elements = op->layout->registers();
      } else if (b->scope == Scope::local) {
        elements = 1;
        for (const Expr& e : b->shape) {
          const auto* imm = e.as<IntImm>();
          elements *= imm != nullptr ? imm->value : 1;
        }
      }
      if (elements > 0) {
        buffers.emplace_back(b, elements * static_cast<std::int64_t>(dtype_size(b->dtype)));
      }
    }
  } sizes;
  sizes.visit(body);
  const char* fix = "give the kernel more threads, keep the tile in shared memory, or loop "
                    "over it in chunks";
  std::int64_t total = 0;
  for (const auto& [b, bytes] : sizes.buffers) {
    if (bytes > kMaxThreadBufferBytes) {
      throw UserError(fmt::format(
          "kernel '{}', {}: {} '{}' needs {} bytes per thread ({} registers of {}); the limit is "
          "{} bytes per buffer: {}",
          kernel.name, b->loc.str(), scope_name(b->scope), b->name, bytes,
          bytes / static_cast<std::int64_t>(dtype_size(b->dtype)), dtype_name(b->dtype),
          kMaxThreadBufferBytes, fix));
    }
    total += bytes;
  }
  if (total > kMaxThreadStorageBytes) {
    std::string list;
    for (const auto& [b, bytes] : sizes.buffers) {
      list +=
          fmt::format("{}'{}' {} B ({})", list.empty() ? "" : ", ", b->name, bytes, b->loc.str());
    }
    throw UserError(fmt::format("kernel '{}': its fragments and locals need {} bytes per thread; "
                                "the limit is {}: {}. Per buffer: {}",
                                kernel.name, total, kMaxThreadStorageBytes, fix, list));
  }
}

} // namespace

Kernel infer_layouts(const Kernel& kernel) {
  Collector c(kernel);
  c.run();

  std::map<const BufferNode*, Layout> layouts;

  // Partition classes: V from the widest global dtype of any member, P from the declarations.
  std::map<const BufferNode*, int> class_bytes;
  std::map<const BufferNode*, const BufferNode*> class_first;
  std::set<const BufferNode*> defaulted;
  // A class that holds a fragment with an imposed mapped layout (the mma accumulator): members of
  // the same shape on the same threads take that layout, so an epilogue tile written next to
  // the accumulator in one parallel loop lives in the same registers' positions.
  std::map<const BufferNode*, const FragmentInfo*> class_mapped;
  for (const BufferNode* b : c.order) {
    const FragmentInfo& info = c.frags.at(b);
    if (info.candidate && info.fixed && info.fixed->kind == LayoutKind::mapped) {
      class_mapped.try_emplace(c.find(b), &info);
    }
  }
  auto mapped_for = [&](const BufferNode* b) -> const Layout* {
    const FragmentInfo& info = c.frags.at(b);
    auto it = class_mapped.find(c.find(b));
    if (it == class_mapped.end() || !(it->second->where == info.where) ||
        const_shape(info.buffer) != it->second->fixed->shape) {
      return nullptr;
    }
    return &*it->second->fixed;
  };
  for (const BufferNode* b : c.order) {
    const FragmentInfo& info = c.frags.at(b);
    if (info.candidate && !info.fixed && mapped_for(b) == nullptr) {
      const BufferNode* root = c.find(b);
      class_bytes[root] = std::max(class_bytes[root], info.global_bytes);
      class_first.try_emplace(root, b);
    }
  }
  for (const BufferNode* b : c.order) {
    const FragmentInfo& info = c.frags.at(b);
    const std::vector<std::int64_t> shape = const_shape(info.buffer);
    if (info.fixed) {
      layouts[b] = *info.fixed;
      continue;
    }
    if (info.candidate) {
      if (const Layout* m = mapped_for(b)) {
        layouts[b] = *m;
        continue;
      }
      const BufferNode* root = c.find(b);
      const FragmentInfo& first = c.frags.at(class_first.at(root));
      if (!(first.where == info.where)) {
        throw UserError(fmt::format(
            "fragments '{}' ({}) and '{}' ({}) are used by one parallel loop but declared for "
            "different threads ({} from {} vs {} from {}); declare them in the same thread_range",
            first.buffer->name, first.buffer->loc.str(), b->name, b->loc.str(), first.where.threads,
            first.where.begin, info.where.threads, info.where.begin));
      }
      const int v = choose_vector_width(shape.back(), class_bytes.at(root));
      layouts[b] = Layout::distributed(shape, info.where.threads, v, info.where.begin);
      continue;
    }
    Layout l = Layout::replicated(shape);
    if (l.numel() > kMaxReplicated) {
      // Too big to replicate: the default distributed layout (its own partition). Reads that do
      // not follow it go through shared memory; writes that do not follow it are refused below
      // with the message explaining why the fragment cannot be replicated.
      l = Layout::distributed(shape, info.where.threads,
                              choose_vector_width(shape.back(), info.global_bytes),
                              info.where.begin);
      defaulted.insert(b);
    }
    layouts[b] = l;
  }

  RoundTrips rt(kernel, layouts, defaulted);
  Kernel out = kernel;
  out.body = rt.run(kernel.body);
  Annotate annotate(kernel, layouts);
  out.body = annotate.mutate(out.body);
  check_thread_storage(kernel, out.body);
  return out;
}

} // namespace tessera::codegen
