/** \file
 * Internal: the few LLVM API differences between 14 and 19 that the CPU backend touches, in one
 * place (see docs/cpu-backend.md). Include only from .cpp files of runtime/cpu and codegen/llvm;
 * never from a public header, so the rest of Tessera compiles without LLVM.
 */
#pragma once

#include <cstdint>
#include <llvm/Config/llvm-config.h>
#include <llvm/ExecutionEngine/Orc/LLJIT.h>
#include <llvm/IR/IRBuilder.h>
#include <llvm/IR/LLVMContext.h>
#include <llvm/Support/CodeGen.h>
#include <memory>

namespace tessera::internal {

/**
 * A fresh context. LLVM 14's opaque-pointer mode is experimental: its loop-access analysis
 * (LoopLoadElimination, the vectoriser's runtime alias checks) crashes on opaque pointers in
 * 14.0.6, so on 14 we stay with typed pointers; from 15 on, pointers are opaque (the default
 * from 15, the only mode from 17). Code that builds IR never depends on the mode: it uses
 * ptr_to() / cast_ptr() below and gives explicit element types to every load and GEP.
 */
inline std::unique_ptr<llvm::LLVMContext> make_llvm_context() {
  auto ctx = std::make_unique<llvm::LLVMContext>();
#if LLVM_VERSION_MAJOR >= 15 && LLVM_VERSION_MAJOR < 17
  ctx->setOpaquePointers(true);
#endif
  return ctx;
}

/** Pointer to `elem` in address space 0: typed on LLVM 14, the opaque `ptr` from 15. */
inline llvm::PointerType* ptr_to(llvm::Type* elem) {
  return llvm::PointerType::getUnqual(elem);
}

/** The type used for untyped pointers (`void*`): i8* on 14, `ptr` from 15. */
inline llvm::PointerType* void_ptr_type(llvm::LLVMContext& ctx) {
  return ptr_to(llvm::Type::getInt8Ty(ctx));
}

/** `p` as a pointer to `elem` (a no-op with opaque pointers). */
inline llvm::Value* cast_ptr(llvm::IRBuilderBase& b, llvm::Value* p, llvm::Type* elem) {
  return b.CreatePointerCast(p, ptr_to(elem));
}

/** LLJIT::lookup returns JITEvaluatedSymbol on 14 and ExecutorAddr from 15. */
#if LLVM_VERSION_MAJOR < 15
inline std::uintptr_t symbol_address(const llvm::JITEvaluatedSymbol& sym) {
  return static_cast<std::uintptr_t>(sym.getAddress());
}
#else
inline std::uintptr_t symbol_address(const llvm::orc::ExecutorAddr& addr) {
  return static_cast<std::uintptr_t>(addr.getValue());
}
#endif

/** A symbol definition for an address in this process (JITEvaluatedSymbol up to 16,
 * ExecutorSymbolDef from 17). */
#if LLVM_VERSION_MAJOR < 17
inline llvm::JITEvaluatedSymbol absolute_symbol(void* address) {
  return llvm::JITEvaluatedSymbol(llvm::pointerToJITTargetAddress(address),
                                  llvm::JITSymbolFlags::Exported | llvm::JITSymbolFlags::Callable);
}
#else
inline llvm::orc::ExecutorSymbolDef absolute_symbol(void* address) {
  return llvm::orc::ExecutorSymbolDef(llvm::orc::ExecutorAddr::fromPtr(address),
                                      llvm::JITSymbolFlags::Exported |
                                          llvm::JITSymbolFlags::Callable);
}
#endif

/** Code generation opt level: `CodeGenOpt::Level` up to 18, `CodeGenOptLevel` from 19. */
#if LLVM_VERSION_MAJOR < 18
using CodeGenLevel = llvm::CodeGenOpt::Level;
inline constexpr CodeGenLevel kCodeGenDefault = llvm::CodeGenOpt::Default;
inline constexpr CodeGenLevel kCodeGenAggressive = llvm::CodeGenOpt::Aggressive;
inline constexpr CodeGenLevel kCodeGenNone = llvm::CodeGenOpt::None;
#else
using CodeGenLevel = llvm::CodeGenOptLevel;
inline constexpr CodeGenLevel kCodeGenDefault = llvm::CodeGenOptLevel::Default;
inline constexpr CodeGenLevel kCodeGenAggressive = llvm::CodeGenOptLevel::Aggressive;
inline constexpr CodeGenLevel kCodeGenNone = llvm::CodeGenOptLevel::None;
#endif

} // namespace tessera::internal
