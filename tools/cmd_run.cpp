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
#include "jit/target.h"
#include "kernels/mhc/inputs.h"
#include "kernels/mhc/ops.h"
#include "kernels/mhc/reference.h"
#include "runtime/device.h"
#include "runtime/memory.h"
#include "runtime/tensor_storage.h"
#include "tools/commands.h"
#include "tools/npy.h"

#include <array>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <functional>
#include <iostream>
#include <map>
#include <memory>
#include <optional>

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

/** A host tensor: fp32 or bf16 values with a shape. */
struct HostTensor {
  std::string name;
  DType dtype = DType::f32;
  std::vector<std::int64_t> shape;
  std::vector<float> f32;
  std::vector<bf16> b16;

  std::int64_t numel() const {
    std::int64_t n = 1;
    for (auto d : shape) {
      n *= d;
    }
    return n;
  }
  std::size_t bytes() const { return dtype == DType::f32 ? f32.size() * 4 : b16.size() * 2; }
  const void* data() const {
    return dtype == DType::f32 ? static_cast<const void*>(f32.data()) : b16.data();
  }
  void* data() { return dtype == DType::f32 ? static_cast<void*>(f32.data()) : b16.data(); }
  void resize() {
    if (dtype == DType::f32) {
      f32.assign(numel(), 0.0f);
    } else {
      b16.assign(numel(), bf16(0.0f));
    }
  }
};

HostTensor f32_tensor(std::string name, std::vector<std::int64_t> shape, std::vector<float> v) {
  return {std::move(name), DType::f32, std::move(shape), std::move(v), {}};
}
HostTensor bf16_tensor(std::string name, std::vector<std::int64_t> shape, std::vector<bf16> v) {
  return {std::move(name), DType::bf16, std::move(shape), {}, std::move(v)};
}
HostTensor output(std::string name, DType dtype, std::vector<std::int64_t> shape) {
  HostTensor t{std::move(name), dtype, std::move(shape), {}, {}};
  t.resize();
  return t;
}

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

double value(const HostTensor& t, std::int64_t i) {
  return t.dtype == DType::f32 ? t.f32[i] : static_cast<float>(t.b16[i]);
}

/** Prints max abs/rel error of `got` against the reference and returns whether every element is
 * within |got - want| <= atol + rtol·|want|: the spec's bf16 tolerance (about one bf16 ulp,
 * atol 1.6e-2 / rtol 1e-2) for bf16 outputs, and 1e-3 / 1e-3 (the TF32 bound) for fp32 ones. */
bool compare(const HostTensor& got, const HostTensor& want) {
  const bool is_bf16 = got.dtype != DType::f32;
  const double atol = is_bf16 ? 1.6e-2 : 1e-3, rtol = is_bf16 ? 1e-2 : 1e-3;
  double max_abs = 0, max_rel = 0;
  std::int64_t nan = 0, outside = 0;
  for (std::int64_t i = 0; i < got.numel(); ++i) {
    const double g = value(got, i), w = value(want, i);
    const double e = std::abs(g - w);
    if (!std::isfinite(g)) {
      ++nan;
      continue;
    }
    outside += e > atol + rtol * std::abs(w) ? 1 : 0;
    max_abs = std::max(max_abs, e);
    max_rel = std::max(max_rel, e / std::max(std::abs(w), 1e-12));
  }
  const bool ok = nan == 0 && outside == 0;
  std::cout << fmt::format(
      "  {:<14} max abs {:.3e}  max rel {:.3e}  {}{}\n", got.name, max_abs, max_rel,
      ok ? "ok" : fmt::format("FAIL ({} outside {:g}/{:g})", outside, atol, rtol),
      nan ? fmt::format("  ({} non-finite)", nan) : "");
  return ok;
}

struct OpRun {
  std::vector<HostTensor> inputs;
  std::vector<HostTensor> outputs;
  /** Calls the op on device views (inputs then outputs, in order) and a workspace. */
  std::function<void(const std::vector<TensorView>&, const TensorView&, CUstream)> call;
  std::int64_t workspace_bytes = 0;
  /** The reference outputs, computed from the (possibly loaded) inputs. */
  std::function<std::vector<HostTensor>(const std::vector<HostTensor>&)> reference;
};

std::optional<TensorView> maybe(const std::vector<TensorView>& v, std::size_t i, bool present) {
  return present ? std::optional<TensorView>(v[i]) : std::nullopt;
}

