/** \file
 * Verifier internals: the per-statement checks of tile ops (copy, fill, reduce, gemm, store,
 * atomic) and the error formatting they share. Only dsl/verifier.cpp includes this; the public
 * entry point is ir::verify() in dsl/verifier.h.
 */
#pragma once

#include "ir/ir.h"

#include <cstdint>
#include <string>
#include <vector>

namespace tessera::ir::internal {

/** Where verifier errors come from: formats `kernel 'k' at file.cpp:42: message`. */
struct VerifyContext {
  const Kernel& kernel;

  /** Throws UserError for a mistake at `loc` (the kernel's own location when loc is unknown). */
  [[noreturn]] void fail(const SourceLoc& loc, const std::string& message) const;
};

/** "[4, 8]". */
std::string shape_string(const std::vector<std::int64_t>& shape);
/** "fragment 'x' f32[4, 8]" (dynamic extents print by name). */
std::string describe(const Buffer& b);

/** Indices of an element access: one per dimension, each an integer expression. */
void check_indices(const VerifyContext& ctx, const SourceLoc& loc, const Buffer& b,
                   const std::vector<Expr>& indices, const char* what);
/** The destination of a write (store, copy, atomic, fill, reduce, gemm) must be writable. */
void check_writable(const VerifyContext& ctx, const SourceLoc& loc, const Buffer& b,
                    const char* what);

void check_store(const VerifyContext& ctx, const Store* op);
void check_copy(const VerifyContext& ctx, const Copy* op);
void check_fill(const VerifyContext& ctx, const Fill* op);
void check_reduce(const VerifyContext& ctx, const Reduce* op);
void check_gemm(const VerifyContext& ctx, const Gemm* op);
void check_atomic(const VerifyContext& ctx, const Atomic* op);

} // namespace tessera::ir::internal
