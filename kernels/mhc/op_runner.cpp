#include "kernels/mhc/op_runner.h"

#include "base/error.h"
#include "kernels/mhc/ops.h"
#include "runtime/memory.h"
#include "runtime/tensor_storage.h"

#include <algorithm>
#include <fmt/format.h>
#include <optional>

namespace tessera::mhc {

namespace {

// Allocation floors: a T = 0 tensor still gets a valid pointer, a workspace at least one
// aligned region.
constexpr std::size_t kMinTensorBytes = 16;
constexpr std::size_t kMinWorkspaceBytes = 256;

void check_input(const TensorSpec& spec, const HostTensor& in) {
  if (in.name != spec.name || in.dtype != spec.dtype || in.numel() != spec.numel() ||
      static_cast<std::int64_t>(in.bytes()) != spec.bytes()) {
    throw UserError(fmt::format("run_op: input '{}' ({} with {} elements) does not match the op's "
                                "'{}' ({} with {} elements)",
                                in.name, dtype_name(in.dtype), in.numel(), spec.name,
                                dtype_name(spec.dtype), spec.numel()));
  }
}

} // namespace

std::vector<HostTensor> run_op(const Plan& plan, std::span<const HostTensor> inputs,
                               MemoryKind memory) {
  const OpSpec& spec = op_spec(plan.op);
  const std::vector<TensorSpec> tensors = spec.tensors(plan.config, plan.tokens, plan.splits);
  const std::vector<TensorSpec> input_specs = inputs_of(tensors);
  if (inputs.size() != input_specs.size()) {
    throw UserError(fmt::format("run_op {}: {} inputs given, the op takes {}", op_name(plan.op),
                                inputs.size(), input_specs.size()));
  }
  std::vector<TensorStorage> storage;
  std::vector<NamedTensor> named;
  storage.reserve(tensors.size());
  named.reserve(tensors.size());
  std::size_t next_input = 0;
  for (const TensorSpec& t : tensors) {
    storage.emplace_back(memory, std::max<std::size_t>(t.bytes(), kMinTensorBytes));
    if (t.output) {
      storage.back().poison();
    } else {
      const HostTensor& in = inputs[next_input++];
      check_input(t, in);
      storage.back().upload(in.data(), in.bytes());
    }
    named.push_back({t.name, storage.back().view(t.dtype, t.shape)});
  }
  const std::int64_t ws_bytes = std::max<std::int64_t>(
      spec.workspace_bytes(plan.config, plan.tokens, plan.splits), kMinWorkspaceBytes);
  const TensorStorage workspace(memory, ws_bytes);
  const TensorView ws = workspace.view(DType::u8, {ws_bytes});
  if (memory == MemoryKind::host) {
    call_op(plan.op, plan.config, named, ws, nullptr); // synchronous
  } else {
    Stream stream;
    call_op(plan.op, plan.config, named, ws, stream);
    stream.synchronize();
  }
  std::vector<HostTensor> outputs;
  for (std::size_t i = 0; i < tensors.size(); ++i) {
    if (tensors[i].output) {
      HostTensor h = HostTensor::zeros(tensors[i]);
      storage[i].download(h.data(), h.bytes());
      outputs.push_back(std::move(h));
    }
  }
  return outputs;
}

} // namespace tessera::mhc
