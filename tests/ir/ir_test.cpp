// IR construction through the factories, the printer's exact text, and structural equality.
#include "base/error.h"
#include "ir/equal.h"
#include "ir/ir.h"
#include "ir/printer.h"
#include "ops/copy.h"

#include <catch2/catch.hpp>
#include <cmath>
#include <limits>

namespace ir = tessera::ir;
using tessera::DType;
using namespace tessera::ir;
using tessera::ops::Copy;

namespace {

Buffer make_buffer(std::string name, DType t, std::vector<Expr> shape, Scope scope, bool writable,
                   int param = -1) {
  auto b = std::make_shared<BufferNode>();
  b->name = std::move(name);
  b->dtype = t;
  b->shape = std::move(shape);
  b->scope = scope;
  b->writable = writable;
  b->param_index = param;
  return b;
}

Expr add(Expr a, Expr b) {
  return Binary::make(BinaryOp::Add, std::move(a), std::move(b));
}
Expr mul(Expr a, Expr b) {
  return Binary::make(BinaryOp::Mul, std::move(a), std::move(b));
}

} // namespace

TEST_CASE("factories type their nodes", "[dsl][ir]") {
  const Expr x = Var::make(DType::i32, "x", VarKind::scalar);
  CHECK(add(x, 1).type() == DType::i32);
  CHECK(Binary::make(BinaryOp::LT, x, Expr(1)).type() == DType::boolean);
  CHECK(Cast::make(DType::f32, x).type() == DType::f32);
  CHECK(Cast::make(DType::i32, x).same_as(x)); // a cast to the same type is the value itself
  CHECK(Call::make(CallOp::exp, {Expr(1.0f)}).type() == DType::f32);
  CHECK(Select::make(Binary::make(BinaryOp::LT, x, Expr(1)), Expr(1.0f), Expr(2.0f)).type() ==
        DType::f32);
  CHECK(Expr(std::int64_t{3}).type() == DType::i64);
  CHECK(Expr(2.5).type() == DType::f32);
}

TEST_CASE("factories refuse malformed nodes as internal errors", "[dsl][ir]") {
  const Expr x = Var::make(DType::i32, "x", VarKind::scalar);
  CHECK_THROWS_AS(Binary::make(BinaryOp::Add, x, Expr(1.0f)), tessera::InternalError);
  CHECK_THROWS_AS(IntImm::make(DType::f32, 1), tessera::InternalError);
  CHECK_THROWS_AS(FloatImm::make(DType::i32, 1.0), tessera::InternalError);
  CHECK_THROWS_AS(Unary::make(UnaryOp::Not, x), tessera::InternalError);
  const Buffer b = make_buffer("b", DType::f32, {Expr(4), Expr(4)}, Scope::fragment, true);
  CHECK_THROWS_WITH(Load::make(b, {Expr(0)}),
                    Catch::Contains("internal error") && Catch::Contains("Load of b: 1 indices"));
  CHECK_THROWS_AS(Parallel::make({}, {}, Block::make({}), {}), tessera::InternalError);
}

TEST_CASE("regions report the shape of their non-squeezed dimensions", "[dsl][ir]") {
  const Buffer b = make_buffer("b", DType::f32, {Expr(4), Expr(8), Expr(16)}, Scope::shared, true);
  const Region whole = Region::whole(b);
  CHECK(whole.shape() == std::vector<std::int64_t>{4, 8, 16});
  Region r{b, {Range{Expr(1), 1, true}, Range{Expr(0), 8, false}, Range{Expr(4), 4, false}}};
  CHECK(r.shape() == std::vector<std::int64_t>{8, 4});
  CHECK(const_numel(b) == 512);
  const Expr n = Var::make(DType::i32, "n", VarKind::dim);
  const Buffer g = make_buffer("g", DType::f32, {n, Expr(4)}, Scope::global, false, 0);
  CHECK(const_extent(g, 0) == -1);
  CHECK(const_numel(g) == -1);
  CHECK_THROWS_AS(Region::whole(g), tessera::InternalError);
}

TEST_CASE("the printer writes a small kernel exactly", "[dsl][ir][printer]") {
  const Expr n = Var::make(DType::i32, "n", VarKind::dim);
  const Buffer x = make_buffer("x", DType::f32, {n}, Scope::global, false, 0);
  const Buffer y = make_buffer("y", DType::f32, {n}, Scope::global, true, 1);
  const Buffer t = make_buffer("t", DType::f32, {Expr(256)}, Scope::fragment, true);
  const Expr bx = Var::make(DType::i32, "block_x", VarKind::block_idx);
  const Expr p = Var::make(DType::i32, "p", VarKind::loop);
  const Expr i = Var::make(DType::i32, "i", VarKind::loop);
  const Region tile{x, {Range{mul(bx, 256), 256, false}}};
  const Region out{y, {Range{mul(bx, 256), 256, false}}};

  Kernel k;
  k.name = "scale";
  k.params = {Param{Param::Kind::tensor, "x", DType::f32, x, Expr()},
              Param{Param::Kind::tensor, "y", DType::f32, y, Expr()}};
  k.dims = {DynamicDim{"n", n}};
  k.grid = {Binary::make(BinaryOp::Div, n, Expr(256))};
  k.threads = 128;
  k.cluster = {2};
  k.body = Block::make({
      Allocate::make(t, {}),
      Copy::make(tile, Region::whole(t), {}),
      Parallel::make({p}, {256}, Store::make(t, {p}, mul(Load::make(t, {p}), Expr(2.0f)), {}), {}),
      For::make(i, 0, 4, ForKind::pipelined, Barrier::make(SourceLoc{"/src/kernels/k.cpp", 12}), {},
                3),
      IfThenElse::make(Binary::make(BinaryOp::LT, bx, Expr(7)),
                       Copy::make(Region::whole(t), out, {}), PdlTrigger::make({}), {}),
  });

  const std::string expected = "kernel scale(x: f32[n], out y: f32[n])\n"
                               "  dynamic n\n"
                               "  grid((n / 256)) threads(128) cluster(2)\n"
                               "  fragment t: f32[256]\n"
                               "  copy x[(block_x * 256):+256] -> t\n"
                               "  parallel (p) in [256]:\n"
                               "    t[p] = (t[p] * 2.0f)\n"
                               "  for pipelined<stages=3> i in [0, 4):\n"
                               "    barrier" +
                               std::string(53, ' ') + "# k.cpp:12\n" +

                               "  if (block_x < 7):\n"
                               "    copy t -> y[(block_x * 256):+256]\n"
                               "  else:\n"
                               "    pdl_trigger\n";
  CHECK(to_string(k) == expected);
}

