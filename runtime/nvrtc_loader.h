/** \file
 * NVRTC loaded with dlopen on first use, like the driver (runtime/driver.h), so that every
 * binary — and the Python package — starts and runs the CPU backend on a machine without the
 * CUDA toolkit's libnvrtc. Search order: TESSERA_LIBNVRTC (a path), $CUDA_HOME/lib64, the
 * toolkit the build was configured with, then the loader's path (libnvrtc.so.13, .12).
 */
#pragma once

#include <nvrtc.h>
#include <string>

namespace tessera {

/** The NVRTC entry points Tessera calls. */
struct NvrtcApi {
  decltype(&nvrtcVersion) Version = nullptr;
  decltype(&nvrtcGetNumSupportedArchs) GetNumSupportedArchs = nullptr;
  decltype(&nvrtcGetSupportedArchs) GetSupportedArchs = nullptr;
  decltype(&nvrtcCreateProgram) CreateProgram = nullptr;
  decltype(&nvrtcDestroyProgram) DestroyProgram = nullptr;
  decltype(&nvrtcAddNameExpression) AddNameExpression = nullptr;
  decltype(&nvrtcCompileProgram) CompileProgram = nullptr;
  decltype(&nvrtcGetProgramLogSize) GetProgramLogSize = nullptr;
  decltype(&nvrtcGetProgramLog) GetProgramLog = nullptr;
  decltype(&nvrtcGetCUBINSize) GetCUBINSize = nullptr;
  decltype(&nvrtcGetCUBIN) GetCUBIN = nullptr;
  decltype(&nvrtcGetPTXSize) GetPTXSize = nullptr;
  decltype(&nvrtcGetPTX) GetPTX = nullptr;
  decltype(&nvrtcGetLoweredName) GetLoweredName = nullptr;
  decltype(&nvrtcGetErrorString) GetErrorString = nullptr;
  std::string path; ///< the library that was loaded
};

/** NVRTC, loaded once (thread-safe). Throws Error "NVRTC not found: …" naming every place
 * tried and the way out when it cannot be loaded. */
const NvrtcApi& nvrtc();

/** Whether nvrtc() would succeed, without throwing. */
bool nvrtc_available();

} // namespace tessera
