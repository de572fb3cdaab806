// One test per user error the verifier reports (Halide's test/error style): each builds a small
// kernel with exactly one mistake and checks that the message names the kernel, the DSL source
// line and the buffer or variable at fault. docs/dsl-errors.md lists the same errors.
#include "base/error.h"
#include "dsl/builder.h"
#include "dsl/verifier.h"
#include "jit/compiled_kernel.h"
#include "tests/dsl/error_check.h"

#include <catch2/catch.hpp>
#include <optional>
#include <string>

using namespace tessera::dsl;
namespace ir = tessera::ir;
namespace ops = tessera::ops;
using tessera::DType;
using tessera::testing::build_error;

namespace {

std::string verify_error(const ir::Kernel& k) {
  try {
    ir::verify(k);
  } catch (const tessera::UserError& e) {
    return e.what();
  }
  return "<no error>";
}

// Factory-built IR for mistakes the front end cannot express (or refuses while tracing).
ir::SourceLoc at(int line) {
  return ir::SourceLoc{"tests/dsl/verifier_test.cpp", line};
}

ir::Buffer make_buffer(std::string name, DType t, std::vector<int> shape, ir::Scope scope,
                       bool writable = true) {
  auto b = std::make_shared<ir::BufferNode>();
  b->name = std::move(name);
  b->dtype = t;
  for (int e : shape) {
    b->shape.push_back(ir::Expr(e));
  }
  b->scope = scope;
  b->writable = writable;
  b->loc = at(1);
  return b;
}

ir::Kernel raw_kernel(std::vector<ir::Stmt> body) {
  ir::Kernel k;
  k.name = "raw";
  k.grid = {ir::Expr(1)};
  k.threads = 128;
  k.loc = at(1);
  k.body = ir::Block::make(std::move(body), at(2));
  return k;
}

ir::Expr loop_var(const char* name, DType t = DType::i32) {
  return ir::Var::make(t, name, ir::VarKind::loop);
}

} // namespace

// ---------------------------------------------------------------------------------------------
// Legitimate programs the verifier must accept
// ---------------------------------------------------------------------------------------------

TEST_CASE("verifier accepts legitimate programs", "[dsl][verifier]") {
  KernelBuilder kb("legit");
  Dim T = kb.dim("T");
  auto a = kb.input("a", bf16, {T, 64, 32});
  auto b = kb.input("b", bf16, {32, 64});
  auto out = kb.output("out", f32, {T, 64});
  auto counter = kb.output("counter", i32, {1});
  kb.launch(grid(T), threads(128), [&](Var t) {
    auto sa = shared(bf16, {64, 32}, "sa");
    auto sb = shared(bf16, {32, 64}, "sb");
    copy(a[t], sa);
    copy(b, sb);
    auto c = fragment(f32, {64, 64}, "c");
    gemm(sa, sb, c, {.clear = true});
    auto bt = fragment(bf16, {64, 32}, "bt");
    copy(b[all][range(0, 32)], bt[range(0, 32)]);
    gemm(sa, bt, c, {.trans_b = true});
    auto row = fragment(f32, {64}, "row");
    reduce_sum(c, row, 1);
    auto total = local(f32, {}, "total");
    reduce_max(row, total, 0);
    auto acc = local(f32, {}, "acc");
    acc = 0.0f; // locals may be written anywhere outside a parallel loop
    serial(4, [&](Var i) { acc = acc + row[i * 3]; });
    parallel({64}, [&](Var i) {
      auto tmp = local(f32, {}, "tmp"); // declared inside: private to the iteration
      tmp = row[63 - i] + c[i][(i + 5) % 64] + Expr(total);
      row[i] = tmp;
    });
    barrier();
    if_(t < 4, [&] { barrier(); }); // uniform condition
    thread_range(0, 64, [&] { copy(row, out[t]); });
    thread_range(64, 70, [&] { atomic_add(counter[0], 1); }); // no collective: any bounds
    pipelined(T, 2, [&](Var i) {
      auto stage = shared(bf16, {64, 32}, "stage");
      copy(a[i], stage);
    });
  });
  CHECK_NOTHROW(kb.build());
}

