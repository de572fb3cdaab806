/** \file
 * Internal to codegen/llvm: the tile-IR to LLVM IR lowering, as one class whose members are
 * defined by concern in lower_to_llvm.cpp (types, expressions, loops, functions),
 * lower_threads.cpp (statements and thread semantics) and lower_tile_ops.cpp (copy, fill,
 * reduce, gemm, atomics). Includes LLVM headers: never include it from a public header.
 */
#pragma once

#include "codegen/llvm/lower_to_llvm.h"
#include "codegen/llvm/thread_analysis.h"
#include "ir/ir.h"
#include "ops/copy.h"
#include "ops/fill.h"
#include "ops/gemm.h"
#include "ops/reduce.h"

#include <functional>
#include <llvm/IR/IRBuilder.h>
#include <llvm/IR/Module.h>
#include <map>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

namespace tessera::codegen::cpu_internal {

using ir::Atomic;
using ir::Binary;
using ir::Buffer;
using ir::BufferNode;
using ir::Call;
using ir::Expr;
using ir::ExprNode;
using ir::For;
using ir::IfThenElse;
using ir::Kernel;
using ir::Parallel;
using ir::Region;
using ir::SourceLoc;
using ir::Stmt;
using ir::Var;
using ops::Copy;
using ops::Fill;
using ops::Gemm;
using ops::Reduce;
using ops::ReduceOp;

// Buffers up to this size live on the host thread's stack (allocas, which LLVM optimises best);
// larger ones in the per-thread scratch area the runner passes in.
inline constexpr std::int64_t kMaxStackBufferBytes = 64 * 1024;

struct BufInfo {
  llvm::Value* base = nullptr; // typed pointer to the storage elements
  std::int64_t numel = 0;      // elements per thread (per-thread locals) or in total
  bool per_thread = false;
  std::vector<llvm::Value*> strides; // i64 element strides, one per dimension
  std::vector<llvm::Value*> extents; // i64 extents, one per dimension
};

inline bool is_half(DType t) {
  return t == DType::bf16 || t == DType::f16;
}

inline std::string sanitize(const std::string& name) {
  std::string out;
  for (char c : name) {
    out += (std::isalnum(static_cast<unsigned char>(c)) || c == '_') ? c : '_';
  }
  return out;
}

/** Builds the LLVM module of one kernel (see lower_to_llvm()). */
class Lowerer {
public:
  Lowerer(const Kernel& kernel, llvm::LLVMContext& ctx, CpuEntryPoints& ep)
      : k_(kernel), ctx_(ctx), ep_(ep), b_(ctx), analysis_(kernel) {}

  std::unique_ptr<llvm::Module> run();

private:
  // --- errors ---------------------------------------------------------------------------------
  [[noreturn]] void unsupported(const SourceLoc& loc, const std::string& what) const;

  // --- types ----------------------------------------------------------------------------------
  llvm::Type* storage_type(DType t);
  // Registers: halves are held as the float they represent (exactly), booleans as i1.
  llvm::Type* value_type(DType t);
  llvm::Value* i64(std::int64_t v) { return b_.getInt64(static_cast<std::uint64_t>(v)); }
  llvm::Value* to_i64(llvm::Value* v, bool is_signed = true);
  llvm::Value* smax(llvm::Value* a, llvm::Value* b);
  llvm::Value* smin(llvm::Value* a, llvm::Value* b);

  llvm::Value* load_value(DType t, llvm::Value* ptr);
  void store_value(DType t, llvm::Value* ptr, llvm::Value* v);

  // Rounds a float register value to what a half type can hold.
  llvm::Value* round_to(DType t, llvm::Value* v);

  llvm::Value* convert(llvm::Value* v, DType from, DType to);

  // --- expressions ----------------------------------------------------------------------------
  llvm::Value* var_value(const Var* v);

  llvm::Value* expr(const Expr& e);

  llvm::Value* binary(const Binary* op);

  llvm::Value* libm_call(const char* name, llvm::Value* x);

  llvm::Value* call(const Call* op);

  // Pointer to one element. Global tensors are row-major with strides from their (possibly
  // dynamic) shape; per-thread locals are offset by the current thread's copy.
  llvm::Value* address(const Buffer& buf, const std::vector<Expr>& indices);
  llvm::Value* element_ptr(const Buffer& buf, BufInfo& info, llvm::Value* offset);
  BufInfo& buffer(const Buffer& buf);

