#include "kernels/mhc/parts.h"

#include "dsl/expr.h"

namespace tessera::mhc::kernels::detail {

using namespace tessera::dsl;

SplitRange split_range(Expr s, std::int64_t length, int block, int splits) {
  const std::int64_t blocks = (length + block - 1) / block;
  const int q = static_cast<int>(blocks / splits);
  const int r = static_cast<int>(blocks % splits);
  SplitRange out;
  out.begin_block = s * q + min(s, Expr(r));
  out.num_blocks = Expr(q) + select(s < r, Expr(1), Expr(0));
  out.begin = out.begin_block * block;
  out.end = min((out.begin_block + out.num_blocks) * block, Expr(static_cast<int>(length)));
  out.last_block = Expr(static_cast<int>(blocks - 1));
  return out;
}

Expr SplitRange::block(Expr i) const {
  return min(begin_block + i, last_block);
}

void reduce_partials(const TileRef& partial_mix, const TileRef& partial_sqrsum, Expr t, int splits,
                     int rows, const TileRef& red) {
  Expr tid = thread_idx();
  if_(tid < rows + 1, [&] {
    auto acc = local(f32, {}, "split_acc");
    acc = Expr(0.0f);
    Expr c = min(tid, Expr(rows - 1));
    // Sequential in s: the same order on every run and for every T. Unrolled so that all S
    // loads are in flight at once: a rolled loop pays one memory latency per split (S is up
    // to 112 at small T, which made this the critical path of mhc_pre).
    unroll(splits, [&](Var s) {
      acc = acc + select(tid < rows, Expr(partial_mix[s][t][c]), Expr(partial_sqrsum[s][t]));
    });
    red[tid] = acc;
  });
  barrier();
}

namespace {

void normalise_rows(const TileRef& c, const TileRef& sum, int n, float eps) {
  for (int j = 0; j < n; ++j) {
    Expr s = c[j][0];
    for (int k = 1; k < n; ++k) {
      s = s + c[j][k];
    }
    // One correctly rounded reciprocal per row instead of n divisions: div.rn.f32 is a
    // subroutine call on the GPU and n of them per row made Sinkhorn latency-bound (~20 µs).
    // x * (1/s) differs from x / s by at most one ulp.
    sum = Expr(1.0f) / (s + eps);
    for (int k = 0; k < n; ++k) {
      c[j][k] = c[j][k] * sum;
    }
  }
}

void normalise_cols(const TileRef& c, const TileRef& sum, int n, float eps) {
  for (int k = 0; k < n; ++k) {
    Expr s = c[0][k];
    for (int j = 1; j < n; ++j) {
      s = s + c[j][k];
    }
    sum = Expr(1.0f) / (s + eps); // see normalise_rows
    for (int j = 0; j < n; ++j) {
      c[j][k] = c[j][k] * sum;
    }
  }
}

} // namespace

void sinkhorn_local(const TileRef& c, int n, int iters, float eps) {
  auto mx = local(f32, {}, "sk_max");
  auto sum = local(f32, {}, "sk_sum");
  for (int j = 0; j < n; ++j) {
    mx = c[j][0];
    for (int k = 1; k < n; ++k) {
      mx = max(Expr(mx), Expr(c[j][k]));
    }
    for (int k = 0; k < n; ++k) {
      c[j][k] = exp(c[j][k] - mx);
    }
    Expr s = c[j][0];
    for (int k = 1; k < n; ++k) {
      s = s + c[j][k];
    }
    sum = Expr(1.0f) / s;
    // Divide by the row sum, then add eps (the kernels' order, §3.0 step 4).
    for (int k = 0; k < n; ++k) {
      c[j][k] = c[j][k] * sum + eps;
    }
  }
  normalise_cols(c, sum, n, eps);
  if (iters > 1) {
    serial(iters - 1, [&](Var) {
      normalise_rows(c, sum, n, eps);
      normalise_cols(c, sum, n, eps);
    });
  }
}

void sinkhorn_warp(const TileRef& x, int n, int iters, float eps) {
  // Lane l holds element e = l mod n² = (row e / n, column e mod n) of the matrix of its group
  // of n² lanes (32 / n² matrices per warp; lanes past the last whole group form a partial one
  // whose shuffles stay inside the warp and whose results are never stored). Row and column
  // sums gather their n elements in index order, exactly as sinkhorn_local adds them, so the
  // results agree bit for bit; each normalisation costs n shuffles and one reciprocal instead of
  // a serial pass over the matrix.
  const int nn = n * n;
  Expr lane = lane_idx();
  Expr e = lane % nn;
  Expr first = min(lane - e, Expr(32 - nn)); // the group's first lane (partial groups overlap)
  Expr row = first + (e / n) * n;
  Expr col = first + e % n;
  auto acc = local(f32, {}, "sk_acc");
  auto row_sum = [&] {
    acc = shfl_idx(x, row);
    for (int k = 1; k < n; ++k) {
      acc = acc + shfl_idx(x, row + k);
    }
  };
  auto col_sum = [&] {
    acc = shfl_idx(x, col);
    for (int j = 1; j < n; ++j) {
      acc = acc + shfl_idx(x, col + j * n);
    }
  };
  auto normalise_rows_warp = [&] {
    row_sum();
    x = x * (Expr(1.0f) / (acc + eps)); // normalise_rows: one reciprocal per row
  };
  auto normalise_cols_warp = [&] {
    col_sum();
    x = x * (Expr(1.0f) / (acc + eps));
  };
  // Row softmax, then + eps (§3.0 step 4).
  acc = shfl_idx(x, row);
  for (int k = 1; k < n; ++k) {
    acc = max(Expr(acc), shfl_idx(x, row + k));
  }
  x = exp(x - acc);
  row_sum();
  x = x * (Expr(1.0f) / acc) + eps;
  normalise_cols_warp();
  if (iters > 1) {
    serial(iters - 1, [&](Var) {
      normalise_rows_warp();
      normalise_cols_warp();
    });
  }
}

void collapse_tile(const TileRef& residual, const TileRef& out, Expr t, Expr tile_index, int hb,
                   int n, const TileRef& pre) {
  auto x = fragment(f32, {n, hb}, "x");
  copy(residual[t][all][tile(tile_index, hb)], x);
  auto u = fragment(f32, {hb}, "u");
  parallel({hb}, [&](Var h) {
    Expr acc = pre[0] * x[0][h];
    for (int j = 1; j < n; ++j) {
      acc = acc + pre[j] * x[j][h];
    }
    u[h] = acc;
  });
  copy(u, out[t][tile(tile_index, hb)]);
}

} // namespace tessera::mhc::kernels::detail
