/** \file
 * A cubin loaded on a device (Module), its kernels (DeviceFunction) and launching them with
 * cuLaunchKernelEx: grid/block, dynamic shared memory (raised above 48 KB on demand), streams,
 * programmatic dependent launch and thread-block clusters. Arguments are checked against the
 * kernel's parameter layout (count, sizes) and, when declared, its typed signature.
 *
 * The launch path allocates nothing, looks nothing up by name and builds no strings unless it
 * throws.
 */
#pragma once

#include "runtime/compiler.h"
#include "runtime/launch_args.h"
#include "runtime/memory.h"

#include <array>
#include <atomic>
#include <cstdint>
#include <cuda.h>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace tessera {

/** Grid, block or cluster extent. */
struct Dim3 {
  unsigned x = 1, y = 1, z = 1;
  constexpr Dim3() = default;
  constexpr Dim3(unsigned x_, unsigned y_ = 1, unsigned z_ = 1) : x(x_), y(y_), z(z_) {}
  constexpr std::uint64_t volume() const { return std::uint64_t(x) * y * z; }
};

/** How to launch a kernel. */
struct LaunchConfig {
  Dim3 grid;
  Dim3 block;
  /** Dynamic shared memory in bytes; above 48 KB the kernel's limit is raised on first use. */
  unsigned shared_bytes = 0;
  /** Stream to launch on; null is the legacy default stream. */
  CUstream stream = nullptr;
  /**
   * Programmatic dependent launch: this kernel may start before the previous kernel in the
   * stream finishes and must wait for it with griddepcontrol.wait (cudaGridDependencySynchronize).
   */
  bool pdl = false;
  /** Thread-block cluster shape (sm_90+); 1x1x1 launches without clusters. */
  Dim3 cluster;
};

namespace internal {
struct KernelState;
}
class Module;

/**
 * A kernel of a loaded Module: a cheap handle that keeps its module alive. Launch it with the
 * typed launch(), which checks the arguments before anything reaches the driver.
 */
class DeviceFunction {
public:
  DeviceFunction() = default;

  /** Symbol name (mangled for C++ kernels). */
  const std::string& name() const;
  /** Registers, static/local shared memory, max threads, read from the driver at load. */
  const KernelResources& resources() const;
  /** Parameter layout (from the PTX signature, else cuFuncGetParamInfo). */
  std::span<const ParamInfo> params() const;
  /** The declared signature, empty when none. */
  std::span<const ParamDecl> signature() const;
  /**
   * Declares the parameter types so launches check pointer dtypes and scalar types too. Call it
   * before launching from several threads (it is not synchronised with launches). Throws
   * UserError when it disagrees with the parameter layout.
   */
  void set_signature(std::vector<ParamDecl> signature) const;
  /**
   * Raises the kernel's dynamic shared-memory limit to `bytes` (launch() does this on demand).
   * Throws UserError when `bytes` plus the static shared memory exceeds the device's opt-in limit.
   */
  void reserve_dynamic_shared(unsigned bytes) const;
  /** The driver function handle (for interop). */
  CUfunction function() const;
  int device() const;
  explicit operator bool() const { return state_ != nullptr; }

  /** Checks the arguments and launches. Throws UserError on bad arguments or config. */
  template <class... Args> void launch(const LaunchConfig& config, const Args&... args) const {
    constexpr std::size_t n = sizeof...(Args);
    constexpr std::size_t cap = n == 0 ? 1 : n;
    std::array<void*, cap> slots{};
    std::array<ArgInfo, cap> infos{};
    [[maybe_unused]] std::array<std::uint64_t, cap> storage{};
    [[maybe_unused]] std::size_t i = 0;
    ((bind_arg(args, slots[i], infos[i], storage[i]), ++i), ...);
    launch_checked(config, slots.data(), std::span<const ArgInfo>(infos.data(), n));
  }

  /** Launches with a prepared argument array after checking `infos` against the kernel. */
  void launch_checked(const LaunchConfig& config, void** args,
                      std::span<const ArgInfo> infos) const;
  /** Launches with no argument checks (the caller vouches for `args`). */
  void launch_unchecked(const LaunchConfig& config, void** args) const;

private:
  friend class Module;
  DeviceFunction(std::shared_ptr<const Module> module, internal::KernelState* state)
      : module_(std::move(module)), state_(state) {}
  void check_config(const LaunchConfig& config) const;

  std::shared_ptr<const Module> module_;
  internal::KernelState* state_ = nullptr;
};

/** A cubin loaded on one device (cuLibraryLoadData), with one DeviceFunction per entry point. */
class Module : public std::enable_shared_from_this<Module> {
public:
  /**
   * Loads `cubin` on `device` and resolves every entry in `entries` (from CompileResult). Throws
   * DriverError without a driver or device, or when the driver rejects the image.
   */
  static std::shared_ptr<Module> load(std::span<const std::uint8_t> cubin,
                                      const std::vector<EntryInfo>& entries, int device = 0);
  ~Module();
  Module(const Module&) = delete;
  Module& operator=(const Module&) = delete;

  /**
   * The kernel whose symbol name or name expression is `name`; with an empty name, the only
   * kernel. Throws UserError listing the available kernels when there is no match.
   */
  DeviceFunction kernel(std::string_view name = {}) const;
  /** Symbol names of all kernels. */
  std::vector<std::string> kernel_names() const;
  int device() const { return device_; }
  CUlibrary library() const { return library_; }

private:
  Module() = default;
  CUlibrary library_ = nullptr;
  int device_ = 0;
  std::vector<std::unique_ptr<internal::KernelState>> kernels_;
};

} // namespace tessera
