#include "ops/gemm.h"

#include "base/error.h"
#include "ir/util.h"
#include "ir/verify_context.h"
#include "ops/lower_util.h"

#include <fmt/format.h>

namespace tessera::ops {

using namespace ir;

namespace {

[[noreturn]] void fail(const Gemm& op, const std::string& kernel, const std::string& what) {
  throw UserError(fmt::format("kernel '{}': gemm({}, {}, {}) at {}: {}", kernel, op.a->name,
                              op.b->name, op.c->name, op.loc.str(), what));
}

} // namespace

GemmShape gemm_shape(const Gemm& op, const std::string& kernel, bool whole_k_steps) {
  GemmShape g;
  for (const ir::Buffer* b : {&op.a, &op.b, &op.c}) {
    if ((*b)->shape.size() != 2 || ir::const_extent(*b, 0) <= 0 || ir::const_extent(*b, 1) <= 0)
      fail(op, kernel, fmt::format("'{}' must be a 2-D tile with constant extents", (*b)->name));
  }
  for (const ir::Buffer* b : {&op.a, &op.b}) {
    if ((*b)->scope != ir::Scope::shared)
      fail(op, kernel,
           fmt::format("operand '{}' is a {} tile; the CUDA backend reads gemm operands from "
                       "shared memory (copy it into a shared() tile first)",
                       (*b)->name, ir::scope_name((*b)->scope)));
    if ((*b)->dtype != DType::bf16 && (*b)->dtype != DType::f16 && (*b)->dtype != DType::f32)
      fail(op, kernel,
           fmt::format("operand '{}' has element type {}; gemm takes bf16, f16 or f32", (*b)->name,
                       dtype_name((*b)->dtype)));
  }
  if (op.c->scope != ir::Scope::fragment || op.c->dtype != DType::f32)
    fail(op, kernel, fmt::format("accumulator '{}' must be an f32 fragment", op.c->name));

  const std::int64_t a0 = ir::const_extent(op.a, 0), a1 = ir::const_extent(op.a, 1);
  const std::int64_t b0 = ir::const_extent(op.b, 0), b1 = ir::const_extent(op.b, 1);
  g.m = op.trans_a ? a1 : a0;
  g.k = op.trans_a ? a0 : a1;
  g.n = op.trans_b ? b0 : b1;
  const std::int64_t kb = op.trans_b ? b1 : b0;
  g.lda = ir::storage_row_pitch(op.a); // padded shared tiles: the stored row length
  g.ldb = ir::storage_row_pitch(op.b);
  if (kb != g.k)
    fail(op, kernel,
         fmt::format("inner dimensions differ ({} of '{}' vs {} of '{}')", g.k, op.a->name, kb,
                     op.b->name));
  if (ir::const_extent(op.c, 0) != g.m || ir::const_extent(op.c, 1) != g.n)
    fail(op, kernel,
         fmt::format("'{}' is {}x{} but the product is {}x{}", op.c->name,
                     ir::const_extent(op.c, 0), ir::const_extent(op.c, 1), g.m, g.n));

  const DType ta = op.a->dtype, tb = op.b->dtype;
  const bool both16 = (ta == DType::bf16 || ta == DType::f16) && tb == ta;
  if (both16) {
    g.path = ta == DType::bf16 ? MmaPath::bf16 : MmaPath::f16;
    // ldmatrix needs 16-byte rows; otherwise the tf32 path multiplies the same 16-bit values
    // exactly (they are representable in TF32), only with 8-deep instead of 16-deep k steps.
    if (g.lda % 8 != 0 || g.ldb % 8 != 0)
      g.path = MmaPath::tf32;
  } else {
    g.path = op.precision == GemmPrecision::fp32     ? MmaPath::fp32
             : op.precision == GemmPrecision::tf32x3 ? MmaPath::tf32x3
                                                     : MmaPath::tf32;
  }
  const MmaShape s = mma_shape(g.path);
  if (g.m % s.m != 0 || g.n % s.n != 0 || (whole_k_steps && g.k % s.k != 0))
    fail(op, kernel,
         fmt::format("M x N x K = {} x {} x {} must be multiples of the {} instruction shape "
                     "{} x {} x {} (pad the tiles; copies from global memory zero-fill tails)",
                     g.m, g.n, g.k, mma_path_name(g.path), s.m, s.n, s.k));
  return g;
}

void Gemm::request_layouts(LayoutRequests& requests) const {
  const GemmShape g = gemm_shape(*this, requests.kernel_name(), false);
  const Participants p = requests.participants();
  if (p.threads % 32 != 0 || p.begin % 32 != 0) {
    throw UserError(fmt::format("kernel '{}': gemm into '{}' at {}: tensor-core gemm needs whole "
                                "warps (thread range [{}, {}) is not warp-aligned)",
                                requests.kernel_name(), c->name, loc.str(), p.begin,
                                p.begin + p.threads));
  }
  requests.fix(c, mma_accumulator_layout(choose_mma_tiling(g.m, g.n, p.threads), p.begin));
}

Stmt Gemm::make(Buffer a, Buffer b, Buffer c, bool trans_a, bool trans_b, bool clear,
                GemmPrecision precision, SourceLoc loc) {
  return Stmt(std::make_shared<Gemm>(std::move(loc), std::move(a), std::move(b), std::move(c),
                                     trans_a, trans_b, clear, precision));
}

std::vector<Operand> Gemm::operands() const {
  return {{Region::whole(a), Access::read},
          {Region::whole(b), Access::read},
          {Region::whole(c), clear ? Access::write : Access::read_write}};
}

std::vector<std::string> Gemm::attrs() const {
  std::vector<std::string> out;
  if (trans_a) {
    out.emplace_back("trans_a");
  }
  if (trans_b) {
    out.emplace_back("trans_b");
  }
  if (clear) {
    out.emplace_back("clear");
  }
  out.emplace_back(precision == GemmPrecision::tf32   ? "tf32"
                   : precision == GemmPrecision::fp32 ? "fp32"
                                                      : "tf32x3");
  return out;
}

Stmt Gemm::rebuild(std::vector<Region> operands, std::vector<Expr> /*args*/) const {
  return make(operands.at(0).buffer, operands.at(1).buffer, operands.at(2).buffer, trans_a, trans_b,
              clear, precision, loc);
}

void Gemm::verify(const VerifyContext& ctx) const {
  for (const Buffer* operand : {&a, &b}) {
    if (!is_tile_scope((*operand)->scope)) {
      ctx.fail(loc, fmt::format("gemm operand {}: A and B must be shared or fragment tiles",
                                describe(*operand)));
    }
  }
  if (c->scope != Scope::fragment || c->dtype != DType::f32) {
    ctx.fail(loc, fmt::format("gemm accumulator {}: C must be an f32 fragment", describe(c)));
  }
  for (const Buffer* operand : {&a, &b, &c}) {
    if ((*operand)->shape.size() != 2) {
      ctx.fail(loc, fmt::format("gemm operand {} must be 2-D", describe(*operand)));
    }
  }
  const DType ta = a->dtype, tb = b->dtype;
  const bool half = (ta == DType::bf16 || ta == DType::f16) && tb == ta;
  // Mixed operands (bf16 activations times f32 weights) take the TF32/FP32 paths: 16-bit values
  // are exact in TF32, so only the f32 side is rounded, as for an all-f32 gemm.
  const bool f32_side = ta == DType::f32 || tb == DType::f32;
  if (!half && !f32_side) {
    ctx.fail(loc, fmt::format("gemm of '{}' ({}) and '{}' ({}): 16-bit operands must have the "
                              "same type (bf16 with bf16, f16 with f16; either may meet f32)",
                              a->name, dtype_name(ta), b->name, dtype_name(tb)));
  }
  auto shape = [](const Buffer& x) {
    return std::vector<std::int64_t>{const_extent(x, 0), const_extent(x, 1)};
  };
  const auto sa = shape(a), sb = shape(b), sc = shape(c);
  const std::int64_t m = trans_a ? sa[1] : sa[0], ka = trans_a ? sa[0] : sa[1];
  const std::int64_t kb = trans_b ? sb[1] : sb[0], n = trans_b ? sb[0] : sb[1];
  if (ka != kb) {
    ctx.fail(loc, fmt::format("gemm of '{}'{} {} and '{}'{} {}: inner dimensions {} and {} differ",
                              a->name, trans_a ? "^T" : "", shape_string(sa), b->name,
                              trans_b ? "^T" : "", shape_string(sb), ka, kb));
  }
  if (sc[0] != m || sc[1] != n) {
    ctx.fail(loc, fmt::format("gemm into '{}' {}: the product of '{}' and '{}' is {}", c->name,
                              shape_string(sc), a->name, b->name, shape_string({m, n})));
  }
  ctx.check_writable(loc, c, "gemm");
}

Stmt Gemm::lower(LowerContext& ctx) const {
  const GemmShape g = gemm_shape(*this, ctx.kernel_name(), ctx.target().has_tensor_cores());
  const Participants p = ctx.participants();
  const MmaTiling tiling = choose_mma_tiling(g.m, g.n, p.threads);
  const Layout& l = ctx.layout(c);
  const auto* map = dynamic_cast<const MmaAccumulatorMap*>(l.map.get());
  if (l.kind != LayoutKind::mapped || map == nullptr || !(map->tiling() == tiling)) {
    throw InternalError(fmt::format("kernel '{}': gemm accumulator '{}' at {} has layout {} "
                                    "instead of the mma accumulator layout ({} threads)",
                                    ctx.kernel_name(), c->name, loc.str(), l.str(), p.threads));
  }
  const Buffer acc = ctx.registers(c);
  const Expr r = int_var("r_");
  std::vector<Stmt> out;
  if (ctx.target().has_tensor_cores()) {
    if (clear) {
      out.push_back(
          loop(r, tiling.registers(), true, Store::make(acc, {r}, zero(DType::f32), loc), loc));
    }
    out.push_back(MmaTile::make(MmaTile(loc, g.path, g.m, g.n, g.k, g.lda, g.ldb, tiling.warps_m,
                                        tiling.warps_n, trans_a, trans_b, a, b, acc, ctx.tid())));
    return Block::make(std::move(out), loc);
  }
  // Portable: each thread computes the elements its accumulator registers hold, k ascending,
  // operands rounded and split as the tensor-core path rounds and splits them.
  const bool tf32 = g.path == MmaPath::tf32 || g.path == MmaPath::tf32x3;
  const bool split = g.path == MmaPath::tf32x3;
  auto value = [&](const Buffer& t, bool trans, const Expr& row, const Expr& col) {
    return convert(Load::make(t, trans ? std::vector<Expr>{col, row} : std::vector<Expr>{row, col}),
                   DType::f32);
  };
  auto rounded = [](const Expr& v) { return Call::make(CallOp::round_tf32, {v}); };
  auto hi = [&](const Buffer& t, bool trans, const Expr& row, const Expr& col) {
    const Expr v = value(t, trans, row, col);
    return tf32 && t->dtype == DType::f32 ? rounded(v) : v;
  };
  auto lo = [&](const Buffer& t, bool trans, const Expr& row, const Expr& col) {
    const Expr v = value(t, trans, row, col);
    return rounded(sub(v, rounded(v)));
  };
  Lets lets;
  const std::vector<Expr> ij = map->index(ctx.tid(), r);
  const Expr i = lets.bind("e0_", ij[0]), j = lets.bind("e1_", ij[1]);
  const Expr k = int_var("k_");
  auto accumulate = [&](const Expr& x, const Expr& y) {
    return Store::make(acc, {r}, Call::make(CallOp::fma, {x, y, Load::make(acc, {r})}), loc);
  };
  // The small products first, as the tensor-core path issues them.
  std::vector<Stmt> products;
  if (split && a->dtype == DType::f32) {
    products.push_back(accumulate(lo(a, trans_a, i, k), hi(b, trans_b, k, j)));
  }
  if (split && b->dtype == DType::f32) {
    products.push_back(accumulate(hi(a, trans_a, i, k), lo(b, trans_b, k, j)));
  }
  products.push_back(accumulate(hi(a, trans_a, i, k), hi(b, trans_b, k, j)));
  const Stmt step = Block::make(std::move(products), loc);
  std::vector<Stmt> body;
  if (clear) {
    body.push_back(Store::make(acc, {r}, zero(DType::f32), loc));
  }
  body.push_back(loop(k, g.k, false, step, loc));
  Stmt s = loop(r, tiling.registers(), false, lets.wrap(Block::make(std::move(body), loc)), loc);
  const int owners = l.mapped_owners();
  return owners < p.threads ? guard(lt(ctx.tid(), i32(owners)), s, loc) : s;
}

} // namespace tessera::ops

namespace tessera::dsl {

void gemm(const TileRef& a, const TileRef& b, const TileRef& c, GemmOptions o, Loc loc) {
  if (a.indexed() != 0 || b.indexed() != 0 || c.indexed() != 0) {
    throw UserError(
        fmt::format("{}: gemm() takes whole tiles", detail::error_context("gemm", loc)));
  }
  detail::emit(ops::Gemm::make(a.buffer(), b.buffer(), c.buffer(), o.trans_a, o.trans_b, o.clear,
                               o.precision, ir::SourceLoc::from(loc)),
               "gemm");
}

} // namespace tessera::dsl
