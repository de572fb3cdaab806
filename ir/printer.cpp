#include "ir/printer.h"

#include "base/error.h"
#include "ir/layout.h"

#include <fmt/format.h>
#include <sstream>

namespace tessera::ir {

namespace {

std::string shape_string(const std::vector<Expr>& shape) {
  std::string s;
  for (std::size_t i = 0; i < shape.size(); ++i) {
    s += (i ? ", " : "") + to_string(shape[i]);
  }
  return s;
}

std::string indices_string(const std::vector<Expr>& indices) {
  std::string s;
  for (const Expr& e : indices) {
    s += "[" + to_string(e) + "]";
  }
  return s;
}

/** "name(args) reads -> writes attrs": whole buffers print by name, regions with their ranges. */
} // namespace

std::string to_string(const TileOp& op) {
  auto operand = [](const Region& r) {
    bool whole = true;
    for (std::size_t d = 0; d < r.ranges.size(); ++d) {
      const IntImm* start = r.ranges[d].start.as<IntImm>();
      whole = whole && start != nullptr && start->value == 0 && !r.ranges[d].squeezed &&
              r.ranges[d].extent == const_extent(r.buffer, static_cast<int>(d));
    }
    return whole ? r.buffer->name : to_string(r);
  };
  std::string reads, writes, args, attrs;
  for (const Operand& o : op.operands()) {
    std::string& side = o.writes() ? writes : reads;
    side += (side.empty() ? "" : ", ") + operand(o.region);
  }
  for (const Expr& a : op.args()) {
    args += (args.empty() ? "" : ", ") + to_string(a);
  }
  for (const std::string& a : op.attrs()) {
    attrs += " " + a;
  }
  return fmt::format("{}{} {}-> {}{}", op.op_name(), args.empty() ? "" : "(" + args + ")",
                     reads.empty() ? "" : reads + " ", writes, attrs);
}

namespace {

class Printer {
public:
  explicit Printer(int indent) : indent_(indent) {}

