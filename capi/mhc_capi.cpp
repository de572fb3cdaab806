// The mHC operators behind the C ABI: signature, workspace, run and the fp64 reference.
#include "base/error.h"
#include "capi/capi_util.h"
#include "kernels/mhc/op_spec.h"
#include "kernels/mhc/ops.h"

#include <array>
#include <cstring>
#include <fmt/format.h>
#include <mutex>
#include <nlohmann/json.hpp>
#include <vector>

using namespace tessera;
using namespace tessera::capi;

namespace {

mhc::Op op_of(std::int32_t id) {
  const auto ops = mhc::all_ops();
  if (id < 0 || static_cast<std::size_t>(id) >= ops.size()) {
    throw UserError(fmt::format("mHC op id {} is outside 0..{}", id, ops.size() - 1));
  }
  return ops[static_cast<std::size_t>(id)];
}

mhc::Config config_of(const tessera_mhc_config* c) {
  require_pointer(c, "config");
  mhc::Config config = to_config(*c);
  config.validate();
  return config;
}

/** The op's tensor names in signature order, with and without norm_weight: they depend on the
 * op and on the fused norm only, and run() needs them on every call. */
const std::vector<std::string>& tensor_names(mhc::Op op, bool norm) {
  static std::mutex mutex;
  static std::array<std::array<std::vector<std::string>, 2>, 16> names;
  static std::array<std::array<bool, 2>, 16> known{};
  const auto i = static_cast<std::size_t>(op);
  std::lock_guard<std::mutex> lock(mutex);
  if (!known[i][norm]) {
    mhc::Config probe;
    probe.hidden = 64;
    if (norm) {
      probe.norm_eps = 1e-6f;
    }
    for (const mhc::TensorSpec& t : mhc::op_spec(op).tensors(probe, 0, 1)) {
      names[i][norm].push_back(t.name);
    }
    known[i][norm] = true;
  }
  return names[i][norm];
}

std::int64_t workspace_bytes(mhc::Op op, const mhc::Config& config, std::int64_t tokens,
                             int device) {
  switch (op) {
  case mhc::Op::mhc_pre:
    return mhc::pre_workspace_bytes(config, tokens, device);
  case mhc::Op::mhc_pre_broadcast:
    return mhc::pre_broadcast_workspace_bytes(config, tokens, device);
  case mhc::Op::mhc_fused_post_pre:
    return mhc::fused_post_pre_workspace_bytes(config, tokens, device);
  case mhc::Op::hc_head:
    return mhc::head_workspace_bytes(config, tokens, device);
  default:
    return 0;
  }
}

void check_count(mhc::Op op, std::int32_t count, std::size_t want) {
  if (count < 0 || static_cast<std::size_t>(count) != want) {
    throw UserError(
        fmt::format("{}: {} tensors given, the op takes {}", mhc::op_name(op), count, want));
  }
}

/** A host f32/bf16 tensor's values, for the reference. */
mhc::HostTensor host_copy(const TensorView& v, const std::string& name) {
  if (v.memory() != MemoryKind::host || !v.is_contiguous() ||
      (v.dtype() != DType::f32 && v.dtype() != DType::bf16)) {
    throw UserError(fmt::format("reference: '{}' must be a contiguous host f32 or bf16 tensor, "
                                "got {}",
                                name, v.describe()));
  }
  if (v.numel() > 0) {
    require_pointer(v.data(), name);
  }
  mhc::HostTensor h{name, v.dtype(), {v.shape().begin(), v.shape().end()}, {}, {}};
  if (v.dtype() == DType::f32) {
    h.f32.resize(v.numel());
  } else {
    h.b16.resize(v.numel());
  }
  std::memcpy(h.data(), v.data(), h.bytes());
  return h;
}

void write_back(const mhc::HostTensor& want, const TensorView& v) {
  if (v.memory() != MemoryKind::host || !v.is_contiguous() || v.dtype() != want.dtype ||
      v.numel() != want.numel()) {
    throw UserError(fmt::format("reference: output '{}' must be a contiguous host {} tensor of "
                                "{} elements, got {}",
                                want.name, dtype_name(want.dtype), want.numel(), v.describe()));
  }
  if (want.numel() > 0) {
    require_pointer(v.data(), want.name);
    std::memcpy(v.data(), want.data(), want.bytes());
  }
}

/** Stage ops size their partials from S; the public ops ignore it. */
int splits_of(const std::vector<TensorView>& views, const std::vector<std::string>& names) {
  for (std::size_t i = 0; i < names.size(); ++i) {
    if (names[i] == "partial_mix" && views[i].rank() >= 1) {
      return static_cast<int>(views[i].size(0));
    }
  }
  return 1;
}

} // namespace

