// CUDA printer: the kernel signature and statements (expressions in print_expr.cpp).
#include "codegen/cuda/cuda_printer.h"

#include "base/error.h"
#include "codegen/cuda/printer.h"
#include "ir/layout.h"
#include "ir/util.h"
#include "ops/mma_layout.h"
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

std::string print_cuda(const Kernel& lowered) {
  internal::CudaPrinter p(lowered);
  return p.run();
}

namespace internal {

namespace {

/** A block that declares something (a buffer, a let) gets braces of its own, so its names end
 *  with it, as the IR's scoping says. */
bool declares(const Block* b) {
  for (const Stmt& s : b->stmts) {
    if (s.as<Allocate>() || s.as<LetStmt>()) {
      return true;
    }
  }
  return false;
}

std::string dims(const std::vector<std::int64_t>& shape) {
  return fmt::format("{}", fmt::join(shape, ", "));
}

} // namespace

CudaPrinter::CudaPrinter(const Kernel& k) : kernel(k), threads(k.threads) {}

void CudaPrinter::line(const std::string& text) {
  out << std::string(static_cast<std::size_t>(indent) * 2, ' ') << text << "\n";
}

void CudaPrinter::open(const std::string& text) {
  line(text.empty() ? "{" : text + " {");
  ++indent;
}

void CudaPrinter::close(const std::string& text) {
  --indent;
  line(text);
}

std::string CudaPrinter::note(const Stmt& s) const {
  if (s->loc.line <= 0) {
    return "";
  }
  if (!notes.empty() && notes.back()->loc.line == s->loc.line &&
      notes.back()->loc.file == s->loc.file) {
    return ""; // the comment introducing the enclosing block says it already
  }
  return "  // " + s->loc.str();
}

std::string CudaPrinter::sync() const {
  if (barrier_id == 0) {
    return "__syncthreads();";
  }
  return fmt::format("tessera::named_barrier({}, {});", barrier_id, threads);
}

void CudaPrinter::body(const Stmt& s) {
  ++indent;
  if (const Block* b = s.as<Block>(); b && b->note.empty()) {
    for (std::size_t i = 0; i < b->stmts.size(); ++i) {
      stmt(b->stmts[i], i + 1 == b->stmts.size());
    }
  } else {
    stmt(s, true);
  }
  close();
}

void CudaPrinter::stmt(const Stmt& s, bool last) {
  if (!s.defined()) {
    return;
  }
  switch (s.kind()) {
  case StmtKind::Block: {
    const Block* op = s.as<Block>();
    if (!op->note.empty()) {
      line("// " + op->note + (op->loc.line > 0 ? "  (" + op->loc.str() + ")" : ""));
      notes.push_back(op);
    }
    // A note's block that holds one plain block (an op's lowering) needs one scope, not two.
    const Block* inner = op;
    if (op->stmts.size() == 1) {
      if (const Block* b = op->stmts[0].as<Block>(); b && b->note.empty()) {
        inner = b;
      }
    }
    const bool scoped = !op->note.empty() || declares(inner);
    if (scoped) {
      open("");
    }
    for (std::size_t i = 0; i < inner->stmts.size(); ++i) {
      stmt(inner->stmts[i], (scoped || last) && i + 1 == inner->stmts.size());
    }
    if (scoped) {
      close();
    }
    if (!op->note.empty()) {
      notes.pop_back();
    }
    return;
  }
  case StmtKind::Allocate: {
    const Allocate* op = s.as<Allocate>();
    const Buffer& b = op->buffer;
    const std::string n = name(b);
    const std::string t = cuda_type(b->dtype);
    const std::string where = s->loc.line > 0 ? ", " + s->loc.str() : "";
    switch (b->scope) {
    case Scope::local:
      if (op->layout) { // a fragment's register array
        line(fmt::format("{} {}[{}];  // fragment {}: {}[{}], {}{}", t, n, const_numel(b), b->name,
                         dtype_name(b->dtype), dims(op->layout->shape), op->layout->str(), where));
      } else if (b->shape.empty()) {
        line(fmt::format("{} {};{}", t, n, note(s)));
      } else {
        line(fmt::format("{} {}[{}];{}", t, n, const_numel(b), note(s)));
      }
      return;
    case Scope::shared:
      if (b->view_of) { // a ring slot: the ring's storage from the slot's first element
        line(fmt::format("{}* {} = {} + {};  // shared [{}], a slot of {}{}", t, n,
                         name(b->view_of), expr(b->view_offset), dims(const_shape(b)),
                         b->view_of->name, where));
        return;
      }
      if (op->offset < 0) {
        throw InternalError(
            fmt::format("cuda printer: shared buffer '{}' was not planned", b->name));
      }
      line(fmt::format("{}* {} = reinterpret_cast<{}*>(tessera_smem + {});  // shared [{}]{}{}", t,
                       n, t, op->offset, dims(const_shape(b)),
                       b->row_pitch > 0 ? fmt::format(", row pitch {}", b->row_pitch) : "", where));
      return;
    case Scope::fragment:
    case Scope::global:
      break;
    }
    throw InternalError(
        fmt::format("cuda printer: {} buffer '{}' in lowered IR", scope_name(b->scope), b->name));
  }
  case StmtKind::For: {
    const For* op = s.as<For>();
    const std::string v = expr(op->var);
    if (op->for_kind == ForKind::unrolled) {
      line("#pragma unroll");
    } else if (op->unroll > 0) {
      line(fmt::format("#pragma unroll {}", op->unroll));
    }
    const IntImm* min = op->min.as<IntImm>();
    const std::string lo = expr(op->min);
    // The bound stands right of `<`: it binds tighter than a comparison or is parenthesised.
    const IntImm* ext = op->extent.as<IntImm>();
    const std::string hi =
        min && min->value == 0 ? operand(op->extent, 8)
        : min && ext           ? std::to_string(min->value + ext->value)
                     : fmt::format("{} + {}", operand(op->min, 6), operand(op->extent, 5));
    line(fmt::format("for (int {} = {}; {} < {}; ++{}) {{{}", v, lo, v, hi, v, note(s)));
    const bool nonneg = non_negative(op->min);
    non_negative_vars[v] += nonneg ? 1 : 0;
    body(op->body);
    non_negative_vars[v] -= nonneg ? 1 : 0;
    return;
  }
  case StmtKind::IfThenElse: {
    const IfThenElse* op = s.as<IfThenElse>();
    line(fmt::format("if ({}) {{{}", expr(op->cond), note(s)));
    if (op->else_case.defined()) {
      ++indent;
      if (const Block* b = op->then_case.as<Block>(); b && b->note.empty()) {
        for (std::size_t i = 0; i < b->stmts.size(); ++i) {
          stmt(b->stmts[i], i + 1 == b->stmts.size());
        }
      } else {
        stmt(op->then_case, true);
      }
      close("} else {");
      body(op->else_case);
    } else {
      body(op->then_case);
    }
    return;
  }
  case StmtKind::LetStmt: {
    const LetStmt* op = s.as<LetStmt>();
    if (!last) {
      open("");
    }
    const std::string v = expr(op->var);
    line(fmt::format("const int {} = {};", v, expr(op->value)));
    const bool nonneg = non_negative(op->value);
    non_negative_vars[v] += nonneg ? 1 : 0;
    stmt(op->body, true);
    non_negative_vars[v] -= nonneg ? 1 : 0;
    if (!last) {
      close();
    }
    return;
  }
  case StmtKind::Store: {
    const Store* op = s.as<Store>();
    line(fmt::format("{} = {};{}", element(op->buffer, op->indices), expr(op->value), note(s)));
    return;
  }
  case StmtKind::Atomic: {
    const Atomic* op = s.as<Atomic>();
    line(fmt::format("tessera::atomic_{}(&{}, {});{}", op->op == AtomicOp::add ? "add" : "max",
                     element(op->buffer, op->indices), expr(op->value), note(s)));
    return;
  }
  case StmtKind::ThreadRange: {
    const ThreadRange* op = s.as<ThreadRange>();
    const int saved_threads = threads, saved_begin = begin, saved_barrier = barrier_id;
    line(fmt::format("// threads [{}, {}){}", op->begin, op->end,
                     op->loc.line > 0 ? "  (" + op->loc.str() + ")" : ""));
    line(fmt::format("if (thread_idx >= {} && thread_idx < {}) {{", op->begin, op->end));
    threads = op->end - op->begin;
    begin = op->begin;
    barrier_id = 1 + op->begin / 32 % 15; // disjoint ranges get distinct ids (<= 15 warps)
    body(op->body);
    threads = saved_threads;
    begin = saved_begin;
    barrier_id = saved_barrier;
    return;
  }
  case StmtKind::Barrier:
    if (barrier_id != 0 && threads % 32 != 0) {
      throw UserError(fmt::format("kernel '{}': a barrier inside thread_range at {} needs a "
                                  "multiple of 32 threads (has {})",
                                  kernel.name, s->loc.str(), threads));
    }
    line((s.as<Barrier>()->scope == BarrierScope::cluster
              ? std::string("tessera::cluster_barrier();")
              : sync()) +
         note(s));
    return;
  case StmtKind::PdlWait:
    line("tessera::pdl_wait();" + note(s));
    return;
  case StmtKind::PdlTrigger:
    line("tessera::pdl_trigger();" + note(s));
    return;
  case StmtKind::VectorCopy:
    return vector_copy(s.as<VectorCopy>(), last);
  case StmtKind::AsyncCommit:
    line("tessera::cp_async_commit();");
    return;
  case StmtKind::AsyncWait: {
    const int n = s.as<AsyncWait>()->pending;
    line(n == AsyncWait::kAll ? std::string("tessera::cp_async_wait_all();")
                              : fmt::format("tessera::cp_async_wait<{}>();", n));
    return;
  }
  case StmtKind::MmaTile:
    return mma_tile(s.as<MmaTile>());
  case StmtKind::Parallel:
  case StmtKind::TileOp:
    break;
  }
  throw InternalError(fmt::format("cuda printer: statement at {} is not thread-level IR "
                                  "(run codegen::lower first)",
                                  s->loc.str()));
}

void CudaPrinter::vector_copy(const VectorCopy* op, bool last) {
  const int w = op->lanes;
  const DType st = op->src->dtype, dt = op->dst->dtype;
  auto convert = [](const std::string& v, DType from, DType to) {
    return from == to ? v : fmt::format("tessera::convert<{}>({})", cuda_type(to), v);
  };
  auto ptr = [&](const Buffer& b, const std::vector<Expr>& idx) {
    return fmt::format("{} + {}", name(b), offset(b, idx));
  };
  // Register k of the run: `regs[first + k_]`, or `regs[k_]` from 0 (a multi-dimensional local
  // is indexed row-major, like its element accesses).
  auto reg = [&](const Buffer& b, const std::vector<Expr>& idx) {
    const std::string first = offset(b, idx);
    return first == "0" ? fmt::format("{}[k_]", name(b))
                        : fmt::format("{}[{} + k_]", name(b), first);
  };
  // The temporaries below need a scope of their own unless nothing follows in this one.
  auto begin = [&] {
    if (!last) {
      open("");
    }
  };
  auto end = [&] {
    if (!last) {
      close();
    }
  };
  if (op->async) {
    line(fmt::format("tessera::cp_async<{}>({}, {});", w * dtype_size(st),
                     ptr(op->dst, op->dst_index), ptr(op->src, op->src_index)));
    return;
  }
  const bool src_regs = op->src->scope == Scope::local;
  const bool dst_regs = op->dst->scope == Scope::local;
  if (dst_regs && !src_regs) {
    begin();
    line(fmt::format("const tessera::Vec<{}, {}> vec_ = tessera::load_vec<{}>({});", cuda_type(st),
                     w, w, ptr(op->src, op->src_index)));
    line("#pragma unroll");
    line(fmt::format("for (int k_ = 0; k_ < {}; ++k_) {} = {};", w, reg(op->dst, op->dst_index),
                     convert("vec_[k_]", st, dt)));
    end();
  } else if (src_regs && !dst_regs) {
    begin();
    line(fmt::format("tessera::Vec<{}, {}> vec_;", cuda_type(dt), w));
    line("#pragma unroll");
    line(fmt::format("for (int k_ = 0; k_ < {}; ++k_) vec_[k_] = {};", w,
                     convert(reg(op->src, op->src_index), st, dt)));
    line(fmt::format("tessera::store_vec<{}>({}, vec_);", w, ptr(op->dst, op->dst_index)));
    end();
  } else if (st == dt) {
    line(fmt::format("tessera::store_vec<{}>({}, tessera::load_vec<{}>({}));", w,
                     ptr(op->dst, op->dst_index), w, ptr(op->src, op->src_index)));
  } else {
    begin();
    line(fmt::format("const tessera::Vec<{}, {}> in_ = tessera::load_vec<{}>({});", cuda_type(st),
                     w, w, ptr(op->src, op->src_index)));
    line(fmt::format("tessera::Vec<{}, {}> out_;", cuda_type(dt), w));
    line("#pragma unroll");
    line(fmt::format("for (int k_ = 0; k_ < {}; ++k_) out_[k_] = {};", w,
                     convert("in_[k_]", st, dt)));
    line(fmt::format("tessera::store_vec<{}>({}, out_);", w, ptr(op->dst, op->dst_index)));
    end();
  }
}

void CudaPrinter::mma_tile(const MmaTile* op) {
  const std::string tid = operand(op->tid, 0);
  line(fmt::format("// {} mma, warps {}x{}, warp tile {}x{}", mma_path_name(op->path), op->warps_m,
                   op->warps_n, op->m / op->warps_m, op->n / op->warps_n));
  line(fmt::format("tessera::mma::gemm_ss<{}, {}, {}, {}, {}, {}, {}, {}, {}, {}>(",
                   ops::mma_path_cuda(op->path), op->m, op->n, op->k, op->warps_m, op->warps_n,
                   op->trans_a ? "true" : "false", op->trans_b ? "true" : "false", op->lda,
                   op->ldb));
  line(fmt::format("    {}, {}, {}, {} >> 5, {} & 31);", name(op->acc), name(op->a), name(op->b),
                   tid, tid));
}

std::string CudaPrinter::run() {
  const Kernel& k = kernel;
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
  if (k.shared_bytes > 0) {
    line(fmt::format("extern __shared__ __align__(16) unsigned char tessera_smem[];  // {} bytes",
                     k.shared_bytes));
  }
  if (const Block* b = k.body.as<Block>(); b && b->note.empty()) {
    for (std::size_t i = 0; i < b->stmts.size(); ++i) {
      stmt(b->stmts[i], i + 1 == b->stmts.size());
    }
  } else {
    stmt(k.body, true);
  }
  out << "}\n";
  return out.str();
}

} // namespace internal
} // namespace tessera::codegen
