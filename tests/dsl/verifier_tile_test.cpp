// User errors about how a kernel indexes and converts its tiles (issue 12): parallel extents
// against the tiles they index, constant indices, float-to-integer narrowing, and indexing
// mistakes refused while tracing. Each builds a small program, triggers one mistake and checks
// the kernel name, the line and the message (tests/dsl/error_check.h).
#include "base/error.h"
#include "dsl/builder.h"
#include "jit/compiled_kernel.h"
#include "tests/dsl/error_check.h"

#include <catch2/catch.hpp>
#include <string>

using namespace tessera::dsl;
using tessera::DType;
using tessera::testing::build_error;

namespace {

/** The build error of kernel 'k': one block of 128 threads running `body`. */
template <class Body> std::string one_block_error(Body&& body) {
  KernelBuilder kb("k");
  kb.launch(grid(1), threads(128), [&](Var) { body(); });
  return build_error(kb);
}

} // namespace

// ---------------------------------------------------------------------------------------------
// Parallel extents against the buffers they index, constant indices
// ---------------------------------------------------------------------------------------------

TEST_CASE("error: parallel extent smaller than the fragment it writes", "[dsl][verifier][error]") {
  KernelBuilder kb("k");
  auto x = kb.input("x", f32, {64});
  int line = 0;
  kb.launch(grid(1), threads(128), [&](Var) {
    auto f = fragment(f32, {64}, "f");
    copy(x, f);
    line = __LINE__ + 1;
    parallel({64 / 2}, [&](Var h) { f[h] = sigmoid(f[h]); }); // half the row left as it was
  });
  CHECK_ERROR(build_error(kb), "k", line, "parallel({32}) writes fragment 'f' f32[64]",
              "extent 32 is smaller than the dimension's 64", "never writes elements 32 to 63",
              "make the parallel extent 64");
}

TEST_CASE("error: parallel extent larger than the fragment it indexes", "[dsl][verifier][error]") {
  KernelBuilder kb("k");
  auto x = kb.input("x", f32, {64});
  int line = 0;
  kb.launch(grid(1), threads(128), [&](Var) {
    auto f = fragment(f32, {64}, "f");
    copy(x, f);
    line = __LINE__ + 1;
    parallel({64 + 8}, [&](Var h) { f[h] = f[h] * 2.0f; });
  });
  CHECK_ERROR(build_error(kb), "k", line,
              "parallel({72}) indexes dimension 0 of fragment 'f' f32[64]",
              "extent 72 is larger than the dimension's 64", "iterations 64 to 71",
              "make the parallel extent 64");
}

TEST_CASE("error: parallel loop reads past a fragment", "[dsl][verifier][error]") {
  KernelBuilder kb("k");
  auto x = kb.input("x", f32, {4, 64});
  int line = 0;
  kb.launch(grid(1), threads(128), [&](Var) {
    auto f = fragment(f32, {4, 64}, "f");
    auto g = fragment(f32, {4, 72}, "g");
    copy(x, f);
    line = __LINE__ + 1;
    parallel({4, 72}, [&](Var i, Var h) { g[i][h] = f[i][h]; }); // reads count too
  });
  CHECK_ERROR(build_error(kb), "k", line,
              "parallel({4, 72}) indexes dimension 1 of fragment 'f' f32[4, 64]",
              "extent 72 is larger than the dimension's 64");
}

TEST_CASE("error: parallel loop writes past a shared tile", "[dsl][verifier][error]") {
  int line = 0;
  const std::string msg = one_block_error([&] {
    auto s = shared(f32, {64}, "s");
    line = __LINE__ + 1;
    parallel({128}, [&](Var h) { s[h] = 0.0f; });
  });
  CHECK_ERROR(msg, "k", line, "parallel({128}) indexes dimension 0 of shared 's'",
              "iterations 64 to 127");
}

