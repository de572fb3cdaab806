// mhc_bench: every mHC op at T ∈ {1, 16, 128, 1024, 4096, 16384} × H ∈ {4096, 7168} (and the
// standalone Sinkhorn over T), timed with CUDA events as direct launches and as CUDA-graph
// replay; bytes moved per op as ../shared/peer/torch_mhc.py and bench/torch_mhc_ext.py define
// them; GB/s and the fraction of the device-to-device copy bandwidth measured in the same run.
//
//   mhc_bench [--json results.json] [--quick] [--ops mhc_pre,mhc_post,...] [--tokens 1,2,4,...]
//             [--torch-json peer.json]
//
// Each JSON row also carries issue 9's yardsticks (bench/mhc_goals.h): goal_bytes (the bytes
// the op's algorithm must move), goal_floor_us and goal_frac against the same copy bandwidth,
// TileLang's H200 figure where the table has one, and torch.compile's time from a peer
// run of ../shared/peer/torch_mhc.py on the same card (--torch-json: its --json output, whose
// rows carry compiled_graph_us).
//
// Every subject comes from the op's OpSpec (kernels/mhc/op_spec.h: tensors, inputs, bytes =
// every tensor but scale and base) and its plan (split count, workspace), and is called through
// mhc::call_op. Per-token inputs and outputs are rotated over enough copies to exceed 3× the L2
// cache (at most 32 copies), so large-T rows measure DRAM, not L2; weights and the workspace are
// shared. Needs a CUDA device.
#include "bench/bench_util.h"
#include "bench/mhc_goals.h"
#include "kernels/mhc/op_spec.h"
#include "kernels/mhc/ops.h"
#include "kernels/mhc/plan.h"
#include "runtime/cuda_graph.h"
#include "runtime/device.h"
#include "runtime/driver.h"
#include "runtime/memory.h"
#include "runtime/tensor_storage.h"

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <fmt/format.h>
#include <fstream>
#include <functional>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

namespace mhc = tessera::mhc;
using tessera::DType;
using tessera::Event;
using tessera::TensorView;

