// `tessera emit KERNEL`: the CUDA (or IR) Tessera generates for a registered DSL kernel; and
// `tessera compile KERNEL` (dispatched from cmd_compile.cpp when the argument is not a .cu file).
#include "base/file_io.h"
#include "catalog/catalog.h"
#include "tools/cli_values.h"
#include "tools/commands.h"

#include <fmt/format.h>
#include <iostream>

namespace tessera::cli {

namespace {

struct EmitArgs {
  std::string kernel;
  std::vector<std::string> params;
  bool ir = false;
  bool passes = false;
  std::string after;  ///< --after PASS: the IR after that pass only
  std::string target; ///< --target cuda|cpu: what the passes lower for (default cuda)
  std::string arch;
  std::int64_t hidden = 0;
};

void run_emit(const EmitArgs& a) {
  catalog::TextRequest request{.name = a.kernel, .params = a.params, .arch = a.arch};
  if (a.hidden > 0) {
    request.params.push_back(fmt::format("hidden={}", a.hidden));
  }
  if (!a.after.empty()) {
    request.form = a.after;
  } else if (a.passes) {
    request.form = "passes";
  } else if (a.ir) {
    request.form = "ir";
  }
  request.target = parse_target(a.target.empty() ? "cuda" : a.target, "--target") == Target::cpu
                       ? Target::cpu
                       : Target::cuda;
  std::cout << catalog::kernel_text(request);
}

} // namespace

bool is_registered_kernel(const std::string& name) {
  return catalog::kernels().contains(name);
}

void compile_registered_kernel(const std::string& name, const std::vector<std::string>& params,
                               const std::string& arch, bool ptx, const std::string& output) {
  const CompiledKernel ck = catalog::compile_kernel(name, params, arch);
  const std::string path = output.empty() ? name + (ptx ? ".ptx" : ".cubin") : output;
  const auto cubin = ck.program()->cubin();
  write_file_atomic(
      path, ptx ? std::string_view(ck.ptx())
                : std::string_view(reinterpret_cast<const char*>(cubin.data()), cubin.size()));
  const KernelResources& r = ck.resources();
  std::cerr << fmt::format("{} ({}): {} registers, {} bytes local -> {}\n", name, arch, r.registers,
                           r.local_bytes, path);
}

void add_emit_command(CLI::App& app) {
  auto args = std::make_shared<EmitArgs>();
  CLI::App* cmd = app.add_subcommand(
      "emit", "Print the CUDA generated for a registered DSL kernel (see `tessera list`)");
  cmd->add_option("kernel", args->kernel, "Registered kernel name")->required();
  cmd->add_option("--param", args->params, "Kernel parameter override, key=value (repeatable)");
  cmd->add_flag("--ir", args->ir, "Print the traced tile IR instead (with --after: after a pass)");
  cmd->add_flag("--passes", args->passes, "Print the IR after every lowering pass");
  cmd->add_option("--after", args->after,
                  "Print the IR after this pass only (simplify, infer_layouts, ..., "
                  "lower_tile_ops, plan_shared_memory)");
  cmd->add_option("--target", args->target,
                  "With --passes/--after: lower for cuda (default) or cpu");
  cmd->add_option("--arch", args->arch, "Also compile for this arch and report resources");
  add_hidden_option(cmd, args->hidden, "--hidden", "Shorthand for --param hidden=H (mHC kernels)");
  cmd->callback([args] { run_emit(*args); });
}

} // namespace tessera::cli
