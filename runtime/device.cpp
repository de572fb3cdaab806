#include "runtime/device.h"

#include "base/error.h"
#include "runtime/driver.h"

#include <fmt/format.h>
#include <map>
#include <memory>
#include <mutex>
#include <regex>

namespace tessera {

namespace {

int attribute(const DriverApi& api, CUdevice dev, CUdevice_attribute attr, const char* what) {
  int value = 0;
  check(api.cuDeviceGetAttribute(&value, attr, dev), what);
  return value;
}

DeviceInfo query(int ordinal) {
  const DriverApi& api = driver();
  primary_context(ordinal); // validates the ordinal and throws "no CUDA device" when none
  CUdevice dev = 0;
  check(api.cuDeviceGet(&dev, ordinal), "cuDeviceGet");
  DeviceInfo info;
  info.ordinal = ordinal;
  char name[256] = {};
  check(api.cuDeviceGetName(name, sizeof(name) - 1, dev), "cuDeviceGetName");
  info.name = name;
  const char* call = "cuDeviceGetAttribute";
  info.cc_major = attribute(api, dev, CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR, call);
  info.cc_minor = attribute(api, dev, CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR, call);
  info.sm_count = attribute(api, dev, CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT, call);
  info.l2_bytes = attribute(api, dev, CU_DEVICE_ATTRIBUTE_L2_CACHE_SIZE, call);
  info.max_shared_per_block_optin =
      attribute(api, dev, CU_DEVICE_ATTRIBUTE_MAX_SHARED_MEMORY_PER_BLOCK_OPTIN, call);
  info.max_shared_per_block =
      attribute(api, dev, CU_DEVICE_ATTRIBUTE_MAX_SHARED_MEMORY_PER_BLOCK, call);
  info.max_threads_per_block = attribute(api, dev, CU_DEVICE_ATTRIBUTE_MAX_THREADS_PER_BLOCK, call);
  info.memory_clock_khz = attribute(api, dev, CU_DEVICE_ATTRIBUTE_MEMORY_CLOCK_RATE, call);
  info.memory_bus_width_bits =
      attribute(api, dev, CU_DEVICE_ATTRIBUTE_GLOBAL_MEMORY_BUS_WIDTH, call);
  std::size_t total = 0;
  check(api.cuDeviceTotalMem(&total, dev), "cuDeviceTotalMem");
  info.total_memory_bytes = static_cast<std::int64_t>(total);
  info.arch = arch_for(info.cc_major, info.cc_minor);
  return info;
}

} // namespace

const DeviceInfo& device_info(int device) {
  static std::mutex mutex;
  static std::map<int, std::unique_ptr<DeviceInfo>> cache;
  std::lock_guard<std::mutex> lock(mutex);
  auto& slot = cache[device];
  if (!slot) {
    slot = std::make_unique<DeviceInfo>(query(device));
  }
  return *slot;
}

std::string arch_for(int cc_major, int cc_minor) {
  // Hopper and later: the "a" targets unlock arch-specific instructions (wgmma, setmaxnreg...).
  return fmt::format("sm_{}{}{}", cc_major, cc_minor, cc_major >= 9 ? "a" : "");
}

bool is_valid_arch(const std::string& arch) {
  static const std::regex re("sm_[0-9]{2,3}[af]?");
  return std::regex_match(arch, re);
}

} // namespace tessera