// ---------------------------------------------------------------------------------------------
// Copies
// ---------------------------------------------------------------------------------------------

TEST_CASE("error: copy shape mismatch", "[dsl][verifier][error]") {
  KernelBuilder kb("k");
  auto x = kb.input("x", f32, {64, 16});
  int line = 0;
  kb.launch(grid(1), threads(128), [&](Var) {
    auto f = fragment(f32, {16, 64}, "f");
    line = __LINE__ + 1;
    copy(x, f);
  });
  CHECK_ERROR(build_error(kb), "k", line, "copy from 'x' to 'f'", "[64, 16] and [16, 64] differ");
}

TEST_CASE("error: copy between two global tensors", "[dsl][verifier][error]") {
  KernelBuilder kb("k");
  auto x = kb.input("x", f32, {64});
  auto y = kb.output("y", f32, {64});
  int line = 0;
  kb.launch(grid(1), threads(128), [&](Var) {
    line = __LINE__ + 1;
    copy(x, y);
  });
  CHECK_ERROR(build_error(kb), "k", line, "global tensor 'x' to global tensor 'y'");
}

TEST_CASE("error: copy region outside a tile", "[dsl][verifier][error]") {
  KernelBuilder kb("k");
  auto x = kb.input("x", f32, {64});
  int line = 0;
  kb.launch(grid(1), threads(128), [&](Var) {
    auto f = fragment(f32, {8}, "f");
    line = __LINE__ + 1;
    copy(x[range(0, 4)], f[range(6, 4)]);
  });
  CHECK_ERROR(build_error(kb), "k", line, "copy destination 'f'", "[6, 10) outside [0, 8)");
}

TEST_CASE("error: copy into an input tensor", "[dsl][verifier][error]") {
  KernelBuilder kb("k");
  auto x = kb.input("x", f32, {64});
  int line = 0;
  kb.launch(grid(1), threads(128), [&](Var) {
    auto f = fragment(f32, {64}, "f");
    clear(f);
    line = __LINE__ + 1;
    copy(f, x);
  });
  CHECK_ERROR(build_error(kb), "k", line, "copy writes to input tensor 'x'", "output()");
}

// ---------------------------------------------------------------------------------------------
// Writes and scopes
// ---------------------------------------------------------------------------------------------

TEST_CASE("error: store to an input tensor", "[dsl][verifier][error]") {
  KernelBuilder kb("k");
  auto x = kb.input("x", f32, {64});
  int line = 0;
  kb.launch(grid(1), threads(128), [&](Var) {
    line = __LINE__ + 1;
    parallel({64}, [&](Var i) { x[i] = 1.0f; });
  });
  CHECK_ERROR(build_error(kb), "k", line, "store writes to input tensor 'x'");
}

TEST_CASE("error: atomic on an input tensor", "[dsl][verifier][error]") {
  KernelBuilder kb("k");
  auto x = kb.input("x", f32, {64});
  int line = 0;
  kb.launch(grid(1), threads(128), [&](Var) {
    line = __LINE__ + 1;
    atomic_add(x[0], 1.0f);
  });
  CHECK_ERROR(build_error(kb), "k", line, "atomic_add writes to input tensor 'x'");
}

TEST_CASE("error: fill of a global tensor", "[dsl][verifier][error]") {
  KernelBuilder kb("k");
  auto y = kb.output("y", f32, {64});
  int line = 0;
  kb.launch(grid(1), threads(128), [&](Var) {
    line = __LINE__ + 1;
    fill(y, 1.0f);
  });
  CHECK_ERROR(build_error(kb), "k", line, "fill of global tensor 'y'");
}

TEST_CASE("error: atomic on a fragment", "[dsl][verifier][error]") {
  KernelBuilder kb("k");
  int line = 0;
  kb.launch(grid(1), threads(128), [&](Var) {
    auto f = fragment(f32, {4}, "f");
    line = __LINE__ + 1;
    atomic_add(f[0], 1.0f);
  });
  CHECK_ERROR(build_error(kb), "k", line, "atomic_add on fragment 'f' f32[4]", "global and shared");
}

