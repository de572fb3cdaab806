// libFuzzer target for the DSL front end, verifier and passes: the input bytes are the choices of
// the builder-API grammar in tests/dsl/program_grammar.h (one byte per choice), so coverage
// feedback steers which programs get built. Property: every program compiles for both targets
// (trace, verify, lower for CPU and CUDA, emit) or is refused with a UserError; anything else —
// an InternalError, another exception, a crash, a sanitizer report, a hang — is a finding.
#include "tests/dsl/program_grammar.h"

#include <cstdio>
#include <cstdlib>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  tessera::testing::ByteChoices choices(data, size);
  int refused = 0;
  const std::string problem = tessera::testing::compile_random_program(choices, &refused);
  if (!problem.empty()) {
    std::fprintf(stderr, "dsl_fuzz: %s\n", problem.c_str());
    std::abort();
  }
  return 0;
}
