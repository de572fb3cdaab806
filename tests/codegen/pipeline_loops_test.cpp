// Pass pipeline_loops on DSL-built IR: its structure (rings, slot views, prologue, steady
// state, drain) and, by simulating the rewritten loop with a model of cp.async groups and
// barriers, that every iteration computes on its own tile, landed and not overwritten, for trip
// counts 0, 1, 2, 3, non-multiples of the stage count and larger.
#include "codegen/infer_layouts.h"
#include "codegen/pipeline_loops.h"
#include "codegen/vectorize_copies.h"
#include "dsl/builder.h"
#include "ir/visitor.h"
#include "ops/copy.h"

#include <catch2/catch.hpp>
#include <map>
#include <optional>
#include <set>
#include <string>

using namespace tessera;
using namespace tessera::dsl;

namespace {

constexpr int kTile = 32;

// for k in pipelined(trips, stages): copy a[:, k-tile] → a_s; copy b[k-tile, :] → b_s;
// gemm(a_s, b_s, c); probe[k] = a_s[0][0] (the probe tells the simulation which slot the compute
// of iteration k reads).
ir::Kernel pipelined_gemm(int trips, int stages, bool tiles_inside) {
  KernelBuilder kb("pipe");
  auto a = kb.input("a", DType::bf16, {64, trips * kTile});
  auto b = kb.input("b", DType::bf16, {trips * kTile, 64});
  auto probe = kb.output("probe", DType::f32, {trips > 0 ? trips : 1});
  auto out = kb.output("out", DType::f32, {64, 64});
  kb.launch(grid(1), threads(128), [&](Var) {
    auto c = fragment(DType::f32, {64, 64}, "c");
    clear(c);
    // TileRef assignment is a DSL store, so tiles are only ever copy-constructed here.
    std::optional<TileRef> a_s, b_s;
    if (!tiles_inside) {
      a_s.emplace(shared(DType::bf16, {64, kTile}, "a_s"));
      b_s.emplace(shared(DType::bf16, {kTile, 64}, "b_s"));
    }
    pipelined(trips, stages, [&](Var k) {
      TileRef as = tiles_inside ? shared(DType::bf16, {64, kTile}, "a_s") : *a_s;
      TileRef bs = tiles_inside ? shared(DType::bf16, {kTile, 64}, "b_s") : *b_s;
      copy(a[all][tile(k, kTile)], as);
      copy(b[tile(k, kTile)][all], bs);
      gemm(as, bs, c);
      probe[k] = cast(DType::f32, as[0][0]);
    });
    copy(c, out);
  });
  return kb.build();
}

// Integer evaluation of index expressions with bound loop variables.
long long eval(const ir::Expr& e, const std::map<std::string, long long>& env) {
  if (auto* i = e.as<ir::IntImm>())
    return i->value;
  if (auto* v = e.as<ir::Var>())
    return env.at(v->name);
  if (auto* c = e.as<ir::Cast>())
    return eval(c->value, env);
  auto* b = e.as<ir::Binary>();
  REQUIRE(b != nullptr);
  const long long x = eval(b->a, env), y = eval(b->b, env);
  switch (b->op) {
  case ir::BinaryOp::Add:
    return x + y;
  case ir::BinaryOp::Sub:
    return x - y;
  case ir::BinaryOp::Mul:
    return x * y;
  case ir::BinaryOp::Div:
    return x / y;
  case ir::BinaryOp::Mod:
    return x % y;
  case ir::BinaryOp::LT:
    return x < y;
  case ir::BinaryOp::LE:
    return x <= y;
  case ir::BinaryOp::GT:
    return x > y;
  case ir::BinaryOp::GE:
    return x >= y;
  case ir::BinaryOp::EQ:
    return x == y;
  case ir::BinaryOp::NE:
    return x != y;
  case ir::BinaryOp::Min:
    return std::min(x, y);
  case ir::BinaryOp::Max:
    return std::max(x, y);
  default:
    FAIL("unexpected operator in an index expression");
  }
  return 0;
}

// Runs the rewritten body with a model of one thread's cp.async groups plus block barriers
// (all threads run the same control flow, so one thread's view is the block's).
struct Sim {
  std::map<std::string, long long> env;
  struct Slot {
    long long content = -1; // iteration whose tile the slot holds (or is receiving)
    int group = -1;         // the cp.async group that writes it
    bool landed = false;    // group complete
    bool visible = false;   // landed before a barrier
    long long last_read_sync = -1;
  };
  std::map<std::string, Slot> slots;        // keyed by shared buffer name (ring#offset for a view)
  std::map<std::string, std::string> views; // view name -> its slot key, set at its Allocate
  std::string key(const std::string& name) const {
    auto it = views.find(name);
    return it == views.end() ? name : it->second;
  }
  std::vector<std::set<std::string>> groups;
  std::set<std::string> open; // slots written since the last commit
  int completed = 0;          // groups [0, completed) are done
  long long syncs = 0;
  std::vector<long long> computed;

