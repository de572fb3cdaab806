/** \file
 * Properties of a CUDA device, queried once per device and cached, and the NVRTC target arch
 * that matches a compute capability.
 */
#pragma once

#include <cstdint>
#include <string>

namespace tessera {

/** What Tessera needs to know about a device. */
struct DeviceInfo {
  int ordinal = 0;
  std::string name;
  int cc_major = 0;
  int cc_minor = 0;
  int sm_count = 0;
  std::int64_t total_memory_bytes = 0;
  int l2_bytes = 0;
  /** Shared memory one block may use after opting in (cuFuncSetAttribute), in bytes. */
  int max_shared_per_block_optin = 0;
  /** Shared memory per block without opting in (48 KB on every current GPU). */
  int max_shared_per_block = 0;
  int max_threads_per_block = 0;
  int memory_clock_khz = 0;
  int memory_bus_width_bits = 0;
  /** NVRTC target for this device, e.g. "sm_90a" (see arch_for()). */
  std::string arch;
  /** Theoretical DRAM bandwidth from clock and bus width, in GB/s (0 when unknown). */
  double peak_bandwidth_gbps() const {
    return 2.0 * memory_clock_khz * 1e3 * (memory_bus_width_bits / 8.0) / 1e9;
  }
};

/**
 * The properties of `device`, queried on first use and cached for the process. Throws
 * DriverError without a driver or device, UserError for an out-of-range ordinal.
 */
const DeviceInfo& device_info(int device = 0);

/**
 * NVRTC target arch for a compute capability: "sm_80", "sm_86", "sm_89"; from 9.0 on the
 * arch-specific "a" variant ("sm_90a", "sm_100a", "sm_120a") so kernels may use wgmma, TMA
 * multicast and setmaxnreg. Such cubins run only on that exact compute capability.
 */
std::string arch_for(int cc_major, int cc_minor);

/** True when `arch` looks like a real NVRTC target ("sm_90a", "sm_80"), false otherwise. */
bool is_valid_arch(const std::string& arch);

} // namespace tessera
