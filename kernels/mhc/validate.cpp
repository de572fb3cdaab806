#include "kernels/mhc/validate.h"

#include "base/error.h"

#include <cstdint>
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <string>
#include <string_view>
#include <vector>

namespace tessera::mhc {

namespace {

using Shape = std::vector<std::int64_t>;

std::string shape_text(DType dtype, const Shape& shape) {
  return fmt::format("{}[{}]", dtype_name(dtype), fmt::join(shape, ", "));
}

std::string_view memory_name(MemoryKind m) {
  return m == MemoryKind::cuda ? "cuda" : "host";
}

/** Checks the arguments of one op; remembers outputs and inputs for the overlap check. */
class Checker {
public:
  Checker(std::string_view op, const Config& config, MemoryKind target) : op_(op), target_(target) {
    config.validate();
  }

  [[noreturn]] void fail(std::string_view name, std::string_view problem,
                         const std::string& expected, const TensorView& v) const {
    throw UserError(fmt::format("{}: argument '{}': {}; expected {}, got {}", op_, name, problem,
                                expected, v.describe()));
  }

  /** Takes T from dimension 0 of `v` after checking its dtype and rank. */
  std::int64_t tokens_from(std::string_view name, const TensorView& v, DType dtype,
                           const Shape& shape_without_t) {
    Shape shown{-1};
    shown.insert(shown.end(), shape_without_t.begin(), shape_without_t.end());
    const std::string expected =
        fmt::format("{}[T, {}]", dtype_name(dtype), fmt::join(shape_without_t, ", "));
    if (v.rank() != static_cast<int>(shown.size())) {
      fail(name, "has the wrong rank", expected, v);
    }
    tokens_ = v.size(0);
    tokens_from_ = name;
    return tokens_;
  }

  std::int64_t tokens() const { return tokens_; }

  /** Checks one tensor against one of the allowed shapes. */
  void tensor(std::string_view name, const TensorView& v, DType dtype,
              std::initializer_list<Shape> allowed, std::size_t align, bool output) {
    std::string expected;
    for (const Shape& s : allowed) {
      expected += expected.empty() ? "" : " or ";
      expected += shape_text(dtype, s);
    }
    if (!tokens_from_.empty() && allowed.begin()->size() >= 2) {
      expected += fmt::format(" (T = {} from '{}')", tokens_, tokens_from_);
    }
    if (v.memory() != target_) {
      fail(name, fmt::format("is in {} memory", memory_name(v.memory())),
           fmt::format("{} memory", memory_name(target_)), v);
    }
    if (device_ < 0) {
      device_ = v.device();
      device_from_ = name;
    } else if (v.device() != device_) {
      fail(name, "is on another device",
           fmt::format("device {} (like '{}')", device_, device_from_), v);
    }
    if (v.dtype() != dtype) {
      fail(name, "has the wrong dtype", expected, v);
    }
    bool shape_ok = false;
    for (const Shape& s : allowed) {
      if (v.rank() == static_cast<int>(s.size()) &&
          std::equal(s.begin(), s.end(), v.shape().begin())) {
        shape_ok = true;
      }
    }
    if (!shape_ok) {
      fail(name, "has the wrong shape", expected, v);
    }
    if (!v.is_contiguous()) {
      fail(name, "is not contiguous", "a contiguous (row-major) tensor", v);
    }
    if (v.numel() > 0) {
      if (v.data() == nullptr) {
        fail(name, "is a null pointer", "a valid data pointer (only empty tensors may be null)", v);
      }
      const auto address = reinterpret_cast<std::uintptr_t>(v.data());
      if (address % align != 0) {
        fail(name, fmt::format("is misaligned (address 0x{:x})", address),
             fmt::format("a {}-byte aligned data pointer", align), v);
      }
      (output ? outputs_ : inputs_).push_back({name, v});
    }
  }

  void input(std::string_view name, const TensorView& v, DType dtype,
             std::initializer_list<Shape> allowed) {
    tensor(name, v, dtype, allowed, natural_align(dtype), false);
  }
  void output(std::string_view name, const TensorView& v, DType dtype,
              std::initializer_list<Shape> allowed) {
    tensor(name, v, dtype, allowed, natural_align(dtype), true);
  }
  /** fp32 weights read with 16-byte accesses. */
  void weight(std::string_view name, const TensorView& v, std::initializer_list<Shape> allowed) {
    tensor(name, v, DType::f32, allowed, 16, false);
  }