  void complete_upto(int n) {
    for (; completed < n; ++completed)
      for (const auto& s : groups[completed])
        slots[s].landed = true;
  }
  void run(const ir::Stmt& s) {
    if (!s.defined())
      return;
    switch (s.kind()) {
    case ir::StmtKind::Block:
      for (const auto& c : s.as<ir::Block>()->stmts)
        run(c);
      break;
    case ir::StmtKind::For: {
      auto* f = s.as<ir::For>();
      const long long mn = eval(f->min, env), ext = eval(f->extent, env);
      for (long long v = mn; v < mn + ext; ++v) {
        env[f->var.as<ir::Var>()->name] = v;
        run(f->body);
      }
      break;
    }
    case ir::StmtKind::IfThenElse: {
      auto* i = s.as<ir::IfThenElse>();
      run(eval(i->cond, env) ? i->then_case : i->else_case);
      break;
    }
    case ir::StmtKind::Allocate: {
      const ir::Buffer& b = s.as<ir::Allocate>()->buffer;
      if (b->view_of)
        views[b->name] = b->view_of->name + "#" + std::to_string(eval(b->view_offset, env));
      break;
    }
    case ir::StmtKind::TileOp: {
      auto* c = s.as<ops::Copy>();
      if (c == nullptr || c->dst.buffer->scope != ir::Scope::shared)
        break;
      const std::string name = key(c->dst.buffer->name);
      const auto& r = c->src.ranges;
      // a[:, k-tile] or b[k-tile, :]: the tile index is the non-zero start / kTile.
      const long long start = std::max(eval(r[0].start, env), eval(r[1].start, env));
      REQUIRE(c->plan.has_value());
      REQUIRE(c->plan->deferred); // waited for by the pipeline, not where it is issued
      Slot& sl = slots[name];
      INFO("load into " << name << " while its previous tile may still be read");
      REQUIRE(sl.last_read_sync < syncs); // WAR: a barrier since the last read
      sl.content = start / kTile;
      sl.group = static_cast<int>(groups.size());
      sl.landed = sl.visible = false;
      open.insert(name);
      break;
    }
    case ir::StmtKind::AsyncCommit:
      groups.push_back(open);
      open.clear();
      break;
    case ir::StmtKind::AsyncWait: {
      const int pending = s.as<ir::AsyncWait>()->pending;
      REQUIRE(pending >= 0);
      complete_upto(std::max<int>(completed, static_cast<int>(groups.size()) - pending));
      break;
    }
    case ir::StmtKind::Barrier:
      ++syncs;
      for (auto& [n, sl] : slots)
        sl.visible = sl.landed;
      break;
    case ir::StmtKind::Store: {
      auto* st = s.as<ir::Store>();
      const long long k = eval(st->indices[0], env);
      // The probe reads a_s (or its slot) through a cast.
      const ir::Expr v = st->value.as<ir::Cast>() ? st->value.as<ir::Cast>()->value : st->value;
      auto* ld = v.as<ir::Load>();
      REQUIRE(ld != nullptr);
      Slot& sl = slots[key(ld->buffer->name)];
      INFO("compute " << k << " reads " << key(ld->buffer->name) << " holding " << sl.content);
      REQUIRE(sl.content == k);
      REQUIRE(sl.visible);
      // b's slot (the view declared beside a's) must hold the same iteration.
      const std::string bname = key("b_s" + ld->buffer->name.substr(3));
      REQUIRE(slots[bname].content == k);
      REQUIRE(slots[bname].visible);
      sl.last_read_sync = slots[bname].last_read_sync = syncs;
      computed.push_back(k);
      break;
    }
    default:
      break;
    }
  }
};

struct Shape {
  int allocs = 0, ifs = 0, fors = 0, pipelined = 0, gemms = 0;
  int commits = 0, waits = 0, barriers = 0, async_deferred = 0;
};
Shape shape_of(const ir::Stmt& s) {
  struct V : ir::IRVisitor {
    Shape sh;
    void visit_allocate(const ir::Allocate* op) override {
      sh.allocs += op->buffer->scope == ir::Scope::shared;
    }
    void visit_if(const ir::IfThenElse* op) override {
      ++sh.ifs;
      IRVisitor::visit_if(op);
    }
    void visit_for(const ir::For* op) override {
      ++sh.fors;
      sh.pipelined += op->for_kind == ir::ForKind::pipelined;
      IRVisitor::visit_for(op);
    }
    void visit_tile_op(const ir::TileOp* op) override {
      sh.gemms += op->op_name() == "gemm";
      const auto* c = dynamic_cast<const ops::Copy*>(op);
      sh.async_deferred += c != nullptr && c->plan && c->plan->async && c->plan->deferred;
    }
    void visit_async_commit(const ir::AsyncCommit*) override { ++sh.commits; }
    void visit_async_wait(const ir::AsyncWait*) override { ++sh.waits; }
    void visit_barrier(const ir::Barrier*) override { ++sh.barriers; }
  } v;
  v.visit(s);
  return v.sh;
}

} // namespace

