#include "base/float16.h"

#include <cmath>

namespace tessera {

std::uint16_t float_to_f16_bits(float f) {
  const std::uint32_t u = std::bit_cast<std::uint32_t>(f);
  const std::uint32_t sign = (u >> 16) & 0x8000u;
  const std::uint32_t abs = u & 0x7fffffffu;
  if (abs > 0x7f800000u) {
    return static_cast<std::uint16_t>(sign | 0x7e00u); // quiet NaN
  }
  if (abs >= 0x477ff000u) {
    // >= 65520 rounds to infinity (65504 is the largest finite half).
    return static_cast<std::uint16_t>(sign | 0x7c00u);
  }
  if (abs < 0x38800000u) {
    // Result is subnormal or zero: scale so the half's subnormal step (2^-24) becomes 1.0,
    // and let the FPU's round-to-nearest-even do the rounding.
    const float scaled = std::bit_cast<float>(abs) * 16777216.0f; // 2^24
    return static_cast<std::uint16_t>(sign | static_cast<std::uint32_t>(std::nearbyint(scaled)));
  }
  // Normal: rebias exponent (127 -> 15) and round the 13 dropped mantissa bits to nearest even.
  std::uint32_t h = abs - (112u << 23);
  h += 0x0fffu + ((h >> 13) & 1u);
  return static_cast<std::uint16_t>(sign | (h >> 13));
}

float f16_bits_to_float(std::uint16_t h) {
  const std::uint32_t sign = static_cast<std::uint32_t>(h & 0x8000u) << 16;
  const std::uint32_t exp = (h >> 10) & 0x1fu;
  const std::uint32_t mant = h & 0x3ffu;
  if (exp == 0) {
    const float mag = static_cast<float>(mant) * 5.9604644775390625e-8f; // 2^-24
    return sign ? -mag : mag;
  }
  if (exp == 31) {
    return std::bit_cast<float>(sign | 0x7f800000u | (mant << 13));
  }
  return std::bit_cast<float>(sign | ((exp + 112u) << 23) | (mant << 13));
}

} // namespace tessera