  void norm_weight(const Config& config, const std::optional<TensorView>& w) {
    if (config.norm_eps && !w) {
      throw UserError(fmt::format("{}: argument 'norm_weight': missing; expected bf16[{}] because "
                                  "config.norm_eps is set (fused RMSNorm)",
                                  op_, config.hidden));
    }
    if (!config.norm_eps && w) {
      throw UserError(fmt::format("{}: argument 'norm_weight': given, but config.norm_eps is not "
                                  "set; expected no norm weight, got {}",
                                  op_, w->describe()));
    }
    if (w) {
      input("norm_weight", *w, DType::bf16, {{config.hidden}});
    }
  }

  void workspace(const Config& config, const TensorView& ws, int num_splits) {
    const std::int64_t need = workspace_bytes(config, tokens_, num_splits);
    if (need == 0) {
      return;
    }
    const std::string expected = fmt::format(
        "a contiguous {} buffer of >= {} bytes (workspace_bytes(config, T = {}, splits = {}))",
        memory_name(target_), need, tokens_, num_splits);
    if (ws.memory() != target_) {
      fail("workspace", fmt::format("is in {} memory", memory_name(ws.memory())), expected, ws);
    }
    if (ws.device() != device_) {
      fail("workspace", "is on another device",
           fmt::format("device {} (like '{}')", device_, device_from_), ws);
    }
    if (!ws.is_contiguous()) {
      fail("workspace", "is not contiguous", expected, ws);
    }
    if (ws.nbytes() < need) {
      fail("workspace", fmt::format("is too small ({} bytes)", ws.nbytes()), expected, ws);
    }
    if (ws.data() == nullptr) {
      fail("workspace", "is a null pointer", expected, ws);
    }
    const auto address = reinterpret_cast<std::uintptr_t>(ws.data());
    if (address % 16 != 0) {
      fail("workspace", fmt::format("is misaligned (address 0x{:x})", address),
           "a 16-byte aligned data pointer", ws);
    }
    outputs_.push_back({"workspace", ws});
  }

  void check_splits(int num_splits) const {
    if (num_splits < 1 || num_splits > kMaxSplits) {
      throw UserError(
          fmt::format("{}: split count must be in [1, {}], got {}", op_, kMaxSplits, num_splits));
    }
  }

  /** Outputs must not overlap inputs or other outputs (all are contiguous here). */
  void check_overlaps() const {
    auto overlap = [](const TensorView& a, const TensorView& b) {
      const auto a0 = reinterpret_cast<std::uintptr_t>(a.data());
      const auto b0 = reinterpret_cast<std::uintptr_t>(b.data());
      return a0 < b0 + static_cast<std::uintptr_t>(b.nbytes()) &&
             b0 < a0 + static_cast<std::uintptr_t>(a.nbytes());
    };
    for (std::size_t i = 0; i < outputs_.size(); ++i) {
      for (const auto& in : inputs_) {
        if (overlap(outputs_[i].view, in.view)) {
          fail(outputs_[i].name,
               fmt::format("overlaps input '{}' ({})", in.name, in.view.describe()),
               "an output buffer disjoint from every input (no in-place operation)",
               outputs_[i].view);
        }
      }
      for (std::size_t j = 0; j < i; ++j) {
        if (overlap(outputs_[i].view, outputs_[j].view)) {
          fail(outputs_[i].name,
               fmt::format("overlaps output '{}' ({})", outputs_[j].name,
                           outputs_[j].view.describe()),
               "disjoint output buffers", outputs_[i].view);
        }
      }
    }
  }

private:
  static std::size_t natural_align(DType dtype) {
    return dtype == DType::bf16 ? 16 : dtype_size(dtype);
  }

  struct Named {
    std::string_view name;
    TensorView view;
  };