TEST_CASE("verifier accepts parallel loops indexing tiles other ways", "[dsl][verifier]") {
  KernelBuilder kb("legit_parallel");
  auto x = kb.input("x", f32, {64});
  auto y = kb.output("y", f32, {64});
  kb.launch(grid(1), threads(128), [&](Var) {
    auto f = fragment(f32, {64}, "f");
    auto half = fragment(f32, {32}, "half");
    copy(x, f);
    // Reads over a smaller extent, and offsets: the two halves of a row.
    parallel({32}, [&](Var h) { half[h] = f[h] + f[h + 32]; });
    // A row written in two parts by one loop.
    parallel({32}, [&](Var h) {
      f[h] = half[h];
      f[h + 32] = half[31 - h];
    });
    // A larger extent whose accesses past the tile are guarded.
    parallel({72}, [&](Var h) { if_(h < 64, [&] { f[h] = f[h] * 2.0f; }); });
    // Part of a shared tile.
    auto s = shared(f32, {128}, "s");
    parallel({64}, [&](Var h) { s[h] = f[h]; });
    copy(f, y);
  });
  CHECK_NOTHROW(kb.build());
}

TEST_CASE("error: constant index outside a tile", "[dsl][verifier][error]") {
  SECTION("fragment read") {
    int line = 0;
    const std::string msg = one_block_error([&] {
      auto f = fragment(f32, {8}, "f");
      clear(f);
      line = __LINE__ + 1;
      parallel({8}, [&](Var h) { f[h] = f[h] + f[8]; });
    });
    CHECK_ERROR(msg, "k", line, "read of fragment 'f' f32[8]",
                "constant index 8 of dimension 0 is outside [0, 8)");
  }
  SECTION("local store") {
    int line = 0;
    const std::string msg = one_block_error([&] {
      auto l = local(f32, {4}, "l");
      line = __LINE__ + 1;
      if_(thread_idx() == 0, [&] { l[4] = 1.0f; });
    });
    CHECK_ERROR(msg, "k", line, "store of local 'l' f32[4]",
                "constant index 4 of dimension 0 is outside [0, 4)");
  }
  SECTION("shared atomic") {
    int line = 0;
    const std::string msg = one_block_error([&] {
      auto s = shared(i32, {2, 4}, "s");
      line = __LINE__ + 1;
      atomic_add(s[1][-1], 1);
    });
    CHECK_ERROR(msg, "k", line, "atomic_add of shared 's' i32[2, 4]",
                "constant index -1 of dimension 1 is outside [0, 4)");
  }
}

// ---------------------------------------------------------------------------------------------
// Conversions: float to integer must be an explicit cast()
// ---------------------------------------------------------------------------------------------

TEST_CASE("error: float value stored into an integer buffer", "[dsl][verifier][error]") {
  KernelBuilder kb("k");
  auto x = kb.input("x", f32, {64});
  int line = 0;
  kb.launch(grid(1), threads(128), [&](Var) {
    auto xf = fragment(f32, {64}, "xf");
    auto f = fragment(i32, {64}, "f"); // an integer working buffer for float math
    copy(x, xf);
    line = __LINE__ + 1;
    parallel({64}, [&](Var h) { f[h] = sigmoid(xf[h]); });
  });
  CHECK_ERROR(build_error(kb), "k", line,
              "store into fragment 'f' i32[64] with a value of type f32 would truncate it to i32 "
              "silently",
              "write cast(i32, value)", "declare 'f' with a floating-point type");
}

TEST_CASE("error: float value filled or added into an integer buffer", "[dsl][verifier][error]") {
  SECTION("fill") {
    int line = 0;
    const std::string msg = one_block_error([&] {
      auto f = fragment(i32, {64}, "f");
      line = __LINE__ + 1;
      fill(f, 0.5f);
    });
    CHECK_ERROR(msg, "k", line, "fill into fragment 'f' i32[64] with a value of type f32",
                "cast(i32, value)");
  }
  SECTION("atomic") {
    KernelBuilder kb("k");
    auto n = kb.output("n", i32, {1});
    int line = 0;
    kb.launch(grid(1), threads(128), [&](Var) {
      line = __LINE__ + 1;
      atomic_add(n[0], 0.5f);
    });
    CHECK_ERROR(build_error(kb), "k", line,
                "atomic_add into global 'n' i32[1] with a value of type f32", "cast(i32, value)");
  }
}

