// Golden generated-source tests: the CUDA emitted for small kernels, byte for byte.
// Regenerate after an intended emitter change with
//   TESSERA_UPDATE_GOLDEN=1 build/tests/codegen/codegen_cpu_tests "[golden]"
// and review the diff of tests/codegen/golden/ like any other change.
#include "examples/kernels.h"
#include "jit/compiled_kernel.h"

#include <catch2/catch.hpp>
#include <cstdlib>
#include <fstream>
#include <sstream>

namespace {

void check_golden(const std::string& name, const tessera::ir::Kernel& kernel) {
  const std::string path = std::string(TESSERA_GOLDEN_DIR) + "/" + name + ".cu";
  const std::string got = tessera::Runtime::emit(kernel);
  if (const char* u = std::getenv("TESSERA_UPDATE_GOLDEN"); u != nullptr && *u == '1') {
    std::ofstream(path, std::ios::binary) << got;
    return;
  }
  std::ifstream in(path, std::ios::binary);
  REQUIRE(in.good());
  std::ostringstream want;
  want << in.rdbuf();
  INFO("golden file " << path << " (regenerate with TESSERA_UPDATE_GOLDEN=1)");
  CHECK(got == want.str());
}

} // namespace

TEST_CASE("golden: vector_add", "[codegen][golden]") {
  check_golden("vector_add", tessera::examples::vector_add());
}

TEST_CASE("golden: softmax with a ragged row", "[codegen][golden]") {
  check_golden("softmax_1000", tessera::examples::softmax(1000));
}

TEST_CASE("golden: tutorial", "[codegen][golden]") {
  check_golden("gated_residual", tessera::examples::gated_residual(2048));
}
