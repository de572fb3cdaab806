/** \file
 * Pass: programmatic dependent launch checks.
 */
#pragma once

#include "ir/ir.h"

namespace tessera::codegen {

/**
 * With programmatic dependent launch a kernel may start while the previous kernel in the stream
 * is still running; only after pdl_wait() is its memory visible. This pass refuses kernels that
 * touch global memory before their first top-level pdl_wait() (a race when launched with PDL),
 * and a pdl_wait() or pdl_trigger() inside a thread range or branch (every thread must run it).
 * The emitter guards griddepcontrol for sm_90+ at compile time.
 */
void check_pdl(const ir::Kernel& kernel);

} // namespace tessera::codegen