  std::string_view op_;
  MemoryKind target_;
  std::int64_t tokens_ = 0;
  std::string_view tokens_from_;
  int device_ = -1;
  std::string_view device_from_;
  std::vector<Named> inputs_;
  std::vector<Named> outputs_;
};

/** The post_mix / comb_mix shape forms accepted. */
void mix_outputs(Checker& c, const Config& cfg, std::string_view post_name, const TensorView& post,
                 std::string_view comb_name, const TensorView& comb, bool output) {
  const std::int64_t t = c.tokens();
  const std::int64_t n = cfg.n();
  const DType f32 = DType::f32;
  if (output) {
    c.output(post_name, post, f32, {{t, n}, {t, n, 1}});
    c.output(comb_name, comb, f32, {{t, n, n}, {t, n * n}});
  } else {
    c.input(post_name, post, f32, {{t, n}, {t, n, 1}});
    c.input(comb_name, comb, f32, {{t, n, n}, {t, n * n}});
  }
}

} // namespace

WorkspaceLayout workspace_layout(const Config& config, std::int64_t tokens, int num_splits) {
  if (tokens < 0 || num_splits < 1) {
    throw UserError(fmt::format("mhc::workspace_layout: expected tokens >= 0 and num_splits >= 1, "
                                "got tokens={}, num_splits={}",
                                tokens, num_splits));
  }
  auto align = [](std::int64_t b) {
    return (b + kWorkspaceAlign - 1) / kWorkspaceAlign * kWorkspaceAlign;
  };
  WorkspaceLayout l;
  l.mix_offset = 0;
  l.mix_bytes = std::int64_t{num_splits} * tokens * config.mix_count() * 4;
  l.sqrsum_offset = align(l.mix_bytes);
  l.sqrsum_bytes = std::int64_t{num_splits} * tokens * 4;
  l.total_bytes = align(l.sqrsum_offset + l.sqrsum_bytes);
  return l;
}

std::int64_t workspace_bytes(const Config& config, std::int64_t tokens, int num_splits) {
  return workspace_layout(config, tokens, num_splits).total_bytes;
}

std::int64_t validate_pre(const Config& config, const PreArgs& a, int num_splits,
                          MemoryKind target) {
  Checker c("mhc_pre", config, target);
  c.check_splits(num_splits);
  const std::int64_t n = config.n(), h = config.hidden, m3 = config.mix_count();
  const std::int64_t t = c.tokens_from("residual", a.residual, DType::bf16, {n, h});
  c.input("residual", a.residual, DType::bf16, {{t, n, h}});
  c.weight("fn", a.fn, {{m3, config.k()}});
  c.input("scale", a.scale, DType::f32, {{3}});
  c.input("base", a.base, DType::f32, {{m3}});
  c.norm_weight(config, a.norm_weight);
  mix_outputs(c, config, "post_mix", a.post_mix, "comb_mix", a.comb_mix, true);
  c.output("layer_input", a.layer_input, DType::bf16, {{t, h}});
  c.workspace(config, a.workspace, num_splits);
  c.check_overlaps();
  return t;
}

std::int64_t validate_pre_broadcast(const Config& config, const PreBroadcastArgs& a, int num_splits,
                                    MemoryKind target) {
  Checker c("mhc_pre_broadcast", config, target);
  c.check_splits(num_splits);
  if (!config.norm_eps) {
    throw UserError("mhc_pre_broadcast: config.norm_eps is not set; expected a fused-norm "
                    "config (the broadcast variant always normalises the layer input)");
  }
  const std::int64_t n = config.n(), h = config.hidden, m3 = config.mix_count();
  const std::int64_t t = c.tokens_from("embedding", a.embedding, DType::bf16, {h});
  c.input("embedding", a.embedding, DType::bf16, {{t, h}});
  c.weight("fn_bcast", a.fn_bcast, {{m3, h}});
  c.input("scale", a.scale, DType::f32, {{3}});
  c.input("base", a.base, DType::f32, {{m3}});
  c.norm_weight(config, a.norm_weight);
  c.output("residual_out", a.residual_out, DType::bf16, {{t, n, h}});
  mix_outputs(c, config, "post_mix", a.post_mix, "comb_mix", a.comb_mix, true);
  c.output("layer_input", a.layer_input, DType::bf16, {{t, h}});
  c.workspace(config, a.workspace, num_splits);
  c.check_overlaps();
  return t;
}

std::int64_t validate_post(const Config& config, const PostArgs& a, MemoryKind target) {
  Checker c("mhc_post", config, target);
  const std::int64_t n = config.n(), h = config.hidden;
  const std::int64_t t = c.tokens_from("y", a.y, DType::bf16, {h});
  c.input("y", a.y, DType::bf16, {{t, h}});
  c.input("residual", a.residual, DType::bf16, {{t, n, h}});
  mix_outputs(c, config, "post_mix", a.post_mix, "comb_mix", a.comb_mix, false);
  c.output("out", a.out, DType::bf16, {{t, n, h}});
  c.check_overlaps();
  return t;
}

std::int64_t validate_fused_post_pre(const Config& config, const FusedPostPreArgs& a,
                                     int num_splits, MemoryKind target) {
  Checker c("mhc_fused_post_pre", config, target);
  c.check_splits(num_splits);
  const std::int64_t n = config.n(), h = config.hidden, m3 = config.mix_count();
  const std::int64_t t = c.tokens_from("y", a.y, DType::bf16, {h});
  c.input("y", a.y, DType::bf16, {{t, h}});
  c.input("residual", a.residual, DType::bf16, {{t, n, h}});
  mix_outputs(c, config, "post_mix", a.post_mix, "comb_mix", a.comb_mix, false);
  c.weight("fn", a.fn, {{m3, config.k()}});
  c.input("scale", a.scale, DType::f32, {{3}});
  c.input("base", a.base, DType::f32, {{m3}});
  c.norm_weight(config, a.norm_weight);
  c.output("residual_out", a.residual_out, DType::bf16, {{t, n, h}});
  mix_outputs(c, config, "post_mix_out", a.post_mix_out, "comb_mix_out", a.comb_mix_out, true);
  c.output("layer_input", a.layer_input, DType::bf16, {{t, h}});
  c.workspace(config, a.workspace, num_splits);
  c.check_overlaps();
  return t;
}

std::int64_t validate_head(const Config& config, const HeadArgs& a, MemoryKind target) {
  Checker c("hc_head", config, target);
  const std::int64_t n = config.n(), h = config.hidden;
  const std::int64_t t = c.tokens_from("residual", a.residual, DType::bf16, {n, h});
  c.input("residual", a.residual, DType::bf16, {{t, n, h}});
  c.weight("fn", a.fn, {{n, config.k()}});
  c.input("scale", a.scale, DType::f32, {{1}});
  c.input("base", a.base, DType::f32, {{n}});
  c.output("out", a.out, DType::bf16, {{t, h}});
  c.check_overlaps();
  return t;
}

std::int64_t validate_sinkhorn(const Config& config, const SinkhornArgs& a, MemoryKind target) {
  Checker c("sinkhorn", config, target);
  const std::int64_t n = config.n();
  const std::int64_t t = c.tokens_from("logits", a.logits, DType::f32, {n, n});
  c.input("logits", a.logits, DType::f32, {{t, n, n}});
  c.output("comb", a.comb, DType::f32, {{t, n, n}});
  c.check_overlaps();
  return t;
}

std::int64_t validate_stage_a(const Config& config, const StageAArgs& a, std::int64_t k,
                              int num_splits, MemoryKind target) {
  Checker c("mhc_stage_a", config, target);
  c.check_splits(num_splits);
  if (k != config.k() && k != config.hidden) {
    throw UserError(fmt::format("mhc_stage_a: reduction length k = {}; expected n·H = {} or H = {} "
                                "(broadcast)",
                                k, config.k(), config.hidden));
  }
  const std::int64_t m3 = config.mix_count(), s = num_splits;
  const std::int64_t t = c.tokens_from("x", a.x, DType::bf16, {k});
  c.input("x", a.x, DType::bf16, {{t, k}});
  c.weight("fn", a.fn, {{m3, k}});
  c.output("partial_mix", a.partial_mix, DType::f32, {{s, t, m3}});
  c.output("partial_sqrsum", a.partial_sqrsum, DType::f32, {{s, t}});
  c.check_overlaps();
  return t;
}

std::int64_t validate_big_fuse(const Config& config, const BigFuseArgs& a, int num_splits,
                               MemoryKind target) {
  Checker c("mhc_big_fuse", config, target);
  c.check_splits(num_splits);
  const std::int64_t n = config.n(), h = config.hidden, m3 = config.mix_count(), s = num_splits;
  const std::int64_t t = c.tokens_from("residual", a.residual, DType::bf16, {n, h});
  c.input("residual", a.residual, DType::bf16, {{t, n, h}});
  c.input("partial_mix", a.partial_mix, DType::f32, {{s, t, m3}});
  c.input("partial_sqrsum", a.partial_sqrsum, DType::f32, {{s, t}});
  c.input("scale", a.scale, DType::f32, {{3}});
  c.input("base", a.base, DType::f32, {{m3}});
  c.norm_weight(config, a.norm_weight);
  mix_outputs(c, config, "post_mix", a.post_mix, "comb_mix", a.comb_mix, true);
  c.output("layer_input", a.layer_input, DType::bf16, {{t, h}});
  c.check_overlaps();
  return t;
}

} // namespace tessera::mhc