  void print(const Stmt& s) {
    if (!s.defined()) {
      return;
    }
    switch (s.kind()) {
    case StmtKind::Block: {
      const Block* op = s.as<Block>();
      if (!op->note.empty()) { // what a lowering replaced: its statements nest under it
        line(s, "lowered " + op->note + ":");
        ++indent_;
      }
      for (const Stmt& st : op->stmts) {
        print(st);
      }
      if (!op->note.empty()) {
        --indent_;
      }
      return;
    }
    case StmtKind::Allocate: {
      const Allocate* op = s.as<Allocate>();
      const Buffer& b = op->buffer;
      std::string note;
      if (op->layout) {
        note = op->layout->str();
      }
      if (op->offset >= 0) {
        note = fmt::format("smem offset {}", op->offset);
      }
      if (b->row_pitch > 0) {
        note += fmt::format("{}row pitch {}", note.empty() ? "" : ", ", b->row_pitch);
      }
      if (b->view_of) {
        note += fmt::format("{}view of {} + {}", note.empty() ? "" : ", ", b->view_of->name,
                            to_string(b->view_offset));
      }
      line(s,
           fmt::format("{} {}: {}[{}]", scope_name(b->scope), b->name, dtype_name(b->dtype),
                       shape_string(b->shape)),
           note);
      return;
    }
    case StmtKind::For: {
      const For* op = s.as<For>();
      std::string kind = for_kind_name(op->for_kind);
      if (op->for_kind == ForKind::pipelined) {
        kind += fmt::format("<stages={}>", op->stages);
      }
      if (op->unroll > 0) {
        kind += fmt::format("<unroll={}>", op->unroll);
      }
      const IntImm* zero = op->min.as<IntImm>();
      const std::string bounds = zero && zero->value == 0
                                     ? fmt::format("[0, {})", to_string(op->extent))
                                     : fmt::format("[{}, {} + {})", to_string(op->min),
                                                   to_string(op->min), to_string(op->extent));
      line(s, fmt::format("for {} {} in {}:", kind, to_string(op->var), bounds));
      nested(op->body);
      return;
    }
    case StmtKind::Parallel: {
      const Parallel* op = s.as<Parallel>();
      std::string vars, extents;
      for (std::size_t i = 0; i < op->vars.size(); ++i) {
        vars += (i ? ", " : "") + to_string(op->vars[i]);
        extents += (i ? ", " : "") + std::to_string(op->extents[i]);
      }
      line(s, fmt::format("parallel ({}) in [{}]:", vars, extents),
           op->plan ? op->plan->str() : "");
      nested(op->body);
      return;
    }
    case StmtKind::IfThenElse: {
      const IfThenElse* op = s.as<IfThenElse>();
      line(s, fmt::format("if {}:", to_string(op->cond)));
      nested(op->then_case);
      if (op->else_case.defined()) {
        raw("else:");
        nested(op->else_case);
      }
      return;
    }
    case StmtKind::Store: {
      const Store* op = s.as<Store>();
      line(s, fmt::format("{}{} = {}", op->buffer->name, indices_string(op->indices),
                          to_string(op->value)));
      return;
    }
    case StmtKind::TileOp:
      line(s, to_string(*s.as<TileOp>()));
      return;
    case StmtKind::Atomic: {
      const Atomic* op = s.as<Atomic>();
      line(s, fmt::format("atomic_{} {}{} += {}", op->op == AtomicOp::add ? "add" : "max",
                          op->buffer->name, indices_string(op->indices), to_string(op->value)));
      return;
    }
    case StmtKind::ThreadRange: {
      const ThreadRange* op = s.as<ThreadRange>();
      line(s, fmt::format("threads [{}, {}):", op->begin, op->end));
      nested(op->body);
      return;
    }
    case StmtKind::Barrier:
      line(s, s.as<Barrier>()->scope == BarrierScope::cluster ? "cluster_barrier" : "barrier");
      return;
    case StmtKind::PdlWait:
      line(s, "pdl_wait");
      return;
    case StmtKind::PdlTrigger:
      line(s, "pdl_trigger");
      return;
    case StmtKind::LetStmt: {
      const LetStmt* op = s.as<LetStmt>();
      line(s, fmt::format("let {} = {}", to_string(op->var), to_string(op->value)));
      print(op->body); // the binding scopes over what follows, at the same depth
      return;
    }
    case StmtKind::VectorCopy: {
      const VectorCopy* op = s.as<VectorCopy>();
      line(s, fmt::format("{}{}{} = {}{}{}  (x{})", op->async ? "async " : "", op->dst->name,
                          indices_string(op->dst_index), op->async ? "" : "convert ", op->src->name,
                          indices_string(op->src_index), op->lanes));
      return;
    }
    case StmtKind::AsyncCommit:
      line(s, "async_commit");
      return;
    case StmtKind::AsyncWait:
      line(s, fmt::format("async_wait pending={}", s.as<AsyncWait>()->pending));
      return;
    case StmtKind::MmaTile: {
      const MmaTile* op = s.as<MmaTile>();
      line(s, fmt::format("mma_{} {} += {}{} x {}{} (M={} N={} K={}, warps {}x{}, tid={})",
                          mma_path_name(op->path), op->acc->name, op->a->name,
                          op->trans_a ? "^T" : "", op->b->name, op->trans_b ? "^T" : "", op->m,
                          op->n, op->k, op->warps_m, op->warps_n, to_string(op->tid)));
      return;
    }
    }
    throw InternalError("ir printer: unknown statement kind");
  }

  std::string str() const { return out_.str(); }

private:
  void raw(const std::string& text) { out_ << std::string(indent_ * 2, ' ') << text << "\n"; }
  /** One statement: its text, the DSL location, then the lowering's decision (if any). */
  void line(const Stmt& s, const std::string& text, const std::string& note = "") {
    std::string l = std::string(indent_ * 2, ' ') + text;
    if (s->loc.line > 0) {
      const std::size_t pad = l.size() < 64 ? 64 - l.size() : 1;
      l += std::string(pad, ' ') + "# " + s->loc.str();
    }
    if (!note.empty()) {
      l += "  [" + note + "]";
    }
    out_ << l << "\n";
  }
  void nested(const Stmt& s) {
    ++indent_;
    print(s);
    --indent_;
  }

