#include "runtime/module.h"

#include "base/error.h"
#include "runtime/device.h"
#include "runtime/driver.h"

#include <fmt/format.h>

namespace tessera {

namespace internal {

struct KernelState {
  std::string name;
  std::string expression;
  CUfunction function = nullptr;
  CUcontext context = nullptr;
  int device = 0;
  std::vector<ParamInfo> params;
  bool params_known = false;
  std::vector<ParamDecl> signature;
  KernelResources resources;
  int max_shared_optin = 0;
  // Current dynamic shared-memory limit of the function (48 KB minus static until raised).
  std::atomic<unsigned> dynamic_shared_limit{0};
  std::atomic<bool> non_portable_clusters{false};
  std::mutex attribute_mutex;
};

} // namespace internal

namespace {

int function_attribute(const DriverApi& api, CUfunction f, CUfunction_attribute attr) {
  int value = 0;
  check(api.cuFuncGetAttribute(&value, attr, f), "cuFuncGetAttribute");
  return value;
}

} // namespace

std::shared_ptr<Module> Module::load(std::span<const std::uint8_t> cubin,
                                     const std::vector<EntryInfo>& entries, int device) {
  const DriverApi& api = driver();
  CUcontext ctx = use_device(device);
  const DeviceInfo& info = device_info(device);
  std::shared_ptr<Module> module(new Module());
  module->device_ = device;
  check(api.cuLibraryLoadData(&module->library_, cubin.data(), nullptr, nullptr, 0, nullptr,
                              nullptr, 0),
        "cuLibraryLoadData");
  for (const EntryInfo& e : entries) {
    auto st = std::make_unique<internal::KernelState>();
    st->name = e.name;
    st->expression = e.expression;
    st->context = ctx;
    st->device = device;
    CUkernel kernel = nullptr;
    check(api.cuLibraryGetKernel(&kernel, module->library_, e.name.c_str()), "cuLibraryGetKernel");
    check(api.cuKernelGetFunction(&st->function, kernel), "cuKernelGetFunction");
    // Parameter layout: the PTX signature of the compiled code when we have it, else the
    // driver's (cuFuncGetParamInfo, CUDA 12.4+; the loop ends at the first invalid index).
    if (e.params_known) {
      st->params = e.params;
      st->params_known = true;
    } else if (api.cuFuncGetParamInfo) {
      CUresult last = CUDA_SUCCESS;
      for (std::size_t i = 0;; ++i) {
        std::size_t offset = 0, size = 0;
        last = api.cuFuncGetParamInfo(st->function, i, &offset, &size);
        if (last != CUDA_SUCCESS) {
          break;
        }
        st->params.push_back({offset, size});
      }
      st->params_known = last == CUDA_ERROR_INVALID_VALUE;
      if (!st->params_known) {
        st->params.clear();
      }
    }
    KernelResources& r = st->resources;
    r.registers = function_attribute(api, st->function, CU_FUNC_ATTRIBUTE_NUM_REGS);
    r.shared_bytes = function_attribute(api, st->function, CU_FUNC_ATTRIBUTE_SHARED_SIZE_BYTES);
    r.local_bytes = function_attribute(api, st->function, CU_FUNC_ATTRIBUTE_LOCAL_SIZE_BYTES);
    r.max_threads_per_block =
        function_attribute(api, st->function, CU_FUNC_ATTRIBUTE_MAX_THREADS_PER_BLOCK);
    r.spill_store_bytes = e.resources.spill_store_bytes;
    r.spill_load_bytes = e.resources.spill_load_bytes;
    r.origin = "driver";
    st->max_shared_optin = info.max_shared_per_block_optin;
    st->dynamic_shared_limit = static_cast<unsigned>(
        function_attribute(api, st->function, CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES));
    module->kernels_.push_back(std::move(st));
  }
  return module;
}

Module::~Module() {
  if (library_ && driver_available()) {
    // CUDA_ERROR_DEINITIALIZED during process exit is expected and harmless.
    driver().cuLibraryUnload(library_);
  }
}

DeviceFunction Module::kernel(std::string_view name) const {
  if (name.empty() && kernels_.size() == 1) {
    return DeviceFunction(shared_from_this(), kernels_[0].get());
  }
  for (const auto& k : kernels_) {
    if (k->name == name || (!k->expression.empty() && k->expression == name)) {
      return DeviceFunction(shared_from_this(), k.get());
    }
  }
  throw UserError(fmt::format("no kernel named '{}' in the module (it has: {})", name,
                              fmt::join(kernel_names(), ", ")));
}

std::vector<std::string> Module::kernel_names() const {
  std::vector<std::string> names;
  for (const auto& k : kernels_) {
    names.push_back(k->name);
  }
  return names;
}

const std::string& DeviceFunction::name() const {
  return state_->name;
}

const KernelResources& DeviceFunction::resources() const {
  return state_->resources;
}

std::span<const ParamInfo> DeviceFunction::params() const {
  return state_->params;
}

std::span<const ParamDecl> DeviceFunction::signature() const {
  return state_->signature;
}

CUfunction DeviceFunction::function() const {
  return state_->function;
}

int DeviceFunction::device() const {
  return state_->device;
}

void DeviceFunction::set_signature(std::vector<ParamDecl> signature) const {
  if (state_->params_known) {
    if (signature.size() != state_->params.size()) {
      throw UserError(fmt::format("kernel '{}': declared signature has {} parameters but the "
                                  "compiled kernel takes {}",
                                  state_->name, signature.size(), state_->params.size()));
    }
    for (std::size_t i = 0; i < signature.size(); ++i) {
      const std::size_t expected = signature[i].kind == ParamKind::pointer ? sizeof(void*)
                                   : signature[i].kind == ParamKind::scalar
                                       ? dtype_size(signature[i].dtype)
                                       : signature[i].size;
      if (expected != state_->params[i].size) {
        throw UserError(fmt::format("kernel '{}': declared parameter {} '{}' is {} bytes but the "
                                    "compiled kernel's is {}",
                                    state_->name, i, signature[i].name, expected,
                                    state_->params[i].size));
      }
    }
  }
  state_->signature = std::move(signature);
}

void DeviceFunction::reserve_dynamic_shared(unsigned bytes) const {
  internal::KernelState& st = *state_;
  if (bytes <= st.dynamic_shared_limit.load(std::memory_order_acquire)) {
    return;
  }
  const int static_bytes = st.resources.shared_bytes;
  if (static_cast<long long>(bytes) + static_bytes > st.max_shared_optin) {
    throw UserError(fmt::format("launch of kernel '{}': {} bytes of dynamic shared memory plus {} "
                                "static exceed the device's limit of {} bytes per block",
                                st.name, bytes, static_bytes, st.max_shared_optin));
  }
  std::lock_guard<std::mutex> lock(st.attribute_mutex);
  if (bytes <= st.dynamic_shared_limit.load(std::memory_order_relaxed)) {
    return;
  }
  use_device(st.device);
  check(driver().cuFuncSetAttribute(st.function, CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES,
                                    static_cast<int>(bytes)),
        "cuFuncSetAttribute(MAX_DYNAMIC_SHARED_SIZE_BYTES)");
  st.dynamic_shared_limit.store(bytes, std::memory_order_release);
}

void DeviceFunction::check_config(const LaunchConfig& c) const {
  const internal::KernelState& st = *state_;
  if (c.grid.volume() == 0 || c.block.volume() == 0) {
    throw UserError(fmt::format("launch of kernel '{}': empty grid ({}, {}, {}) or block ({}, {}, "
                                "{})",
                                st.name, c.grid.x, c.grid.y, c.grid.z, c.block.x, c.block.y,
                                c.block.z));
  }
  if (c.block.volume() > static_cast<std::uint64_t>(st.resources.max_threads_per_block)) {
    throw UserError(fmt::format("launch of kernel '{}': block of {} threads exceeds the kernel's "
                                "limit of {}",
                                st.name, c.block.volume(), st.resources.max_threads_per_block));
  }
  if (c.cluster.volume() > 1 &&
      (c.grid.x % c.cluster.x || c.grid.y % c.cluster.y || c.grid.z % c.cluster.z)) {
    throw UserError(fmt::format("launch of kernel '{}': cluster ({}, {}, {}) does not divide the "
                                "grid ({}, {}, {})",
                                st.name, c.cluster.x, c.cluster.y, c.cluster.z, c.grid.x, c.grid.y,
                                c.grid.z));
  }
}

void DeviceFunction::launch_checked(const LaunchConfig& config, void** args,
                                    std::span<const ArgInfo> infos) const {
  if (!state_) {
    throw UserError("launch of an empty DeviceFunction handle");
  }
  check_launch_args(state_->name, state_->params_known, state_->params, state_->signature, infos);
  launch_unchecked(config, args);
}

void DeviceFunction::launch_unchecked(const LaunchConfig& config, void** args) const {
  internal::KernelState& st = *state_;
  check_config(config);
  if (config.shared_bytes > st.dynamic_shared_limit.load(std::memory_order_acquire)) {
    reserve_dynamic_shared(config.shared_bytes);
  }
  const DriverApi& api = driver();
  if (config.cluster.volume() > 8 && !st.non_portable_clusters.load(std::memory_order_acquire)) {
    std::lock_guard<std::mutex> lock(st.attribute_mutex);
    check(
        api.cuFuncSetAttribute(st.function, CU_FUNC_ATTRIBUTE_NON_PORTABLE_CLUSTER_SIZE_ALLOWED, 1),
        "cuFuncSetAttribute(NON_PORTABLE_CLUSTER_SIZE_ALLOWED)");
    st.non_portable_clusters.store(true, std::memory_order_release);
  }
  CUcontext current = nullptr;
  api.cuCtxGetCurrent(&current);
  if (current != st.context) {
    check(api.cuCtxSetCurrent(st.context), "cuCtxSetCurrent");
  }
  // Attributes live on this stack frame, owned by this call (never a function static).
  CUlaunchAttribute attrs[2];
  unsigned num_attrs = 0;
  if (config.pdl) {
    attrs[num_attrs].id = CU_LAUNCH_ATTRIBUTE_PROGRAMMATIC_STREAM_SERIALIZATION;
    attrs[num_attrs].value.programmaticStreamSerializationAllowed = 1;
    ++num_attrs;
  }
  if (config.cluster.volume() > 1) {
    attrs[num_attrs].id = CU_LAUNCH_ATTRIBUTE_CLUSTER_DIMENSION;
    attrs[num_attrs].value.clusterDim.x = config.cluster.x;
    attrs[num_attrs].value.clusterDim.y = config.cluster.y;
    attrs[num_attrs].value.clusterDim.z = config.cluster.z;
    ++num_attrs;
  }
  CUlaunchConfig cfg{};
  cfg.gridDimX = config.grid.x;
  cfg.gridDimY = config.grid.y;
  cfg.gridDimZ = config.grid.z;
  cfg.blockDimX = config.block.x;
  cfg.blockDimY = config.block.y;
  cfg.blockDimZ = config.block.z;
  cfg.sharedMemBytes = config.shared_bytes;
  cfg.hStream = config.stream;
  cfg.attrs = num_attrs ? attrs : nullptr;
  cfg.numAttrs = num_attrs;
  const CUresult r = api.cuLaunchKernelEx(&cfg, st.function, args, nullptr);
  if (r != CUDA_SUCCESS) {
    throw DriverError(fmt::format("cuLaunchKernelEx of kernel '{}' (grid {}x{}x{}, block {}x{}x{}, "
                                  "{} B dynamic smem) failed: {}",
                                  st.name, config.grid.x, config.grid.y, config.grid.z,
                                  config.block.x, config.block.y, config.block.z,
                                  config.shared_bytes, driver_error_string(r)),
                      static_cast<int>(r));
  }
}

} // namespace tessera
