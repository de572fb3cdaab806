/** \file
 * Host-side bfloat16 / IEEE half conversions with round-to-nearest-even, bit-exact with the
 * device's __float2bfloat16_rn / __float2half_rn. Used by references, tests and the CPU backend.
 */
#pragma once

#include <bit>
#include <cstdint>

namespace tessera {

/** Rounds a float to bfloat16 (nearest, ties to even); NaN stays a quiet NaN. */
constexpr std::uint16_t float_to_bf16_bits(float f) {
  const std::uint32_t u = std::bit_cast<std::uint32_t>(f);
  if ((u & 0x7fffffffu) > 0x7f800000u) {
    return static_cast<std::uint16_t>((u >> 16) | 0x40u);
  }
  const std::uint32_t rounding_bias = 0x7fffu + ((u >> 16) & 1u);
  return static_cast<std::uint16_t>((u + rounding_bias) >> 16);
}

constexpr float bf16_bits_to_float(std::uint16_t b) {
  return std::bit_cast<float>(static_cast<std::uint32_t>(b) << 16);
}

/** Rounds a float to IEEE binary16 (nearest, ties to even), with subnormals and overflow to inf. */
std::uint16_t float_to_f16_bits(float f);
float f16_bits_to_float(std::uint16_t h);

/** A bfloat16 value in host memory, layout-compatible with __nv_bfloat16. */
struct bf16 {
  std::uint16_t bits = 0;
  bf16() = default;
  explicit bf16(float f) : bits(float_to_bf16_bits(f)) {}
  static bf16 from_bits(std::uint16_t b) {
    bf16 v;
    v.bits = b;
    return v;
  }
  explicit operator float() const { return bf16_bits_to_float(bits); }
};

/** An IEEE half value in host memory, layout-compatible with __half. */
struct f16 {
  std::uint16_t bits = 0;
  f16() = default;
  explicit f16(float f) : bits(float_to_f16_bits(f)) {}
  static f16 from_bits(std::uint16_t b) {
    f16 v;
    v.bits = b;
    return v;
  }
  explicit operator float() const { return f16_bits_to_float(bits); }
};

} // namespace tessera