namespace {

// Input values: the spec's generator (kernels/mhc/inputs.h) for at most this many tokens,
// repeated over the token dimension (generating 16384 tokens would take longer than timing).
constexpr std::int64_t kGeneratedTokens = 64;

/** Fills `storage` with `pattern` repeated (whole copies, the last one cut). */
void fill_repeating(tessera::TensorStorage& storage, const mhc::HostTensor& pattern) {
  const std::size_t unit = pattern.bytes();
  if (unit == 0 || storage.size() == 0) {
    return;
  }
  // Stage up to ~32 MiB of whole copies on the host, then copy chunk by chunk.
  const std::size_t copies = std::max<std::size_t>(1, (std::size_t{32} << 20) / unit);
  std::vector<std::uint8_t> staged(std::min(storage.size(), copies * unit));
  for (std::size_t off = 0; off < staged.size(); off += unit) {
    std::memcpy(staged.data() + off, pattern.data(), std::min(unit, staged.size() - off));
  }
  for (std::size_t off = 0; off < storage.size(); off += staged.size()) {
    storage.upload(staged.data(), std::min(staged.size(), storage.size() - off), off);
  }
}

/** One benchmark subject: `run(i)` enqueues one op call on input set i % sets. */
struct Subject {
  std::string op;
  std::int64_t H, T;
  double bytes;
  int sets;
  std::function<void(int, CUstream)> run;
};

struct Row {
  std::string op;
  std::int64_t H, T;
  double us, graph_us, bytes, floor_us, frac;
};

/** Times `s`: per-call events for direct launches; graph replays of `per_graph` calls. */
Row time_subject(Subject& s, double bw, CUstream stream, bool quick) {
  const double input_bytes = std::max(1.0, s.bytes);
  const int iters = std::clamp(static_cast<int>(2e10 / std::max(input_bytes, 1e6)), quick ? 10 : 30,
                               quick ? 50 : 200);
  for (int i = 0; i < 3; ++i) {
    s.run(i, stream); // compile + warm up
  }
  tessera::check(tessera::driver().cuStreamSynchronize(stream), "cuStreamSynchronize");
  Event start, end;
  std::vector<double> direct;
  for (int i = 0; i < iters; ++i) {
    start.record(stream);
    s.run(i, stream);
    end.record(stream);
    end.synchronize();
    direct.push_back(Event::elapsed_ms(start, end) * 1e3);
  }
  const int per_graph = 20;
  const tessera::CudaGraph g(stream, [&] {
    for (int i = 0; i < per_graph; ++i) {
      s.run(i, stream);
    }
  });
  g.launch(stream);
  std::vector<double> replay;
  for (double ms : tessera::time_replays_ms(g, stream, std::max(5, iters / 4))) {
    replay.push_back(ms * 1e3 / per_graph);
  }
  Row r{s.op,    s.H, s.T, tessera::bench::median(direct), tessera::bench::median(replay),
        s.bytes, 0,   0};
  r.floor_us = s.bytes / bw * 1e6;
  r.frac = r.graph_us > 0 ? r.floor_us / r.graph_us : 0;
  return r;
}

int rotation(double bytes_per_set) {
  const double l2 = tessera::device_info(0).l2_bytes;
  return std::clamp(static_cast<int>(3 * l2 / std::max(bytes_per_set, 1.0)) + 1, 1, 32);
}

/** The op at (H, T) with DeepSeek-V4's defaults, from its OpSpec: per-token tensors and
 * outputs rotate over `sets` copies, weights and the workspace are shared. */
Subject make_subject(const std::string& op_name, std::int64_t H, std::int64_t T) {
  mhc::Config c;
  c.hidden = H;
  const mhc::Op op = mhc::parse_op(op_name);
  const mhc::Plan plan = mhc::make_plan(
      {.op = op, .config = c, .tokens = T, .target = mhc::target_for(tessera::MemoryKind::cuda)});
  const mhc::OpSpec& spec = mhc::op_spec(op);
  const std::vector<mhc::TensorSpec> tensors = spec.tensors(c, T, plan.splits);
  const std::vector<mhc::HostTensor> generated =
      spec.inputs(c, std::min(T, kGeneratedTokens), plan.splits, 0);
  Subject s{op_name, H, T, static_cast<double>(mhc::traffic_bytes(tensors)), 1, {}};
  s.sets = rotation(s.bytes);

  struct State {
    std::vector<mhc::TensorSpec> tensors; // the NamedTensors' names point into these
    std::vector<tessera::TensorStorage> storage;
    std::vector<std::vector<mhc::NamedTensor>> sets; // the op's tensors, per input set
    tessera::TensorStorage workspace;
    TensorView ws;
  };
  auto st = std::make_shared<State>();
  st->tensors = tensors;
  const std::int64_t ws_bytes =
      std::max<std::int64_t>(spec.workspace_bytes(c, T, plan.splits), 256);
  st->workspace = tessera::TensorStorage(tessera::MemoryKind::cuda, ws_bytes);
  st->ws = st->workspace.view(DType::u8, {ws_bytes});
  st->storage.reserve(tensors.size() * s.sets);
  std::vector<std::size_t> shared(tensors.size(), SIZE_MAX); // storage index of shared tensors
  for (int set = 0; set < s.sets; ++set) {
    std::vector<mhc::NamedTensor> views;
    std::size_t next_input = 0;
    for (std::size_t i = 0; i < tensors.size(); ++i) {
      const mhc::TensorSpec& t = st->tensors[i];
      const mhc::HostTensor* input = t.output ? nullptr : &generated[next_input++];
      const bool rotates = t.output || t.per_token;
      if (!rotates && shared[i] != SIZE_MAX) {
        views.push_back({t.name, st->storage[shared[i]].view(t.dtype, t.shape)});
        continue;
      }
      st->storage.emplace_back(tessera::MemoryKind::cuda, std::max<std::size_t>(t.bytes(), 256));
      if (input != nullptr) {
        fill_repeating(st->storage.back(), *input);
      }
      if (!rotates) {
        shared[i] = st->storage.size() - 1;
      }
      views.push_back({t.name, st->storage.back().view(t.dtype, t.shape)});
    }
    st->sets.push_back(std::move(views));
  }
  s.run = [st, op, c](int i, CUstream stream) {
    const auto& views = st->sets[static_cast<std::size_t>(i) % st->sets.size()];
    mhc::call_op(op, c, views, st->ws, stream);
  };
  return s;
}

} // namespace

