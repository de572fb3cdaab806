// `tessera emit KERNEL`: the CUDA (or IR) Tessera generates for a registered DSL kernel; and
// `tessera compile KERNEL` (dispatched from cmd_compile.cpp when the argument is not a .cu file).
#include "codegen/lower.h"
#include "codegen/target_info.h"
#include "ir/printer.h"
#include "jit/compiled_kernel.h"
#include "jit/kernel_registry.h"
#include "kernels/mhc/register.h"
#include "tools/commands.h"

#include <algorithm>
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <fstream>
#include <iostream>
#include <sstream>

namespace tessera::cli {

KernelRegistry& kernel_registry(); // cmd_list.cpp

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

void run_one(const EmitArgs& a);

void run_emit(const EmitArgs& in) {
  EmitArgs a = in;
  if (a.hidden > 0) {
    a.params.push_back(fmt::format("hidden={}", a.hidden));
  }
  // An mHC op name ("mhc_pre") prints the op's plan, then every kernel it may launch, in order.
  if (const auto entries = mhc::mhc_kernel_entries(a.kernel); !entries.empty()) {
    const mhc::Plan plan =
        mhc::registry_plan(a.kernel, kernel_registry().resolve(entries.front(), a.params));
    std::istringstream lines(mhc::describe(plan));
    for (std::string line; std::getline(lines, line);) {
      std::cout << "// " << line << "\n";
    }
    for (const std::string& e : entries) {
      std::cout << "// ======== " << e << "\n";
      EmitArgs one = a;
      one.kernel = e;
      run_one(one);
    }
    return;
  }
  run_one(a);
}

void run_one(const EmitArgs& a) {
  const ir::Kernel k = kernel_registry().build(a.kernel, a.params);
  if (a.ir && a.after.empty()) {
    std::cout << ir::to_string(k);
    return;
  }
  if (a.passes || !a.after.empty()) {
    const auto& names = codegen::pass_names();
    if (!a.after.empty() && std::find(names.begin(), names.end(), a.after) == names.end()) {
      throw CommandError(fmt::format("--after: no pass '{}' (the passes, in order: {})", a.after,
                                     fmt::join(names, ", ")));
    }
    codegen::LowerOptions options;
    options.target = parse_target(a.target.empty() ? "cuda" : a.target, "--target") == Target::cpu
                         ? &codegen::cpu_target()
                         : &codegen::cuda_target();
    std::vector<codegen::PassRecord> records;
    codegen::lower(k, options, &records);
    for (const codegen::PassRecord& r : records) {
      if (a.after.empty()) {
        std::cout << "// ---- IR after " << r.pass << "\n" << r.ir << "\n";
      } else if (r.pass == a.after) {
        std::cout << r.ir;
      }
    }
    return;
  }
  if (a.arch.empty()) {
    std::cout << Runtime::emit(k);
    return;
  }
  // With --arch: also compile, and report resources after the source.
  const CompiledKernel ck = Runtime::compile_for(k, a.arch);
  const KernelResources& r = ck.resources();
  std::cout << ck.cuda_source()
            << fmt::format("// {}: {} registers, {} bytes local, {} bytes spilled, {} bytes "
                           "dynamic shared\n",
                           a.arch, r.registers, r.local_bytes, r.spill_store_bytes,
                           ck.shared_bytes());
}

} // namespace

bool is_registered_kernel(const std::string& name) {
  return kernel_registry().contains(name);
}

void compile_registered_kernel(const std::string& name, const std::vector<std::string>& params,
                               const std::string& arch, bool ptx, const std::string& output) {
  const CompiledKernel ck = Runtime::compile_for(kernel_registry().build(name, params), arch);
  const std::string path = output.empty() ? name + (ptx ? ".ptx" : ".cubin") : output;
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (ptx) {
    out << ck.ptx();
  } else {
    const auto cubin = ck.program()->cubin();
    out.write(reinterpret_cast<const char*>(cubin.data()),
              static_cast<std::streamsize>(cubin.size()));
  }
  if (!out) {
    throw CommandError(fmt::format("cannot write '{}'", path));
  }
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
  cmd->add_option("--hidden", args->hidden, "Shorthand for --param hidden=H (mHC kernels)");
  cmd->callback([args] { run_emit(*args); });
}

} // namespace tessera::cli
