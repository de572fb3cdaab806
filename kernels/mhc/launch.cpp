#include "kernels/mhc/launch.h"

#include "base/error.h"
#include "jit/compiled_kernel.h"
#include "runtime/device.h"

#include <array>
#include <fmt/format.h>
#include <map>
#include <mutex>

namespace tessera::mhc::internal {

class CompiledKernel {
public:
  tessera::CompiledKernel kernel;
};

std::string cuda_source(const ir::Kernel& kernel) {
  return Runtime::emit(kernel);
}

std::shared_ptr<const CompiledKernel> get_kernel(const std::string& key, const LaunchEnv& env,
                                                 const std::function<ir::Kernel()>& build) {
  const int device = env.cpu ? -1 : env.device; // -1: the CPU backend
  static std::mutex mutex;
  static std::map<std::pair<int, std::string>, std::shared_ptr<const CompiledKernel>> cache;
  {
    std::lock_guard<std::mutex> lock(mutex);
    if (auto it = cache.find({device, key}); it != cache.end()) {
      return it->second;
    }
  }
  // Compile outside the lock: the runtime's cache makes a concurrent duplicate cheap.
  auto ck = std::make_shared<CompiledKernel>();
  JitOptions options;
  options.target = env.cpu ? Target::cpu : Target::cuda;
  options.device = env.cpu ? 0 : device;
  ck->kernel = Runtime::compile(build(), options);
  std::lock_guard<std::mutex> lock(mutex);
  return cache.emplace(std::make_pair(device, key), std::move(ck)).first->second;
}

void launch(const CompiledKernel& k, const LaunchEnv& env, std::initializer_list<TensorView> args) {
  constexpr std::size_t kMax = 16;
  if (args.size() > kMax) {
    throw InternalError(fmt::format("mhc launch: {} arguments", args.size()));
  }
  std::array<KernelArg, kMax> a{};
  std::size_t i = 0;
  for (const TensorView& t : args) {
    a[i++] = KernelArg::from(t);
  }
  k.kernel.launch_args(
      KernelLaunchOptions{env.stream, !env.cpu && env.pdl && pdl_supported(env.device)},
      std::span<const KernelArg>(a.data(), i));
}

bool pdl_supported(int device) {
  static std::mutex mutex;
  static std::map<int, bool> known;
  std::lock_guard<std::mutex> lock(mutex);
  auto it = known.find(device);
  if (it == known.end()) {
    it = known.emplace(device, device_info(device).cc_major >= 9).first;
  }
  return it->second;
}

} // namespace tessera::mhc::internal
