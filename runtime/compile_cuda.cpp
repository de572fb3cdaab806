#include "runtime/compile_cuda.h"

#include <algorithm>

namespace tessera {

std::shared_ptr<const Program> compile_cuda(std::string_view source,
                                            const CompileOptions& options) {
  return Cache::global().get(source, options);
}

std::shared_ptr<const Program> compile_cuda(std::string_view source,
                                            const std::vector<std::string>& kernel_names,
                                            CompileOptions options) {
  for (const auto& name : kernel_names) {
    if (std::find(options.name_expressions.begin(), options.name_expressions.end(), name) ==
        options.name_expressions.end()) {
      options.name_expressions.push_back(name);
    }
  }
  return Cache::global().get(source, options);
}

} // namespace tessera
