/** \file
 * The CUDA driver, loaded at run time with dlopen("libcuda.so.1") and never linked, so every
 * Tessera binary starts on a machine without a driver; only calls that need a GPU fail, with a
 * clear DriverError ("no CUDA driver found", "no CUDA device").
 *
 * Entry points are resolved once through cuGetProcAddress with this toolkit's CUDA_VERSION, which
 * returns the entry matching the prototypes in our cuda.h (cuMemAlloc -> cuMemAlloc_v2 ...)
 * without spelling versioned symbol names by hand. cuda.h is used for types only.
 */
#pragma once

#include <cuda.h>
#include <string>

namespace tessera {

// X-macro list of every driver entry point Tessera calls. Names are the unversioned API names;
// a field `api.cuMemAlloc` expands through cuda.h's macros like any other call would.
#define TESSERA_DRIVER_FUNCTIONS(X)                                                                \
  X(cuInit)                                                                                        \
  X(cuDriverGetVersion)                                                                            \
  X(cuGetErrorName)                                                                                \
  X(cuGetErrorString)                                                                              \
  X(cuDeviceGetCount)                                                                              \
  X(cuDeviceGet)                                                                                   \
  X(cuDeviceGetName)                                                                               \
  X(cuDeviceGetAttribute)                                                                          \
  X(cuDeviceTotalMem)                                                                              \
  X(cuDevicePrimaryCtxRetain)                                                                      \
  X(cuDevicePrimaryCtxRelease)                                                                     \
  X(cuCtxGetCurrent)                                                                               \
  X(cuCtxSetCurrent)                                                                               \
  X(cuCtxSynchronize)                                                                              \
  X(cuLibraryLoadData)                                                                             \
  X(cuLibraryUnload)                                                                               \
  X(cuLibraryGetKernel)                                                                            \
  X(cuKernelGetFunction)                                                                           \
  X(cuFuncGetAttribute)                                                                            \
  X(cuFuncSetAttribute)                                                                            \
  X(cuLaunchKernelEx)                                                                              \
  X(cuMemAlloc)                                                                                    \
  X(cuMemFree)                                                                                     \
  X(cuMemcpyHtoD)                                                                                  \
  X(cuMemcpyDtoH)                                                                                  \
  X(cuMemcpyDtoD)                                                                                  \
  X(cuMemsetD8)                                                                                    \
  X(cuStreamCreate)                                                                                \
  X(cuStreamDestroy)                                                                               \
  X(cuStreamSynchronize)                                                                           \
  X(cuEventCreate)                                                                                 \
  X(cuEventDestroy)                                                                                \
  X(cuEventRecord)                                                                                 \
  X(cuEventSynchronize)                                                                            \
  X(cuEventElapsedTime)                                                                            \
  X(cuStreamBeginCapture)                                                                          \
  X(cuStreamEndCapture)                                                                            \
  X(cuGraphInstantiateWithFlags)                                                                   \
  X(cuGraphLaunch)                                                                                 \
  X(cuGraphExecDestroy)                                                                            \
  X(cuGraphDestroy)

// Entry points that may be missing on older drivers (CUDA < 12.4); null when absent.
#define TESSERA_DRIVER_OPTIONAL_FUNCTIONS(X) X(cuFuncGetParamInfo)

/** Function table of the loaded driver. Obtain it with driver(). */
struct DriverApi {
#define TESSERA_DRIVER_FIELD(name) decltype(&::name) name = nullptr;
  TESSERA_DRIVER_FUNCTIONS(TESSERA_DRIVER_FIELD)
  TESSERA_DRIVER_OPTIONAL_FUNCTIONS(TESSERA_DRIVER_FIELD)
#undef TESSERA_DRIVER_FIELD
  /** cuDriverGetVersion(), e.g. 12080 for 12.8. */
  int version = 0;
  /** Number of CUDA devices (0 is possible: the driver loads but no GPU is visible). */
  int device_count = 0;
};

/** True when libcuda.so.1 could be loaded and cuInit succeeded. Never throws. */
bool driver_available();

/** Why the driver is unavailable ("" when it is available). Never throws. */
std::string driver_unavailable_reason();

/**
 * The driver function table, loading libcuda on first use (thread-safe). Throws DriverError
 * "no CUDA driver found: ..." when libcuda.so.1 cannot be loaded (set TESSERA_LIBCUDA to load a
 * different file).
 */
const DriverApi& driver();

/** Throws DriverError "cuXxx failed: CUDA_ERROR_... (description)". */
[[noreturn]] void throw_driver_error(CUresult result, const char* call);

/** Throws DriverError naming `call` and the CUresult (name and description) unless CUDA_SUCCESS.
 */
inline void check(CUresult result, const char* call) {
  if (result != CUDA_SUCCESS) {
    throw_driver_error(result, call);
  }
}

/** "CUDA_ERROR_OUT_OF_MEMORY (out of memory)"; works without a driver ("CUresult 2"). */
std::string driver_error_string(CUresult result);

/** Number of devices; throws DriverError when there is no driver. */
int device_count();

/**
 * Makes the primary context of `device` current on the calling thread (retaining it once per
 * process) and returns it. Throws DriverError "no CUDA device" when none is visible, UserError
 * when `device` is out of range.
 */
CUcontext use_device(int device);

/** The primary context of `device`, retained once per process (does not change the current one).
 */
CUcontext primary_context(int device);

} // namespace tessera
