#include "runtime/nvrtc_loader.h"

#include "base/error.h"
#include "runtime/compiler.h"

#include <cstdlib>
#include <dlfcn.h>
#include <filesystem>
#include <fmt/format.h>
#include <mutex>
#include <vector>

#ifndef TESSERA_DEFAULT_NVRTC_LIBRARY
#define TESSERA_DEFAULT_NVRTC_LIBRARY ""
#endif

namespace tessera {

namespace {

std::vector<std::string> candidates() {
  std::vector<std::string> out;
  if (const char* env = std::getenv("TESSERA_LIBNVRTC"); env != nullptr && *env != '\0') {
    return {env}; // explicit: nothing else
  }
  for (const char* name : {"libnvrtc.so.13", "libnvrtc.so.12"}) {
    out.push_back((std::filesystem::path(cuda_home()) / "lib64" / name).string());
  }
  if (*TESSERA_DEFAULT_NVRTC_LIBRARY != '\0') {
    out.emplace_back(TESSERA_DEFAULT_NVRTC_LIBRARY);
  }
  out.emplace_back("libnvrtc.so.13");
  out.emplace_back("libnvrtc.so.12");
  return out;
}

struct Loaded {
  NvrtcApi api;
  std::string error;
};

Loaded load() {
  Loaded l;
  std::string tried;
  void* handle = nullptr;
  for (const std::string& c : candidates()) {
    handle = dlopen(c.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (handle != nullptr) {
      l.api.path = c;
      break;
    }
    const char* why = dlerror();
    tried += fmt::format("{}{} ({})", tried.empty() ? "" : "; ", c, why ? why : "not found");
  }
  if (handle == nullptr) {
    l.error = fmt::format("NVRTC not found: cannot load libnvrtc ({}); install the CUDA toolkit, "
                          "set CUDA_HOME or TESSERA_LIBNVRTC — the CPU backend works without it",
                          tried);
    return l;
  }
  auto get = [&](auto& fn, const char* name) {
    fn = reinterpret_cast<std::remove_reference_t<decltype(fn)>>(dlsym(handle, name));
    if (fn == nullptr && l.error.empty()) {
      l.error = fmt::format("NVRTC at {} lacks {}", l.api.path, name);
    }
  };
  NvrtcApi& a = l.api;
  get(a.Version, "nvrtcVersion");
  get(a.GetNumSupportedArchs, "nvrtcGetNumSupportedArchs");
  get(a.GetSupportedArchs, "nvrtcGetSupportedArchs");
  get(a.CreateProgram, "nvrtcCreateProgram");
  get(a.DestroyProgram, "nvrtcDestroyProgram");
  get(a.AddNameExpression, "nvrtcAddNameExpression");
  get(a.CompileProgram, "nvrtcCompileProgram");
  get(a.GetProgramLogSize, "nvrtcGetProgramLogSize");
  get(a.GetProgramLog, "nvrtcGetProgramLog");
  get(a.GetCUBINSize, "nvrtcGetCUBINSize");
  get(a.GetCUBIN, "nvrtcGetCUBIN");
  get(a.GetPTXSize, "nvrtcGetPTXSize");
  get(a.GetPTX, "nvrtcGetPTX");
  get(a.GetLoweredName, "nvrtcGetLoweredName");
  get(a.GetErrorString, "nvrtcGetErrorString");
  return l;
}

const Loaded& loaded() {
  static const Loaded l = load();
  return l;
}

} // namespace

const NvrtcApi& nvrtc() {
  const Loaded& l = loaded();
  if (!l.error.empty()) {
    throw Error(l.error);
  }
  return l.api;
}

bool nvrtc_available() {
  return loaded().error.empty();
}

} // namespace tessera