TEST_CASE("the printer spells every expression form", "[dsl][ir][printer]") {
  const Expr x = Var::make(DType::i32, "x", VarKind::scalar);
  const Expr f = Var::make(DType::f32, "f", VarKind::scalar);
  CHECK(to_string(Binary::make(BinaryOp::Min, x, Expr(3))) == "min(x, 3)");
  CHECK(to_string(Unary::make(UnaryOp::Neg, f)) == "-f");
  CHECK(to_string(Cast::make(DType::bf16, f)) == "bf16(f)");
  CHECK(to_string(IntImm::make(DType::i64, 5)) == "i64(5)");
  CHECK(to_string(IntImm::make(DType::boolean, 1)) == "true");
  CHECK(to_string(FloatImm::make(DType::f64, 0.5)) == "0.5");
  CHECK(to_string(Call::make(CallOp::fma, {f, f, Expr(1.0f)})) == "fma(f, f, 1.0f)");
  CHECK(to_string(Select::make(Binary::make(BinaryOp::EQ, x, Expr(0)), f, Expr(0.0f))) ==
        "select((x == 0), f, 0.0f)");
}

TEST_CASE("structural equality compares shapes, not pointers", "[dsl][ir][equal]") {
  const Expr x = Var::make(DType::i32, "x", VarKind::scalar);
  const Expr x2 = Var::make(DType::i32, "x", VarKind::scalar);
  const Expr y = Var::make(DType::i32, "y", VarKind::scalar);
  CHECK(equal(add(x, 1), add(x2, 1)));
  CHECK(structural_hash(add(x, 1)) == structural_hash(add(x2, 1)));
  CHECK_FALSE(equal(add(x, 1), add(y, 1)));
  CHECK_FALSE(equal(add(x, 1), add(x, 2)));
  CHECK_FALSE(equal(add(x, 1), Binary::make(BinaryOp::Sub, x, Expr(1))));
  CHECK_FALSE(equal(Expr(1), Expr(std::int64_t{1})));               // types differ
  CHECK_FALSE(equal(Var::make(DType::i32, "x", VarKind::loop), x)); // kinds differ
  CHECK(equal(Expr(), Expr()));
  CHECK_FALSE(equal(Expr(), x));
  CHECK(structural_hash(add(x, 1)) != structural_hash(add(x, 2)));
}

TEST_CASE("structural equality compares float constants by bits", "[dsl][ir][equal]") {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  CHECK(equal(FloatImm::make(DType::f32, nan), FloatImm::make(DType::f32, nan)));
  CHECK_FALSE(equal(Expr(0.0f), Expr(-0.0f)));
  CHECK(equal(Expr(1.5f), Expr(1.5f)));
  CHECK_FALSE(equal(FloatImm::make(DType::f32, 1.5), FloatImm::make(DType::bf16, 1.5)));
}

TEST_CASE("structural equality of statements ignores source lines, not buffers",
          "[dsl][ir][equal]") {
  const Buffer a = make_buffer("a", DType::f32, {Expr(4)}, Scope::fragment, true);
  const Buffer a2 = make_buffer("a", DType::f32, {Expr(4)}, Scope::fragment, true);
  const Expr i = Var::make(DType::i32, "i", VarKind::loop);
  auto loop = [&](const Buffer& b, int line, int extent) {
    return For::make(i, 0, extent, ForKind::serial,
                     Block::make({Store::make(b, {i}, Expr(1.0f), SourceLoc{"k.cpp", line})}),
                     SourceLoc{"k.cpp", line});
  };
  CHECK(equal(loop(a, 1, 4), loop(a, 2, 4)));
  CHECK(structural_hash(loop(a, 1, 4)) == structural_hash(loop(a, 2, 4)));
  CHECK_FALSE(equal(loop(a, 1, 4), loop(a, 1, 5)));
  CHECK_FALSE(equal(loop(a, 1, 4), loop(a2, 1, 4))); // same name, different buffer
  CHECK(equal(Barrier::make({}), Barrier::make(SourceLoc{"k.cpp", 3})));
  CHECK_FALSE(equal(Barrier::make({}), PdlWait::make({})));
  CHECK_FALSE(equal(ThreadRange::make(0, 32, Barrier::make({}), {}),
                    ThreadRange::make(0, 64, Barrier::make({}), {})));
}
