#include "jit/target.h"

#include "base/error.h"
#include "runtime/driver.h"

#include <fmt/format.h>

namespace tessera {

namespace {

constexpr const char* kNoCpuBackend =
    "this Tessera was built without the LLVM CPU backend (configure with "
    "-DTESSERA_ENABLE_LLVM=ON and an LLVM 14..19 installed)";

// Why no GPU can be used, for the automatic target's error message.
std::string no_gpu_reason() {
  if (!driver_available()) {
    return driver_unavailable_reason();
  }
  try {
    if (device_count() == 0) {
      return "the CUDA driver reports no device";
    }
  } catch (const Error& e) {
    return e.what();
  }
  return {};
}

} // namespace

const char* target_name(Target target) {
  switch (target) {
  case Target::automatic:
    return "auto";
  case Target::cuda:
    return "cuda";
  case Target::cpu:
    return "cpu";
  }
  return "?";
}

Target parse_target(std::string_view text, std::string_view what) {
  for (Target t : {Target::automatic, Target::cuda, Target::cpu}) {
    if (text == target_name(t)) {
      return t;
    }
  }
  throw UserError(fmt::format("{}: unknown target '{}' (expected auto, cuda or cpu)", what, text));
}

bool cpu_backend_built() {
#ifdef TESSERA_HAS_CPU_BACKEND
  return true;
#else
  return false;
#endif
}

bool cuda_device_present() {
  if (!driver_available()) {
    return false;
  }
  try {
    return device_count() > 0;
  } catch (const Error&) {
    return false;
  }
}

Target resolve_target(Target requested) {
  switch (requested) {
  case Target::cuda:
    return Target::cuda;
  case Target::cpu:
    if (!cpu_backend_built()) {
      throw UserError(fmt::format("target cpu: {}", kNoCpuBackend));
    }
    return Target::cpu;
  case Target::automatic:
    break;
  }
  if (cuda_device_present()) {
    return Target::cuda;
  }
  if (cpu_backend_built()) {
    return Target::cpu;
  }
  throw UserError(fmt::format("target auto: no target is available: no CUDA GPU ({}), and {}",
                              no_gpu_reason(), kNoCpuBackend));
}

MemoryKind memory_kind(Target target) {
  return target == Target::cpu ? MemoryKind::host : MemoryKind::cuda;
}

} // namespace tessera