// `device` is the device of the split queries: -1 for the CPU backend.
OpRun make_op(const RunOptions& o, const mhc::Config& c, int device) {
  const std::int64_t T = o.tokens, H = c.hidden;
  const int n = c.hc_mult, M = c.mix_count();
  const bool norm = c.norm_eps.has_value();
  OpRun r;
  if (o.op == "mhc_pre" && o.variant == "broadcast") {
    const int S = mhc::pre_broadcast_num_splits(c, T, device);
    auto in = mhc::inputs::make_broadcast_inputs(c, T, o.seed);
    r.inputs = {bf16_tensor("embedding", {T, H}, in.embedding),
                f32_tensor("fn_bcast", {M, H}, in.fn_bcast), f32_tensor("scale", {3}, in.scale),
                f32_tensor("base", {M}, in.base), bf16_tensor("norm_weight", {H}, in.norm_weight)};
    r.outputs = {output("residual_out", DType::bf16, {T, n, H}),
                 output("post_mix", DType::f32, {T, n}), output("comb_mix", DType::f32, {T, n, n}),
                 output("layer_input", DType::bf16, {T, H})};
    r.workspace_bytes = mhc::workspace_bytes(c, T, S);
    r.call = [c](const std::vector<TensorView>& v, const TensorView& ws, CUstream s) {
      mhc::mhc_pre_broadcast(c,
                             {.embedding = v[0],
                              .fn_bcast = v[1],
                              .scale = v[2],
                              .base = v[3],
                              .norm_weight = v[4],
                              .residual_out = v[5],
                              .post_mix = v[6],
                              .comb_mix = v[7],
                              .layer_input = v[8],
                              .workspace = ws},
                             s);
    };
    r.reference = [c, T, S, n, H](const std::vector<HostTensor>& i) {
      auto w =
          mhc::ref::mhc_pre_broadcast(c, T, i[0].b16, i[1].f32, i[2].f32, i[3].f32, i[4].b16, S);
      return std::vector<HostTensor>{bf16_tensor("residual_out", {T, n, H}, w.residual),
                                     f32_tensor("post_mix", {T, n}, w.post_mix),
                                     f32_tensor("comb_mix", {T, n, n}, w.comb_mix),
                                     bf16_tensor("layer_input", {T, H}, w.layer_input)};
    };
  } else if (o.op == "mhc_pre") {
    const int S = mhc::pre_num_splits(c, T, device);
    auto in = mhc::inputs::make_pre_inputs(c, T, o.seed);
    r.inputs = {bf16_tensor("residual", {T, n, H}, in.residual),
                f32_tensor("fn", {M, c.k()}, in.fn), f32_tensor("scale", {3}, in.scale),
                f32_tensor("base", {M}, in.base)};
    if (norm) {
      r.inputs.push_back(bf16_tensor("norm_weight", {H}, in.norm_weight));
    }
    r.outputs = {output("post_mix", DType::f32, {T, n}), output("comb_mix", DType::f32, {T, n, n}),
                 output("layer_input", DType::bf16, {T, H})};
    r.workspace_bytes = mhc::workspace_bytes(c, T, S);
    r.call = [c, norm](const std::vector<TensorView>& v, const TensorView& ws, CUstream s) {
      const std::size_t o = norm ? 5 : 4;
      mhc::mhc_pre(c,
                   {.residual = v[0],
                    .fn = v[1],
                    .scale = v[2],
                    .base = v[3],
                    .norm_weight = maybe(v, 4, norm),
                    .post_mix = v[o],
                    .comb_mix = v[o + 1],
                    .layer_input = v[o + 2],
                    .workspace = ws},
                   s);
    };
    r.reference = [c, T, S, n, H, norm](const std::vector<HostTensor>& i) {
      auto w =
          mhc::ref::mhc_pre(c, T, i[0].b16, i[1].f32, i[2].f32, i[3].f32,
                            norm ? std::span<const bf16>(i[4].b16) : std::span<const bf16>(), S);
      return std::vector<HostTensor>{f32_tensor("post_mix", {T, n}, w.post_mix),
                                     f32_tensor("comb_mix", {T, n, n}, w.comb_mix),
                                     bf16_tensor("layer_input", {T, H}, w.layer_input)};
    };
  } else if (o.op == "mhc_post") {
    auto in = mhc::inputs::make_post_inputs(c, T, o.seed);
    r.inputs = {bf16_tensor("y", {T, H}, in.y), bf16_tensor("residual", {T, n, H}, in.residual),
                f32_tensor("post_mix", {T, n}, in.post_mix),
                f32_tensor("comb_mix", {T, n, n}, in.comb_mix)};
    r.outputs = {output("out", DType::bf16, {T, n, H})};
    r.call = [c](const std::vector<TensorView>& v, const TensorView&, CUstream s) {
      mhc::mhc_post(
          c, {.y = v[0], .residual = v[1], .post_mix = v[2], .comb_mix = v[3], .out = v[4]}, s);
    };
    r.reference = [c, T, n, H](const std::vector<HostTensor>& i) {
      return std::vector<HostTensor>{bf16_tensor(
          "out", {T, n, H}, mhc::ref::mhc_post(c, T, i[0].b16, i[1].b16, i[2].f32, i[3].f32))};
    };
  } else if (o.op == "mhc_fused_post_pre") {
    const int S = mhc::fused_post_pre_num_splits(c, T, device);
    auto in = mhc::inputs::make_fused_post_pre_inputs(c, T, o.seed);
    r.inputs = {bf16_tensor("y", {T, H}, in.post.y),
                bf16_tensor("residual", {T, n, H}, in.post.residual),
                f32_tensor("post_mix", {T, n}, in.post.post_mix),
                f32_tensor("comb_mix", {T, n, n}, in.post.comb_mix),
                f32_tensor("fn", {M, c.k()}, in.fn),
                f32_tensor("scale", {3}, in.scale),
                f32_tensor("base", {M}, in.base)};
    if (norm) {
      r.inputs.push_back(bf16_tensor("norm_weight", {H}, in.norm_weight));
    }
    r.outputs = {
        output("residual_out", DType::bf16, {T, n, H}), output("post_mix_out", DType::f32, {T, n}),
        output("comb_mix_out", DType::f32, {T, n, n}), output("layer_input", DType::bf16, {T, H})};
    r.workspace_bytes = mhc::workspace_bytes(c, T, S);
    r.call = [c, norm](const std::vector<TensorView>& v, const TensorView& ws, CUstream s) {
      const std::size_t o = norm ? 8 : 7;
      mhc::mhc_fused_post_pre(c,
                              {.y = v[0],
                               .residual = v[1],
                               .post_mix = v[2],
                               .comb_mix = v[3],
                               .fn = v[4],
                               .scale = v[5],
                               .base = v[6],
                               .norm_weight = maybe(v, 7, norm),
                               .residual_out = v[o],
                               .post_mix_out = v[o + 1],
                               .comb_mix_out = v[o + 2],
                               .layer_input = v[o + 3],
                               .workspace = ws},
                              s);
    };
    r.reference = [c, T, S, n, H, norm](const std::vector<HostTensor>& i) {
      const std::span<const bf16> w =
          norm ? std::span<const bf16>(i[7].b16) : std::span<const bf16>();
      auto out = T <= mhc::kFusedSmallT
                     ? mhc::ref::mhc_fused_post_pre_single_pass(c, T, i[0].b16, i[1].b16, i[2].f32,
                                                                i[3].f32, i[4].f32, i[5].f32,
                                                                i[6].f32, w, S)
                     : mhc::ref::mhc_fused_post_pre(c, T, i[0].b16, i[1].b16, i[2].f32, i[3].f32,
                                                    i[4].f32, i[5].f32, i[6].f32, w, S);
      return std::vector<HostTensor>{bf16_tensor("residual_out", {T, n, H}, out.residual),
                                     f32_tensor("post_mix_out", {T, n}, out.post_mix),
                                     f32_tensor("comb_mix_out", {T, n, n}, out.comb_mix),
                                     bf16_tensor("layer_input", {T, H}, out.layer_input)};
    };
  } else if (o.op == "hc_head") {
    auto in = mhc::inputs::make_head_inputs(c, T, o.seed);
    r.inputs = {bf16_tensor("residual", {T, n, H}, in.residual),
                f32_tensor("fn", {n, c.k()}, in.fn), f32_tensor("scale", {1}, in.scale),
                f32_tensor("base", {n}, in.base)};
    r.outputs = {output("out", DType::bf16, {T, H})};
    r.workspace_bytes = mhc::head_workspace_bytes(c, T, device);
    r.call = [c](const std::vector<TensorView>& v, const TensorView& ws, CUstream s) {
      mhc::hc_head(c, {.residual = v[0], .fn = v[1], .scale = v[2], .base = v[3], .out = v[4]}, ws,
                   s);
    };
    r.reference = [c, T, H](const std::vector<HostTensor>& i) {
      return std::vector<HostTensor>{bf16_tensor(
          "out", {T, H}, mhc::ref::hc_head(c, T, i[0].b16, i[1].f32, i[2].f32, i[3].f32))};
    };
  } else if (o.op == "sinkhorn") {
    r.inputs = {f32_tensor("logits", {T, n, n}, mhc::inputs::make_sinkhorn_logits(c, T, o.seed))};
    r.outputs = {output("comb", DType::f32, {T, n, n})};
    r.call = [c](const std::vector<TensorView>& v, const TensorView&, CUstream s) {
      mhc::sinkhorn(c, {.logits = v[0], .comb = v[1]}, s);
    };
    r.reference = [c, T, n](const std::vector<HostTensor>& i) {
      return std::vector<HostTensor>{
          f32_tensor("comb", {T, n, n},
                     mhc::ref::sinkhorn(i[0].f32, T, n, c.sinkhorn_iters, c.hc_sinkhorn_eps))};
    };
  } else {
    throw CommandError(fmt::format("unknown op '{}'; expected mhc_pre, mhc_post, "
                                   "mhc_fused_post_pre, hc_head or sinkhorn",
                                   o.op));
  }
  return r;
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
  OpRun r = make_op(o, c, target == Target::cpu ? -1 : 0);
  if (!o.inputs.empty()) {
    for (HostTensor& t : r.inputs) {
      load(o.inputs, t);
    }
  }
  // Buffers in the target's memory: inputs, then outputs, then the workspace.
  std::vector<TensorStorage> buffers;
  buffers.reserve(r.inputs.size() + r.outputs.size());
  std::vector<TensorView> views;
  auto add = [&](const HostTensor& t, bool upload) {
    buffers.emplace_back(memory_kind(target), std::max<std::size_t>(t.bytes(), 16));
    if (upload && t.bytes()) {
      buffers.back().upload(t.data(), t.bytes());
    } else if (!upload) {
      buffers.back().poison();
    }
    views.push_back(buffers.back().view(t.dtype, std::span<const std::int64_t>(t.shape)));
  };
  for (const HostTensor& t : r.inputs) {
    add(t, true);
  }
  for (const HostTensor& t : r.outputs) {
    add(t, false);
  }
  const std::int64_t ws_bytes = std::max<std::int64_t>(r.workspace_bytes, 256);
  const TensorStorage ws(memory_kind(target), ws_bytes);
  const std::array<std::int64_t, 1> ws_shape{ws_bytes};
  if (target == Target::cpu) {
    r.call(views, ws.view(DType::u8, ws_shape), nullptr); // synchronous
  } else {
    Stream stream;
    r.call(views, ws.view(DType::u8, ws_shape), stream);
    stream.synchronize();
  }
  for (std::size_t i = 0; i < r.outputs.size(); ++i) {
    HostTensor& t = r.outputs[i];
    if (t.bytes()) {
      buffers[r.inputs.size() + i].download(t.data(), t.bytes());
    }
  }
  const std::string where =
      target == Target::cpu ? std::string("the CPU (LLVM backend)") : device_info(0).name;
  std::cout << fmt::format("{} T={} H={} n={} variant={} precision={} on {}\n", o.op, o.tokens,
                           c.hidden, c.hc_mult, o.variant, o.precision, where);
  if (!o.outputs.empty()) {
    for (const HostTensor& t : r.outputs) {
      save(o.outputs, t);
    }
    std::cout << "outputs written to " << o.outputs << "\n";
  }
  if (o.check) {
    std::cout << "check against the C++ reference:\n";
    const auto want = r.reference(r.inputs);
    bool ok = true;
    for (std::size_t i = 0; i < want.size(); ++i) {
      ok = compare(r.outputs[i], want[i]) && ok;
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
  cmd->add_option("--tokens,-T", opts->tokens, "Token count T (0 allowed)");
  cmd->add_option("--hidden,-H", opts->hidden, "Hidden size H");
  cmd->add_option("--hc-mult,-n", opts->hc_mult, "Residual streams n (2..8)");
  cmd->add_option("--variant", opts->variant, "plain | norm (fused RMSNorm) | broadcast");
  cmd->add_option("--precision", opts->precision, "Stage-A GEMM precision: tf32 | fp32");
  cmd->add_option("--splits", opts->splits, "Fixed stage-A split count (default: automatic)");
  cmd->add_option("--iters", opts->iters, "Sinkhorn iterations R");
  cmd->add_option("--post-mult", opts->post_mult, "post multiplier");
  cmd->add_option("--norm-eps", opts->norm_eps, "eps of the fused RMSNorm");
  cmd->add_option("--seed", opts->seed, "Seed of the random inputs");
  cmd->add_flag("--check", opts->check, "Compare with the C++ reference");
  cmd->add_option("--inputs", opts->inputs, "Directory of <argument>.npy inputs");
  cmd->add_option("--outputs", opts->outputs, "Directory to write <output>.npy to");
  cmd->add_option("--target", opts->target,
                  "auto (GPU if present, else the CPU backend) | cuda | cpu");
  cmd->callback([opts] { run(*opts); });
}

} // namespace tessera::cli
