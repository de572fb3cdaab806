#include "base/float16.h"

#include <catch2/catch.hpp>
#include <cmath>
#include <limits>

using namespace tessera;

TEST_CASE("bf16 rounds to nearest even", "[float16]") {
  // 1 + 2^-8 is exactly halfway between two bf16 values; ties go to the even mantissa (1.0).
  CHECK(float_to_bf16_bits(1.0f + 1.0f / 256) == 0x3f80);
  // 1 + 3*2^-8 is halfway between 1+2^-7 (odd) and 1+2^-6 (even): rounds up.
  CHECK(float_to_bf16_bits(1.0f + 3.0f / 256) == 0x3f82);
  CHECK(float_to_bf16_bits(-2.0f) == 0xc000);
  CHECK(
      std::isnan(bf16_bits_to_float(float_to_bf16_bits(std::numeric_limits<float>::quiet_NaN()))));
  CHECK(std::isinf(bf16_bits_to_float(float_to_bf16_bits(std::numeric_limits<float>::max()))));
}

TEST_CASE("f16 round trip is exact for every half value", "[float16]") {
  for (std::uint32_t h = 0; h < 0x10000; ++h) {
    const auto bits = static_cast<std::uint16_t>(h);
    const float f = f16_bits_to_float(bits);
    if (std::isnan(f)) {
      CHECK(std::isnan(f16_bits_to_float(float_to_f16_bits(f))));
      continue;
    }
    REQUIRE(float_to_f16_bits(f) == bits);
  }
}

TEST_CASE("f16 rounds to nearest even, including subnormals and overflow", "[float16]") {
  CHECK(float_to_f16_bits(1.0f + 1.0f / 2048) == 0x3c00); // tie -> even
  CHECK(float_to_f16_bits(1.0f + 3.0f / 2048) == 0x3c02); // tie -> even (up)
  CHECK(float_to_f16_bits(65504.0f) == 0x7bff);
  CHECK(float_to_f16_bits(65520.0f) == 0x7c00);              // rounds to inf
  CHECK(float_to_f16_bits(std::ldexp(1.0f, -24)) == 0x0001); // smallest subnormal
  CHECK(float_to_f16_bits(std::ldexp(1.0f, -25)) == 0x0000); // tie -> even (zero)
  CHECK(float_to_f16_bits(std::ldexp(3.0f, -25)) == 0x0002); // tie -> even (2)
}
