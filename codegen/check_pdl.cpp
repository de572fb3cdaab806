#include "codegen/check_pdl.h"

#include "base/error.h"
#include "ir/util.h"
#include "ir/visitor.h"

#include <fmt/format.h>

namespace tessera::codegen {

using namespace ir;

namespace {

bool touches_global(const Stmt& s) {
  bool g = false;
  for_each_access(
      s, [&](const Buffer& b, const std::vector<Expr>&, bool) { g |= b->scope == Scope::global; });
  class Finder : public IRVisitor {
  public:
    bool found = false;
    using IRVisitor::visit;

  protected:
    void visit_tile_op(const TileOp* op) override {
      for (const Operand& o : op->operands()) {
        found |= o.region.buffer->scope == Scope::global;
      }
      IRVisitor::visit_tile_op(op);
    }
    void visit_atomic(const Atomic* op) override {
      found |= op->buffer->scope == Scope::global;
      IRVisitor::visit_atomic(op);
    }
  } f;
  f.visit(s);
  return g || f.found;
}

class NestedPdl : public IRVisitor {
public:
  const StmtNode* found = nullptr;
  int depth = 0;
  using IRVisitor::visit;

protected:
  void visit_thread_range(const ThreadRange* op) override {
    ++depth;
    IRVisitor::visit_thread_range(op);
    --depth;
  }
  void visit_if(const IfThenElse* op) override {
    ++depth;
    IRVisitor::visit_if(op);
    --depth;
  }
  void visit_pdl_wait(const PdlWait* op) override { note(op); }
  void visit_pdl_trigger(const PdlTrigger* op) override { note(op); }

private:
  void note(const StmtNode* op) {
    if (depth > 0 && found == nullptr) {
      found = op;
    }
  }
};

} // namespace

void check_pdl(const Kernel& kernel) {
  NestedPdl nested;
  nested.visit(kernel.body);
  if (nested.found != nullptr) {
    throw UserError(fmt::format("kernel '{}': pdl_wait()/pdl_trigger() at {} is inside a "
                                "thread_range or if_(); every thread of the block must run it",
                                kernel.name, nested.found->loc.str()));
  }
  const Block* body = kernel.body.as<Block>();
  if (body == nullptr) {
    return;
  }
  bool has_wait = false;
  for (const Stmt& s : body->stmts) {
    has_wait |= s.as<PdlWait>() != nullptr;
  }
  if (!has_wait) {
    return;
  }
  for (const Stmt& s : body->stmts) {
    if (s.as<PdlWait>()) {
      break;
    }
    if (touches_global(s)) {
      throw UserError(fmt::format("kernel '{}': the statement at {} accesses global memory "
                                  "before pdl_wait(); under programmatic dependent launch the "
                                  "previous kernel's writes are not visible yet. Move it after "
                                  "pdl_wait()",
                                  kernel.name, s->loc.str()));
    }
  }
}

} // namespace tessera::codegen
