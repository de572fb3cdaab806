/** \file
 * Internal to codegen/cuda: the printer's state, shared by its two implementation files
 * (statements in cuda_printer.cpp, expressions and addressing in print_expr.cpp).
 */
#pragma once

#include "ir/ir.h"

#include <map>
#include <sstream>
#include <string>
#include <vector>

namespace tessera::codegen::internal {

class CudaPrinter {
public:
  explicit CudaPrinter(const ir::Kernel& k);
  std::string run();

  // --- statements (cuda_printer.cpp)
  /** Prints `s`; `last` says nothing follows it in the current C++ scope (a LetStmt then needs
   *  no braces of its own). */
  void stmt(const ir::Stmt& s, bool last);
  /** Prints `s` as the body of a for/if: opens a scope, prints, closes it. */
  void body(const ir::Stmt& s);
  void line(const std::string& text);
  void open(const std::string& text); ///< "text {" and indent
  void close(const std::string& text = "}");
  /** "  // file:line" for a statement whose location the enclosing note does not already say. */
  std::string note(const ir::Stmt& s) const;
  std::string sync() const;
  void vector_copy(const ir::VectorCopy* op, bool last);
  void mma_tile(const ir::MmaTile* op);

  // --- expressions (print_expr.cpp)
  std::string expr(const ir::Expr& e);
  /** `e` printed so that it can stand as an operand of an operator of precedence `prec`
   *  (C++ precedence levels, lower binds tighter). */
  std::string operand(const ir::Expr& e, int prec);
  /** `name[offset]`, or the name for a scalar local. */
  std::string element(const ir::Buffer& b, const std::vector<ir::Expr>& idx);
  /** Linear element offset of `idx` (64-bit for global tensors). */
  std::string offset(const ir::Buffer& b, const std::vector<ir::Expr>& idx);
  std::string extent(const ir::Buffer& b, int d) const;
  std::string name(const ir::Buffer& b);
  std::string literal(DType t, double v) const;
  /** Provably >= 0: constants, thread and block indices, dims, and the variables recorded in
   *  `non_negative_vars`, combined by + * / % min max. */
  bool non_negative(const ir::Expr& e) const;
  /** k when `op` divides (or takes the remainder of) a non-negative integer by 2^k, which
   *  prints as a shift (mask); else -1. */
  int power_of_two_divisor(const ir::Binary* op) const;

  const ir::Kernel& kernel;
  std::ostringstream out;
  int indent = 1;
  int threads;        ///< participating threads
  int begin = 0;      ///< first participating thread
  int barrier_id = 0; ///< named barrier of the current thread range (0: __syncthreads)
  std::vector<const ir::StmtNode*> notes; ///< enclosing noted blocks
  std::map<const ir::BufferNode*, std::string> names;
  std::map<std::string, int> used_names;
  /** Loop and let variables known to be >= 0 where the printer is (loops from a non-negative
   *  minimum, lets of non-negative values): a count per name, for nesting. */
  std::map<std::string, int> non_negative_vars;
};

} // namespace tessera::codegen::internal
