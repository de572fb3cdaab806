/** \file
 * Element types shared by tensors, the DSL and every backend.
 */
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

namespace tessera {

/** Element type of a tensor, tile or scalar. */
enum class DType : std::uint8_t { bf16, f16, f32, f64, i8, i32, i64, u8, u32, boolean };

/** Size of one element in bytes. */
constexpr std::size_t dtype_size(DType t) {
  switch (t) {
  case DType::bf16:
  case DType::f16:
    return 2;
  case DType::f32:
  case DType::i32:
  case DType::u32:
    return 4;
  case DType::f64:
  case DType::i64:
    return 8;
  case DType::i8:
  case DType::u8:
  case DType::boolean:
    return 1;
  }
  return 0;
}

/** Short name used in messages, the IR printer and the CLI ("bf16", "f32", ...). */
constexpr std::string_view dtype_name(DType t) {
  switch (t) {
  case DType::bf16:
    return "bf16";
  case DType::f16:
    return "f16";
  case DType::f32:
    return "f32";
  case DType::f64:
    return "f64";
  case DType::i8:
    return "i8";
  case DType::i32:
    return "i32";
  case DType::i64:
    return "i64";
  case DType::u8:
    return "u8";
  case DType::u32:
    return "u32";
  case DType::boolean:
    return "bool";
  }
  return "?";
}

/** Parses a name produced by dtype_name(); nullopt for anything else. */
std::optional<DType> parse_dtype(std::string_view name);

constexpr bool is_float(DType t) {
  return t == DType::bf16 || t == DType::f16 || t == DType::f32 || t == DType::f64;
}
constexpr bool is_integer(DType t) {
  return !is_float(t) && t != DType::boolean;
}
constexpr bool is_signed_integer(DType t) {
  return t == DType::i8 || t == DType::i32 || t == DType::i64;
}

} // namespace tessera