  int indent_;
  std::ostringstream out_;
};

std::string float_literal(double v) {
  std::string s = fmt::format("{}", v);
  if (s.find_first_of(".eEn") == std::string::npos) {
    s += ".0";
  }
  return s;
}

} // namespace

std::string to_string(const Expr& e) {
  if (!e.defined()) {
    return "<undef>";
  }
  switch (e.kind()) {
  case ExprKind::IntImm: {
    const IntImm* op = e.as<IntImm>();
    if (op->type == DType::boolean) {
      return op->value ? "true" : "false";
    }
    return op->type == DType::i32 ? std::to_string(op->value)
                                  : fmt::format("{}({})", dtype_name(op->type), op->value);
  }
  case ExprKind::FloatImm: {
    const FloatImm* op = e.as<FloatImm>();
    return op->type == DType::f32 ? float_literal(op->value) + "f" : float_literal(op->value);
  }
  case ExprKind::Var:
    return e.as<Var>()->name;
  case ExprKind::Binary: {
    const Binary* op = e.as<Binary>();
    if (op->op == BinaryOp::Min || op->op == BinaryOp::Max) {
      return fmt::format("{}({}, {})", binary_op_name(op->op), to_string(op->a), to_string(op->b));
    }
    return fmt::format("({} {} {})", to_string(op->a), binary_op_name(op->op), to_string(op->b));
  }
  case ExprKind::Unary: {
    const Unary* op = e.as<Unary>();
    return fmt::format("{}{}", op->op == UnaryOp::Neg ? "-" : "!", to_string(op->a));
  }
  case ExprKind::Select: {
    const Select* op = e.as<Select>();
    return fmt::format("select({}, {}, {})", to_string(op->cond), to_string(op->true_value),
                       to_string(op->false_value));
  }
  case ExprKind::Cast: {
    const Cast* op = e.as<Cast>();
    return fmt::format("{}({})", dtype_name(op->type), to_string(op->value));
  }
  case ExprKind::Call: {
    const Call* op = e.as<Call>();
    std::string args;
    for (std::size_t i = 0; i < op->args.size(); ++i) {
      args += (i ? ", " : "") + to_string(op->args[i]);
    }
    return fmt::format("{}({})", call_op_name(op->op), args);
  }
  case ExprKind::Load: {
    const Load* op = e.as<Load>();
    return op->buffer->name + indices_string(op->indices);
  }
  }
  throw InternalError("ir printer: unknown expression kind");
}

std::string to_string(const Region& r) {
  std::string s = r.buffer->name + "[";
  for (std::size_t i = 0; i < r.ranges.size(); ++i) {
    const Range& range = r.ranges[i];
    s += i ? ", " : "";
    if (range.squeezed) {
      s += to_string(range.start);
    } else {
      s += fmt::format("{}:+{}", to_string(range.start), range.extent);
    }
  }
  return s + "]";
}

std::string to_string(const Stmt& s, int indent) {
  Printer p(indent);
  p.print(s);
  return p.str();
}

std::string to_string(const Kernel& k) {
  std::string out = fmt::format("kernel {}(", k.name);
  for (std::size_t i = 0; i < k.params.size(); ++i) {
    const Param& p = k.params[i];
    out += i ? ", " : "";
    if (p.kind == Param::Kind::tensor) {
      out += fmt::format("{}{}: {}[{}]", p.buffer->writable ? "out " : "", p.name,
                         dtype_name(p.dtype), shape_string(p.buffer->shape));
    } else {
      out += fmt::format("{}: {}", p.name, dtype_name(p.dtype));
    }
  }
  out += ")\n";
  if (!k.dims.empty()) {
    std::string dims;
    for (std::size_t i = 0; i < k.dims.size(); ++i) {
      dims += (i ? ", " : "") + k.dims[i].name;
    }
    out += "  dynamic " + dims + "\n";
  }
  out += fmt::format("  grid({}) threads({})", shape_string(k.grid), k.threads);
  if (!k.cluster.empty()) {
    std::string c;
    for (std::size_t i = 0; i < k.cluster.size(); ++i) {
      c += (i ? ", " : "") + std::to_string(k.cluster[i]);
    }
    out += " cluster(" + c + ")";
  }
  out += "\n";
  out += to_string(k.body, 1);
  if (k.shared_bytes > 0) {
    out += fmt::format("  shared memory: {} bytes\n", k.shared_bytes);
  }
  return out;
}

} // namespace tessera::ir
