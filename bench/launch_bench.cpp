// Host launch overhead (needs a GPU): microseconds of host time per launch of an empty kernel,
// over many launches, for Tessera's checked typed launch, with PDL, unchecked, and the raw
// driver call as a baseline (target: <= 3 us per launch); then per call of the mHC host API
// (tessera::mhc::mhc_post / mhc_pre at T = 1, H = 4096: validation, plan, launches), the C++
// figure bench/python_overhead.py sets Python's beside.
#include "bench/bench_util.h"
#include "kernels/mhc/ops.h"
#include "runtime/compile_cuda.h"

#include <cstdio>
#include <string>

using namespace tessera;

namespace {

const char* kSource = R"(
extern "C" __global__ void empty_kernel(float* out, const float* in, float scale, int n) {}
)";

constexpr int kBatch = 500;   // launches timed back to back (stays below the queue depth)
constexpr int kBatches = 200; // 100k launches per row

template <class F> double per_launch_us(Stream& stream, F&& launch_once) {
  for (int i = 0; i < kBatch; ++i) {
    launch_once(); // warm-up
  }
  stream.synchronize();
  std::vector<double> samples;
  for (int b = 0; b < kBatches; ++b) {
    const double t0 = bench::now_us();
    for (int i = 0; i < kBatch; ++i) {
      launch_once();
    }
    samples.push_back((bench::now_us() - t0) / kBatch);
    stream.synchronize(); // drain outside the timed region
  }
  return bench::median(samples);
}

} // namespace

int main() {
  try {
    CompileOptions options; // arch "auto": the arch of device 0
    auto program = compile_cuda(kSource, options);
    DeviceFunction kernel = program->kernel("empty_kernel");
    DeviceBuffer out(1024 * sizeof(float)), in(1024 * sizeof(float));
    float* out_ptr = static_cast<float*>(out.data());
    const float* in_ptr = static_cast<const float*>(in.data());
    const float scale = 1.0f;
    const int n = 1024;
    Stream stream;
    LaunchConfig cfg;
    cfg.grid = Dim3(1);
    cfg.block = Dim3(32);
    cfg.stream = stream;
    LaunchConfig pdl = cfg;
    pdl.pdl = true;

    const double typed =
        per_launch_us(stream, [&] { kernel.launch(cfg, out_ptr, in_ptr, scale, n); });
    const double typed_sig = [&] {
      kernel.set_signature(
          {ParamDecl::pointer(DType::f32, "out"), ParamDecl::pointer(DType::f32, "in"),
           ParamDecl::scalar(DType::f32, "scale"), ParamDecl::scalar(DType::i32, "n")});
      return per_launch_us(stream, [&] { kernel.launch(cfg, out_ptr, in_ptr, scale, n); });
    }();
    const double typed_pdl =
        per_launch_us(stream, [&] { kernel.launch(pdl, out_ptr, in_ptr, scale, n); });
    void* args[] = {&out_ptr, const_cast<float**>(&in_ptr), const_cast<float*>(&scale),
                    const_cast<int*>(&n)};
    const double unchecked = per_launch_us(stream, [&] { kernel.launch_unchecked(cfg, args); });
    const DriverApi& api = driver();
    CUfunction f = kernel.function();
    CUstream s = stream.get();
    const double raw = per_launch_us(stream, [&] {
      CUlaunchConfig c{};
      c.gridDimX = c.gridDimY = c.gridDimZ = 1;
      c.blockDimX = 32;
      c.blockDimY = c.blockDimZ = 1;
      c.hStream = s;
      check(api.cuLaunchKernelEx(&c, f, args, nullptr), "cuLaunchKernelEx");
    });

    const DeviceInfo& info = device_info(0);
    std::printf("launch_bench: %s (%s), driver %d, %d launches per row, median of %d batches\n",
                info.name.c_str(), info.arch.c_str(), api.version, kBatch * kBatches, kBatches);
    std::printf("%-44s %10s %8s\n", "launch path", "us/launch", "target");
    std::printf("%-44s %10.3f %8s\n", "DeviceFunction::launch (count+size checks)", typed, "<= 3");
    std::printf("%-44s %10.3f %8s\n", "DeviceFunction::launch (+ declared signature)", typed_sig,
                "<= 3");
    std::printf("%-44s %10.3f %8s\n", "DeviceFunction::launch (+ signature, PDL attribute)",
                typed_pdl, "<= 3");
    std::printf("%-44s %10.3f %8s\n", "DeviceFunction::launch_unchecked", unchecked, "-");
    std::printf("%-44s %10.3f %8s\n", "raw cuLaunchKernelEx (baseline)", raw, "-");

    // The mHC host API from C++, T = 1, H = 4096 (inputs' values do not matter for timing).
    mhc::Config c;
    c.hidden = 4096;
    const std::int64_t H = c.hidden, hc = c.n(), M = c.mix_count();
    const auto ws_bytes = mhc::pre_workspace_bytes(c, 1);
    DeviceBuffer y(H * 2), res(hc * H * 2), post(hc * 4), comb(hc * hc * 4), res_out(hc * H * 2),
        fn(M * hc * H * 4), sc(16), base(M * 4), li(H * 2), ws(ws_bytes);
    for (DeviceBuffer* b : {&y, &res, &post, &comb, &fn, &sc, &base}) {
      b->fill_bytes(0);
    }
    const mhc::PostArgs post_args{.y = y.view(DType::bf16, {1, H}),
                                  .residual = res.view(DType::bf16, {1, hc, H}),
                                  .post_mix = post.view(DType::f32, {1, hc}),
                                  .comb_mix = comb.view(DType::f32, {1, hc, hc}),
                                  .out = res_out.view(DType::bf16, {1, hc, H})};
    const mhc::PreArgs pre_args{.residual = res.view(DType::bf16, {1, hc, H}),
                                .fn = fn.view(DType::f32, {M, hc * H}),
                                .scale = sc.view(DType::f32, {3}),
                                .base = base.view(DType::f32, {M}),
                                .norm_weight = std::nullopt,
                                .post_mix = post.view(DType::f32, {1, hc}),
                                .comb_mix = comb.view(DType::f32, {1, hc, hc}),
                                .layer_input = li.view(DType::bf16, {1, H}),
                                .workspace = ws.view(DType::u8, {ws_bytes})};
    const double post_call =
        per_launch_us(stream, [&] { mhc::mhc_post(c, post_args, stream.get()); });
    const double pre_call = per_launch_us(stream, [&] { mhc::mhc_pre(c, pre_args, stream.get()); });
    std::printf("%-44s %10.3f %8s\n", "tessera::mhc::mhc_post call, T=1 H=4096", post_call, "-");
    std::printf("%-44s %10.3f %8s\n", "tessera::mhc::mhc_pre call, T=1 H=4096", pre_call, "-");
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "launch_bench: %s\n", e.what());
    return 1;
  }
}