TEST_CASE("error: atomic on an unsupported element type", "[dsl][verifier][error]") {
  KernelBuilder kb("k");
  auto y = kb.output("y", f32, {4});
  int line = 0;
  kb.launch(grid(1), threads(128), [&](Var) {
    line = __LINE__ + 1;
    atomic_max(y[0], 1.0f);
  });
  CHECK_ERROR(build_error(kb), "k", line, "atomic_max on 'y'", "element type f32");
}

TEST_CASE("error: loop variable used outside its loop", "[dsl][verifier][error]") {
  KernelBuilder kb("k");
  auto x = kb.input("x", f32, {64});
  int line = 0;
  kb.launch(grid(1), threads(128), [&](Var) {
    Expr leaked;
    serial(4, [&](Var i) { leaked = i; });
    auto f = fragment(f32, {16}, "f");
    line = __LINE__ + 1;
    copy(x[tile(leaked, 16)], f);
  });
  CHECK_ERROR(build_error(kb), "k", line, "loop variable 'i0' is used outside its loop");
}

TEST_CASE("error: buffer used outside the block that allocated it", "[dsl][verifier][error]") {
  KernelBuilder kb("k");
  auto y = kb.output("y", f32, {16});
  int line = 0;
  kb.launch(grid(1), threads(128), [&](Var) {
    std::optional<TileRef> leaked; // TileRef's operator= is a DSL store
    serial(4, [&](Var) {
      leaked.emplace(fragment(f32, {16}, "inner"));
      clear(*leaked);
    });
    line = __LINE__ + 1;
    copy(*leaked, y);
  });
  CHECK_ERROR(build_error(kb), "k", line, "buffer 'inner'",
              "used outside the block where it was allocated");
}

TEST_CASE("error: buffer used before its allocation", "[dsl][verifier][error]") {
  const ir::Buffer f = make_buffer("f", DType::f32, {4}, ir::Scope::fragment);
  const ir::Kernel k =
      raw_kernel({ops::Fill::make(f, ir::Expr(0.0f), at(30)), ir::Allocate::make(f, at(31))});
  CHECK_ERROR(verify_error(k), "raw", 30, "buffer 'f'", "used before its allocation");
}

TEST_CASE("error: local written inside a parallel loop", "[dsl][verifier][error]") {
  KernelBuilder kb("k");
  int line = 0;
  kb.launch(grid(1), threads(128), [&](Var) {
    auto f = fragment(f32, {64}, "f");
    clear(f);
    auto acc = local(f32, {}, "acc");
    acc = 0.0f;
    line = __LINE__ + 1;
    parallel({64}, [&](Var i) { acc = acc + f[i]; });
  });
  CHECK_ERROR(build_error(kb), "k", line, "local 'acc'", "written inside the parallel loop");
}

TEST_CASE("error: fragment allocated inside a parallel loop", "[dsl][verifier][error]") {
  KernelBuilder kb("k");
  int line = 0;
  kb.launch(grid(1), threads(128), [&](Var) {
    parallel({64}, [&](Var) {
      line = __LINE__ + 1;
      auto f = fragment(f32, {4}, "f");
    });
  });
  CHECK_ERROR(build_error(kb), "k", line, "fragment 'f' f32[4] is allocated inside the parallel");
}
// ---------------------------------------------------------------------------------------------
// Reduce and gemm
// ---------------------------------------------------------------------------------------------

TEST_CASE("error: reduce into a global tensor", "[dsl][verifier][error]") {
  KernelBuilder kb("k");
  auto y = kb.output("y", f32, {4});
  int line = 0;
  kb.launch(grid(1), threads(128), [&](Var) {
    auto f = fragment(f32, {4, 8}, "f");
    clear(f);
    line = __LINE__ + 1;
    reduce_sum(f, y, 1);
  });
  CHECK_ERROR(build_error(kb), "k", line, "reduce_sum into global 'y' f32[4]");
}

TEST_CASE("error: reduce along a bad axis", "[dsl][verifier][error]") {
  KernelBuilder kb("k");
  int line = 0;
  kb.launch(grid(1), threads(128), [&](Var) {
    auto f = fragment(f32, {4, 8}, "f");
    auto r = fragment(f32, {4}, "r");
    clear(f);
    line = __LINE__ + 1;
    reduce_max(f, r, 2);
  });
  CHECK_ERROR(build_error(kb), "k", line, "reduce_max of 'f' along axis 2", "rank 2");
}

