/** \file
 * The runtime's front door: hand Tessera any CUDA C++ source, get a Program back (compiled by
 * NVRTC, cached in memory and on disk), inspect it without a GPU, launch its kernels on one.
 *
 * \code
 *   tessera::CompileOptions opts;
 *   opts.arch = "sm_90a";                        // or "auto": the arch of opts.device
 *   opts.headers = {{"tessera_prelude.h", prelude}};  // in-memory headers
 *   auto program = tessera::compile_cuda(source, {"my_kernel"}, opts);
 *   std::cout << program->ptx() << program->resources("my_kernel").registers;
 *   tessera::DeviceFunction k = program->kernel("my_kernel");   // loads on device 0 (needs a GPU)
 *   k.launch({.grid = {blocks}, .block = {256}}, out_ptr, in_ptr, n);
 * \endcode
 */
#pragma once

#include "runtime/cache.h"
#include "runtime/compiler.h"
#include "runtime/device.h"
#include "runtime/driver.h"
#include "runtime/memory.h"
#include "runtime/module.h"
#include "runtime/program.h"

#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace tessera {

/**
 * Compiles (or fetches from the process-wide Cache) `source` with `options`. Kernels are
 * found by their extern "C" names or by options.name_expressions. Throws CompileError,
 * DriverError (arch "auto" without a GPU) or UserError (bad options).
 */
std::shared_ptr<const Program> compile_cuda(std::string_view source,
                                            const CompileOptions& options = {});

/**
 * As above, and makes sure each of `kernel_names` ("my_kernel", "gemm<128, 64>") is
 * instantiated and can be looked up by that name: they are added as NVRTC name expressions. A
 * name that does not exist is a CompileError.
 */
std::shared_ptr<const Program> compile_cuda(std::string_view source,
                                            const std::vector<std::string>& kernel_names,
                                            CompileOptions options = {});

} // namespace tessera
