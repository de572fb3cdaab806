// The simplifier: folding with exact semantics (wrapping, C truncation, bf16/f16 rounding),
// identities that must and must not apply, div/mod rewrites that need non-negative operands,
// and dead control flow. Results are compared as printed IR, which is easy to read in failures.
#include "base/float16.h"
#include "dsl/expr.h"
#include "ir/equal.h"
#include "ir/printer.h"
#include "ir/simplify.h"

#include <catch2/catch.hpp>
#include <cmath>
#include <limits>

using namespace tessera::dsl;
namespace ir = tessera::ir;
using tessera::DType;

namespace {

std::string simp(const Expr& e) {
  return ir::to_string(ir::simplify(e));
}

double float_of(const Expr& e) {
  const ir::FloatImm* imm = ir::simplify(e).as<ir::FloatImm>();
  REQUIRE(imm != nullptr);
  return imm->value;
}

// x has unknown sign (a scalar parameter); t = thread_idx() is known to be >= 0.
const Expr x = ir::Var::make(DType::i32, "x", ir::VarKind::scalar);
const Expr y = ir::Var::make(DType::i32, "y", ir::VarKind::scalar);
const Expr f = ir::Var::make(DType::f32, "f", ir::VarKind::scalar);

Expr bin(ir::BinaryOp op, Expr a, Expr b) {
  return ir::Binary::make(op, std::move(a), std::move(b));
}

} // namespace

TEST_CASE("simplify folds integer arithmetic with C semantics", "[dsl][simplify]") {
  CHECK(simp(Expr(2) + Expr(3)) == "5");
  CHECK(simp(Expr(2) - Expr(7)) == "-5");
  CHECK(simp(Expr(-7) / Expr(2)) == "-3"); // truncation toward zero, not floor
  CHECK(simp(Expr(-7) % Expr(2)) == "-1"); // the remainder takes the dividend's sign
  CHECK(simp(Expr(7) / Expr(-2)) == "-3");
  CHECK(simp(Expr(7) % Expr(-2)) == "1");
  CHECK(simp(Expr(-8) / Expr(-3)) == "2");
  CHECK(simp(Expr(2147483647) + Expr(1)) == "-2147483648"); // i32 wraps
  CHECK(simp(Expr(65536) * Expr(65536)) == "0");
  CHECK(simp(Expr(7) / Expr(0)) == "(7 / 0)"); // left for run time
  CHECK(simp(Expr(7) % Expr(0)) == "(7 % 0)");
  CHECK(simp(bin(ir::BinaryOp::Div, Expr(std::numeric_limits<int>::min()), Expr(-1))) ==
        "(-2147483648 / -1)");
  CHECK(simp(min(Expr(3), Expr(-4))) == "-4");
  CHECK(simp(max(Expr(3), Expr(-4))) == "3");
  CHECK(simp(-Expr(5)) == "-5");
  CHECK(simp(ir::IntImm::make(DType::u32, 3) - ir::IntImm::make(DType::u32, 5)) ==
        "u32(4294967294)");
}

TEST_CASE("simplify folds comparisons and logic", "[dsl][simplify]") {
  CHECK(simp(Expr(3) < Expr(4)) == "true");
  CHECK(simp(Expr(-3) >= Expr(4)) == "false");
  CHECK(simp(Expr(1.0f) == Expr(1.0f)) == "true");
  CHECK(simp((x < 3) && (Expr(1) < Expr(2))) == "(x < 3)");
  CHECK(simp((x < 3) && (Expr(2) < Expr(1))) == "false");
  CHECK(simp((x < 3) || (Expr(1) < Expr(2))) == "true");
  CHECK(simp((x < 3) || (Expr(2) < Expr(1))) == "(x < 3)");
  CHECK(simp(!(x < 3)) == "(x >= 3)");
  CHECK(simp(!!(x < 3)) == "(x < 3)");
  CHECK(simp(x == x) == "true");
  CHECK(simp(x < x) == "false");
  CHECK(simp(thread_idx() >= 0) == "true");
  CHECK(simp(thread_idx() < 0) == "false");
  CHECK(simp(x >= 0) == "(x >= 0)"); // a scalar may be negative
}

TEST_CASE("simplify keeps float comparisons that NaN would change", "[dsl][simplify]") {
  CHECK(simp(f == f) == "(f == f)");
  CHECK(simp(!(f < 1.0f)) == "!(f < 1.0f)");
  const Expr nan = ir::FloatImm::make(DType::f32, std::numeric_limits<double>::quiet_NaN());
  CHECK(simp(nan == nan) == "false");
  CHECK(simp(nan != nan) == "true");
}

