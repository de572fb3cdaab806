// `tessera list`: the registered DSL kernels and their parameters.
#include "examples/kernels.h"
#include "jit/kernel_registry.h"
#include "kernels/mhc/register.h"
#include "tools/commands.h"

#include <fmt/format.h>
#include <iostream>

namespace tessera::cli {

KernelRegistry& kernel_registry() {
  static KernelRegistry& r = []() -> KernelRegistry& {
    KernelRegistry& g = KernelRegistry::global();
    examples::register_kernels(g);
    mhc::register_kernels(g);
    return g;
  }();
  return r;
}

void add_list_command(CLI::App& app) {
  CLI::App* cmd =
      app.add_subcommand("list", "List the registered DSL kernels and their parameters");
  cmd->callback([] {
    for (const KernelEntry* e : kernel_registry().entries()) {
      std::cout << fmt::format("{:<16} {}\n", e->name, e->description);
      for (const KernelParam& p : e->params) {
        std::cout << fmt::format("  --param {}={:<10} {} ({})\n", p.name, p.default_value, p.help,
                                 p.type == KernelParam::Type::integer ? "integer" : "real");
      }
    }
  });
}

} // namespace tessera::cli