extern "C" {

std::int32_t tessera_mhc_op_id(const char* name, std::int32_t* id_out) {
  return guarded([&] {
    require_pointer(name, "name");
    require_pointer(id_out, "id_out");
    const mhc::Op op = mhc::parse_op(name);
    const auto ops = mhc::all_ops();
    *id_out = static_cast<std::int32_t>(std::find(ops.begin(), ops.end(), op) - ops.begin());
  });
}

std::int32_t tessera_mhc_signature(std::int32_t op_id, const tessera_mhc_config* config,
                                   std::int64_t tokens, std::int32_t device, char** json_out) {
  return guarded([&] {
    require_pointer(json_out, "json_out");
    const mhc::Op op = op_of(op_id);
    const mhc::Config cfg = config_of(config);
    if (tokens < 0) {
      throw UserError(fmt::format("tokens {} is negative", tokens));
    }
    nlohmann::json tensors = nlohmann::json::array();
    for (const mhc::TensorSpec& t : mhc::op_spec(op).tensors(cfg, tokens, 1)) {
      tensors.push_back({{"name", t.name},
                         {"dtype", std::string(dtype_name(t.dtype))},
                         {"shape", t.shape},
                         {"output", t.output},
                         {"atol", t.tolerance.atol},
                         {"rtol", t.tolerance.rtol},
                         {"atol_scaled", t.tolerance.atol_scaled}});
    }
    const nlohmann::json j = {{"op", mhc::op_name(op)},
                              {"tensors", tensors},
                              {"workspace_bytes", workspace_bytes(op, cfg, tokens, device)}};
    *json_out = copy_string(j.dump());
  });
}

std::int32_t tessera_mhc_workspace_bytes(std::int32_t op_id, const tessera_mhc_config* config,
                                         std::int64_t tokens, std::int32_t device,
                                         std::int64_t* bytes_out) {
  return guarded([&] {
    require_pointer(bytes_out, "bytes_out");
    if (tokens < 0) {
      throw UserError(fmt::format("tokens {} is negative", tokens));
    }
    *bytes_out = workspace_bytes(op_of(op_id), config_of(config), tokens, device);
  });
}

std::int32_t tessera_mhc_run(std::int32_t op_id, const tessera_mhc_config* config,
                             const tessera_tensor* tensors, std::int32_t count, void* stream) {
  return guarded([&] {
    const mhc::Op op = op_of(op_id);
    const mhc::Config cfg = config_of(config);
    const std::vector<std::string>& names = tensor_names(op, cfg.norm_eps.has_value());
    const bool takes_workspace = mhc::op_spec(op).workspace_bytes(cfg, 1, 1) > 0;
    check_count(op, count, names.size() + (takes_workspace ? 1 : 0));
    require_pointer(tensors, "tensors");
    constexpr std::size_t kMaxTensors = 16;
    std::array<mhc::NamedTensor, kMaxTensors> named;
    for (std::size_t i = 0; i < names.size(); ++i) {
      named[i] = {names[i], to_view(tensors[i], names[i])};
    }
    const TensorView workspace =
        takes_workspace ? to_view(tensors[names.size()], "workspace") : TensorView();
    mhc::call_op(op, cfg, std::span<const mhc::NamedTensor>(named.data(), names.size()), workspace,
                 static_cast<CUstream>(stream));
  });
}

std::int32_t tessera_mhc_reference(std::int32_t op_id, const tessera_mhc_config* config,
                                   const tessera_tensor* tensors, std::int32_t count) {
  return guarded([&] {
    const mhc::Op op = op_of(op_id);
    const mhc::Config cfg = config_of(config);
    const std::vector<std::string>& names = tensor_names(op, cfg.norm_eps.has_value());
    check_count(op, count, names.size());
    require_pointer(tensors, "tensors");
    std::vector<TensorView> views;
    for (std::size_t i = 0; i < names.size(); ++i) {
      views.push_back(to_view(tensors[i], names[i]));
    }
    const std::int64_t tokens = views.front().rank() >= 1 ? views.front().size(0) : 0;
    const int splits = splits_of(views, names);
    const mhc::OpSpec& spec = mhc::op_spec(op);
    const std::vector<mhc::TensorSpec> sig = spec.tensors(cfg, tokens, splits);
    std::vector<mhc::HostTensor> inputs;
    std::size_t first_output = 0;
    for (std::size_t i = 0; i < sig.size(); ++i) {
      if (sig[i].output) {
        first_output = first_output == 0 ? i : first_output;
        continue;
      }
      inputs.push_back(host_copy(views[i], names[i]));
      if (inputs.back().numel() != sig[i].numel()) {
        throw UserError(fmt::format("reference: '{}' has {} elements; expected {} for T = {}",
                                    names[i], inputs.back().numel(), sig[i].numel(), tokens));
      }
    }
    const std::vector<mhc::HostTensor> outputs = spec.reference(cfg, tokens, splits, inputs);
    for (std::size_t o = 0; o < outputs.size(); ++o) {
      write_back(outputs[o], views[first_output + o]);
    }
  });
}

} // extern "C"
