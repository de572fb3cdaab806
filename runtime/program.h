/** \file
 * Program: one compiled CUDA program as the JIT hands it out — its CUDA source, PTX, cubin,
 * NVRTC log, per-kernel resource use and timings (all available without a GPU) and, on demand,
 * its kernels loaded on a device for launching.
 */
#pragma once

#include "runtime/compiler.h"
#include "runtime/module.h"

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <string_view>

namespace tessera {

/** Where a Program came from. */
enum class ProgramOrigin : std::uint8_t {
  compiled,  ///< NVRTC ran in this process
  disk_cache ///< loaded from the on-disk cache
};

/** A compiled program; immutable apart from the lazily loaded per-device modules. Thread-safe. */
class Program {
public:
  Program(CompileResult result, std::string cache_key, ProgramOrigin origin, double obtain_ms);

  /** The CUDA C++ source that was compiled. */
  const std::string& cuda_source() const { return result_.source; }
  const std::string& ptx() const { return result_.ptx; }
  std::span<const std::uint8_t> cubin() const { return result_.cubin; }
  /** NVRTC log, including ptxas' resource report. */
  const std::string& log() const { return result_.log; }
  const std::string& arch() const { return result_.arch; }
  const std::vector<EntryInfo>& entries() const { return result_.entries; }
  /** Everything NVRTC produced. */
  const CompileResult& result() const { return result_; }
  /**
   * Resource use of a kernel (empty name = the only kernel): the driver's numbers once the
   * program is loaded on a device, else what ptxas reported at compile time (no GPU needed).
   * Throws UserError for an unknown kernel.
   */
  const KernelResources& resources(std::string_view kernel = {}) const;
  /** SHA-256 cache key (hex). */
  const std::string& cache_key() const { return key_; }
  ProgramOrigin origin() const { return origin_; }
  /** NVRTC wall time of the compile that produced the cubin (from the cache entry on a hit). */
  double compile_ms() const { return result_.compile_ms; }
  /** Time compile_cuda() spent producing this object: compile or disk load, key hashing, I/O. */
  double obtain_ms() const { return obtain_ms_; }

  /** The program loaded on `device` (loaded once, then shared). Needs a driver and device. */
  std::shared_ptr<Module> module(int device = 0) const;
  /** The kernel by symbol name or name expression (empty = the only one), loaded on `device`. */
  DeviceFunction kernel(std::string_view name = {}, int device = 0) const;

private:
  const EntryInfo& entry(std::string_view name) const;

  CompileResult result_;
  std::string key_;
  ProgramOrigin origin_;
  double obtain_ms_;
  mutable std::mutex mutex_;
  mutable std::map<int, std::shared_ptr<Module>> modules_;
};

} // namespace tessera
