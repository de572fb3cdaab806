#include "runtime/program.h"

#include "base/error.h"

#include <fmt/format.h>

namespace tessera {

Program::Program(CompileResult result, std::string cache_key, ProgramOrigin origin,
                 double obtain_ms)
    : result_(std::move(result)), key_(std::move(cache_key)), origin_(origin),
      obtain_ms_(obtain_ms) {}

const EntryInfo& Program::entry(std::string_view name) const {
  if (name.empty() && result_.entries.size() == 1) {
    return result_.entries[0];
  }
  if (const EntryInfo* e = result_.find_entry(name)) {
    return *e;
  }
  std::vector<std::string> names;
  for (const auto& e : result_.entries) {
    names.push_back(e.expression.empty() ? e.name : e.expression);
  }
  throw UserError(fmt::format("{}: no kernel named '{}' (it has: {})", result_.program_name, name,
                              fmt::join(names, ", ")));
}

const KernelResources& Program::resources(std::string_view kernel) const {
  const EntryInfo& e = entry(kernel);
  {
    // Once loaded, the driver's numbers (the Module, owned by modules_, outlives the reference).
    std::lock_guard<std::mutex> lock(mutex_);
    if (!modules_.empty() && modules_.begin()->second) {
      return modules_.begin()->second->kernel(e.name).resources();
    }
  }
  return e.resources;
}

std::shared_ptr<Module> Program::module(int device) const {
  std::lock_guard<std::mutex> lock(mutex_);
  auto& m = modules_[device];
  if (!m) {
    m = Module::load(result_.cubin, result_.entries, device);
  }
  return m;
}

DeviceFunction Program::kernel(std::string_view name, int device) const {
  const EntryInfo& e = entry(name);
  return module(device)->kernel(e.name);
}

} // namespace tessera
