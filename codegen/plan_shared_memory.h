/** \file
 * Pass: shared-memory planning.
 */
#pragma once

#include "codegen/lowered.h"

namespace tessera::codegen {

/**
 * Places every shared buffer, and the scratch of every cross-warp reduction, in one dynamic
 * shared-memory allocation: 16-byte aligned offsets, buffers whose lifetimes (declaration to
 * the end of the enclosing block) do not overlap share bytes. The total may exceed 48 KB; the
 * launcher raises the kernel's limit. Barrier insertion runs afterwards and treats all of
 * shared memory as one resource, so reuse never races.
 */
LoweredKernel plan_shared_memory(LoweredKernel lowered);

} // namespace tessera::codegen
