// Tessera device prelude: the small set of helpers generated kernels call. Hand-written CUDA,
// compiled by NVRTC together with every generated kernel (passed as an in-memory header).
//
// Math accuracy: by default the IEEE-accurate CUDA functions (expf, logf, tanhf, sqrtf, 1/x
// with correct rounding); sigmoid(x) = 1 / (1 + expf(-x)). Defining TESSERA_FAST_MATH (the
// runtime does when fast math is requested) switches to the __expf / __logf intrinsics and
// __frcp_rn-free approximate division, trading a few ulp for speed.
#pragma once

#include "tessera_mma.cuh"

#include <cuda_bf16.h>
#include <cuda_fp16.h>

namespace tessera {

// ------------------------------------------------------------------ conversions

template <class To, class From> __device__ __forceinline__ To convert(From x) {
  return static_cast<To>(x);
}
template <> __device__ __forceinline__ float convert<float, __nv_bfloat16>(__nv_bfloat16 x) {
  return __bfloat162float(x);
}
template <> __device__ __forceinline__ float convert<float, __half>(__half x) {
  return __half2float(x);
}
template <> __device__ __forceinline__ __nv_bfloat16 convert<__nv_bfloat16, float>(float x) {
  return __float2bfloat16_rn(x); // round to nearest even
}
template <> __device__ __forceinline__ __half convert<__half, float>(float x) {
  return __float2half_rn(x);
}
template <> __device__ __forceinline__ __nv_bfloat16 convert<__nv_bfloat16, double>(double x) {
  return __double2bfloat16(x);
}
template <> __device__ __forceinline__ __half convert<__half, double>(double x) {
  return __double2half(x);
}
template <> __device__ __forceinline__ double convert<double, __nv_bfloat16>(__nv_bfloat16 x) {
  return static_cast<double>(__bfloat162float(x));
}
template <> __device__ __forceinline__ double convert<double, __half>(__half x) {
  return static_cast<double>(__half2float(x));
}
template <>
__device__ __forceinline__ __nv_bfloat16 convert<__nv_bfloat16, __nv_bfloat16>(__nv_bfloat16 x) {
  return x;
}
template <> __device__ __forceinline__ __half convert<__half, __half>(__half x) {
  return x;
}
template <> __device__ __forceinline__ int convert<int, __nv_bfloat16>(__nv_bfloat16 x) {
  return static_cast<int>(__bfloat162float(x));
}
template <> __device__ __forceinline__ __nv_bfloat16 convert<__nv_bfloat16, int>(int x) {
  return __float2bfloat16_rn(static_cast<float>(x));
}

// ------------------------------------------------------------------ vectors (global memory)

/** N elements of T, aligned so one load/store moves them all (16 bytes at most). */
template <class T, int N> struct alignas(sizeof(T) * N) Vec {
  T v[N];
  __device__ __forceinline__ T& operator[](int i) { return v[i]; }
  __device__ __forceinline__ const T& operator[](int i) const { return v[i]; }
};

/** One vector load; `p` must be aligned to sizeof(T) * N (the compiler proved it). */
template <int N, class T> __device__ __forceinline__ Vec<T, N> load_vec(const T* p) {
  return *reinterpret_cast<const Vec<T, N>*>(p);
}
template <int N, class T> __device__ __forceinline__ void store_vec(T* p, const Vec<T, N>& v) {
  *reinterpret_cast<Vec<T, N>*>(p) = v;
}

// ------------------------------------------------------------------ math

template <class T> __device__ __forceinline__ T min(T a, T b) {
  return b < a ? b : a;
}
template <class T> __device__ __forceinline__ T max(T a, T b) {
  return a < b ? b : a;
}
__device__ __forceinline__ float min(float a, float b) {
  return fminf(a, b);
}
__device__ __forceinline__ float max(float a, float b) {
  return fmaxf(a, b);
}
__device__ __forceinline__ double min(double a, double b) {
  return fmin(a, b);
}
__device__ __forceinline__ double max(double a, double b) {
  return fmax(a, b);
}

#ifdef TESSERA_FAST_MATH
__device__ __forceinline__ float exp(float x) {
  return __expf(x);
}
__device__ __forceinline__ float exp2(float x) {
  return exp2f(x);
}
__device__ __forceinline__ float log(float x) {
  return __logf(x);
}
__device__ __forceinline__ float log2(float x) {
  return __log2f(x);
}
__device__ __forceinline__ float sigmoid(float x) {
  return __fdividef(1.0f, 1.0f + __expf(-x));
}
#else
__device__ __forceinline__ float exp(float x) {
  return expf(x);
}
__device__ __forceinline__ float exp2(float x) {
  return exp2f(x);
}
__device__ __forceinline__ float log(float x) {
  return logf(x);
}
__device__ __forceinline__ float log2(float x) {
  return log2f(x);
}
// IEEE division: its out-of-range slow path is a subroutine call, so under register pressure
// ptxas reports a small stack frame (never touched for sigmoid, whose divisor is >= 1).
__device__ __forceinline__ float sigmoid(float x) {
  return 1.0f / (1.0f + expf(-x));
}
#endif
__device__ __forceinline__ float sqrt(float x) {
  return sqrtf(x);
}
__device__ __forceinline__ float rsqrt(float x) {
  return rsqrtf(x);
}
__device__ __forceinline__ float tanh(float x) {
  return tanhf(x);
}
__device__ __forceinline__ float abs(float x) {
  return fabsf(x);
}
__device__ __forceinline__ float floor(float x) {
  return floorf(x);
}
__device__ __forceinline__ float ceil(float x) {
  return ceilf(x);
}
__device__ __forceinline__ float fma(float a, float b, float c) {
  return fmaf(a, b, c);
}
/** f32 rounded to TF32 precision (cvt.rna: nearest, ties away from zero), as f32. */
__device__ __forceinline__ float round_tf32(float x) {
  unsigned r;
  asm("cvt.rna.tf32.f32 %0, %1;" : "=r"(r) : "f"(x));
  return __uint_as_float(r);
}
__device__ __forceinline__ double exp(double x) {
  return ::exp(x);
}
__device__ __forceinline__ double exp2(double x) {
  return ::exp2(x);
}
__device__ __forceinline__ double log(double x) {
  return ::log(x);
}
__device__ __forceinline__ double log2(double x) {
  return ::log2(x);
}
__device__ __forceinline__ double sigmoid(double x) {
  return 1.0 / (1.0 + ::exp(-x));
}
__device__ __forceinline__ double sqrt(double x) {
  return ::sqrt(x);
}
__device__ __forceinline__ double rsqrt(double x) {
  return ::rsqrt(x);
}
__device__ __forceinline__ double tanh(double x) {
  return ::tanh(x);
}
__device__ __forceinline__ double abs(double x) {
  return ::fabs(x);
}
__device__ __forceinline__ double floor(double x) {
  return ::floor(x);
}
__device__ __forceinline__ double ceil(double x) {
  return ::ceil(x);
}
__device__ __forceinline__ double fma(double a, double b, double c) {
  return ::fma(a, b, c);
}
__device__ __forceinline__ int abs(int x) {
  return x < 0 ? -x : x;
}

// ------------------------------------------------------------------ warp collectives

template <class T> __device__ __forceinline__ T shfl_xor(T x, int mask) {
  return __shfl_xor_sync(0xffffffffu, x, mask);
}
template <class T> __device__ __forceinline__ T shfl_idx(T x, int lane) {
  return __shfl_sync(0xffffffffu, x, lane);
}
/** Butterfly all-reduce over groups of `width` lanes (power of two <= 32). */
template <class T> __device__ __forceinline__ T warp_sum(T x, int width = 32) {
  for (int m = width / 2; m > 0; m /= 2) {
    x += __shfl_xor_sync(0xffffffffu, x, m);
  }
  return x;
}
template <class T> __device__ __forceinline__ T warp_max(T x, int width = 32) {
  for (int m = width / 2; m > 0; m /= 2) {
    x = max(x, __shfl_xor_sync(0xffffffffu, x, m));
  }
  return x;
}
template <class T> __device__ __forceinline__ T warp_min(T x, int width = 32) {
  for (int m = width / 2; m > 0; m /= 2) {
    x = min(x, __shfl_xor_sync(0xffffffffu, x, m));
  }
  return x;
}

// ------------------------------------------------------------------ synchronisation

/** bar.sync over `count` threads (a multiple of 32) with barrier `id` (1..15; 0 is
 *  __syncthreads). Used inside thread ranges, where __syncthreads would deadlock. */
__device__ __forceinline__ void named_barrier(int id, int count) {
  asm volatile("bar.sync %0, %1;" ::"r"(id), "r"(count) : "memory");
}

/** Every thread of every block of the cluster (sm_90+). Release/acquire at cluster scope: what
 *  a block wrote to global or shared memory before it is visible to the whole cluster after it.
 *  A kernel with a cluster cannot run before sm_90, so compiling one for an older arch fails
 *  here rather than at launch. */
template <bool kClusters =
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ < 900
              false
#else
              true
#endif
          >
__device__ __forceinline__ void cluster_barrier() {
  static_assert(kClusters, "cluster_barrier needs sm_90 or newer (thread-block clusters)");
  asm volatile("barrier.cluster.arrive.release.aligned;\n\t"
               "barrier.cluster.wait.acquire.aligned;" ::
                   : "memory");
}

/** Programmatic dependent launch (sm_90+; no-ops on older GPUs). */
__device__ __forceinline__ void pdl_wait() {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
  asm volatile("griddepcontrol.wait;" ::: "memory");
#endif
}
__device__ __forceinline__ void pdl_trigger() {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
  asm volatile("griddepcontrol.launch_dependents;" ::: "memory");
#endif
}

// ------------------------------------------------------------------ cp.async (sm_80+)

/** Asynchronous global → shared copy of BYTES (4, 8 or 16); `src_bytes` < BYTES zero-fills the
 *  rest (bounds-safe tails). */
template <int BYTES>
__device__ __forceinline__ void cp_async(void* smem, const void* gmem, int src_bytes = BYTES) {
  const unsigned s = static_cast<unsigned>(__cvta_generic_to_shared(smem));
  if constexpr (BYTES == 16) {
    asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;" ::"r"(s), "l"(gmem), "r"(src_bytes)
                 : "memory");
  } else {
    asm volatile("cp.async.ca.shared.global [%0], [%1], %2, %3;" ::"r"(s), "l"(gmem), "n"(BYTES),
                 "r"(src_bytes)
                 : "memory");
  }
}
__device__ __forceinline__ void cp_async_commit() {
  asm volatile("cp.async.commit_group;" ::: "memory");
}
template <int N> __device__ __forceinline__ void cp_async_wait() {
  asm volatile("cp.async.wait_group %0;" ::"n"(N) : "memory");
}
__device__ __forceinline__ void cp_async_wait_all() {
  asm volatile("cp.async.wait_all;" ::: "memory");
}

// ------------------------------------------------------------------ atomics

__device__ __forceinline__ float atomic_add(float* p, float v) {
  return atomicAdd(p, v);
}
__device__ __forceinline__ int atomic_add(int* p, int v) {
  return atomicAdd(p, v);
}
__device__ __forceinline__ double atomic_add(double* p, double v) {
  return atomicAdd(p, v);
}
__device__ __forceinline__ int atomic_max(int* p, int v) {
  return atomicMax(p, v);
}
/** Float max via the integer-ordering trick: non-negative floats order like signed ints,
 *  negative floats order reversed like unsigned ints. NaN inputs are not propagated. */
__device__ __forceinline__ float atomic_max(float* p, float v) {
  return v >= 0.0f ? __int_as_float(atomicMax(reinterpret_cast<int*>(p), __float_as_int(v)))
                   : __uint_as_float(atomicMin(reinterpret_cast<unsigned*>(p), __float_as_uint(v)));
}

} // namespace tessera