TEST_CASE("error: reduce into a wrongly shaped buffer", "[dsl][verifier][error]") {
  KernelBuilder kb("k");
  int line = 0;
  kb.launch(grid(1), threads(128), [&](Var) {
    auto f = fragment(f32, {4, 8}, "f");
    auto r = fragment(f32, {4}, "r");
    clear(f);
    line = __LINE__ + 1;
    reduce_sum(f, r, 0);
  });
  CHECK_ERROR(build_error(kb), "k", line, "gives shape [8], but 'r' has shape [4]");
}

TEST_CASE("error: gemm with a local operand", "[dsl][verifier][error]") {
  KernelBuilder kb("k");
  int line = 0;
  kb.launch(grid(1), threads(128), [&](Var) {
    auto a = local(bf16, {16, 16}, "a");
    auto b = shared(bf16, {16, 16}, "b");
    auto c = fragment(f32, {16, 16}, "c");
    line = __LINE__ + 1;
    gemm(a, b, c);
  });
  CHECK_ERROR(build_error(kb), "k", line, "gemm operand local 'a' bf16[16, 16]");
}

TEST_CASE("error: gemm inner dimensions differ", "[dsl][verifier][error]") {
  KernelBuilder kb("k");
  int line = 0;
  kb.launch(grid(1), threads(128), [&](Var) {
    auto a = shared(bf16, {64, 32}, "a");
    auto b = shared(bf16, {64, 16}, "b");
    auto c = fragment(f32, {64, 16}, "c");
    line = __LINE__ + 1;
    gemm(a, b, c);
  });
  CHECK_ERROR(build_error(kb), "k", line, "inner dimensions 32 and 64 differ");
}

TEST_CASE("error: gemm output shape honours transposes", "[dsl][verifier][error]") {
  KernelBuilder kb("k");
  int line = 0;
  kb.launch(grid(1), threads(128), [&](Var) {
    auto a = shared(f16, {32, 64}, "a"); // A^T is 64x32
    auto b = shared(f16, {16, 32}, "b"); // B^T is 32x16
    auto c = fragment(f32, {16, 64}, "c");
    line = __LINE__ + 1;
    gemm(a, b, c, {.trans_a = true, .trans_b = true});
  });
  CHECK_ERROR(build_error(kb), "k", line, "gemm into 'c' [16, 64]", "is [64, 16]");
}

TEST_CASE("error: gemm accumulator is not an f32 fragment", "[dsl][verifier][error]") {
  KernelBuilder kb("k");
  int line = 0;
  kb.launch(grid(1), threads(128), [&](Var) {
    auto a = shared(bf16, {16, 16}, "a");
    auto b = shared(bf16, {16, 16}, "b");
    auto c = fragment(bf16, {16, 16}, "acc");
    line = __LINE__ + 1;
    gemm(a, b, c);
  });
  CHECK_ERROR(build_error(kb), "k", line, "gemm accumulator fragment 'acc' bf16[16, 16]",
              "f32 fragment");
}

TEST_CASE("error: gemm operand types do not pair", "[dsl][verifier][error]") {
  KernelBuilder kb("k");
  int line = 0;
  kb.launch(grid(1), threads(128), [&](Var) {
    auto a = shared(bf16, {16, 16}, "a");
    auto b = fragment(f16, {16, 16}, "b");
    auto c = fragment(f32, {16, 16}, "c");
    line = __LINE__ + 1;
    gemm(a, b, c);
  });
  CHECK_ERROR(build_error(kb), "k", line, "gemm of 'a' (bf16) and 'b' (f16)",
              "16-bit operands must have the same type");
}

// ---------------------------------------------------------------------------------------------
// Collective ops and barriers
// ---------------------------------------------------------------------------------------------