TEST_CASE("simplify folds float arithmetic in the expression's precision", "[dsl][simplify]") {
  CHECK(simp(Expr(1.5f) + Expr(2.25f)) == "3.75f");
  CHECK(float_of(Expr(0.1f) + Expr(0.2f)) == static_cast<double>(0.1f + 0.2f));
  CHECK(float_of(Expr(1.0f) / Expr(3.0f)) == static_cast<double>(1.0f / 3.0f));
  CHECK(std::isinf(float_of(Expr(1.0f) / Expr(0.0f))));
  CHECK(float_of(min(Expr(-0.5f), Expr(2.0f))) == -0.5);
  CHECK(float_of(-Expr(2.0f)) == -2.0);
  CHECK(float_of(sqrt(Expr(4.0f))) == 2.0);
  CHECK(float_of(exp(Expr(0.0f))) == 1.0);
  CHECK(float_of(abs(Expr(-3.5f))) == 3.5);
  CHECK(float_of(floor(Expr(-2.5f))) == -3.0);
  CHECK(float_of(ceil(Expr(-2.5f))) == -2.0);
  CHECK(float_of(rsqrt(Expr(4.0f))) == 0.5);
  CHECK(float_of(fma(Expr(0.1f), Expr(10.0f), Expr(-1.0f))) ==
        static_cast<double>(std::fma(0.1f, 10.0f, -1.0f)));
  CHECK(simp(warp_sum(Expr(1.0f))) == "warp_sum(1.0f, 32)"); // depends on the other lanes
}

TEST_CASE("simplify folds casts with rounding and truncation", "[dsl][simplify]") {
  // 1 + 2^-8 lies halfway between two bf16 values: ties go to the even one, 1.0.
  CHECK(float_of(cast(bf16, Expr(1.00390625f))) == 1.0);
  CHECK(float_of(cast(bf16, Expr(1.01171875f))) == 1.015625);
  CHECK(float_of(cast(bf16, Expr(-1.01171875f))) == -1.015625);
  CHECK(float_of(cast(f16, Expr(0.1f))) ==
        static_cast<double>(tessera::f16_bits_to_float(tessera::float_to_f16_bits(0.1f))));
  CHECK(std::isinf(float_of(cast(f16, Expr(65520.0f))))); // past the largest half
  CHECK(simp(cast(i32, Expr(-2.7f))) == "-2");            // toward zero
  CHECK(simp(cast(i32, Expr(2.7f))) == "2");
  CHECK(simp(cast(i32, Expr(3.0e9f))) == "i32(3000000000.0f)"); // out of range: left alone
  CHECK(simp(cast(u8, x + 0)) == "u8(x)");
  CHECK(simp(ir::Cast::make(DType::u8, Expr(300))) == "u8(44)");
  CHECK(simp(ir::Cast::make(DType::i8, Expr(200))) == "i8(-56)");
  CHECK(simp(ir::Cast::make(DType::f32, Expr(16777217))) == "16777216.0f");
  CHECK(simp(ir::Cast::make(DType::boolean, Expr(2))) == "true");
  // A round trip through a wider type is the value; through a narrower one it is not.
  CHECK(simp(cast(i32, cast(i64, x))) == "x");
  CHECK(simp(cast(i32, cast(i8, x))) == "i32(i8(x))");
  CHECK(simp(cast(f32, cast(f64, f))) == "f");
  CHECK(simp(cast(f32, cast(bf16, f))) == "f32(bf16(f))");
}

TEST_CASE("simplify rounds bf16 and f16 immediates to their type", "[dsl][simplify]") {
  const Expr b = ir::FloatImm::make(DType::bf16, 1.01171875);
  CHECK(ir::simplify(b).as<ir::FloatImm>()->value == 1.015625);
}

TEST_CASE("simplify applies integer identities", "[dsl][simplify]") {
  CHECK(simp(x + 0) == "x");
  CHECK(simp(Expr(0) + x) == "x");
  CHECK(simp(x - 0) == "x");
  CHECK(simp(x * 1) == "x");
  CHECK(simp(Expr(1) * x) == "x");
  CHECK(simp(x * 0) == "0");
  CHECK(simp(x - x) == "0");
  CHECK(simp((x + y) - x) == "y");
  CHECK(simp(x / 1) == "x");
  CHECK(simp(x % 1) == "0");
  CHECK(simp(Expr(3) + x) == "(x + 3)"); // constants move right
  CHECK(simp((x + 2) + 3) == "(x + 5)");
  CHECK(simp((x + 2) - 2) == "x");
  CHECK(simp((x - 5) + 2) == "(x - 3)");
  CHECK(simp((x + 2) - 7) == "(x - 5)");
  CHECK(simp((x * 2) * 3) == "(x * 6)");
  CHECK(simp(min(x, x)) == "x");
  CHECK(simp(max(y, y)) == "y");
  CHECK(simp(min(min(x, 4), 2)) == "min(x, 2)");
  CHECK(simp(max(thread_idx(), 0)) == "thread_idx");
  CHECK(simp(max(x, 0)) == "max(x, 0)");
}

