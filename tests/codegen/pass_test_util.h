/** \file
 * Small traced programs the per-pass tests lower: one row of a bf16 [T, 1024] tensor per block.
 */
#pragma once

#include "dsl/builder.h"
#include "ir/ir.h"

namespace tessera::test {

/** A kernel `k(x: bf16[T, 1024], out y: bf16[T, 1024])`, one block per row; `body(x, y, t)`. */
template <class F> ir::Kernel row_kernel(F&& body, int threads = 128) {
  using namespace tessera::dsl;
  KernelBuilder kb("k");
  Dim T = kb.dim("T");
  auto x = kb.input("x", bf16, {T, 1024});
  auto y = kb.output("y", bf16, {T, 1024});
  kb.launch(grid(T), dsl::threads(threads), [&](Var t) { body(x, y, t); });
  return kb.build();
}

} // namespace tessera::test