TEST_CASE("error: collective op inside a parallel loop", "[dsl][verifier][error]") {
  KernelBuilder kb("k");
  int line = 0, pline = 0;
  kb.launch(grid(1), threads(128), [&](Var) {
    auto f = fragment(f32, {4}, "f");
    pline = __LINE__ + 1;
    parallel({4}, [&](Var) {
      line = __LINE__ + 1;
      clear(f);
    });
  });
  const std::string where =
      "fill inside the parallel loop at verifier_test.cpp:" + std::to_string(pline);
  CHECK_ERROR(build_error(kb), "k", line, where.c_str());
}

TEST_CASE("error: parallel inside a parallel loop", "[dsl][verifier][error]") {
  KernelBuilder kb("k");
  int line = 0;
  kb.launch(grid(1), threads(128), [&](Var) {
    auto f = fragment(f32, {4, 4}, "f");
    parallel({4}, [&](Var i) {
      line = __LINE__ + 1;
      parallel({4}, [&](Var j) { f[i][j] = 0.0f; });
    });
  });
  CHECK_ERROR(build_error(kb), "k", line, "parallel inside the parallel loop");
}

TEST_CASE("error: barrier inside a thread range", "[dsl][verifier][error]") {
  KernelBuilder kb("k");
  int line = 0;
  kb.launch(grid(1), threads(128), [&](Var) {
    thread_range(0, 64, [&] {
      line = __LINE__ + 1;
      barrier();
    });
  });
  CHECK_ERROR(build_error(kb), "k", line, "barrier inside thread_range(0, 64)");
}

TEST_CASE("error: barrier under a thread-dependent branch", "[dsl][verifier][error]") {
  KernelBuilder kb("k");
  int line = 0;
  kb.launch(grid(1), threads(128), [&](Var) {
    if_(thread_idx() < 64, [&] {
      line = __LINE__ + 1;
      barrier();
    });
  });
  CHECK_ERROR(build_error(kb), "k", line, "barrier under the branch", "condition may differ");
}

TEST_CASE("error: barrier in a loop with thread-dependent bounds", "[dsl][verifier][error]") {
  KernelBuilder kb("k");
  int line = 0;
  kb.launch(grid(1), threads(128), [&](Var) {
    serial(thread_idx() % 4, [&](Var) {
      line = __LINE__ + 1;
      barrier();
    });
  });
  CHECK_ERROR(build_error(kb), "k", line, "barrier under the loop", "bounds may differ");
}

TEST_CASE("error: copy under a thread-dependent branch", "[dsl][verifier][error]") {
  KernelBuilder kb("k");
  auto x = kb.input("x", f32, {64});
  int line = 0;
  kb.launch(grid(1), threads(128), [&](Var) {
    auto counts = local(i32, {}, "count");
    counts = thread_idx();
    auto f = fragment(f32, {64}, "f");
    if_(Expr(counts) > 3, [&] {
      line = __LINE__ + 1;
      copy(x, f);
    });
  });
  CHECK_ERROR(build_error(kb), "k", line, "copy under the branch", "thread_range()");
}

TEST_CASE("error: thread range outside the block", "[dsl][verifier][error]") {
  KernelBuilder kb("k");
  int line = 0;
  kb.launch(grid(1), threads(128), [&](Var) {
    line = __LINE__ + 1;
    thread_range(64, 160, [&] { pdl_trigger(); });
  });
  CHECK_ERROR(build_error(kb), "k", line,
              "thread_range(64, 160) is not a non-empty part of [0, "
              "128)");
}

TEST_CASE("error: thread range with collective ops is not warp-aligned", "[dsl][verifier][error]") {
  KernelBuilder kb("k");
  int line = 0;
  kb.launch(grid(1), threads(128), [&](Var) {
    auto f = fragment(f32, {64}, "f");
    line = __LINE__ + 1;
    thread_range(0, 48, [&] { clear(f); });
  });
  CHECK_ERROR(build_error(kb), "k", line, "thread_range(0, 48) contains fill", "multiples of 32");
}

// ---------------------------------------------------------------------------------------------
// Loops
// ---------------------------------------------------------------------------------------------

