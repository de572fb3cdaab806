// CUDA emitter: kernel signature, statements, parallel loops and fills.
#include "codegen/cuda/cuda_emitter.h"

#include "base/error.h"
#include "codegen/cuda/emitter.h"
#include "codegen/cuda/gemm_lowering.h"
#include "codegen/pipeline_loops.h"
#include "ir/printer.h"
#include "ir/util.h"
#include "tessera_prelude_embedded.h"

#include <fmt/format.h>

namespace tessera::codegen {

using namespace ir;

const std::vector<HeaderSource>& prelude_headers() {
  static const std::vector<HeaderSource> headers = {
      {"tessera_prelude.cuh", prelude::kTesseraPrelude},
      {"tessera_mma.cuh", prelude::kTesseraMma},
  };
  return headers;
}

std::string EmitContext::sync() const {
  // Same numbering as CudaEmitter: barrier 0 for the block, 1 + begin/32 for a thread range.
  if (begin == 0 && lowered != nullptr && threads == lowered->kernel.threads) {
    return "__syncthreads();";
  }
  return fmt::format("tessera::named_barrier({}, {});", 1 + begin / 32 % 15, threads);
}

std::string emit_cuda(const LoweredKernel& kernel) {
  internal::CudaEmitter e(kernel);
  return e.run();
}

namespace internal {

CudaEmitter::CudaEmitter(const LoweredKernel& k) : lk(k), threads(k.kernel.threads) {}

void CudaEmitter::line(const std::string& text) {
  out << std::string(static_cast<std::size_t>(indent) * 2, ' ') << text << "\n";
}

void CudaEmitter::open(const std::string& text) {
  line(text.empty() ? "{" : text + " {");
  ++indent;
}

void CudaEmitter::close(const std::string& text) {
  --indent;
  line(text);
}

std::string CudaEmitter::note(const Stmt& s) const {
  return s->loc.line > 0 ? "  // " + s->loc.str() : "";
}

void CudaEmitter::comment(const Stmt& s, const std::string& what) {
  line("// " + what + (s->loc.line > 0 ? "  (" + s->loc.str() + ")" : ""));
}

std::string CudaEmitter::sync() const {
  if (barrier_id == 0) {
    return "__syncthreads();";
  }
  return fmt::format("tessera::named_barrier({}, {});", barrier_id, threads);
}

EmitContext CudaEmitter::context() const {
  EmitContext c;
  c.lowered = &lk;
  c.threads = threads;
  c.begin = begin;
  c.tid = tid;
  c.indent = indent;
  auto* self = const_cast<CudaEmitter*>(this);
  c.expr = [self](const Expr& e) { return self->expr(e); };
  c.buffer_ref = [self](const Buffer& b) { return self->name(b); };
  return c;
}

namespace {
/** First line of the IR printer's text for a statement, without its "# file:line" suffix. */
std::string summary(const Stmt& s) {
  std::string t = to_string(s);
  t = t.substr(0, t.find('\n'));
  const std::size_t hash = t.find("  #");
  if (hash != std::string::npos) {
    t = t.substr(0, hash);
  }
  while (!t.empty() && t.back() == ' ') {
    t.pop_back();
  }
  while (!t.empty() && t.front() == ' ') {
    t.erase(0, 1);
  }
  return t;
}
} // namespace

void CudaEmitter::stmt(const Stmt& s) {
  if (!s.defined()) {
    return;
  }
  switch (s.kind()) {
  case StmtKind::Block:
    for (const Stmt& c : s.as<Block>()->stmts) {
      stmt(c);
    }
    return;
  case StmtKind::Allocate: {
    const Buffer& b = s.as<Allocate>()->buffer;
    const std::string n = name(b);
    const std::string t = cuda_type(b->dtype);
    switch (b->scope) {
    case Scope::fragment: {
      const Layout& l = lk.layout(b);
      line(fmt::format("{} {}[{}];  // fragment {}, {}{}", t, n, l.registers(),
                       summary(s).substr(9), l.str(), s->loc.line > 0 ? ", " + s->loc.str() : ""));
      return;
    }
    case Scope::local:
      if (b->shape.empty()) {
        line(fmt::format("{} {};{}", t, n, note(s)));
      } else {
        line(fmt::format("{} {}[{}];{}", t, n, const_numel(b), note(s)));
      }
      return;
    case Scope::shared:
      line(fmt::format("{}* {} = reinterpret_cast<{}*>(tessera_smem + {});  // shared [{}]{}", t, n,
                       t, lk.smem.offsets.at(b.get()), fmt::join(const_shape(b), ", "),
                       s->loc.line > 0 ? ", " + s->loc.str() : ""));
      return;
    case Scope::global:
      throw InternalError("Allocate of a global buffer");
    }
    return;
  }
  case StmtKind::For: {
    const For* op = s.as<For>();
    const std::string v = expr(op->var);
    comment(s, summary(s));
    if (op->for_kind == ForKind::unrolled) {
      line("#pragma unroll");
    }
    const auto min = const_int(op->min);
    const std::string lo = expr(op->min);
    const std::string hi =
        min && *min == 0 ? expr(op->extent) : fmt::format("{} + {}", lo, expr(op->extent));
    open(fmt::format("for (int {} = {}; {} < {}; ++{})", v, lo, v, hi, v));
    stmt(op->body);
    close();
    return;
  }
  case StmtKind::Parallel:
    return parallel(s.as<Parallel>());
  case StmtKind::IfThenElse: {
    const IfThenElse* op = s.as<IfThenElse>();
    line(fmt::format("if ({}) {{{}", expr(op->cond), note(s)));
    ++indent;
    stmt(op->then_case);
    if (op->else_case.defined()) {
      close("} else {");
      ++indent;
      stmt(op->else_case);
    }
    close();
    return;
  }
  case StmtKind::Store: {
    const Store* op = s.as<Store>();
    std::string target;
    if (op->buffer->scope == Scope::fragment) {
      target = load(op->buffer, op->indices);
    } else {
      std::vector<std::string> idx;
      for (const Expr& e : op->indices) {
        idx.push_back(expr(e));
      }
      target = element(op->buffer, idx);
    }
    line(fmt::format("{} = {};{}", target, expr(op->value), note(s)));
    return;
  }
  case StmtKind::TileOp:
    comment(s, summary(s));
    if (const Copy* op = s.as<Copy>()) {
      return copy(op);
    }
    if (const Fill* op = s.as<Fill>()) {
      return fill(op);
    }
    if (const Reduce* op = s.as<Reduce>()) {
      return reduce(op);
    }
    if (const Gemm* op = s.as<Gemm>()) {
      out << emit_gemm(*op, context());
      return;
    }
    throw InternalError("cuda emitter: unknown tile op " + s.as<TileOp>()->op_name());
  case StmtKind::Atomic: {
    const Atomic* op = s.as<Atomic>();
    if (op->buffer->scope != Scope::global && op->buffer->scope != Scope::shared) {
      throw UserError(fmt::format("kernel '{}': atomic at {} needs a global or shared buffer, "
                                  "'{}' is {}",
                                  lk.kernel.name, s->loc.str(), op->buffer->name,
                                  scope_name(op->buffer->scope)));
    }
    std::vector<std::string> idx;
    for (const Expr& e : op->indices) {
      idx.push_back(expr(e));
    }
    line(fmt::format("tessera::atomic_{}(&{}, {});{}", op->op == AtomicOp::add ? "add" : "max",
                     element(op->buffer, idx), expr(op->value), note(s)));
    return;
  }
  case StmtKind::ThreadRange: {
    const ThreadRange* op = s.as<ThreadRange>();
    const int saved_threads = threads, saved_begin = begin, saved_barrier = barrier_id;
    const std::string saved_tid = tid;
    comment(s, summary(s));
    open(fmt::format("if (thread_idx >= {} && thread_idx < {})", op->begin, op->end));
    threads = op->end - op->begin;
    begin = op->begin;
    tid = fmt::format("tid_{}_{}", op->begin, op->end);
    barrier_id = 1 + op->begin / 32 % 15; // disjoint ranges get distinct ids (<= 15 warps)
    line(fmt::format("const int {} = thread_idx - {};", tid, op->begin));
    stmt(op->body);
    close();
    threads = saved_threads;
    begin = saved_begin;
    barrier_id = saved_barrier;
    tid = saved_tid;
    return;
  }
  case StmtKind::Barrier:
    if (lk.pipeline) {
      if (auto it = lk.pipeline->points.find(s.get()); it != lk.pipeline->points.end()) {
        out << emit_async_point(it->second, std::string(static_cast<std::size_t>(indent) * 2, ' '),
                                sync());
        return;
      }
    }
    if (barrier_id != 0 && threads % 32 != 0) {
      throw UserError(fmt::format("kernel '{}': a barrier inside thread_range at {} needs a "
                                  "multiple of 32 threads (has {})",
                                  lk.kernel.name, s->loc.str(), threads));
    }
    line(sync() + note(s));
    return;
  case StmtKind::PdlWait:
    line("tessera::pdl_wait();" + note(s));
    return;
  case StmtKind::PdlTrigger:
    line("tessera::pdl_trigger();" + note(s));
    return;
  }
  throw InternalError("cuda emitter: unknown statement kind");
}

void CudaEmitter::parallel(const Parallel* op) {
  const ParallelPlan& plan = lk.parallels.at(op);
  std::string vars;
  for (std::size_t i = 0; i < op->vars.size(); ++i) {
    vars += (i ? ", " : "") + expr(op->vars[i]);
  }
  line(fmt::format("// parallel ({}) in [{}], {}{}", vars, fmt::join(op->extents, ", "),
                   plan.kind == ParallelPlan::Kind::distributed ? "distributed over threads"
                   : plan.kind == ParallelPlan::Kind::split     ? "iterations split over threads"
                   : plan.kind == ParallelPlan::Kind::mapped
                       ? "on the registers of " + plan.layout.str()
                       : std::string("run by every thread"),
                   op->loc.line > 0 ? "  (" + op->loc.str() + ")" : ""));
  const std::size_t n = op->vars.size();
  auto leading_loops = [&](std::size_t count) {
    for (std::size_t i = 0; i < count; ++i) {
      const std::string v = expr(op->vars[i]);
      line("#pragma unroll");
      open(fmt::format("for (int {} = 0; {} < {}; ++{})", v, v, op->extents[i], v));
    }
  };
  switch (plan.kind) {
  case ParallelPlan::Kind::distributed: {
    const Layout& l = plan.layout;
    const std::string h = expr(op->vars.back());
    RegisterBinding rb{h, l.chunks > 1 ? h + "_c" : "", h + "_v", l};
    int opened = 0;
    if (l.chunks > 1) {
      line("#pragma unroll");
      open(fmt::format("for (int {} = 0; {} < {}; ++{})", rb.c, rb.c, l.chunks, rb.c));
      ++opened;
    }
    line("#pragma unroll");
    open(fmt::format("for (int {} = 0; {} < {}; ++{})", rb.v, rb.v, l.vec, rb.v));
    ++opened;
    const std::string slot =
        l.chunks > 1 ? fmt::format("({} * {} + {})", rb.c, l.threads, tid) : tid;
    line(fmt::format("[[maybe_unused]] const int {} = {};", h, add(mul(slot, l.vec), rb.v)));
    if (l.last_extent() % (static_cast<std::int64_t>(l.threads) * l.vec) != 0) {
      open(fmt::format("if ({} < {})", h, l.last_extent()));
      ++opened;
    }
    leading_loops(n - 1);
    bindings.push_back(rb);
    stmt(op->body);
    bindings.pop_back();
    for (std::size_t i = 0; i + 1 < n; ++i) {
      close();
    }
    for (int i = 0; i < opened; ++i) {
      close();
    }
    return;
  }
  case ParallelPlan::Kind::split: {
    std::int64_t total = 1;
    for (std::int64_t e : op->extents) {
      total *= e;
    }
    const std::string it = expr(op->vars.back()) + "_it";
    open(fmt::format("for (int {} = {}; {} < {}; {} += {})", it, tid, it, total, it, threads));
    std::int64_t inner = total;
    for (std::size_t i = 0; i < n; ++i) {
      inner /= op->extents[i];
      std::string v = inner > 1 ? fmt::format("{} / {}", it, inner) : it;
      if (i > 0) {
        v = fmt::format("{} % {}", inner > 1 ? "(" + v + ")" : v, op->extents[i]);
      }
      line(fmt::format("const int {} = {};", expr(op->vars[i]), v));
    }
    stmt(op->body);
    close();
    return;
  }
  case ParallelPlan::Kind::replicated:
    leading_loops(n);
    stmt(op->body);
    for (std::size_t i = 0; i < n; ++i) {
      close();
    }
    return;
  case ParallelPlan::Kind::mapped: {
    // One copy of the body per register, each with constant register indices and the element's
    // coordinates as expressions of the thread index (FragmentMap::index_exprs).
    const Layout& l = plan.layout;
    const int owners = mapped_owners(l);
    if (owners < l.threads) {
      open(fmt::format("if ({} < {})", tid, owners));
    }
    MappedBinding mb{{}, l, 0};
    for (const Expr& v : op->vars) {
      mb.vars.push_back(expr(v));
    }
    for (std::int64_t r = 0; r < l.registers(); ++r) {
      const std::vector<std::string> idx = l.map->index_exprs(tid, r);
      line(fmt::format("{{  // register {}", r));
      ++indent;
      for (std::size_t d = 0; d < n; ++d) {
        line(fmt::format("[[maybe_unused]] const int {} = {};", mb.vars[d], idx.at(d)));
      }
      mb.reg = r;
      mapped_bindings.push_back(mb);
      stmt(op->body);
      mapped_bindings.pop_back();
      close();
    }
    if (owners < l.threads) {
      close();
    }
    return;
  }
  }
}

int CudaEmitter::mapped_owners(const Layout& l) const {
  int owners = 0;
  for (int t = 0; t < l.threads; ++t) {
    if (l.map->element(t, 0)) {
      if (owners != t) {
        throw InternalError(fmt::format("mapped layout {}: the threads holding elements are not a "
                                        "prefix of the participants",
                                        l.str()));
      }
      owners = t + 1;
    }
  }
  for (int t = 0; t < owners; ++t) {
    for (std::int64_t r = 0; r < l.registers(); ++r) {
      if (!l.map->element(t, r)) {
        throw InternalError(
            fmt::format("mapped layout {}: register {} of thread {} holds nothing", l.str(), r, t));
      }
    }
  }
  return owners;
}

void CudaEmitter::fill(const Fill* op) {
  const Buffer& b = op->buffer;
  const std::string v = expr(op->value);
  const std::string n = name(b);
  switch (b->scope) {
  case Scope::fragment: {
    const std::int64_t regs = lk.layout(b).registers();
    line("#pragma unroll");
    open(fmt::format("for (int r_ = 0; r_ < {}; ++r_)", regs));
    line(fmt::format("{}[r_] = {};", n, v));
    close();
    return;
  }
  case Scope::local:
    if (b->shape.empty()) {
      line(fmt::format("{} = {};", n, v));
      return;
    }
    line("#pragma unroll");
    open(fmt::format("for (int r_ = 0; r_ < {}; ++r_)", const_numel(b)));
    line(fmt::format("{}[r_] = {};", n, v));
    close();
    return;
  case Scope::shared:
    open(fmt::format("for (int i_ = {}; i_ < {}; i_ += {})", tid, const_numel(b), threads));
    line(fmt::format("{}[i_] = {};", n, v));
    close();
    return;
  case Scope::global:
    throw UserError(fmt::format("kernel '{}': fill() at {} of global tensor '{}' is not "
                                "supported; fill a fragment and copy it",
                                lk.kernel.name, op->loc.str(), b->name));
  }
}

std::string CudaEmitter::run() {
  const Kernel& k = lk.kernel;
  std::string params;
  for (std::size_t i = 0; i < k.params.size(); ++i) {
    const Param& p = k.params[i];
    params += i ? ", " : "";
    if (p.kind == Param::Kind::tensor) {
      params += fmt::format("{}{}* __restrict__ {}", p.buffer->writable ? "" : "const ",
                            cuda_type(p.dtype), name(p.buffer));
    } else {
      params += fmt::format("{} {}", cuda_type(p.dtype), p.name);
    }
  }
  for (const DynamicDim& d : k.dims) {
    params += fmt::format("{}int {}", params.empty() ? "" : ", ", d.name);
  }
  out << "// Generated by Tessera from kernel '" << k.name << "'"
      << (k.loc.line > 0 ? " (" + k.loc.str() + ")" : "") << ". Do not edit.\n";
  out << "#include <cuda_bf16.h>\n#include <cuda_fp16.h>\n#include \"tessera_prelude.cuh\"\n\n";
  out << fmt::format("extern \"C\" __global__ void __launch_bounds__({}) {}({}) {{\n", k.threads,
                     k.name, params);
  line("const int thread_idx = threadIdx.x;");
  static const char* axes[] = {"x", "y", "z"};
  for (std::size_t i = 0; i < k.grid.size(); ++i) {
    line(fmt::format("const int block_{} = blockIdx.{};", axes[i], axes[i]));
  }
  if (lk.smem.total_bytes > 0) {
    line(fmt::format("extern __shared__ __align__(16) unsigned char tessera_smem[];  // {} bytes",
                     lk.smem.total_bytes));
  }
  stmt(k.body);
  out << "}\n";
  return out.str();
}

} // namespace internal
} // namespace tessera::codegen
