#include "examples/kernels.h"

#include "dsl/builder.h"

namespace tessera::examples {

using namespace dsl;

ir::Kernel vector_add(int block_elems, int nthreads) {
  KernelBuilder kb("vector_add");
  Dim n = kb.dim("n");
  auto x = kb.input("x", f32, {n});
  auto y = kb.input("y", f32, {n});
  auto z = kb.output("z", f32, {n});
  kb.launch(grid(ceil_div(n, block_elems)), threads(nthreads), [&](Var b) {
    auto a = fragment(f32, {block_elems}, "a");
    auto c = fragment(f32, {block_elems}, "c");
    copy(x[tile(b, block_elems)], a); // out-of-range elements read as 0
    copy(y[tile(b, block_elems)], c);
    parallel({block_elems}, [&](Var i) { a[i] = a[i] + c[i]; });
    copy(a, z[tile(b, block_elems)]); // out-of-range elements are not written
  });
  return kb.build();
}

ir::Kernel rmsnorm(int hidden, float eps, int nthreads) {
  KernelBuilder kb("rmsnorm");
  Dim T = kb.dim("num_tokens");
  auto x = kb.input("x", bf16, {T, hidden});
  auto w = kb.input("weight", bf16, {hidden});
  auto y = kb.output("y", bf16, {T, hidden});
  kb.launch(grid(T), threads(nthreads), [&](Var t) {
    auto xf = fragment(f32, {hidden}, "xf");
    copy(x[t], xf);
    auto sq = fragment(f32, {hidden}, "sq");
    parallel({hidden}, [&](Var h) { sq[h] = xf[h] * xf[h]; });
    auto ss = fragment(f32, {}, "sum_sq");
    reduce_sum(sq, ss, 0);
    auto wf = fragment(f32, {hidden}, "wf");
    copy(w, wf);
    Expr r = rsqrt(Expr(ss) / static_cast<float>(hidden) + eps);
    parallel({hidden}, [&](Var h) { xf[h] = xf[h] * r * wf[h]; });
    copy(xf, y[t]);
  });
  return kb.build();
}

ir::Kernel softmax(int cols, int nthreads) {
  KernelBuilder kb("softmax");
  Dim R = kb.dim("num_rows");
  auto x = kb.input("x", f32, {R, cols});
  auto y = kb.output("y", f32, {R, cols});
  kb.launch(grid(R), threads(nthreads), [&](Var r) {
    auto v = fragment(f32, {cols}, "v");
    copy(x[r], v);
    auto mx = fragment(f32, {}, "row_max");
    reduce_max(v, mx, 0);
    parallel({cols}, [&](Var c) { v[c] = exp(v[c] - mx); });
    auto sum = fragment(f32, {}, "row_sum");
    reduce_sum(v, sum, 0);
    parallel({cols}, [&](Var c) { v[c] = v[c] / sum; });
    copy(v, y[r]);
  });
  return kb.build();
}

ir::Kernel gated_residual(int hidden, int nthreads) {
  KernelBuilder kb("gated_residual");
  Dim T = kb.dim("num_tokens");
  auto x = kb.input("x", bf16, {T, hidden});
  auto y = kb.input("y", bf16, {T, hidden});
  auto gate = kb.input("gate", f32, {T});
  auto out = kb.output("out", bf16, {T, hidden});
  Expr scale = kb.scalar("scale", f32);
  kb.launch(grid(T), threads(nthreads), [&](Var t) {
    auto g = local(f32, {}, "g"); // one value per thread
    g = scale * sigmoid(gate[t]);
    auto a = fragment(f32, {hidden}, "a");
    auto b = fragment(f32, {hidden}, "b");
    copy(x[t], a);
    copy(y[t], b);
    parallel({hidden}, [&](Var h) { a[h] = a[h] + g * b[h]; });
    copy(a, out[t]);
  });
  return kb.build();
}

void register_kernels(KernelRegistry& r) {
  using P = KernelParam;
  r.add({"vector_add",
         "z = x + y (f32), dynamic length n",
         {{"block_elems", P::Type::integer, 1024, "elements per block"},
          {"threads", P::Type::integer, 256, "threads per block"}},
         [](const KernelParams& p) {
           return vector_add(p.integer("block_elems"), p.integer("threads"));
         }});
  r.add({"rmsnorm",
         "bf16 RMSNorm of [num_tokens, hidden] rows, fp32 math",
         {{"hidden", P::Type::integer, 4096, "row length"},
          {"eps", P::Type::real, 1e-6, "epsilon"},
          {"threads", P::Type::integer, 256, "threads per block"}},
         [](const KernelParams& p) {
           return rmsnorm(p.integer("hidden"), static_cast<float>(p.real("eps")),
                          p.integer("threads"));
         }});
  r.add({"softmax",
         "row softmax of an f32 [num_rows, cols] matrix",
         {{"cols", P::Type::integer, 1024, "row length"},
          {"threads", P::Type::integer, 128, "threads per block"}},
         [](const KernelParams& p) { return softmax(p.integer("cols"), p.integer("threads")); }});
  r.add({"gated_residual",
         "tutorial: out = bf16(x + scale * sigmoid(gate) * y)",
         {{"hidden", P::Type::integer, 2048, "row length"},
          {"threads", P::Type::integer, 128, "threads per block"}},
         [](const KernelParams& p) {
           return gated_residual(p.integer("hidden"), p.integer("threads"));
         }});
  register_gemm_kernels(r);
}

} // namespace tessera::examples
