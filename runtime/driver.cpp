#include "runtime/driver.h"

#include "base/error.h"

#include <cstdlib>
#include <dlfcn.h>
#include <fmt/format.h>
#include <mutex>
#include <string_view>
#include <vector>

namespace tessera {

namespace {

struct DriverState {
  DriverApi api;
  bool available = false;
  std::string reason;
  std::mutex context_mutex;
  std::vector<CUcontext> contexts; // primary context per device, retained once
};

using GetProcAddress = CUresult (*)(const char*, void**, int, cuuint64_t,
                                    CUdriverProcAddressQueryResult*);

void load(DriverState& s) {
  const char* override_path = std::getenv("TESSERA_LIBCUDA");
  const char* path = override_path && *override_path ? override_path : "libcuda.so.1";
  // RTLD_LOCAL keeps the driver's symbols out of the global namespace; the handle is kept for the
  // life of the process (unloading the driver under live contexts is never safe).
  void* handle = dlopen(path, RTLD_NOW | RTLD_LOCAL);
  if (!handle) {
    const char* err = dlerror();
    s.reason = fmt::format("no CUDA driver found: cannot load {} ({})", path, err ? err : "?");
    return;
  }
  auto get_proc = reinterpret_cast<GetProcAddress>(dlsym(handle, "cuGetProcAddress_v2"));
  if (!get_proc) {
    s.reason = fmt::format("no CUDA driver found: {} has no cuGetProcAddress_v2 (driver older "
                           "than CUDA 12.0; Tessera needs a CUDA 12+ driver)",
                           path);
    return;
  }
  auto resolve = [&](const char* name, void** slot, bool required) {
    CUdriverProcAddressQueryResult status{};
    // NOTES: cuGetProcAddress returns the newest ABI variant of a function up to the version we
    // ask for, and some variants change the signature while cuda.h keeps the old prototype
    // under the plain name: with CUDA_VERSION 13000, "cuCtxSynchronize" resolves to
    // cuCtxSynchronize_v2(CUcontext), which our void-taking call would feed a garbage context
    // (the driver then reports CUDA_ERROR_CONTEXT_IS_DESTROYED). Ask for the version whose
    // signature matches the prototype we call through.
    const int version = std::string_view(name) == "cuCtxSynchronize" ? 12000 : CUDA_VERSION;
    CUresult r = get_proc(name, slot, version, CU_GET_PROC_ADDRESS_DEFAULT, &status);
    if (r != CUDA_SUCCESS || status != CU_GET_PROC_ADDRESS_SUCCESS || !*slot) {
      *slot = nullptr;
      if (required && s.reason.empty()) {
        s.reason = fmt::format("no CUDA driver found: the driver at {} lacks {} (driver too old "
                               "for Tessera, which needs CUDA 12.0 or newer)",
                               path, name);
      }
    }
  };
#define TESSERA_RESOLVE(name) resolve(#name, reinterpret_cast<void**>(&s.api.name), true);
#define TESSERA_RESOLVE_OPTIONAL(name) resolve(#name, reinterpret_cast<void**>(&s.api.name), false);
  TESSERA_DRIVER_FUNCTIONS(TESSERA_RESOLVE)
  TESSERA_DRIVER_OPTIONAL_FUNCTIONS(TESSERA_RESOLVE_OPTIONAL)
#undef TESSERA_RESOLVE
#undef TESSERA_RESOLVE_OPTIONAL
  if (!s.reason.empty()) {
    return;
  }
  CUresult r = s.api.cuInit(0);
  if (r == CUDA_ERROR_NO_DEVICE) {
    // The driver works but sees no GPU: keep it available so `tessera info` can report it;
    // use_device() then says "no CUDA device".
    s.api.device_count = 0;
  } else if (r != CUDA_SUCCESS) {
    s.reason = fmt::format("no usable CUDA driver: cuInit failed with {}", driver_error_string(r));
    return;
  } else if (s.api.cuDeviceGetCount(&s.api.device_count) != CUDA_SUCCESS) {
    s.api.device_count = 0;
  }
  s.api.cuDriverGetVersion(&s.api.version);
  s.contexts.assign(static_cast<std::size_t>(s.api.device_count), nullptr);
  s.available = true;
}

DriverState& state() {
  // Leaked on purpose: kernels and buffers destroyed during static destruction still need the
  // function table, so it must outlive every other static.
  static DriverState* s = [] {
    auto* st = new DriverState;
    load(*st);
    return st;
  }();
  return *s;
}

} // namespace

bool driver_available() {
  return state().available;
}

std::string driver_unavailable_reason() {
  return state().available ? std::string() : state().reason;
}

const DriverApi& driver() {
  DriverState& s = state();
  if (!s.available) {
    throw DriverError(s.reason, 0);
  }
  return s.api;
}

std::string driver_error_string(CUresult result) {
  DriverState& s = state();
  const char* name = nullptr;
  const char* text = nullptr;
  if (s.api.cuGetErrorName) {
    s.api.cuGetErrorName(result, &name);
  }
  if (s.api.cuGetErrorString) {
    s.api.cuGetErrorString(result, &text);
  }
  if (!name) {
    return fmt::format("CUresult {}", static_cast<int>(result));
  }
  return text ? fmt::format("{} ({})", name, text) : std::string(name);
}

void throw_driver_error(CUresult result, const char* call) {
  throw DriverError(fmt::format("{} failed: {}", call, driver_error_string(result)),
                    static_cast<int>(result));
}

int device_count() {
  return driver().device_count;
}

CUcontext primary_context(int device) {
  const DriverApi& api = driver();
  DriverState& s = state();
  if (api.device_count == 0) {
    throw DriverError("no CUDA device: the driver is loaded but reports no GPU", 0);
  }
  if (device < 0 || device >= api.device_count) {
    throw UserError(fmt::format("CUDA device {} does not exist ({} device{} visible)", device,
                                api.device_count, api.device_count == 1 ? "" : "s"));
  }
  std::lock_guard<std::mutex> lock(s.context_mutex);
  CUcontext& ctx = s.contexts[static_cast<std::size_t>(device)];
  if (!ctx) {
    CUdevice dev = 0;
    check(api.cuDeviceGet(&dev, device), "cuDeviceGet");
    check(api.cuDevicePrimaryCtxRetain(&ctx, dev), "cuDevicePrimaryCtxRetain");
  }
  return ctx;
}

CUcontext use_device(int device) {
  CUcontext ctx = primary_context(device);
  const DriverApi& api = driver();
  CUcontext current = nullptr;
  check(api.cuCtxGetCurrent(&current), "cuCtxGetCurrent");
  if (current != ctx) {
    check(api.cuCtxSetCurrent(ctx), "cuCtxSetCurrent");
  }
  return ctx;
}

} // namespace tessera
