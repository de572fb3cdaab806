/** \file
 * Internal to codegen/llvm: the thread-level IR to LLVM IR translator, one class whose members
 * are defined by concern in translate_expr.cpp (types, expressions, addressing, loops) and
 * translate_stmt.cpp (statements, thread loops, warp ops, the block function). Includes LLVM
 * headers: never include it from a public header.
 */
#pragma once

#include "codegen/llvm/thread_analysis.h"
#include "codegen/llvm/translate.h"
#include "ir/ir.h"

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
using ir::LetStmt;
using ir::SourceLoc;
using ir::Stmt;
using ir::Var;
using ir::VectorCopy;

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

/** Builds the module of one kernel (see translate_to_llvm()). */
class Translator {
public:
  Translator(const Kernel& kernel, llvm::LLVMContext& ctx, CpuEntryPoints& ep)
      : k_(kernel), ctx_(ctx), ep_(ep), b_(ctx), analysis_(kernel) {}

  std::unique_ptr<llvm::Module> run();

private:
  // --- errors ---------------------------------------------------------------------------------
  [[noreturn]] void unsupported(const SourceLoc& loc, const std::string& what) const;

  // --- types (translate_expr.cpp) -------------------------------------------------------------
  llvm::Type* storage_type(DType t);
  // Registers: halves are held as the float they represent (exactly), booleans as i1.
  llvm::Type* value_type(DType t);
  llvm::Value* i64(std::int64_t v) { return b_.getInt64(static_cast<std::uint64_t>(v)); }
  llvm::Value* to_i64(llvm::Value* v, bool is_signed = true);
  llvm::Value* load_value(DType t, llvm::Value* ptr);
  void store_value(DType t, llvm::Value* ptr, llvm::Value* v);
  // Rounds a float register value to what a half type can hold.
  llvm::Value* round_to(DType t, llvm::Value* v);
  llvm::Value* convert(llvm::Value* v, DType from, DType to);

  // --- expressions (translate_expr.cpp) -------------------------------------------------------
  llvm::Value* var_value(const Var* v);
  llvm::Value* expr(const Expr& e);
  llvm::Value* binary(const Binary* op);
  // Only the chosen value is evaluated (a branch when an arm loads: it may be out of bounds).
  llvm::Value* select(const ir::Select* op);
  llvm::Value* libm_call(const char* name, llvm::Value* x);
  llvm::Value* call(const Call* op);
  // tf32 operand rounding as cvt.rna.tf32.f32 (nearest, ties away from zero); inf/NaN kept.
  llvm::Value* round_tf32(llvm::Value* v);

  // Pointer to one element: global tensors and shared buffers are row-major (strides from
  // their shapes); a per-thread local is offset by the running thread's copy.
  llvm::Value* address(const Buffer& buf, const std::vector<Expr>& indices);
  llvm::Value* element_ptr(const Buffer& buf, BufInfo& info, llvm::Value* offset);
  BufInfo& buffer(const Buffer& buf);

  // --- loops (translate_expr.cpp) -------------------------------------------------------------
  // for (i = begin; i < end; ++i) body(i), as a guarded do-while (LLVM's preferred shape).
  void emit_loop(llvm::Value* begin, llvm::Value* end,
                 const std::function<void(llvm::Value*)>& body);
  void emit_if(llvm::Value* cond, const std::function<void()>& then_fn,
               const std::function<void()>& else_fn = {});
  // Runs body once per thread id in [begin, end), with thread_idx bound.
  void emit_thread_loop(int begin, int end, const std::function<void()>& body);

  // --- statements at block level: thread loops are opened here (translate_stmt.cpp) -----------
  void block_level(const Stmt& s, int tb, int te);
  // A statement whose own expressions hold warp ops.
  void warp_stmt(const Stmt& s, int tb, int te);

  // --- statements inside a thread loop, or uniform (translate_stmt.cpp) -----------------------
  void stmt(const Stmt& s);
  void for_loop(const For* op, const std::function<void()>& body);
  void vector_copy(const VectorCopy* op);
  void atomic(const Atomic* op);

  // --- the block function (translate_stmt.cpp) ------------------------------------------------
  llvm::Value* entry_alloca(llvm::Type* ty, std::int64_t count);
  // Loads scalars, dims and tensor pointers from the argument array.
  void bind_arguments(llvm::Value* args);
  void allocate_buffers(llvm::Value* scratch);
  /** Element strides and extents of a buffer of constant shape (rows at its storage pitch). */
  void set_dense_strides(const Buffer& buf, BufInfo& info);
  /** A view's storage (BufferNode::view_of), where its Allocate stands; other buffers are placed
   *  up front by allocate_buffers. */
  void bind_view(const Buffer& buf);
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
  // Thread-dependent lets around barriers: evaluated again inside each thread loop.
  std::unordered_map<const ExprNode*, Expr> lazy_vars_;
  std::map<std::string, llvm::Value*> named_; // dims and scalars by name
  std::unordered_map<const BufferNode*, BufInfo> buffers_;
  std::unordered_map<const Call*, llvm::Value*> warp_results_;
};

} // namespace tessera::codegen::cpu_internal