TEST_CASE("error: unrolled loop with a non-constant extent", "[dsl][verifier][error]") {
  ir::Kernel k = raw_kernel({});
  const ir::Expr n = ir::Var::make(DType::i32, "n", ir::VarKind::scalar, 0);
  k.params.push_back(ir::Param{ir::Param::Kind::scalar, "n", DType::i32, nullptr, n});
  k.body = ir::Block::make(
      {ir::For::make(loop_var("i"), 0, n, ir::ForKind::unrolled, ir::Block::make({}), at(40))});
  CHECK_ERROR(verify_error(k), "raw", 40, "unrolled loop 'i' needs a constant extent");
}

TEST_CASE("error: pipelined loop with no stage", "[dsl][verifier][error]") {
  const ir::Kernel k = raw_kernel(
      {ir::For::make(loop_var("i"), 0, 8, ir::ForKind::pipelined, ir::Block::make({}), at(41), 0)});
  CHECK_ERROR(verify_error(k), "raw", 41, "pipelined loop 'i' has 0 stages");
}

TEST_CASE("error: loop variable that is not i32", "[dsl][verifier][error]") {
  const ir::Kernel k = raw_kernel({ir::For::make(
      loop_var("i", DType::i64), 0, 8, ir::ForKind::serial, ir::Block::make({}), at(42))});
  CHECK_ERROR(verify_error(k), "raw", 42, "loop variable 'i' has type i64");
}

TEST_CASE("error: index that is not an integer", "[dsl][verifier][error]") {
  const ir::Buffer f = make_buffer("f", DType::f32, {4}, ir::Scope::fragment);
  const ir::Buffer g = make_buffer("g", DType::f32, {4}, ir::Scope::fragment);
  const ir::Expr bad = ir::Load::make(g, {ir::Expr(1.0f)});
  const ir::Kernel k = raw_kernel({ir::Allocate::make(f, at(43)), ir::Allocate::make(g, at(44)),
                                   ir::Store::make(f, {ir::Expr(0)}, bad, at(45))});
  CHECK_ERROR(verify_error(k), "raw", 45, "read of 'g': index 0 is f32, not an integer");
}
// ---------------------------------------------------------------------------------------------
// Launch shape and parameters
// ---------------------------------------------------------------------------------------------

TEST_CASE("error: thread count not a multiple of 32", "[dsl][verifier][error]") {
  KernelBuilder kb("k");
  const int line = __LINE__ + 1;
  kb.launch(grid(1), threads(100), [&](Var) { barrier(); });
  CHECK_ERROR(build_error(kb), "k", line, "threads(100) must be a multiple of 32 in [32, 1024]");
}

TEST_CASE("error: more than 1024 threads", "[dsl][verifier][error]") {
  KernelBuilder kb("k");
  const int line = __LINE__ + 1;
  kb.launch(grid(1), threads(2048), [&](Var) { barrier(); });
  CHECK_ERROR(build_error(kb), "k", line, "threads(2048)");
}

TEST_CASE("error: grid without dimensions", "[dsl][verifier][error]") {
  ir::Kernel k = raw_kernel({});
  k.grid.clear();
  CHECK_ERROR(verify_error(k), "raw", 2, "the grid has 0 dimensions; it needs 1 to 3");
}

TEST_CASE("error: grid with four dimensions", "[dsl][verifier][error]") {
  ir::Kernel k = raw_kernel({});
  k.grid = {1, 1, 1, 1};
  CHECK_ERROR(verify_error(k), "raw", 2, "the grid has 4 dimensions");
}

TEST_CASE("error: block index beyond the grid", "[dsl][verifier][error]") {
  KernelBuilder kb("k");
  auto x = kb.input("x", f32, {64});
  int line = 0;
  kb.launch(grid(2), threads(128), [&](Var) {
    auto f = fragment(f32, {32}, "f");
    line = __LINE__ + 1;
    copy(x[tile(block_idx(1), 32)], f);
  });
  CHECK_ERROR(build_error(kb), "k", line, "'block_y' is used but the grid has 1 dimension(s)");
}

TEST_CASE("error: cluster dimension out of range", "[dsl][verifier][error]") {
  KernelBuilder kb("k");
  kb.cluster({16});
  const int line = __LINE__ + 1;
  kb.launch(grid(64), threads(128), [&](Var) { barrier(); });
  CHECK_ERROR(build_error(kb), "k", line, "cluster dimension 0 is 16; it must be in [1, 8]");
}