TEST_CASE("error: copy from a float tile into an integer tile", "[dsl][verifier][error]") {
  KernelBuilder kb("k");
  auto x = kb.input("x", bf16, {64});
  int line = 0;
  kb.launch(grid(1), threads(128), [&](Var) {
    auto f = fragment(i32, {64}, "f");
    line = __LINE__ + 1;
    copy(x, f);
  });
  CHECK_ERROR(build_error(kb), "k", line,
              "copy from global 'x' bf16[64] to fragment 'f' i32[64] would truncate bf16 to i32",
              "cast(i32, ...)");
}

TEST_CASE("error: reduce of a float tile into an integer buffer", "[dsl][verifier][error]") {
  KernelBuilder kb("k");
  auto x = kb.input("x", f32, {64});
  int line = 0;
  kb.launch(grid(1), threads(128), [&](Var) {
    auto f = fragment(f32, {64}, "f");
    copy(x, f);
    auto n = local(i32, {}, "n");
    line = __LINE__ + 1;
    reduce_max(f, n, 0);
  });
  CHECK_ERROR(build_error(kb), "k", line,
              "reduce_max of fragment 'f' f32[64] into local 'n' i32[] would truncate",
              "cast(i32, ...)");
}

TEST_CASE("verifier accepts explicit and widening conversions", "[dsl][verifier]") {
  KernelBuilder kb("legit_conversions");
  auto x = kb.input("x", f32, {64});
  auto idx = kb.input("idx", i32, {64});
  auto y = kb.output("y", bf16, {64});
  auto counts = kb.output("counts", i32, {64});
  kb.launch(grid(1), threads(128), [&](Var) {
    auto xf = fragment(f32, {64}, "xf");
    auto n = fragment(i32, {64}, "n");
    copy(x, xf);
    copy(idx, n);                                                   // i32 -> i32
    parallel({64}, [&](Var h) { n[h] = n[h] + cast(i32, xf[h]); }); // explicit truncation
    parallel({64}, [&](Var h) { xf[h] = xf[h] + n[h]; });           // integer -> float
    auto nf = fragment(f32, {64}, "nf");
    copy(n, nf);                                          // integer tile -> float tile
    parallel({64}, [&](Var h) { y[h] = xf[h] * nf[h]; }); // f32 -> bf16 store
    copy(n, counts);
    copy(xf, y); // f32 -> bf16 copy
    fill(n, 0);
    auto total = local(f32, {}, "total");
    reduce_sum(n, total, 0); // integer tile into a float result
  });
  CHECK_NOTHROW(kb.build());
}

TEST_CASE("the CPU target refuses these kernels too: build() throws first", "[dsl][verifier]") {
  // Both targets compile the kernel build() returns, so a build-time refusal covers the CPU
  // target (which would otherwise run them) as well as CUDA.
  KernelBuilder extent("extent");
  auto x = extent.input("x", f32, {64});
  auto y = extent.output("y", f32, {64});
  extent.launch(grid(1), threads(128), [&](Var) {
    auto f = fragment(f32, {64}, "f");
    copy(x, f);
    parallel({32}, [&](Var h) { f[h] = sigmoid(f[h]); });
    copy(f, y);
  });
  CHECK_THROWS_WITH(tessera::Runtime::compile(extent.build(), tessera::Target::cpu),
                    Catch::Contains("parallel({32}) writes fragment 'f'"));

  KernelBuilder narrowing("narrowing");
  auto a = narrowing.input("a", f32, {64});
  auto b = narrowing.output("b", i32, {64});
  narrowing.launch(grid(1), threads(128), [&](Var) {
    auto af = fragment(f32, {64}, "af");
    auto bi = fragment(i32, {64}, "bi");
    copy(a, af);
    parallel({64}, [&](Var h) { bi[h] = af[h] * 100.0f; });
    copy(bi, b);
  });
  CHECK_THROWS_WITH(tessera::Runtime::compile(narrowing.build(), tessera::Target::cpu),
                    Catch::Contains("with a value of type f32 would truncate it to i32"));
}