TEST_CASE("simplify keeps float identities that change signed zeros", "[dsl][simplify]") {
  CHECK(simp(f + 0.0f) == "(f + 0.0f)"); // -0.0 + 0.0 is +0.0
  CHECK(simp(f + -0.0f) == "f");
  CHECK(simp(f - 0.0f) == "f");
  CHECK(simp(f * 1.0f) == "f");
  CHECK(simp(f / 1.0f) == "f");
  CHECK(simp(f * 0.0f) == "(f * 0.0f)"); // NaN * 0 is NaN, -1 * 0 is -0
  CHECK(simp(f - f) == "(f - f)");       // inf - inf is NaN
}

TEST_CASE("simplify rewrites div and mod only when truncation allows", "[dsl][simplify]") {
  const Expr t = thread_idx();
  CHECK(simp((t * 4 + 3) / 4) == "thread_idx");
  CHECK(simp((t * 8 + 5) / 4) == "((thread_idx * 2) + 1)");
  CHECK(simp((Expr(3) + t * 4) / 4) == "thread_idx");
  CHECK(simp((t * 4 + 3) % 4) == "3");
  CHECK(simp((t + 8) / 4) == "((thread_idx / 4) + 2)");
  CHECK(simp((t + 8) % 4) == "(thread_idx % 4)");
  // x may be negative: (-1 * 4 + 3) / 4 is 0, not -1 + 3 / 4 = -1.
  CHECK(simp((x * 4 + 3) / 4) == "(((x * 4) + 3) / 4)");
  CHECK(simp((x * 4 + 3) % 4) == "(((x * 4) + 3) % 4)");
  // A negative term: (1 * 4 - 5) / 4 is 0, but 1 + -5 / 4 is 0 only by luck; not rewritten.
  CHECK(simp((t * 4 - 1) / 4) == "(((thread_idx * 4) - 1) / 4)");
  // Exact for every sign.
  CHECK(simp((x * 4) / 4) == "x");
  CHECK(simp((x * 12) / 4) == "(x * 3)");
  CHECK(simp((x * 8) % 4) == "0");
  CHECK(simp((x / 4) / 8) == "(x / 32)");
  CHECK(simp((x % 4) / 4) == "0");
  CHECK(simp((x % 3) / 4) == "0");
  CHECK(simp((x % 8) % 4) == "(x % 4)");
  CHECK(simp((x % 6) % 4) == "((x % 6) % 4)");
  CHECK(simp((block_idx(0) * 64 + thread_idx()) / 64) == "(block_x + (thread_idx / 64))");
}

TEST_CASE("simplify folds selects", "[dsl][simplify]") {
  CHECK(simp(select(Expr(1) < Expr(2), x, y)) == "x");
  CHECK(simp(select(Expr(2) < Expr(1), x, y)) == "y");
  CHECK(simp(select(x < 3, y, y)) == "y");
  CHECK(simp(select(x < 3, x, y)) == "select((x < 3), x, y)");
}

// ---------------------------------------------------------------------------------------------
// Statements
// ---------------------------------------------------------------------------------------------

namespace {

ir::Buffer buffer(const char* name, ir::Scope scope = ir::Scope::fragment) {
  auto b = std::make_shared<ir::BufferNode>();
  b->name = name;
  b->dtype = DType::i32;
  b->shape = {Expr(64)};
  b->scope = scope;
  b->writable = true;
  return b;
}

ir::Stmt store(const ir::Buffer& b, Expr index, Expr value) {
  return ir::Store::make(b, {std::move(index)}, std::move(value), {});
}

ir::Stmt loop(const Expr& var, Expr min, Expr extent, ir::Stmt body) {
  return ir::For::make(var, std::move(min), std::move(extent), ir::ForKind::serial,
                       ir::Block::make({std::move(body)}), {});
}

const Expr i = ir::Var::make(DType::i32, "i", ir::VarKind::loop);
const Expr j = ir::Var::make(DType::i32, "j", ir::VarKind::loop);

} // namespace