TEST_CASE("pipeline_loops builds ring slots, prologue, steady state and drain", "[pipeline]") {
  for (int stages : {2, 3, 4}) {
    CAPTURE(stages);
    auto lk = codegen::vectorize_copies(codegen::infer_layouts(pipelined_gemm(8, stages, false)));
    auto out = codegen::pipeline_loops(lk);
    const Shape sh = shape_of(out.body);
    CHECK(sh.pipelined == 0);
    if (stages == 2) {
      // Constant slots: a_s and b_s once per slot (originals dropped), the steady state
      // unrolled by the stage count.
      CHECK(sh.allocs == 2 * stages);
      CHECK(sh.gemms == stages);
      CHECK(sh.fors == 1);
      CHECK(sh.ifs == (stages - 1) + 2 * stages); // prologue guards; per step: trip and prefetch
      CHECK(sh.commits == (stages - 1) + stages);
      CHECK(sh.waits == stages + 1);
      CHECK(sh.barriers == stages + 1);
      CHECK(sh.async_deferred == 2 * ((stages - 1) + stages));
      continue;
    }
    // A ring each for a_s and b_s (originals dropped), and a view of each per prologue load,
    // per steady-state load and for the compute.
    CHECK(sh.allocs == 2 + 2 * ((stages - 1) + 2));
    CHECK(sh.gemms == 1); // one loop body, whatever the stage count
    CHECK(sh.fors == 1);
    CHECK(sh.ifs == (stages - 1) + 1); // prologue guards; the prefetch guard
    // A commit per prologue stage and per iteration; a wait + barrier per iteration and the drain.
    CHECK(sh.commits == (stages - 1) + 1);
    CHECK(sh.waits == 2);
    CHECK(sh.barriers == 2);
    // Both loads are cp.async (same dtype, 16-byte rows) and deferred, in prologue and steps.
    CHECK(sh.async_deferred == 2 * ((stages - 1) + 1));
  }
}

TEST_CASE("pipelined loops compute every iteration on its own landed tile", "[pipeline]") {
  for (bool inside : {false, true}) {
    for (int stages : {2, 3, 4}) {
      for (int trips : {1, 2, 3, 4, 5, 7, 8, 13}) {
        CAPTURE(inside, stages, trips);
        auto lk = codegen::vectorize_copies(
            codegen::infer_layouts(pipelined_gemm(trips, stages, inside)));
        auto out = codegen::pipeline_loops(lk);
        Sim sim;
        sim.run(out.body);
        std::vector<long long> want(trips);
        for (int k = 0; k < trips; ++k)
          want[k] = k;
        CHECK(sim.computed == want);
        CHECK(sim.open.empty());                                     // nothing issued uncommitted
        CHECK(sim.completed == static_cast<int>(sim.groups.size())); // drained
      }
    }
  }
}

TEST_CASE("pipelined loops with one stage or no loads become serial loops", "[pipeline]") {
  auto lk = codegen::vectorize_copies(codegen::infer_layouts(pipelined_gemm(4, 1, false)));
  auto out = codegen::pipeline_loops(lk);
  const Shape sh = shape_of(out.body);
  CHECK(sh.pipelined == 0);
  CHECK(sh.fors == 1);
  CHECK(sh.gemms == 1);
  CHECK(sh.commits + sh.waits == 0);
}