int main(int argc, char** argv) {
  std::string json_path;
  std::string ops_arg = "mhc_pre,mhc_post,mhc_fused_post_pre,hc_head,sinkhorn";
  bool quick = false;
  std::vector<std::int64_t> tokens_arg; // --tokens: a T grid of its own (crossover searches)
  std::string torch_json_path;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--json" && i + 1 < argc) {
      json_path = argv[++i];
    } else if (a == "--ops" && i + 1 < argc) {
      ops_arg = argv[++i];
    } else if (a == "--quick") {
      quick = true;
    } else if (a == "--torch-json" && i + 1 < argc) {
      torch_json_path = argv[++i];
    } else if (a == "--tokens" && i + 1 < argc) {
      std::stringstream list(argv[++i]);
      for (std::string item; std::getline(list, item, ',');) {
        char* end = nullptr;
        const long long t = std::strtoll(item.c_str(), &end, 10);
        if (item.empty() || *end != '\0' || t < 1) {
          std::cerr << "mhc_bench: --tokens takes positive whole numbers, got '" << item << "'\n";
          return 2;
        }
        tokens_arg.push_back(t);
      }
    } else {
      std::cerr << "usage: mhc_bench [--json PATH] [--quick] [--ops op1,op2,...] "
                   "[--tokens T1,T2,...] [--torch-json PATH]\n";
      return 2;
    }
  }
  try {
    const auto& dev = tessera::device_info(0);
    tessera::Stream stream;
    const double bw = tessera::bench::copy_bandwidth();
    fmt::print("device: {} ({} SMs, L2 {} MiB); copy bandwidth {:.0f} GB/s (read+write)\n",
               dev.name, dev.sm_count, dev.l2_bytes >> 20, bw / 1e9);
    fmt::print("{:<20} {:>6} {:>7} {:>10} {:>10} {:>12} {:>9} {:>9} {:>6}\n", "op", "H", "T",
               "direct_us", "graph_us", "bytes", "GB/s", "floor_us", "frac");
    std::vector<Row> rows;
    const std::vector<std::int64_t> Ts =
        !tokens_arg.empty() ? tokens_arg
        : quick             ? std::vector<std::int64_t>{1, 128, 4096}
                            : std::vector<std::int64_t>{1, 16, 128, 1024, 4096, 16384};
    auto bench = [&](const std::string& op, std::int64_t H, std::int64_t T) {
      Subject s = make_subject(op, H, T);
      Row r = time_subject(s, bw, stream, quick);
      if (op == "sinkhorn") {
        r.H = 0;
      }
      fmt::print("{:<20} {:>6} {:>7} {:>10.2f} {:>10.2f} {:>12.0f} {:>9.0f} {:>9.2f} {:>6.2f}\n",
                 r.op, r.H, r.T, r.us, r.graph_us, r.bytes, r.bytes / (r.graph_us * 1e3),
                 r.floor_us, r.frac);
      std::fflush(stdout);
      rows.push_back(r);
    };
    for (const char* op : {"mhc_pre", "mhc_post", "mhc_fused_post_pre", "hc_head"}) {
      if (ops_arg.find(op) == std::string::npos) {
        continue;
      }
      for (std::int64_t H : {4096, 7168}) {
        for (std::int64_t T : Ts) {
          bench(op, H, T);
        }
      }
    }
    if (ops_arg.find("sinkhorn") != std::string::npos) {
      std::vector<std::int64_t> sk = Ts;
      if (!quick && tokens_arg.empty()) {
        sk.push_back(65536);
        sk.push_back(1 << 20);
      }
      for (std::int64_t T : sk) {
        bench("sinkhorn", 4096, T);
      }
    }
    nlohmann::json torch_rows = nlohmann::json::array();
    if (!torch_json_path.empty()) {
      std::ifstream in(torch_json_path);
      if (!in) {
        throw std::runtime_error("cannot read --torch-json " + torch_json_path);
      }
      nlohmann::json peer = nlohmann::json::parse(in);
      // torch_mhc.py --json and torch_mhc_ext.py write {device, copy_bw, rows}; a bare list of
      // rows is taken too.
      torch_rows = peer.is_object() ? peer.value("rows", nlohmann::json::array()) : peer;
      if (!torch_rows.is_array()) {
        throw std::runtime_error("--torch-json " + torch_json_path +
                                 ": expected {rows: [...]} or a list of rows");
      }
    }
    auto torch_us = [&](const Row& r) -> nlohmann::json {
      for (const auto& t : torch_rows) {
        if (t.value("op", "") == r.op && t.value("H", 0) == r.H && t.value("T", 0) == r.T &&
            t.contains("compiled_graph_us")) {
          return t["compiled_graph_us"];
        }
      }
      return nullptr;
    };
    if (!json_path.empty()) {
      nlohmann::json j;
      j["device"] = dev.name;
      j["copy_bw"] = bw;
      j["rows"] = nlohmann::json::array();
      for (const Row& r : rows) {
        j["rows"].push_back({{"op", r.op},
                             {"H", r.H},
                             {"T", r.T},
                             {"us", r.us},
                             {"graph_us", r.graph_us},
                             {"bytes", r.bytes},
                             {"floor_us", r.floor_us},
                             {"frac", r.frac}});
        nlohmann::json& row = j["rows"].back();
        const double goal = tessera::bench::mhc_goal_bytes(r.op, r.H, r.T);
        row["goal_bytes"] = goal;
        row["goal_floor_us"] = goal / bw * 1e6;
        row["goal_frac"] = r.graph_us > 0 ? goal / bw * 1e6 / r.graph_us : 0.0;
        const auto tilelang = tessera::bench::tilelang_h200_us(r.op, r.H, r.T);
        row["tilelang_h200_us"] = tilelang ? nlohmann::json(*tilelang) : nlohmann::json(nullptr);
        row["torch_us"] = torch_us(r);
      }
      std::ofstream(json_path) << j.dump(1) << "\n";
      fmt::print("wrote {}\n", json_path);
    }
  } catch (const std::exception& e) {
    std::cerr << "mhc_bench: error: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