  // --- loops ----------------------------------------------------------------------------------
  // for (i = begin; i < end; ++i) body(i), as a guarded do-while (LLVM's preferred shape).
  void emit_loop(llvm::Value* begin, llvm::Value* end,
                 const std::function<void(llvm::Value*)>& body);
  void emit_loop(std::int64_t begin, std::int64_t end,
                 const std::function<void(llvm::Value*)>& body);
  void emit_if(llvm::Value* cond, const std::function<void()>& then_fn,
               const std::function<void()>& else_fn = {});
  // Runs body once per thread id in [begin, end), with thread_idx bound.
  void emit_thread_loop(int begin, int end, const std::function<void()>& body);

  // --- statements at block level (thread loops are opened here) --------------------------
  void lower_block_level(const Stmt& s, int tb, int te);

  // A statement whose own expressions hold warp ops (see lower_threads.cpp).
  void lower_warp_stmt(const Stmt& s, int tb, int te);

  void own_exprs(const Stmt& s, const std::function<void(const Expr&)>& fn);

  // --- statements (inside a thread loop, or uniform) -------------------------------------------
  void lower_for(const For* op, const std::function<void()>& body);
  void lower_if(const IfThenElse* op, const std::function<void()>& then_fn,
                const std::function<void()>& else_fn);

  void lower_stmt(const Stmt& s);

  void lower_parallel(const Parallel* op, std::size_t level);

  // Copy with clipping of global regions: out-of-range source elements read as zero,
  // out-of-range destination elements are not written. The innermost dimension's valid range is
  // computed once per row, so the element loops are plain (vectorisable) loops.
  struct Side {
    const Region* region;
    BufInfo* info;
    bool global;
    std::vector<llvm::Value*> start; // i64 per buffer dim
    int inner_dim = -1;              // buffer dim of the innermost region dim
  };
  Side make_side(const Region& r);
  // Row offset and validity of a side for outer loop indices `iv` (one per non-squeezed dim
  // except the innermost); also the valid [lo, hi) of the inner loop of extent n.
  struct Row {
    llvm::Value* offset;
    llvm::Value* ok;
    llvm::Value* lo;
    llvm::Value* hi;
    llvm::Value* inner_stride;
  };
  Row make_row(Side& side, const std::vector<llvm::Value*>& iv, std::int64_t n);

  void lower_copy(const Copy* op);

  void lower_fill(const Fill* op);

  llvm::Value* combine(ReduceOp rop, DType t, llvm::Value* acc, llvm::Value* x, bool reassoc);
  llvm::Value* identity(ReduceOp rop, DType t);

  void lower_reduce(const Reduce* op);

  // tf32 operand rounding as cvt.rna.tf32.f32 (nearest, ties away from zero); inf/NaN kept.
  llvm::Value* round_tf32(llvm::Value* v);

  void lower_gemm(const Gemm* op);

  void lower_atomic(const Atomic* op);

  // --- functions ------------------------------------------------------------------------------
  llvm::Value* entry_alloca(llvm::Type* ty, std::int64_t count);

  // Loads scalars and dims from the argument array and sets up global tensors.
  void bind_arguments(llvm::Value* args);

  void build_grid_fn();

  void allocate_buffers(llvm::Value* scratch);

  static std::vector<std::int64_t> const_shape(const Buffer& b);

  void build_block_fn();

  const Kernel& k_;
  llvm::LLVMContext& ctx_;
  CpuEntryPoints& ep_;
  llvm::IRBuilder<> b_;
  ThreadAnalysis analysis_;
  std::unique_ptr<llvm::Module> module_;
  llvm::BasicBlock* entry_ = nullptr;
  llvm::Value* tid_ = nullptr; // i32 thread id inside a thread loop
  llvm::Value* block_idx_[3] = {nullptr, nullptr, nullptr};
  std::unordered_map<const ExprNode*, llvm::Value*> vars_;
  std::map<std::string, llvm::Value*> named_; // dims and scalars by name
  std::unordered_map<const BufferNode*, BufInfo> buffers_;
  std::unordered_map<const Call*, llvm::Value*> warp_results_;
};

} // namespace tessera::codegen::cpu_internal
