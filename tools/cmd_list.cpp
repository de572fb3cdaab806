// `tessera list`: the registered DSL kernels and their parameters.
#include "catalog/catalog.h"
#include "tools/commands.h"

#include <fmt/format.h>
#include <iostream>

namespace tessera::cli {

void add_list_command(CLI::App& app) {
  CLI::App* cmd =
      app.add_subcommand("list", "List the registered DSL kernels and their parameters");
  cmd->callback([] {
    for (const KernelEntry* e : catalog::kernels().entries()) {
      std::cout << fmt::format("{:<16} {}\n", e->name, e->description);
      for (const KernelParam& p : e->params) {
        std::cout << fmt::format("  --param {}={:<10} {} ({})\n", p.name, p.default_value, p.help,
                                 p.type == KernelParam::Type::integer ? "integer" : "real");
      }
    }
  });
}

} // namespace tessera::cli