TEST_CASE("simplify removes loops that never run and inlines single iterations",
          "[dsl][simplify]") {
  const ir::Buffer b = buffer("b");
  CHECK(ir::to_string(ir::simplify(loop(i, 0, 0, store(b, i, 1)))) == "");
  CHECK(ir::to_string(ir::simplify(loop(i, 0, Expr(2) - Expr(5), store(b, i, 1)))) == "");
  CHECK(ir::to_string(ir::simplify(loop(i, 7, 1, store(b, i + 1, i)))) == "b[8] = 7\n");
  CHECK(ir::to_string(ir::simplify(loop(i, 0, x, ir::Block::make({})))) == "");
  CHECK(ir::to_string(ir::simplify(loop(i, 0, x, store(b, i * 1, 0)))) ==
        "for serial i in [0, x):\n  b[i] = 0\n");
}

TEST_CASE("simplify knows loop variables with a non-negative minimum", "[dsl][simplify]") {
  const ir::Buffer b = buffer("b");
  CHECK(ir::to_string(ir::simplify(loop(i, 0, x, store(b, (i * 4 + 3) / 4, 0)))) ==
        "for serial i in [0, x):\n  b[i] = 0\n");
  // A negative minimum proves nothing.
  CHECK(ir::to_string(ir::simplify(loop(i, -4, x, store(b, (i * 4 + 3) / 4, 0)))) ==
        "for serial i in [-4, -4 + x):\n  b[(((i * 4) + 3) / 4)] = 0\n");
  // Outside a loop its variable has unknown sign.
  CHECK(simp((i * 4 + 3) / 4) == "(((i * 4) + 3) / 4)");
  // Parallel variables count from zero.
  const ir::Stmt par = ir::Parallel::make({j}, {64}, store(b, j, (j * 4 + 3) / 4), {});
  CHECK(ir::to_string(ir::simplify(par)) == "parallel (j) in [64]:\n  b[j] = j\n");
}

TEST_CASE("simplify resolves constant conditions", "[dsl][simplify]") {
  const ir::Buffer b = buffer("b");
  const ir::Stmt then_s = store(b, 0, 1), else_s = store(b, 0, 2);
  CHECK(ir::to_string(ir::simplify(ir::IfThenElse::make(Expr(1) < Expr(2), then_s, else_s, {}))) ==
        "b[0] = 1\n");
  CHECK(ir::to_string(ir::simplify(ir::IfThenElse::make(Expr(2) < Expr(1), then_s, else_s, {}))) ==
        "b[0] = 2\n");
  CHECK(ir::to_string(ir::simplify(ir::IfThenElse::make(Expr(2) < Expr(1), then_s, {}, {}))) == "");
  CHECK(ir::to_string(ir::simplify(ir::IfThenElse::make(x < 3, ir::Block::make({}), else_s, {}))) ==
        "if (x >= 3):\n"
        "  b[0] = 2\n");
  CHECK(ir::to_string(ir::simplify(ir::ThreadRange::make(0, 32, ir::Block::make({}), {}))) == "");
}

TEST_CASE("simplify flattens blocks but keeps allocation scopes", "[dsl][simplify]") {
  const ir::Buffer b = buffer("b"), s = buffer("s", ir::Scope::shared);
  const ir::Stmt inner = ir::Block::make({store(b, 0, 1), ir::Block::make({store(b, 1, 2)})});
  const ir::Stmt scoped = ir::Block::make({ir::Allocate::make(s, {}), store(s, 0, 3)});
  const ir::Stmt outer = ir::Block::make({inner, scoped, store(b, 2, 4)});
  const ir::Stmt r = ir::simplify(outer);
  const ir::Block* top = r.as<ir::Block>();
  REQUIRE(top != nullptr);
  REQUIRE(top->stmts.size() == 4); // b[0], b[1], the scoped block, b[2]
  CHECK(top->stmts[2].as<ir::Block>() != nullptr);
  CHECK(ir::to_string(r) == "b[0] = 1\nb[1] = 2\nshared s: i32[64]\ns[0] = 3\nb[2] = 4\n");
  // A block stays a block, even with one statement or none left.
  CHECK(ir::simplify(ir::Block::make({store(b, 0, Expr(1) + Expr(1))})).as<ir::Block>());
  CHECK(ir::simplify(ir::Block::make({loop(i, 0, 0, store(b, i, 1))})).as<ir::Block>());
}

TEST_CASE("simplify reuses unchanged nodes and is idempotent", "[dsl][simplify]") {
  const ir::Buffer b = buffer("b");
  const ir::Stmt s = loop(i, 0, x, store(b, i, y));
  CHECK(ir::simplify(s).same_as(s));
  const Expr e = (x * 4 + 3) / 4 + (Expr(2) + Expr(3));
  CHECK(ir::equal(ir::simplify(ir::simplify(e)), ir::simplify(e)));
}
