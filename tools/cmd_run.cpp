// `tessera run OP --tokens T --hidden H [--variant ...] [--seed S] [--check] [--inputs DIR]
// [--outputs DIR] [--target auto|cuda|cpu]`: runs one mHC op on random inputs (the spec's
// recipe, kernels/mhc/inputs.h) or on .npy files, writes its outputs as .npy and, with --check,
// compares them with the C++ reference (max abs / rel error per output). --target auto (the
// default) runs on the GPU when one is present, else on the LLVM CPU backend (host memory).
//
// .npy conventions: one file per tensor, named after the argument (residual.npy, fn.npy, ...).
// bf16 tensors are read from float32 (rounded to nearest even) or uint16 (bf16 bit patterns)
// files and written as uint16 bit patterns; fp32 tensors are float32.
#include "base/error.h"
#include "base/file_io.h"
#include "jit/target.h"
#include "kernels/mhc/op_runner.h"
#include "kernels/mhc/op_spec.h"
#include "kernels/mhc/plan.h"
#include "runtime/device.h"
#include "tools/cli_values.h"
#include "tools/commands.h"
#include "tools/npy.h"

#include <cstring>
#include <filesystem>
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <iostream>
#include <memory>
#include <unistd.h>

namespace tessera::cli {

namespace {

struct RunOptions {
  std::string op;
  std::int64_t tokens = 1;
  std::int64_t hidden = 4096;
  int hc_mult = 4;
  std::string variant = "plain";
  std::string precision = "tf32";
  int splits = 0;
  int iters = 20;
  float post_mult = 2.0f;
  float norm_eps = 1e-6f;
  std::uint64_t seed = 0;
  bool check = false;
  std::string inputs;
  std::string outputs;
  std::string target = "auto";
};

using mhc::HostTensor;

/** Replaces `t`'s values with DIR/<name>.npy, checking the shape. */
void load(const std::string& dir, HostTensor& t) {
  const std::string path = (std::filesystem::path(dir) / (t.name + ".npy")).string();
  if (!std::filesystem::exists(path)) {
    throw CommandError(fmt::format("--inputs: {} is missing (expected {} [{}])", path,
                                   dtype_name(t.dtype), fmt::join(t.shape, ", ")));
  }
  const NpyArray a = read_npy(path);
  if (a.shape != t.shape) {
    throw CommandError(fmt::format("{}: shape ({}) does not match the op's {} [{}]", path,
                                   fmt::join(a.shape, ", "), t.name, fmt::join(t.shape, ", ")));
  }
  const std::int64_t n = a.numel();
  if (t.dtype == DType::f32) {
    if (a.descr != "<f4") {
      throw CommandError(
          fmt::format("{}: {} is fp32; expected a float32 file, got '{}'", path, t.name, a.descr));
    }
    std::memcpy(t.f32.data(), a.bytes.data(), n * 4);
    return;
  }
  if (a.descr == "<u2") {
    std::memcpy(t.b16.data(), a.bytes.data(), n * 2);
  } else {
    for (std::int64_t i = 0; i < n; ++i) {
      float v;
      std::memcpy(&v, a.bytes.data() + i * 4, 4);
      t.b16[i] = bf16(v);
    }
  }
}

void save(const std::string& dir, const HostTensor& t) {
  NpyArray a;
  a.descr = t.dtype == DType::f32 ? "<f4" : "<u2";
  a.shape = t.shape;
  a.bytes.resize(t.bytes());
  std::memcpy(a.bytes.data(), t.data(), t.bytes());
  std::filesystem::create_directories(dir);
  write_npy((std::filesystem::path(dir) / (t.name + ".npy")).string(), a);
}

/** Prints max abs/rel error of `got` against the reference and returns whether every element is
 * within the spec's tolerance for its dtype (mhc::dtype_tolerance: about one bf16 ulp for bf16
 * outputs, the TF32 bound for fp32 ones). */
bool compare(const HostTensor& got, const HostTensor& want) {
  const mhc::Tolerance tol = mhc::dtype_tolerance(got.dtype);
  const mhc::Comparison c = mhc::compare(got, want, tol);
  std::cout << fmt::format(
      "  {:<14} max abs {:.3e}  max rel {:.3e}  {}{}\n", got.name, c.max_abs, c.max_rel,
      c.ok() ? "ok" : fmt::format("FAIL ({} outside {:g}/{:g})", c.outside, tol.atol, tol.rtol),
      c.non_finite ? fmt::format("  ({} non-finite)", c.non_finite) : "");
  return c.ok();
}

/** Bytes of host memory the system can still give (MemAvailable), or -1 when unknown. */
std::int64_t available_host_bytes() {
  const long pages = ::sysconf(_SC_AVPHYS_PAGES);
  const long page = ::sysconf(_SC_PAGESIZE);
  return pages > 0 && page > 0 ? static_cast<std::int64_t>(pages) * page : -1;
}

std::string gib(std::int64_t bytes) {
  return fmt::format("{:.2f} GiB", static_cast<double>(bytes) / double(1ull << 30));
}

/** Refuses a run whose tensors cannot fit, before any of them is allocated: every input and
 * output lives on the host (and the reference's outputs with --check), and on the GPU too for
 * the cuda target (plus the workspace). */
void check_memory(const mhc::OpSpec& spec, const mhc::Config& c, const mhc::Plan& plan,
                  std::int64_t tokens, bool check, MemoryKind memory) {
  std::int64_t host = 0, outputs = 0;
  for (const mhc::TensorSpec& t : spec.tensors(c, tokens, plan.splits)) {
    host += t.bytes();
    outputs += t.output ? t.bytes() : 0;
  }
  const std::int64_t device = host + spec.workspace_bytes(c, tokens, plan.splits);
  host += check ? outputs : 0;
  const std::int64_t free_host = available_host_bytes();
  if (free_host >= 0 && host > free_host) {
    throw CommandError(fmt::format("T={} H={} needs {} of host memory; {} is available", tokens,
                                   c.hidden, gib(host), gib(free_host)));
  }
  if (memory == MemoryKind::cuda && device > device_info(0).total_memory_bytes) {
    throw CommandError(fmt::format("T={} H={} needs {} of device memory; {} has {}", tokens,
                                   c.hidden, gib(device), device_info(0).name,
                                   gib(device_info(0).total_memory_bytes)));
  }
}

/** Fails now, not after the run, when --outputs cannot take files. */
void check_writable(const std::string& dir) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) {
    throw CommandError(fmt::format("--outputs: cannot create '{}': {}", dir, ec.message()));
  }
  const std::filesystem::path probe = std::filesystem::path(dir) / ".tessera-write-probe";
  write_file_atomic(probe, "ok");
  std::filesystem::remove(probe, ec);
}

