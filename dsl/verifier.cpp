#include "dsl/verifier.h"

#include "runtime/error.h"

#include <fmt/format.h>

namespace tessera::ir {

void verify(const Kernel& kernel) {
  if (kernel.threads <= 0 || kernel.threads % 32 != 0 || kernel.threads > 1024) {
    throw UserError(fmt::format("kernel '{}' at {}: threads({}) must be a multiple of 32 in "
                                "[32, 1024]",
                                kernel.name, kernel.loc.str(), kernel.threads));
  }
  if (kernel.grid.empty() || kernel.grid.size() > 3) {
    throw UserError(fmt::format("kernel '{}': the grid needs 1 to 3 dimensions", kernel.name));
  }
}

} // namespace tessera::ir
