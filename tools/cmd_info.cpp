// `tessera info`: what Tessera sees on this machine.
#include "base/error.h"
#include "jit/target.h"
#include "runtime/cache.h"
#include "runtime/compiler.h"
#include "runtime/device.h"
#include "runtime/driver.h"
#include "runtime/nvrtc_loader.h"
#include "tools/commands.h"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <iostream>

namespace tessera::cli {

namespace {

// The target `--target auto` picks here, and whether the CPU backend is built.
void print_targets() {
  std::cout << "CPU:       "
            << (cpu_backend_built() ? "LLVM backend built" : "built without the LLVM backend")
            << "\n";
  std::string target;
  try {
    target = target_name(resolve_target(Target::automatic));
  } catch (const Error& e) {
    target = fmt::format("none ({})", e.what());
  }
  std::cout << "target:    auto -> " << target << "\n";
}

void print_devices();

void print_info() {
  std::cout << "tessera " << tessera_version() << "\n";
  if (nvrtc_available()) {
    std::cout << "NVRTC:     " << nvrtc_version() << " (" << nvrtc().path << ", CUDA_HOME "
              << cuda_home() << ")\n";
    std::cout << "archs:     " << fmt::format("{}", fmt::join(nvrtc_supported_archs(), " "))
              << "\n";
  } else {
    try {
      nvrtc();
    } catch (const Error& e) {
      std::cout << "NVRTC:     none (" << e.what() << ")\n";
    }
  }
  const CacheConfig cache = CacheConfig::from_env();
  std::cout << "cache:     " << cache.directory.string()
            << (cache.enabled ? "" : " (disabled by TESSERA_DISABLE_CACHE)") << "\n";
  if (!cache.dump_directory.empty()) {
    std::cout << "dump dir:  " << cache.dump_directory.string() << "\n";
  }
  print_devices();
  print_targets();
}

void print_devices() {
  if (!driver_available()) {
    std::cout << "driver:    none (" << driver_unavailable_reason() << ")\n";
    return;
  }
  const DriverApi& api = driver();
  std::cout << fmt::format("driver:    CUDA {}.{}\n", api.version / 1000,
                           (api.version % 1000) / 10);
  if (api.device_count == 0) {
    std::cout << "devices:   none (no CUDA device)\n";
    return;
  }
  for (int d = 0; d < api.device_count; ++d) {
    const DeviceInfo& info = device_info(d);
    std::cout << fmt::format("device {}:  {} (cc {}.{}, {}), {} SMs, {:.1f} GiB, L2 {} MiB, "
                             "smem/block {} KiB opt-in, ~{:.0f} GB/s\n",
                             d, info.name, info.cc_major, info.cc_minor, info.arch, info.sm_count,
                             info.total_memory_bytes / double(1ull << 30), info.l2_bytes >> 20,
                             info.max_shared_per_block_optin / 1024, info.peak_bandwidth_gbps());
  }
}

} // namespace

void add_info_command(CLI::App& app) {
  app.add_subcommand("info", "Show the driver, devices, NVRTC version and cache location")
      ->callback(print_info);
}

} // namespace tessera::cli
