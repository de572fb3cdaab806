/** \file
 * Pass: shared-memory planning.
 */
#pragma once

#include "ir/ir.h"

namespace tessera::codegen {

/**
 * Places every shared buffer of the thread-level kernel (the DSL's shared tiles, pipeline ring
 * slots, staging buffers and the scratch ops allocate for themselves) in one dynamic shared
 * allocation: 16-byte aligned offsets, recorded on each Allocate; buffers whose lifetimes
 * (declaration to the end of the enclosing block) do not overlap share bytes. The total goes to
 * Kernel::shared_bytes and may exceed 48 KB (the launcher raises the kernel's limit). The barrier
 * pass treats all of shared memory as one resource, so reuse never races.
 */
ir::Kernel plan_shared_memory(ir::Kernel kernel);

} // namespace tessera::codegen
