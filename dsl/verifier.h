/** \file
 * The verifier: checks a traced kernel for user mistakes before any pass runs, and throws a
 * UserError naming the kernel, the buffer and the DSL source line.
 */
#pragma once

#include "ir/ir.h"

namespace tessera::ir {

/** Throws UserError on the first problem found in `kernel`. */
void verify(const Kernel& kernel);

} // namespace tessera::ir
