// Random DSL programs from the builder-API grammar of program_grammar.h, from fixed seeds (a
// failure names a replayable seed): each compiles for both targets or is refused with a
// UserError. The coverage-guided libFuzzer target over the same grammar is tests/fuzz/dsl_fuzz.
#include "tests/dsl/program_grammar.h"

#include <catch2/catch.hpp>

TEST_CASE("random DSL programs compile or are refused with a UserError", "[dsl][random]") {
  int refused = 0;
  constexpr std::uint32_t kPrograms = 2000;
  for (std::uint32_t seed = 1; seed <= kPrograms; ++seed) {
    tessera::testing::SeededChoices choices(seed);
    const std::string problem = tessera::testing::compile_random_program(choices, &refused);
    INFO("seed " << seed);
    REQUIRE(problem.empty());
  }
  WARN(refused << " of " << kPrograms << " programs refused with a UserError");
  // Both outcomes are exercised: the grammar is neither all mistakes nor mistake-free.
  CHECK(refused > 10);
  CHECK(refused < static_cast<int>(kPrograms) - 10);
}
