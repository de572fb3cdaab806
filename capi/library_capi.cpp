// The library side of the C ABI: errors, memory, info, the kernel catalogue, emit, compile and
// the JIT cache.
#include "base/error.h"
#include "capi/capi_util.h"
#include "catalog/catalog.h"
#include "jit/target.h"
#include "runtime/cache.h"
#include "runtime/driver.h"

#include <cstdlib>
#include <cstring>
#include <fmt/format.h>
#include <new>
#include <nlohmann/json.hpp>
#include <vector>

using namespace tessera;
using namespace tessera::capi;

namespace {

std::vector<std::string> param_list(const char* const* params, std::int32_t num_params) {
  if (num_params < 0) {
    throw UserError(fmt::format("num_params {} is negative", num_params));
  }
  std::vector<std::string> out;
  for (std::int32_t i = 0; i < num_params; ++i) {
    require_pointer(params, "params");
    require_pointer(params[i], fmt::format("params[{}]", i));
    out.emplace_back(params[i]);
  }
  return out;
}

Target target_of(const char* target) {
  if (target == nullptr || std::strcmp(target, "cuda") == 0) {
    return Target::cuda;
  }
  if (std::strcmp(target, "cpu") == 0) {
    return Target::cpu;
  }
  throw UserError(fmt::format("target '{}' is neither cuda nor cpu", target));
}

} // namespace

extern "C" {

const char* tessera_last_error(void) {
  return last_error().c_str();
}

void tessera_free(void* p) {
  std::free(p);
}

std::int32_t tessera_abi_version(void) {
  return TESSERA_C_ABI_VERSION;
}

std::int32_t tessera_info(char** json_out) {
  return guarded([&] {
    require_pointer(json_out, "json_out");
    nlohmann::json j = {{"version", tessera_version()},
                        {"abi", TESSERA_C_ABI_VERSION},
                        {"cpu_backend", cpu_backend_built()},
                        {"cuda_devices", 0},
                        {"driver_error", ""}};
    if (driver_available()) {
      j["cuda_devices"] = driver().device_count;
    } else {
      j["driver_error"] = driver_unavailable_reason();
    }
    *json_out = copy_string(j.dump());
  });
}

std::int32_t tessera_kernels(char** json_out) {
  return guarded([&] {
    require_pointer(json_out, "json_out");
    nlohmann::json list = nlohmann::json::array();
    for (const KernelEntry* e : catalog::kernels().entries()) {
      nlohmann::json params = nlohmann::json::array();
      for (const KernelParam& p : e->params) {
        params.push_back({{"name", p.name},
                          {"type", p.type == KernelParam::Type::integer ? "integer" : "real"},
                          {"default", p.default_value},
                          {"help", p.help}});
      }
      list.push_back({{"name", e->name}, {"description", e->description}, {"params", params}});
    }
    *json_out = copy_string(list.dump());
  });
}

std::int32_t tessera_emit(const char* name, const char* const* params, std::int32_t num_params,
                          const char* what, const char* target, char** text_out) {
  return guarded([&] {
    require_pointer(name, "name");
    require_pointer(text_out, "text_out");
    catalog::TextRequest request{.name = name,
                                 .params = param_list(params, num_params),
                                 .form = what == nullptr ? "cuda" : what,
                                 .target = target_of(target),
                                 .arch = {}};
    *text_out = copy_string(catalog::kernel_text(request));
  });
}

std::int32_t tessera_compile(const char* name, const char* const* params, std::int32_t num_params,
                             const char* arch, void** cubin_out, std::int64_t* cubin_bytes_out,
                             char** info_json_out) {
  return guarded([&] {
    require_pointer(name, "name");
    require_pointer(arch, "arch");
    require_pointer(cubin_out, "cubin_out");
    require_pointer(cubin_bytes_out, "cubin_bytes_out");
    require_pointer(info_json_out, "info_json_out");
    const CompiledKernel ck = catalog::compile_kernel(name, param_list(params, num_params), arch);
    const KernelResources& r = ck.resources();
    const nlohmann::json info = {{"arch", ck.program()->arch()},
                                 {"registers", r.registers},
                                 {"local_bytes", r.local_bytes},
                                 {"spill_store_bytes", r.spill_store_bytes},
                                 {"spill_load_bytes", r.spill_load_bytes},
                                 {"shared_bytes", ck.shared_bytes()},
                                 {"max_threads", r.max_threads_per_block},
                                 {"cuda_source", ck.cuda_source()},
                                 {"ptx", ck.ptx()},
                                 {"compile_ms", ck.timings().obtain_ms},
                                 {"from_cache", ck.timings().from_cache}};
    const auto cubin = ck.program()->cubin();
    void* bytes = std::malloc(cubin.size() == 0 ? 1 : cubin.size());
    if (bytes == nullptr) {
      throw std::bad_alloc();
    }
    std::memcpy(bytes, cubin.data(), cubin.size());
    char* json = nullptr;
    try {
      json = copy_string(info.dump());
    } catch (...) {
      std::free(bytes);
      throw;
    }
    *cubin_out = bytes;
    *cubin_bytes_out = static_cast<std::int64_t>(cubin.size());
    *info_json_out = json;
  });
}

std::int32_t tessera_cache_info(char** json_out) {
  return guarded([&] {
    require_pointer(json_out, "json_out");
    Cache& cache = Cache::global();
    const DiskUsage usage = cache.disk_usage();
    const CacheStats stats = cache.stats();
    const nlohmann::json j = {{"directory", cache.directory().string()},
                              {"enabled", cache.enabled()},
                              {"usable", cache.disk_enabled()},
                              {"entries", usage.entries},
                              {"bytes", usage.bytes},
                              {"format", kCacheFormatVersion},
                              {"memory_hits", stats.memory_hits},
                              {"disk_hits", stats.disk_hits},
                              {"compiles", stats.compiles},
                              {"bad_entries", stats.bad_entries},
                              {"disk_writes", stats.disk_writes}};
    *json_out = copy_string(j.dump());
  });
}

} // extern "C"
