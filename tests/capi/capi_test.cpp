// libtessera_c.so through its C header only (what Python's ctypes sees): every failure is a
// status with a message and never an exception, records convert exactly, an op runs on host
// tensors (CPU backend) and matches the library's fp64 reference, strings are released.
#include "base/float16.h"
#include "capi/tessera_c.h"

#include <catch2/catch.hpp>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <nlohmann/json.hpp>
#include <random>
#include <string>
#include <vector>

namespace {

constexpr std::int32_t kF32 = TESSERA_DTYPE_FLOAT | 32 << 8;
constexpr std::int32_t kBf16 = TESSERA_DTYPE_BFLOAT | 16 << 8;

tessera_tensor host(void* data, std::int32_t dtype, std::vector<std::int64_t> shape) {
  tessera_tensor t{};
  t.data = data;
  t.rank = static_cast<std::int32_t>(shape.size());
  t.dtype = dtype;
  t.device_type = TESSERA_DEVICE_CPU;
  std::int64_t stride = 1;
  for (int d = t.rank - 1; d >= 0; --d) {
    t.shape[d] = shape[d];
    t.strides[d] = stride;
    stride *= shape[d];
  }
  return t;
}

tessera_mhc_config config(std::int64_t hidden) {
  return {.hidden = hidden,
          .hc_mult = 4,
          .sinkhorn_iters = 20,
          .rms_eps = 1e-6f,
          .hc_pre_eps = 1e-6f,
          .hc_sinkhorn_eps = 1e-6f,
          .post_mult = 2.0f,
          .gemm_precision = 0,
          .splits = 0,
          .has_norm = 0,
          .norm_eps = 0.0f};
}

std::int32_t op_id(const char* name) {
  std::int32_t id = -1;
  REQUIRE(tessera_mhc_op_id(name, &id) == TESSERA_OK);
  return id;
}

nlohmann::json take_json(char* text) {
  REQUIRE(text != nullptr);
  nlohmann::json j = nlohmann::json::parse(text);
  tessera_free(text);
  return j;
}

} // namespace

TEST_CASE("C ABI: version, info, op ids", "[capi]") {
  CHECK(tessera_abi_version() == TESSERA_C_ABI_VERSION);
  char* info = nullptr;
  REQUIRE(tessera_info(&info) == TESSERA_OK);
  const auto j = take_json(info);
  CHECK(j.at("abi") == TESSERA_C_ABI_VERSION);
  CHECK(j.at("cpu_backend") == true);
  CHECK(std::string(tessera_last_error()).empty());
  CHECK(op_id("mhc_pre") == 0);
  CHECK(op_id("sinkhorn") == 5);
}

TEST_CASE("C ABI: failures are statuses with a message naming the problem", "[capi]") {
  std::int32_t id = 0;
  CHECK(tessera_mhc_op_id("mhc_nope", &id) == TESSERA_BAD_ARGUMENT);
  CHECK_THAT(tessera_last_error(), Catch::Contains("unknown mHC op 'mhc_nope'"));
  CHECK(tessera_mhc_op_id(nullptr, &id) == TESSERA_BAD_ARGUMENT);
  CHECK_THAT(tessera_last_error(), Catch::Contains("name is a null pointer"));
  const tessera_mhc_config bad = config(0);
  std::int64_t bytes = 0;
  CHECK(tessera_mhc_workspace_bytes(0, &bad, 4, -1, &bytes) == TESSERA_BAD_ARGUMENT);
  CHECK_THAT(tessera_last_error(), Catch::Contains("hidden"));
  const tessera_mhc_config good = config(256);
  CHECK(tessera_mhc_workspace_bytes(99, &good, 4, -1, &bytes) == TESSERA_BAD_ARGUMENT);
  CHECK_THAT(tessera_last_error(), Catch::Contains("op id 99"));
  CHECK(tessera_mhc_run(op_id("mhc_post"), &good, nullptr, 2, nullptr) == TESSERA_BAD_ARGUMENT);
  CHECK_THAT(tessera_last_error(), Catch::Contains("2 tensors given, the op takes 5"));
  char* text = nullptr;
  CHECK(tessera_emit("rmsnorm", nullptr, 0, "no_such_form", "cuda", &text) == TESSERA_BAD_ARGUMENT);
  CHECK_THAT(tessera_last_error(), Catch::Contains("no_such_form"));
  CHECK(text == nullptr);
  // A successful call clears the message.
  REQUIRE(tessera_mhc_workspace_bytes(0, &good, 4, -1, &bytes) == TESSERA_OK);
  CHECK(bytes > 0);
  CHECK(std::string(tessera_last_error()).empty());
}