/** The op `tessera run` runs: the five ops of the host API, mhc_pre with --variant broadcast
 * being the first-layer variant. */
mhc::Op run_op_of(const RunOptions& o) {
  if (o.op == "mhc_pre") {
    return o.variant == "broadcast" ? mhc::Op::mhc_pre_broadcast : mhc::Op::mhc_pre;
  }
  for (mhc::Op op :
       {mhc::Op::mhc_post, mhc::Op::mhc_fused_post_pre, mhc::Op::hc_head, mhc::Op::sinkhorn}) {
    if (o.op == mhc::op_name(op)) {
      return op;
    }
  }
  throw CommandError(fmt::format("unknown op '{}'; expected mhc_pre, mhc_post, "
                                 "mhc_fused_post_pre, hc_head or sinkhorn",
                                 o.op));
}

void run(const RunOptions& o) {
  mhc::Config c;
  c.hidden = o.hidden;
  c.hc_mult = o.hc_mult;
  c.sinkhorn_iters = o.iters;
  c.post_mult = o.post_mult;
  c.gemm_precision = o.precision == "fp32" ? mhc::GemmPrecision::fp32 : mhc::GemmPrecision::tf32;
  if (o.splits > 0) {
    c.split = mhc::SplitPolicy::fixed(o.splits);
  }
  if (o.variant == "norm" || o.variant == "broadcast") {
    c.norm_eps = o.norm_eps;
  } else if (o.variant != "plain") {
    throw CommandError(fmt::format("--variant {}: expected plain, norm or broadcast", o.variant));
  }
  if (o.variant == "broadcast" && o.op != "mhc_pre") {
    throw CommandError("--variant broadcast applies to mhc_pre only");
  }
  c.validate();
  const Target target = resolve_target(parse_target(o.target, "--target"));
  const MemoryKind memory = memory_kind(target);
  const mhc::Op op = run_op_of(o);
  const mhc::Plan plan = mhc::make_plan(
      {.op = op, .config = c, .tokens = o.tokens, .target = mhc::target_for(memory)});
  const mhc::OpSpec& spec = op_spec(op);
  check_memory(spec, c, plan, o.tokens, o.check, memory);
  if (!o.outputs.empty()) {
    check_writable(o.outputs);
  }
  std::vector<HostTensor> inputs;
  if (o.inputs.empty()) {
    inputs = spec.inputs(c, o.tokens, plan.splits, o.seed);
  } else {
    // Every input comes from a file: none is drawn at random first.
    for (const mhc::TensorSpec& t : mhc::inputs_of(spec.tensors(c, o.tokens, plan.splits))) {
      inputs.push_back(HostTensor::zeros(t));
      load(o.inputs, inputs.back());
    }
  }
  const std::vector<HostTensor> outputs = mhc::run_op(plan, inputs, memory);
  const std::string where =
      target == Target::cpu ? std::string("the CPU (LLVM backend)") : device_info(0).name;
  std::cout << fmt::format("{} T={} H={} n={} variant={} precision={} on {}\n", o.op, o.tokens,
                           c.hidden, c.hc_mult, o.variant, o.precision, where);
  if (!o.outputs.empty()) {
    for (const HostTensor& t : outputs) {
      save(o.outputs, t);
    }
    std::cout << "outputs written to " << o.outputs << "\n";
  }
  if (o.check) {
    std::cout << "check against the C++ reference:\n";
    const auto want = spec.reference(c, o.tokens, plan.splits, inputs);
    bool ok = true;
    for (std::size_t i = 0; i < want.size(); ++i) {
      ok = compare(outputs[i], want[i]) && ok;
    }
    if (!ok) {
      throw CommandError(fmt::format("{}: outputs differ from the C++ reference beyond the "
                                     "tolerance",
                                     o.op));
    }
  }
}

} // namespace