// ---------------------------------------------------------------------------------------------
// Indexing and element access: refused while tracing (inside launch()), in the same format, at
// the line of the indexing (or of the store target `y[i]` for `y[i] = sum`)
// ---------------------------------------------------------------------------------------------

template <typename F> std::string launch_error(KernelBuilder& kb, F&& body) {
  try {
    kb.launch(grid(1), threads(128), std::forward<F>(body));
  } catch (const tessera::UserError& e) {
    return e.what();
  }
  return "<no error>";
}

std::string declared_at(const std::string& name, int line, const std::string& shape) {
  return "'" + name + "' declared at verifier_tile_test.cpp:" + std::to_string(line) +
         " with shape " + shape;
}

TEST_CASE("error: 1-element fragment read as a scalar", "[dsl][verifier][error]") {
  KernelBuilder kb("k");
  auto y = kb.output("y", f32, {64});
  int decl = 0;
  int line = 0;
  const std::string m = launch_error(kb, [&](Var) {
    decl = __LINE__ + 1;
    auto sum = fragment(f32, {1}, "sum");
    clear(sum);
    line = __LINE__ + 1;
    parallel({64}, [&](Var i) { y[i] = sum; });
  });
  const std::string decl_ctx = declared_at("sum", decl, "[1]");
  CHECK_ERROR(m, "k", line, "reading buffer 'sum' needs 1 index, got 0", decl_ctx.c_str(),
              "index it as sum[0]");
}

TEST_CASE("error: unindexed read in an expression names the enclosing statement",
          "[dsl][verifier][error]") {
  KernelBuilder kb("k");
  int line = 0;
  const std::string m = launch_error(kb, [&](Var) {
    auto sum = fragment(f32, {1, 1}, "sum");
    auto acc = local(f32, {}, "acc");
    line = __LINE__ + 1;
    serial(4, [&](Var) {
      acc = acc + sum; // no location of its own: reported at the serial() line
    });
  });
  CHECK_ERROR(m, "k", line, "reading buffer 'sum' needs 2 indices, got 0", "index it as sum[0][0]");
}

TEST_CASE("error: 2-D tile read with one index", "[dsl][verifier][error]") {
  KernelBuilder kb("k");
  auto y = kb.output("y", f32, {4});
  int decl = 0;
  int line = 0;
  const std::string m = launch_error(kb, [&](Var) {
    decl = __LINE__ + 1;
    auto f = fragment(f32, {4, 8}, "f");
    clear(f);
    parallel({4}, [&](Var i) {
      line = __LINE__ + 1;
      Expr v = f[i] * 2.0f;
      y[i] = v;
    });
  });
  const std::string decl_ctx = declared_at("f", decl, "[4, 8]");
  CHECK_ERROR(m, "k", line, "reading buffer 'f' needs 2 indices, got 1", decl_ctx.c_str(),
              "index it as f[i][j]");
}

TEST_CASE("error: too many indices", "[dsl][verifier][error]") {
  KernelBuilder kb("k");
  auto x = kb.input("x", f32, {64});
  const int decl = __LINE__ - 1;
  auto y = kb.output("y", f32, {64});
  int line = 0;
  const std::string m = launch_error(kb, [&](Var) {
    parallel({64}, [&](Var i) {
      line = __LINE__ + 1;
      y[i] = x[i][0];
    });
  });
  const std::string decl_ctx = declared_at("x", decl, "[64]");
  CHECK_ERROR(m, "k", line, "too many indices for buffer 'x': it takes 1 index, this is index 2",
              decl_ctx.c_str(), "index it as x[i]");
}

TEST_CASE("error: index on a scalar local", "[dsl][verifier][error]") {
  KernelBuilder kb("k");
  int line = 0;
  const std::string m = launch_error(kb, [&](Var) {
    auto acc = local(f32, {}, "acc");
    line = __LINE__ + 1;
    acc[0] = 1.0f;
  });
  CHECK_ERROR(m, "k", line, "too many indices for buffer 'acc': it takes 0 indices",
              "'acc' is a scalar: use it without an index");
}