TEST_CASE("C ABI: a wrong tensor record is rejected before any work", "[capi]") {
  const tessera_mhc_config cfg = config(64);
  std::vector<float> logits(2 * 16, 0.5f), comb(2 * 16);
  tessera_tensor t[2] = {host(logits.data(), kF32, {2, 4, 4}), host(comb.data(), kF32, {2, 4, 4})};
  const std::int32_t sinkhorn = op_id("sinkhorn");
  t[0].dtype = TESSERA_DTYPE_FLOAT | 8 << 8;
  CHECK(tessera_mhc_run(sinkhorn, &cfg, t, 2, nullptr) == TESSERA_BAD_ARGUMENT);
  CHECK_THAT(tessera_last_error(), Catch::Contains("logits: unsupported dtype"));
  t[0].dtype = kF32;
  t[0].device_type = 7;
  CHECK(tessera_mhc_run(sinkhorn, &cfg, t, 2, nullptr) == TESSERA_BAD_ARGUMENT);
  CHECK_THAT(tessera_last_error(), Catch::Contains("device type 7"));
  t[0].device_type = TESSERA_DEVICE_CPU;
  t[0].rank = 7;
  CHECK(tessera_mhc_run(sinkhorn, &cfg, t, 2, nullptr) == TESSERA_BAD_ARGUMENT);
  CHECK_THAT(tessera_last_error(), Catch::Contains("rank 7"));
  t[0].rank = 3;
  t[1].strides[2] = 2; // not contiguous
  CHECK(tessera_mhc_run(sinkhorn, &cfg, t, 2, nullptr) == TESSERA_BAD_ARGUMENT);
  CHECK_THAT(tessera_last_error(), Catch::Contains("contiguous"));
}

TEST_CASE("C ABI: mhc_post on host tensors matches the fp64 reference", "[capi]") {
  const std::int64_t T = 3, n = 4, H = 200;
  std::mt19937 rng(11);
  std::normal_distribution<float> dist(0.0f, 1.0f);
  auto bf16_values = [&](std::size_t count) {
    std::vector<tessera::bf16> v(count);
    for (auto& x : v) {
      x = tessera::bf16(dist(rng));
    }
    return v;
  };
  auto y = bf16_values(T * H), residual = bf16_values(T * n * H);
  std::vector<float> post(T * n), comb(T * n * n);
  for (float& x : post) {
    x = dist(rng);
  }
  for (float& x : comb) {
    x = dist(rng);
  }
  std::vector<tessera::bf16> out(T * n * H, tessera::bf16(NAN)), want(T * n * H);
  std::vector<tessera_tensor> t = {
      host(y.data(), kBf16, {T, H}), host(residual.data(), kBf16, {T, n, H}),
      host(post.data(), kF32, {T, n}), host(comb.data(), kF32, {T, n, n}),
      host(out.data(), kBf16, {T, n, H})};
  const tessera_mhc_config cfg = config(H);
  const std::int32_t post_op = op_id("mhc_post");
  REQUIRE(tessera_mhc_run(post_op, &cfg, t.data(), 5, nullptr) == TESSERA_OK);
  t[4].data = want.data();
  REQUIRE(tessera_mhc_reference(post_op, &cfg, t.data(), 5) == TESSERA_OK);
  for (std::size_t i = 0; i < out.size(); ++i) {
    const float got = static_cast<float>(out[i]), ref = static_cast<float>(want[i]);
    REQUIRE(std::isfinite(got));
    REQUIRE(std::abs(got - ref) <= 1.6e-2f + 1e-2f * std::abs(ref));
  }
  char* sig = nullptr;
  REQUIRE(tessera_mhc_signature(post_op, &cfg, T, -1, &sig) == TESSERA_OK);
  const auto j = take_json(sig);
  CHECK(j.at("tensors").size() == 5);
  CHECK(j.at("tensors")[4].at("name") == "out");
  CHECK(j.at("tensors")[4].at("output") == true);
  CHECK(j.at("workspace_bytes") == 0);
}

TEST_CASE("C ABI: kernels, emit, compile, cache", "[capi]") {
  char* text = nullptr;
  REQUIRE(tessera_kernels(&text) == TESSERA_OK);
  const auto kernels = take_json(text);
  REQUIRE(kernels.is_array());
  CHECK(kernels.size() >= 10);
  const char* params[] = {"hidden=512"};
  REQUIRE(tessera_emit("rmsnorm", params, 1, "cuda", "cuda", &text) == TESSERA_OK);
  CHECK_THAT(std::string(text), Catch::Contains("__global__"));
  tessera_free(text);
  REQUIRE(tessera_emit("rmsnorm", params, 1, "lower_tile_ops", "cpu", &text) == TESSERA_OK);
  CHECK_THAT(std::string(text), Catch::Contains("kernel rmsnorm"));
  tessera_free(text);
  void* cubin = nullptr;
  std::int64_t size = 0;
  char* info = nullptr;
  REQUIRE(tessera_compile("rmsnorm", params, 1, "sm_80", &cubin, &size, &info) == TESSERA_OK);
  REQUIRE(size > 4);
  CHECK(std::memcmp(cubin,
                    "\x7f"
                    "ELF",
                    4) == 0);
  tessera_free(cubin);
  const auto meta = take_json(info);
  CHECK(meta.at("arch") == "sm_80");
  CHECK(meta.at("registers").get<int>() > 0);
  REQUIRE(tessera_cache_info(&text) == TESSERA_OK);
  CHECK(take_json(text).contains("directory"));
  tessera_free(nullptr);
}
