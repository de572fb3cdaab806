// `tessera tune OP --hidden H`: times the candidate kernel choices of an mHC op on the GPU at
// each token count of a grid, checks the fastest against the C++ reference, and stores the
// winners in the tuning table the plans consult (kernels/mhc/tuning.h).
#include "base/error.h"
#include "kernels/mhc/op_runner.h"
#include "kernels/mhc/op_spec.h"
#include "kernels/mhc/ops.h"
#include "kernels/mhc/plan.h"
#include "kernels/mhc/tuning.h"
#include "runtime/cuda_graph.h"
#include "runtime/device.h"
#include "runtime/driver.h"
#include "runtime/memory.h"
#include "runtime/tensor_storage.h"
#include "tools/cli_values.h"
#include "tools/commands.h"

#include <algorithm>
#include <cmath>
#include <fmt/format.h>
#include <iostream>
#include <memory>
#include <sstream>

namespace tessera::cli {

namespace {

namespace mhc = tessera::mhc;

struct TuneOptions {
  std::string op;
  std::int64_t hidden = 7168;
  std::string tokens = "1,16,128,1024,4096,16384";
  std::string precision = "tf32";
  std::string output;
  int replays = 10;
  bool dry_run = false;
};

std::vector<std::int64_t> parse_tokens(const std::string& list) {
  std::vector<std::int64_t> out;
  std::stringstream in(list);
  std::string item;
  while (std::getline(in, item, ',')) {
    const std::optional<std::int64_t> t = parse_decimal(item);
    if (!t || *t < 1) {
      throw CommandError(fmt::format("--tokens: '{}' is not a decimal token count >= 1", item));
    }
    out.push_back(*t);
  }
  if (out.empty()) {
    throw CommandError("--tokens: no token counts");
  }
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

/** The plan `choice` gives (installed as the process's only tuning entry). */
mhc::Plan plan_with(mhc::Op op, const mhc::Config& c, std::int64_t T, int sms,
                    const mhc::TuningChoice& choice) {
  mhc::TuningTable t;
  t.upsert({.op = op,
            .hidden = c.hidden,
            .n = c.n(),
            .precision = c.gemm_precision,
            .sm_count = sms,
            .t_min = T,
            .t_max = T,
            .choice = choice});
  mhc::set_active_tuning(std::move(t));
  return mhc::make_plan({.op = op, .config = c, .tokens = T, .target = mhc::gpu_target(sms)});
}

/** The choices worth timing for `op` at T: the built-in policy first, then the alternatives the
 * plan exposes (stage-A kernel, token tile, ring depth, splits around the policy's; the post's
 * H tile). */
std::vector<mhc::TuningChoice> candidates(mhc::Op op, const mhc::Config& c, std::int64_t T,
                                          int sms) {
  std::vector<mhc::TuningChoice> out{{}};
  if (op == mhc::Op::mhc_post) {
    for (int h : {256, 512, 1024, 2048}) {
      out.push_back({.post_tile_h = h});
    }
    return out;
  }
  if (op == mhc::Op::mhc_fused_post_pre && T <= mhc::kFusedSmallT) {
    return out; // the single-pass kernel: nothing the table sets applies
  }
  auto with_splits = [&](mhc::TuningChoice base) {
    const int p = plan_with(op, c, T, sms, base).splits;
    out.push_back(base);
    for (int s : {p / 2, p * 2}) {
      if (s >= 1 && s <= 1024 && s != p) {
        mhc::TuningChoice x = base;
        x.splits = s;
        out.push_back(x);
      }
    }
  };
  with_splits({.stage_a = mhc::StageAKernel::per_token});
  for (int bm : {16, 32, 64, 128}) {
    if (bm > 16 && bm / 2 >= T) {
      break; // a tile twice the tokens or more only wastes MMA rows
    }
    for (int stages : {2, 3, 4}) {
      with_splits({.block_m = bm, .stages = stages, .stage_a = mhc::StageAKernel::tile});
    }
  }
  return out;
}

std::string describe(const mhc::TuningChoice& c) {
  if (c == mhc::TuningChoice{}) {
    return "built-in";
  }
  std::vector<std::string> parts;
  if (c.stage_a != mhc::StageAKernel::policy) {
    parts.push_back(c.stage_a == mhc::StageAKernel::tile ? "tile" : "per-token");
  }
  if (c.block_m) {
    parts.push_back(fmt::format("bm={}", c.block_m));
  }
  if (c.stages) {
    parts.push_back(fmt::format("stages={}", c.stages));
  }
  if (c.splits) {
    parts.push_back(fmt::format("S={}", c.splits));
  }
  if (c.post_tile_h) {
    parts.push_back(fmt::format("tile_h={}", c.post_tile_h));
  }
  std::string s;
  for (const std::string& p : parts) {
    s += (s.empty() ? "" : " ") + p;
  }
  return s;
}

/** The op's tensors in device memory for one T, and a workspace for the largest split count. */
struct DeviceCall {
  std::vector<mhc::TensorSpec> specs;
  std::vector<TensorStorage> storage;
  std::vector<mhc::NamedTensor> named;
  TensorStorage workspace;
  TensorView ws;
};

DeviceCall device_call(mhc::Op op, const mhc::Config& c, std::int64_t T, int splits,
                       std::int64_t ws_bytes) {
  const mhc::OpSpec& spec = mhc::op_spec(op);
  DeviceCall d;
  d.specs = spec.tensors(c, T, splits);
  const std::vector<mhc::HostTensor> inputs = spec.inputs(c, T, splits, 1);
  std::size_t next = 0;
  d.storage.reserve(d.specs.size());
  for (const mhc::TensorSpec& t : d.specs) {
    d.storage.emplace_back(MemoryKind::cuda, std::max<std::size_t>(t.bytes(), 256));
    if (!t.output) {
      d.storage.back().upload(inputs[next].data(), inputs[next].bytes());
      ++next;
    }
  }
  for (std::size_t i = 0; i < d.specs.size(); ++i) {
    d.named.push_back({d.specs[i].name, d.storage[i].view(d.specs[i].dtype, d.specs[i].shape)});
  }
  d.workspace = TensorStorage(MemoryKind::cuda,
                              static_cast<std::size_t>(std::max<std::int64_t>(ws_bytes, 256)));
  d.ws = d.workspace.view(DType::u8, {std::max<std::int64_t>(ws_bytes, 256)});
  return d;
}

/** Median µs per call: graph replays of 10 calls (compiled and warmed up first). */
double time_call(mhc::Op op, const mhc::Config& c, DeviceCall& d, const Stream& stream,
                 int replays) {
  auto call = [&] { mhc::call_op(op, c, d.named, d.ws, stream); };
  for (int i = 0; i < 3; ++i) {
    call();
  }
  stream.synchronize();
  constexpr int kPerGraph = 10;
  const CudaGraph g(stream, [&] {
    for (int i = 0; i < kPerGraph; ++i) {
      call();
    }
  });
  g.launch(stream);
  std::vector<double> ms = time_replays_ms(g, stream, replays);
  std::sort(ms.begin(), ms.end());
  return ms[ms.size() / 2] * 1e3 / kPerGraph;
}

/** Whether `choice` gives results within the spec's tolerances (tuning never changes them
 * beyond that). */
bool verified(mhc::Op op, const mhc::Config& c, std::int64_t T, int sms,
              const mhc::TuningChoice& choice) {
  const mhc::Plan plan = plan_with(op, c, T, sms, choice);
  const mhc::OpSpec& spec = mhc::op_spec(op);
  const std::vector<mhc::HostTensor> inputs = spec.inputs(c, T, plan.splits, 7);
  const std::vector<mhc::HostTensor> got = mhc::run_op(plan, inputs, MemoryKind::cuda);
  const std::vector<mhc::HostTensor> want = spec.reference(c, T, plan.splits, inputs);
  const std::vector<mhc::TensorSpec> outs = mhc::outputs_of(spec.tensors(c, T, plan.splits));
  for (std::size_t i = 0; i < want.size(); ++i) {
    if (!mhc::compare(got[i], want[i], outs[i].tolerance).ok()) {
      return false;
    }
  }
  return true;
}

void tune(const TuneOptions& o) {
  const mhc::Op op = mhc::parse_op(o.op);
  if (op != mhc::Op::mhc_pre && op != mhc::Op::mhc_post && op != mhc::Op::mhc_fused_post_pre &&
      op != mhc::Op::hc_head) {
    throw CommandError(
        fmt::format("tune {}: expected mhc_pre, mhc_post, mhc_fused_post_pre or hc_head", o.op));
  }
  if (o.precision != "tf32" && o.precision != "fp32") {
    throw CommandError(fmt::format("--precision {}: expected tf32 or fp32", o.precision));
  }
  mhc::Config c;
  c.hidden = o.hidden;
  c.gemm_precision = o.precision == "fp32" ? mhc::GemmPrecision::fp32 : mhc::GemmPrecision::tf32;
  c.validate();
  const std::vector<std::int64_t> grid = parse_tokens(o.tokens);
  if (device_count() < 1) {
    throw CommandError("tessera tune times kernels on a GPU, and the driver reports none");
  }
  const DeviceInfo& dev = device_info(0);
  const std::filesystem::path path =
      o.output.empty() ? mhc::tuning_path() : std::filesystem::path(o.output);
  if (path.empty() && !o.dry_run) {
    throw CommandError("no place for the tuning table: TESSERA_MHC_TUNING=off and no --output");
  }
  const Stream stream;
  std::cout << fmt::format("tune {} H={} precision={} on {} ({} SMs)\n", o.op, o.hidden,
                           o.precision, dev.name, dev.sm_count);
  std::cout << fmt::format("{:>7} {:>10} {:>10} {:>6}  {}\n", "T", "built-in", "best", "cands",
                           "choice");
  std::vector<mhc::TuningEntry> winners;
  for (std::size_t gi = 0; gi < grid.size(); ++gi) {
    const std::int64_t T = grid[gi];
    const std::vector<mhc::TuningChoice> cands = candidates(op, c, T, dev.sm_count);
    int max_splits = 1;
    for (const mhc::TuningChoice& ch : cands) {
      max_splits = std::max(max_splits, plan_with(op, c, T, dev.sm_count, ch).splits);
    }
    const mhc::OpSpec& spec = mhc::op_spec(op);
    DeviceCall d = device_call(op, c, T, 1, spec.workspace_bytes(c, T, max_splits));
    std::vector<std::pair<double, mhc::TuningChoice>> timed;
    for (const mhc::TuningChoice& ch : cands) {
      plan_with(op, c, T, dev.sm_count, ch); // installs the choice for the calls below
      timed.emplace_back(time_call(op, c, d, stream, o.replays), ch);
    }
    const double builtin = timed.front().first;
    std::stable_sort(timed.begin(), timed.end(),
                     [](const auto& a, const auto& b) { return a.first < b.first; });
    const auto best = std::find_if(timed.begin(), timed.end(), [&](const auto& t) {
      return verified(op, c, T, dev.sm_count, t.second);
    });
    if (best == timed.end()) {
      throw CommandError(fmt::format("tune {} T={}: no candidate matched the reference", o.op, T));
    }
    std::cout << fmt::format("{:>7} {:>10.2f} {:>10.2f} {:>6}  {}\n", T, builtin, best->first,
                             cands.size(), describe(best->second));
    // Each grid point covers the token counts up to the geometric midpoint of its neighbours.
    mhc::TuningEntry e{
        .op = op,
        .hidden = c.hidden,
        .n = c.n(),
        .precision = c.gemm_precision,
        .sm_count = dev.sm_count,
        .t_min =
            gi == 0
                ? 1
                : static_cast<std::int64_t>(std::sqrt(static_cast<double>(grid[gi - 1] * T))) + 1,
        .t_max = gi + 1 == grid.size()
                     ? std::int64_t{1} << 40
                     : static_cast<std::int64_t>(std::sqrt(static_cast<double>(T * grid[gi + 1]))),
        .choice = best->second,
        .us = best->first};
    winners.push_back(e);
  }
  mhc::set_active_tuning(std::nullopt);
  if (o.dry_run) {
    std::cout << "dry run: the tuning table was not written\n";
    return;
  }
  mhc::TuningTable table;
  std::error_code ec;
  if (std::filesystem::exists(path, ec)) {
    try {
      table = mhc::TuningTable::load(path);
    } catch (const UserError& e) {
      std::cerr << "tessera: warning: replacing an unusable tuning table: " << e.what() << "\n";
    }
  }
  for (const mhc::TuningEntry& e : winners) {
    table.upsert(e);
  }
  table.save(path);
  std::cout << fmt::format("{} entries written to {}\n", winners.size(), path.string());
}

} // namespace

void add_tune_command(CLI::App& app) {
  auto opts = std::make_shared<TuneOptions>();
  CLI::App* cmd = app.add_subcommand(
      "tune", "Time the kernel choices of an mHC op on the GPU and store the fastest (checked "
              "against the C++ reference) in the tuning table the ops consult");
  cmd->add_option("op", opts->op, "mhc_pre | mhc_post | mhc_fused_post_pre | hc_head")->required();
  add_hidden_option(cmd, opts->hidden);
  cmd->add_option("--tokens", opts->tokens, "Token counts, comma separated");
  add_precision_option(cmd, opts->precision);
  cmd->add_option("--replays", opts->replays, "Graph replays per candidate (median)")
      ->transform(decimal_integer(1, 100000));
  cmd->add_option("--output,-o", opts->output,
                  "Tuning table to update (default: beside the kernel cache, TESSERA_MHC_TUNING)");
  cmd->add_flag("--dry-run", opts->dry_run, "Measure and print, write nothing");
  cmd->callback([opts] { tune(*opts); });
}

} // namespace tessera::cli
