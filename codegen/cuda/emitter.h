/** \file
 * Internal: the CUDA emitter's state, shared by its implementation files (statements in
 * cuda_emitter.cpp, expressions in emit_expr.cpp, copies in emit_copy.cpp, reductions in
 * emit_reduce.cpp). Not a public header.
 */
#pragma once

#include "codegen/cuda/emit_context.h"
#include "codegen/lowered.h"
#include "ops/copy.h"
#include "ops/fill.h"
#include "ops/gemm.h"
#include "ops/reduce.h"

#include <map>
#include <sstream>
#include <string>
#include <vector>

namespace tessera::codegen::internal {

using ops::Copy;
using ops::Fill;
using ops::Gemm;
using ops::Reduce;
using ops::ReduceOp;

/** Inside a distributed parallel loop: how the innermost variable maps to registers. */
struct RegisterBinding {
  std::string var;  ///< the DSL loop variable's name
  std::string c, v; ///< C++ names of the chunk and vector-lane loop variables ("" if C == 1)
  Layout layout;
};

/** Inside a parallel loop over a mapped layout: the loop variables stand for register `reg`. */
struct MappedBinding {
  std::vector<std::string> vars; ///< the DSL loop variables' names, outermost first
  Layout layout;
  std::int64_t reg = 0;
};

class CudaEmitter {
public:
  explicit CudaEmitter(const LoweredKernel& lk);
  std::string run();

  // --- statements (cuda_emitter.cpp)
  void stmt(const ir::Stmt& s);
  void line(const std::string& text);
  void open(const std::string& text); ///< "text {" and indent
  void close(const std::string& text = "}");
  std::string note(const ir::Stmt& s) const; ///< "  // file:line"
  void comment(const ir::Stmt& s, const std::string& what);
  std::string sync() const;
  EmitContext context() const;

  // --- expressions (emit_expr.cpp)
  std::string expr(const ir::Expr& e);
  std::string load(const ir::Buffer& b, const std::vector<ir::Expr>& idx);
  /** Address expression `name[offset]` for an element of a non-fragment buffer. */
  std::string element(const ir::Buffer& b, const std::vector<std::string>& idx);
  /** Linear offset (int64 for global tensors) of an element given index strings. */
  std::string offset(const ir::Buffer& b, const std::vector<std::string>& idx) const;
  std::string extent(const ir::Buffer& b, int d) const;
  /** The register index of a distributed fragment element inside the bound parallel loop, or ""
   *  when the access does not follow the binding. */
  std::string bound_register(const ir::Buffer& b, const std::vector<ir::Expr>& idx);
  std::string name(const ir::Buffer& b);
  std::string literal(DType t, double v) const;

  // --- tile ops
  void copy(const ops::Copy* op);        // emit_copy.cpp
  void reduce(const ops::Reduce* op);    // emit_reduce.cpp
  void parallel(const ir::Parallel* op); // cuda_emitter.cpp
  void fill(const ops::Fill* op);        // cuda_emitter.cpp
  /** Threads [0, n) of the participants hold elements of mapped layout `l`; the rest (idle warps)
   *  hold none. InternalError for a map whose owners are not such a prefix or that leaves holes. */
  int mapped_owners(const Layout& l) const;

  const LoweredKernel& lk;
  std::ostringstream out;
  int indent = 1;
  int threads;   ///< participating threads
  int begin = 0; ///< first participating thread
  std::string tid = "thread_idx";
  int barrier_id = 0; ///< named barrier of the current thread range (0: __syncthreads)
  std::vector<RegisterBinding> bindings;
  std::vector<MappedBinding> mapped_bindings;
  std::map<const ir::BufferNode*, std::string> names;
  std::map<std::string, int> used_names;
  int tmp = 0; ///< counter for generated temporaries
};

/** "x * 4 + y" style helpers that drop multiplications by 1 and additions of 0. */
std::string mul(const std::string& a, std::int64_t b);
std::string add(const std::string& a, const std::string& b);

} // namespace tessera::codegen::internal