TEST_CASE("error: store with the wrong index count", "[dsl][verifier][error]") {
  KernelBuilder kb("k");
  int decl = 0;
  int line = 0;
  const std::string m = launch_error(kb, [&](Var) {
    decl = __LINE__ + 1;
    auto g = fragment(f32, {4, 8}, "g");
    parallel({4}, [&](Var i) {
      line = __LINE__ + 1;
      g[i] = 1.0f;
    });
  });
  const std::string decl_ctx = declared_at("g", decl, "[4, 8]");
  CHECK_ERROR(m, "k", line, "storing to buffer 'g' needs 2 indices, got 1", decl_ctx.c_str(),
              "index it as g[i][j]", "use fill() or copy()");
}

TEST_CASE("error: store to an unindexed 1-element fragment", "[dsl][verifier][error]") {
  KernelBuilder kb("k");
  auto x = kb.input("x", f32, {64});
  int line = 0;
  const std::string m = launch_error(kb, [&](Var) {
    auto sum = fragment(f32, {1}, "sum");
    line = __LINE__ + 1;
    serial(1, [&](Var) { sum = x[0]; });
  });
  CHECK_ERROR(m, "k", line, "storing to buffer 'sum' needs 1 index, got 0", "index it as sum[0]");
}

TEST_CASE("error: float index while tracing", "[dsl][verifier][error]") {
  KernelBuilder kb("k");
  auto x = kb.input("x", f32, {64});
  auto y = kb.output("y", f32, {64});
  int line = 0;
  const std::string m = launch_error(kb, [&](Var) {
    parallel({64}, [&](Var i) {
      line = __LINE__ + 1;
      y[i] = x[1.0f];
    });
  });
  CHECK_ERROR(m, "k", line, "index 0 of buffer 'x' is f32, not an integer", "cast(i32, ...)");
}

TEST_CASE("error: element read of a slice", "[dsl][verifier][error]") {
  KernelBuilder kb("k");
  auto y = kb.output("y", f32, {8});
  int line = 0;
  const std::string m = launch_error(kb, [&](Var) {
    auto f = fragment(f32, {8}, "f");
    clear(f);
    line = __LINE__ + 1;
    y[0] = f[range(0, 4)];
  });
  CHECK_ERROR(m, "k", line, "reading buffer 'f': a slice is not an element", "(f[i])");
}

TEST_CASE("error: tile of size 0 and all over a dynamic dimension", "[dsl][verifier][error]") {
  KernelBuilder kb("k");
  Dim n = kb.dim("n");
  auto x = kb.input("x", f32, {n});
  int line = 0;
  std::string m = launch_error(kb, [&](Var b) {
    auto f = fragment(f32, {8}, "f");
    line = __LINE__ + 1;
    copy(x[tile(b, 0)], f);
  });
  CHECK_ERROR(m, "k", line, "tile(): size must be positive (got 0)");
  KernelBuilder kb2("k2");
  Dim n2 = kb2.dim("n");
  auto x2 = kb2.input("x", f32, {n2});
  m = launch_error(kb2, [&](Var) {
    auto g = fragment(f32, {8}, "g");
    line = __LINE__ + 1;
    copy(x2[all], g);
  });
  CHECK_ERROR(m, "k2", line, "`all` over dynamic dimension 0 is not supported");
}

TEST_CASE("error: expression mistakes name the kernel and the statement",
          "[dsl][verifier][error]") {
  KernelBuilder kb("k");
  auto x = kb.input("x", f32, {64});
  auto y = kb.output("y", f32, {64});
  int line = 0;
  const std::string m = launch_error(kb, [&](Var) {
    line = __LINE__ + 1;
    parallel({64}, [&](Var i) { y[i] = x[i] % 2; });
  });
  CHECK_ERROR(m, "k", line, "operator % needs integer operands");
}
