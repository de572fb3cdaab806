#include "catalog/catalog.h"

#include "base/error.h"
#include "codegen/lower.h"
#include "codegen/target_info.h"
#include "examples/kernels.h"
#include "ir/printer.h"
#include "kernels/mhc/register.h"

#include <algorithm>
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <sstream>

namespace tessera::catalog {

namespace {

std::string passes_text(const ir::Kernel& k, const TextRequest& r) {
  codegen::LowerOptions options;
  options.target = r.target == Target::cpu ? &codegen::cpu_target() : &codegen::cuda_target();
  std::vector<codegen::PassRecord> records;
  codegen::lower(k, options, &records);
  std::string out;
  for (const codegen::PassRecord& record : records) {
    if (r.form == "passes") {
      out += "// ---- IR after " + record.pass + "\n" + record.ir + "\n";
    } else if (record.pass == r.form) {
      out += record.ir;
    }
  }
  return out;
}

std::string one_kernel_text(const TextRequest& r) {
  const ir::Kernel k = kernels().build(r.name, r.params);
  if (r.form == "ir") {
    return ir::to_string(k);
  }
  if (r.form != "cuda") {
    return passes_text(k, r);
  }
  if (r.arch.empty()) {
    return Runtime::emit(k);
  }
  const CompiledKernel ck = Runtime::compile_for(k, r.arch);
  const KernelResources& res = ck.resources();
  return ck.cuda_source() +
         fmt::format("// {}: {} registers, {} bytes local, {} bytes spilled, {} bytes dynamic "
                     "shared\n",
                     r.arch, res.registers, res.local_bytes, res.spill_store_bytes,
                     ck.shared_bytes());
}

void check_form(const std::string& form) {
  const auto& names = codegen::pass_names();
  if (form == "cuda" || form == "ir" || form == "passes" ||
      std::find(names.begin(), names.end(), form) != names.end()) {
    return;
  }
  throw UserError(fmt::format("no text form '{}': expected cuda, ir, passes or a pass name ({})",
                              form, fmt::join(names, ", ")));
}

} // namespace

KernelRegistry& kernels() {
  static KernelRegistry& registry = []() -> KernelRegistry& {
    KernelRegistry& g = KernelRegistry::global();
    examples::register_kernels(g);
    mhc::register_kernels(g);
    return g;
  }();
  return registry;
}

std::string kernel_text(const TextRequest& request) {
  check_form(request.form);
  const auto entries = mhc::mhc_kernel_entries(request.name);
  if (entries.empty()) {
    return one_kernel_text(request);
  }
  // An mHC op: its plan as comment lines, then every kernel it may launch, in order.
  std::string out;
  const mhc::Plan plan =
      mhc::registry_plan(request.name, kernels().resolve(entries.front(), request.params));
  std::istringstream lines(mhc::describe(plan));
  for (std::string line; std::getline(lines, line);) {
    out += "// " + line + "\n";
  }
  for (const std::string& e : entries) {
    out += "// ======== " + e + "\n";
    TextRequest one = request;
    one.name = e;
    out += one_kernel_text(one);
  }
  return out;
}

CompiledKernel compile_kernel(const std::string& name, const std::vector<std::string>& params,
                              const std::string& arch) {
  return Runtime::compile_for(kernels().build(name, params), arch);
}

} // namespace tessera::catalog