TEST_CASE("error: cluster does not divide the grid", "[dsl][verifier][error]") {
  KernelBuilder kb("k");
  kb.cluster({4});
  const int line = __LINE__ + 1;
  kb.launch(grid(6), threads(128), [&](Var) { barrier(); });
  CHECK_ERROR(build_error(kb), "k", line,
              "cluster dimension 0 (4) does not divide grid "
              "dimension 0 (6)");
}

TEST_CASE("error: cluster_barrier without a cluster", "[dsl][verifier][error]") {
  KernelBuilder kb("k");
  int line = 0;
  kb.launch(grid(8), threads(128), [&](Var) {
    line = __LINE__ + 1;
    cluster_barrier();
  });
  CHECK_ERROR(build_error(kb), "k", line,
              "cluster_barrier in a kernel without a cluster of two or more blocks");
}

TEST_CASE("error: cluster_barrier under a thread-dependent branch", "[dsl][verifier][error]") {
  KernelBuilder kb("k");
  kb.cluster({2});
  int line = 0;
  kb.launch(grid(8), threads(128), [&](Var) {
    if_(thread_idx() < 32, [&] {
      line = __LINE__ + 1;
      cluster_barrier();
    });
  });
  CHECK_ERROR(build_error(kb), "k", line, "cluster_barrier");
}

TEST_CASE("error: dynamic dim used by no tensor", "[dsl][verifier][error]") {
  const int line = __LINE__ + 1;
  KernelBuilder kb("k");
  Dim n = kb.dim("n");
  kb.launch(grid(n), threads(128), [&](Var) { barrier(); });
  CHECK_ERROR(build_error(kb), "k", line, "dynamic dim 'n' is used by no tensor shape");
}

TEST_CASE("error: two parameters with one name", "[dsl][verifier][error]") {
  const int line = __LINE__ + 1;
  KernelBuilder kb("k");
  kb.input("x", f32, {4});
  kb.output("x", f32, {4});
  kb.launch(grid(1), threads(128), [&](Var) { barrier(); });
  CHECK_ERROR(build_error(kb), "k", line, "two parameters are named 'x'");
}

TEST_CASE("error: too much shared memory", "[dsl][verifier][error]") {
  KernelBuilder kb("k");
  int line = 0;
  kb.launch(grid(1), threads(128), [&](Var) {
    auto a = shared(f32, {128, 256}, "a"); // 128 KiB
    line = __LINE__ + 1;
    auto b = shared(bf16, {128, 256}, "b"); // 64 KiB more is fine, then...
    line = __LINE__ + 1;
    auto c = shared(bf16, {64, 256}, "c"); // 32 KiB: 224 KiB total is still fine
    line = __LINE__ + 1;
    auto d = shared(f32, {1024}, "d"); // 4 KiB: 228 KiB > 227 KiB
    (void)a, (void)b, (void)c, (void)d;
  });
  CHECK_ERROR(build_error(kb), "k", line, "shared buffer 'd' (4096 bytes)", "232448 bytes",
              "227 KiB");
}

TEST_CASE("error: pipelined stages multiply shared memory", "[dsl][verifier][error]") {
  KernelBuilder kb("k");
  int line = 0;
  kb.launch(grid(1), threads(128), [&](Var) {
    pipelined(8, 4, [&](Var) {
      line = __LINE__ + 1;
      auto s = shared(bf16, {128, 256}, "stage"); // 64 KiB x 4 stages
      (void)s;
    });
  });
  CHECK_ERROR(build_error(kb), "k", line,
              "shared buffer 'stage' (262144 bytes, 4 pipeline "
              "stages)");
}

TEST_CASE("shared memory is freed at the end of its block", "[dsl][verifier]") {
  KernelBuilder kb("k");
  kb.launch(grid(1), threads(128), [&](Var) {
    serial(2, [&](Var) { shared(f32, {128, 256}, "a"); });
    serial(2, [&](Var) { shared(f32, {128, 256}, "b"); });
  });
  CHECK_NOTHROW(kb.build());
}
