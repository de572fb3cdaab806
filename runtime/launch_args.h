/** \file
 * Kernel argument checking, as pure functions so it is testable without a GPU. A launch is
 * checked against the kernel's parameter layout (count and byte size of each parameter, from
 * the driver or the PTX signature) and, when the kernel has one, a declared signature (pointer
 * to dtype, scalar dtype, by-value struct) that DSL-generated kernels supply.
 */
#pragma once

#include "base/dtype.h"
#include "base/float16.h"
#include "runtime/compiler.h"
#include "runtime/tensor.h"

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>

namespace tessera {

/** What a declared kernel parameter is. */
enum class ParamKind : std::uint8_t { pointer, scalar, bytes };

/** One parameter of a declared kernel signature. */
struct ParamDecl {
  ParamKind kind = ParamKind::bytes;
  /** Element type of a pointer, type of a scalar; ignored for bytes. */
  DType dtype = DType::f32;
  /** False for an untyped pointer (void*). */
  bool has_dtype = true;
  /** Size in bytes of a by-value struct (bytes kind). */
  std::size_t size = 0;
  std::string name;

  static ParamDecl pointer(DType dtype, std::string name = {}) {
    return {ParamKind::pointer, dtype, true, 8, std::move(name)};
  }
  static ParamDecl untyped_pointer(std::string name = {}) {
    return {ParamKind::pointer, DType::u8, false, 8, std::move(name)};
  }
  static ParamDecl scalar(DType dtype, std::string name = {}) {
    return {ParamKind::scalar, dtype, true, dtype_size(dtype), std::move(name)};
  }
  static ParamDecl bytes(std::size_t size, std::string name = {}) {
    return {ParamKind::bytes, DType::u8, false, size, std::move(name)};
  }
};

/** What the caller passed for one argument. */
enum class ArgKind : std::uint8_t {
  device_pointer, ///< a T*, TensorView or DeviceBuffer in device memory
  host_pointer,   ///< a TensorView of host memory: always refused
  address,        ///< a raw CUdeviceptr / 64-bit unsigned integer
  scalar,         ///< an arithmetic value (or bf16/f16)
  bytes,          ///< any other trivially copyable struct, passed by value
};

/** Description of one launch argument (no allocation: built on the launch path). */
struct ArgInfo {
  ArgKind kind = ArgKind::bytes;
  bool has_dtype = false;
  DType dtype = DType::u8;
  std::size_t size = 0;
};

/**
 * Checks `args` against a kernel's parameter layout and optional signature. `params_known`
 * false skips the layout check (no driver support and no PTX). An empty `signature` means none.
 * Throws UserError naming the kernel, the argument index (and name) and what was expected.
 */
void check_launch_args(std::string_view kernel, bool params_known,
                       std::span<const ParamInfo> params, std::span<const ParamDecl> signature,
                       std::span<const ArgInfo> args);

/** The DType of a C++ element type, when there is one. */
template <class T> constexpr bool has_dtype_v = false;
template <class T> constexpr DType dtype_of_v = DType::u8;
#define TESSERA_DTYPE_OF(T, D)                                                                     \
  template <> inline constexpr bool has_dtype_v<T> = true;                                         \
  template <> inline constexpr DType dtype_of_v<T> = DType::D;
TESSERA_DTYPE_OF(float, f32)
TESSERA_DTYPE_OF(double, f64)
TESSERA_DTYPE_OF(std::int8_t, i8)
TESSERA_DTYPE_OF(std::uint8_t, u8)
TESSERA_DTYPE_OF(std::int32_t, i32)
TESSERA_DTYPE_OF(std::uint32_t, u32)
TESSERA_DTYPE_OF(long, i64)
TESSERA_DTYPE_OF(long long, i64)
TESSERA_DTYPE_OF(bool, boolean)
TESSERA_DTYPE_OF(bf16, bf16)
TESSERA_DTYPE_OF(f16, f16)
#undef TESSERA_DTYPE_OF

/**
 * Binds one argument: sets `slot` to the address NVRTC's argument array needs and fills `info`.
 * `storage` holds values that must be materialised (a TensorView's pointer). Overloads for the
 * argument types Tessera knows; anything else trivially copyable is passed by value.
 */
inline void bind_arg(const TensorView& v, void*& slot, ArgInfo& info, std::uint64_t& storage) {
  storage = reinterpret_cast<std::uint64_t>(v.data());
  slot = &storage;
  info = {v.memory() == MemoryKind::cuda ? ArgKind::device_pointer : ArgKind::host_pointer, true,
          v.dtype(), sizeof(void*)};
}

template <class T>
void bind_arg(T* const& p, void*& slot, ArgInfo& info, std::uint64_t& /*storage*/) {
  using E = std::remove_cv_t<T>;
  slot = const_cast<void*>(static_cast<const void*>(&p));
  info = {ArgKind::device_pointer, has_dtype_v<E>, dtype_of_v<E>, sizeof(void*)};
}

inline void bind_arg(const std::nullptr_t&, void*& slot, ArgInfo& info, std::uint64_t& storage) {
  storage = 0;
  slot = &storage;
  info = {ArgKind::device_pointer, false, DType::u8, sizeof(void*)};
}

template <class T>
requires(!std::is_pointer_v<T>) void bind_arg(const T& value, void*& slot, ArgInfo& info,
                                              std::uint64_t& /*storage*/) {
  static_assert(std::is_trivially_copyable_v<T>,
                "kernel arguments are copied bytewise and must be trivially copyable");
  slot = const_cast<void*>(static_cast<const void*>(&value));
  if constexpr (std::is_same_v<T, unsigned long> || std::is_same_v<T, unsigned long long>) {
    info = {ArgKind::address, false, DType::u8, sizeof(T)}; // CUdeviceptr
  } else if constexpr (has_dtype_v<T>) {
    info = {ArgKind::scalar, true, dtype_of_v<T>, sizeof(T)};
  } else if constexpr (std::is_arithmetic_v<T>) {
    info = {ArgKind::scalar, false, DType::u8, sizeof(T)};
  } else {
    info = {ArgKind::bytes, false, DType::u8, sizeof(T)};
  }
}

} // namespace tessera