void add_run_command(CLI::App& app) {
  auto opts = std::make_shared<RunOptions>();
  CLI::App* cmd = app.add_subcommand(
      "run", "Run an mHC op (mhc_pre, mhc_post, mhc_fused_post_pre, hc_head, sinkhorn) on random "
             "or .npy inputs; bf16 .npy files hold uint16 bit patterns or float32 values");
  cmd->add_option("op", opts->op, "Operator")->required();
  cmd->add_option("--tokens,-T", opts->tokens, "Token count T (0 allowed)")
      ->transform(decimal_integer(0, std::int64_t{1} << 40));
  add_hidden_option(cmd, opts->hidden);
  cmd->add_option("--hc-mult,-n", opts->hc_mult, "Residual streams n (2..8)")
      ->transform(decimal_integer(2, mhc::kMaxHcMult));
  cmd->add_option("--variant", opts->variant, "plain | norm (fused RMSNorm) | broadcast")
      ->check(one_of({"plain", "norm", "broadcast"}));
  add_precision_option(cmd, opts->precision);
  cmd->add_option("--splits", opts->splits, "Fixed stage-A split count (default: automatic)")
      ->transform(decimal_integer(1, mhc::kMaxSplits));
  cmd->add_option("--iters", opts->iters, "Sinkhorn iterations R")
      ->transform(decimal_integer(1, 1000));
  cmd->add_option("--post-mult", opts->post_mult, "post multiplier")->transform(finite_real());
  cmd->add_option("--norm-eps", opts->norm_eps, "eps of the fused RMSNorm")
      ->transform(finite_real(0.0, 1.0));
  cmd->add_option("--seed", opts->seed, "Seed of the random inputs")
      ->transform(decimal_integer(0, std::numeric_limits<std::int64_t>::max()));
  cmd->add_flag("--check", opts->check, "Compare with the C++ reference");
  cmd->add_option("--inputs", opts->inputs, "Directory of <argument>.npy inputs");
  cmd->add_option("--outputs", opts->outputs, "Directory to write <output>.npy to");
  cmd->add_option("--target", opts->target,
                  "auto (GPU if present, else the CPU backend) | cuda | cpu");
  cmd->callback([opts] { run(*opts); });
}

} // namespace tessera::cli
