/** \file
 * Tensor-core and asynchronous-copy helpers for generated CUDA (no CUTLASS/CuTe): thin PTX
 * wrappers (mma.sync, ldmatrix, cp.async, cvt.rna.tf32) and the block-level shared×shared GEMM
 * that `gemm` lowers to (codegen/cuda/gemm_lowering.h). Included by tessera_prelude.cuh.
 *
 * Everything lives in `tessera::mma` and needs sm_80 or newer. NVRTC compiles this header for
 * sm_80 and sm_90a in CI (tests/codegen/cuda/gemm_mma_test.cpp).
 *
 * Accumulator layout (the "mma accumulator" fragment layout; host-side closed form in
 * codegen/cuda/gemm_layout.h). For a block tile C[M][N] computed by WARPS_M × WARPS_N warps,
 * each warp owns a WM × WN sub-tile (WM = M / WARPS_M, WN = N / WARPS_N), cut into MT × NT
 * instruction tiles of 16 × 8 (MT = WM / 16, NT = WN / 8). Element C[i][j] lives in
 *   warp  = (i / WM) * WARPS_N + (j / WN)
 *   lane  = (i % 8) * 4 + (j % 8) / 2
 *   reg   = ((i % WM) / 16 * NT + (j % WN) / 8) * 4 + ((i % 16) / 8) * 2 + (j % 2)
 * i.e. the PTX m16n8 accumulator layout (c0,c1: row g, cols 2t,2t+1; c2,c3: row g+8), tiled.
 * Warps with index ≥ WARPS_M × WARPS_N own nothing and skip the GEMM.
 */
#pragma once

#include <cuda_bf16.h>
#include <cuda_fp16.h>

namespace tessera {
namespace mma {

typedef unsigned int u32;

// ---------------------------------------------------------------------------------------------
// Conversions
// ---------------------------------------------------------------------------------------------

/** A generic pointer into shared memory as the 32-bit shared-window address PTX wants. */
__device__ __forceinline__ u32 smem_addr(const void* p) {
  return static_cast<u32>(__cvta_generic_to_shared(p));
}

/**
 * f32 → TF32 bit pattern with cvt.rna.tf32.f32: round to nearest, ties *away from zero*, at the
 * 10-bit mantissa cut (the low 13 bits of the result are zero). This is the rounding DeepSeek's
 * TileKernels `round_to_tf32` performs (add 0x1000 to the bits, clear the low 13), so results
 * agree with its references. NaN stays NaN; values that round past FLT_MAX become infinity.
 */
__device__ __forceinline__ u32 f32_to_tf32(float x) {
  u32 r;
  asm("cvt.rna.tf32.f32 %0, %1;" : "=r"(r) : "f"(x));
  return r;
}

__device__ __forceinline__ float to_f32(float x) {
  return x;
}
__device__ __forceinline__ float to_f32(__nv_bfloat16 x) {
  return __bfloat162float(x);
}
__device__ __forceinline__ float to_f32(__half x) {
  return __half2float(x);
}

/** TF32 operand register from any supported element type. bf16 and f16 values are exactly
 *  representable in TF32 (8 resp. 11 significant bits), so they skip the rounding instruction. */
__device__ __forceinline__ u32 to_tf32_operand(float x) {
  return f32_to_tf32(x);
}
__device__ __forceinline__ u32 to_tf32_operand(__nv_bfloat16 x) {
  return __float_as_uint(__bfloat162float(x));
}
__device__ __forceinline__ u32 to_tf32_operand(__half x) {
  return __float_as_uint(__half2float(x));
}

/** Two 16-bit elements packed low-first into one 32-bit mma operand register. */
template <typename T> __device__ __forceinline__ u32 pack2(T lo, T hi) {
  unsigned short l = *reinterpret_cast<const unsigned short*>(&lo);
  unsigned short h = *reinterpret_cast<const unsigned short*>(&hi);
  return static_cast<u32>(l) | (static_cast<u32>(h) << 16);
}

// ---------------------------------------------------------------------------------------------
// mma.sync (warp-collective). d += a · b with f32 accumulators d[4] in the m16n8 layout above.
// ---------------------------------------------------------------------------------------------

/** m16n8k16, bf16 × bf16 → f32. a: 4 regs (8 bf16), b: 2 regs (4 bf16). */
__device__ __forceinline__ void mma_m16n8k16_bf16(float (&d)[4], const u32 (&a)[4],
                                                  const u32 (&b)[2]) {
  asm volatile("mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 "
               "{%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, {%0,%1,%2,%3};"
               : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
               : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b[0]), "r"(b[1]));
}

/** m16n8k16, f16 × f16 → f32. */
__device__ __forceinline__ void mma_m16n8k16_f16(float (&d)[4], const u32 (&a)[4],
                                                 const u32 (&b)[2]) {
  asm volatile("mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32 "
               "{%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, {%0,%1,%2,%3};"
               : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
               : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b[0]), "r"(b[1]));
}

/** m16n8k8, TF32 × TF32 → f32. Operands are TF32 bit patterns (see f32_to_tf32). */
__device__ __forceinline__ void mma_m16n8k8_tf32(float (&d)[4], const u32 (&a)[4],
                                                 const u32 (&b)[2]) {
  asm volatile("mma.sync.aligned.m16n8k8.row.col.f32.tf32.tf32.f32 "
               "{%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, {%0,%1,%2,%3};"
               : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
               : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b[0]), "r"(b[1]));
}

// ---------------------------------------------------------------------------------------------
// ldmatrix (warp-collective): 8×8 matrices of 16-bit elements; lane l supplies the address of
// row l % 8 of matrix l / 8 (16-byte aligned). Lanes past the matrix count are ignored.
// ---------------------------------------------------------------------------------------------

__device__ __forceinline__ void ldmatrix_x1(u32 (&r)[1], u32 addr) {
  asm volatile("ldmatrix.sync.aligned.m8n8.x1.shared.b16 {%0}, [%1];" : "=r"(r[0]) : "r"(addr));
}
__device__ __forceinline__ void ldmatrix_x2(u32 (&r)[2], u32 addr) {
  asm volatile("ldmatrix.sync.aligned.m8n8.x2.shared.b16 {%0,%1}, [%2];"
               : "=r"(r[0]), "=r"(r[1])
               : "r"(addr));
}
__device__ __forceinline__ void ldmatrix_x4(u32 (&r)[4], u32 addr) {
  asm volatile("ldmatrix.sync.aligned.m8n8.x4.shared.b16 {%0,%1,%2,%3}, [%4];"
               : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
               : "r"(addr));
}
/** .trans variants: each 8×8 matrix is delivered transposed. */
__device__ __forceinline__ void ldmatrix_x1_trans(u32 (&r)[1], u32 addr) {
  asm volatile("ldmatrix.sync.aligned.m8n8.x1.trans.shared.b16 {%0}, [%1];"
               : "=r"(r[0])
               : "r"(addr));
}
__device__ __forceinline__ void ldmatrix_x2_trans(u32 (&r)[2], u32 addr) {
  asm volatile("ldmatrix.sync.aligned.m8n8.x2.trans.shared.b16 {%0,%1}, [%2];"
               : "=r"(r[0]), "=r"(r[1])
               : "r"(addr));
}
__device__ __forceinline__ void ldmatrix_x4_trans(u32 (&r)[4], u32 addr) {
  asm volatile("ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16 {%0,%1,%2,%3}, [%4];"
               : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
               : "r"(addr));
}

// ---------------------------------------------------------------------------------------------
// cp.async (sm_80+): global → shared without staging in registers. Copies issued by a thread
// are grouped by commit(); wait<N>() blocks until at most N of the thread's groups are still
// in flight. A barrier is still needed before other threads read the data.
// ---------------------------------------------------------------------------------------------

/** 16 bytes, cached in L1 and L2 (.ca). Both addresses 16-byte aligned. */
__device__ __forceinline__ void cp_async_ca_16(void* smem, const void* gmem) {
  asm volatile("cp.async.ca.shared.global [%0], [%1], 16;" ::"r"(smem_addr(smem)), "l"(gmem)
               : "memory");
}
/** 16 bytes, L2 only (.cg): the choice for streamed tiles. */
__device__ __forceinline__ void cp_async_cg_16(void* smem, const void* gmem) {
  asm volatile("cp.async.cg.shared.global [%0], [%1], 16;" ::"r"(smem_addr(smem)), "l"(gmem)
               : "memory");
}
/**
 * 16 bytes of which only the first `src_bytes` (0..16) are read; the rest of the destination
 * is zero-filled. Bounds-safe tails: pass 0 for a fully out-of-range chunk (`gmem` must still
 * be a valid pointer, e.g. the tensor's base; nothing is read from it).
 */
__device__ __forceinline__ void cp_async_cg_16_zfill(void* smem, const void* gmem, int src_bytes) {
  asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;" ::"r"(smem_addr(smem)), "l"(gmem),
               "r"(src_bytes)
               : "memory");
}
__device__ __forceinline__ void cp_async_ca_16_zfill(void* smem, const void* gmem, int src_bytes) {
  asm volatile("cp.async.ca.shared.global [%0], [%1], 16, %2;" ::"r"(smem_addr(smem)), "l"(gmem),
               "r"(src_bytes)
               : "memory");
}
/** 4 and 8 bytes (.ca only), for tiles whose rows are not 16-byte multiples. */
__device__ __forceinline__ void cp_async_ca_8(void* smem, const void* gmem) {
  asm volatile("cp.async.ca.shared.global [%0], [%1], 8;" ::"r"(smem_addr(smem)), "l"(gmem)
               : "memory");
}
__device__ __forceinline__ void cp_async_ca_4(void* smem, const void* gmem) {
  asm volatile("cp.async.ca.shared.global [%0], [%1], 4;" ::"r"(smem_addr(smem)), "l"(gmem)
               : "memory");
}
/** Closes the current group of this thread's cp.async (an empty group is legal). */
__device__ __forceinline__ void cp_async_commit() {
  asm volatile("cp.async.commit_group;" ::: "memory");
}
/** Waits until at most N of this thread's committed groups are pending. */
template <int N> __device__ __forceinline__ void cp_async_wait() {
  asm volatile("cp.async.wait_group %0;" ::"n"(N) : "memory");
}
__device__ __forceinline__ void cp_async_wait_all() {
  asm volatile("cp.async.wait_all;" ::: "memory");
}

// ---------------------------------------------------------------------------------------------
// Block-level GEMM on shared-memory tiles
// ---------------------------------------------------------------------------------------------

/** How gemm_ss multiplies (chosen by the lowering from dtypes and GemmPrecision). */
enum class Path : int {
  bf16 = 0,   ///< m16n8k16 bf16, ldmatrix operands
  f16 = 1,    ///< m16n8k16 f16, ldmatrix operands
  tf32 = 2,   ///< m16n8k8 tf32, ld.shared + cvt.rna.tf32 (any element types)
  fp32 = 3,   ///< full-precision FFMA in the same accumulator layout (no tensor cores)
  tf32x3 = 4, ///< tf32 on split f32 operands (hi + lo): hi·hi + hi·lo + lo·hi, fp32-accurate
};

/** TF32 parts of an operand: hi = rna(x) and, when SPLIT (f32 operands of the tf32x3 path),
 *  lo = rna(x − hi), so hi + lo is within 2⁻²² |x| of x. 16-bit values are exact in TF32.
 *  The mma ignores the 13 low bits of a TF32 register, but cvt does not promise to clear them,
 *  so hi is masked before it is read back as a float. */
template <bool SPLIT, typename T>
__device__ __forceinline__ void tf32_parts(T x, u32& hi, u32& lo) {
  hi = to_tf32_operand(x);
  if constexpr (SPLIT) {
    hi &= 0xffffe000u;
    lo = f32_to_tf32(to_f32(x) - __uint_as_float(hi));
  } else {
    lo = 0;
  }
}

/** One k8 step of a warp tile: every (mt, nt) instruction tile of `acc` += af[mt] · bfr[nt]. */
template <int MT, int NT, int R>
__device__ __forceinline__ void mma_tiles_tf32(float (&acc)[R], const u32 (&af)[MT][4],
                                               const u32 (&bfr)[NT][2]) {
#pragma unroll
  for (int mt = 0; mt < MT; ++mt) {
#pragma unroll
    for (int nt = 0; nt < NT; ++nt) {
      float(&d)[4] = *reinterpret_cast<float(*)[4]>(&acc[(mt * NT + nt) * 4]);
      mma_m16n8k8_tf32(d, af[mt], bfr[nt]);
    }
  }
}

/** Four consecutive elements, loaded from shared memory as one 8- or 16-byte vector. */
template <typename T> struct alignas(4 * sizeof(T)) Quad { T v[4]; };
template <typename T> __device__ __forceinline__ Quad<T> load_quad(const T* p) {
  return *reinterpret_cast<const Quad<T>*>(p);
}

/** Element (row, col) of op(X) in a row-major shared tile with row stride LD. */
template <bool TRANS, int LD, typename T>
__device__ __forceinline__ T elem(const T* base, int row, int col) {
  return TRANS ? base[col * LD + row] : base[row * LD + col];
}

/**
 * acc (+)= op(A)·op(B) for the block tile, as warp `warp` (0-based) lane `lane`.
 *
 * A is stored row-major as [M][LDA] (TRANS_A: as [K][LDA], i.e. Aᵀ), B as [K][LDB] (TRANS_B:
 * [N][LDB], i.e. Bᵀ, the "K-major" weight layout). `acc` holds this thread's MT·NT·4
 * accumulators in the layout documented at the top of this file. M % 16 == 0, N % 8 == 0,
 * K % 16 == 0 (bf16/f16) or K % 8 == 0 (tf32/fp32). The 16-bit paths read operands with
 * ldmatrix and need row strides that are multiples of 8 elements (16 bytes) and 16-byte
 * aligned tiles. No barrier is included: the caller syncs before (data ready) and after (tile
 * reuse). The fp32 path sums k in increasing order with one fmaf per product.
 */
template <Path P, int M, int N, int K, int WARPS_M, int WARPS_N, bool TRANS_A, bool TRANS_B,
          int LDA, int LDB, typename TA, typename TB, int R>
__device__ __forceinline__ void gemm_ss(float (&acc)[R], const TA* a, const TB* b, int warp,
                                        int lane) {
  constexpr int WM = M / WARPS_M, WN = N / WARPS_N;
  constexpr int MT = WM / 16, NT = WN / 8;
  constexpr int KS = (P == Path::bf16 || P == Path::f16) ? 16 : 8;
  static_assert(M % (16 * WARPS_M) == 0 && N % (8 * WARPS_N) == 0, "tile/warp mismatch");
  static_assert(K % KS == 0, "K must be a multiple of the instruction's k");
  static_assert(R == MT * NT * 4, "accumulator size does not match the warp tile");
  if (warp >= WARPS_M * WARPS_N)
    return;
  const int wm = warp / WARPS_N, wn = warp % WARPS_N;
  const int g = lane >> 2, t = lane & 3;
  const int m_base = wm * WM, n_base = wn * WN;
  // tf32x3 splits the f32 operands only: 16-bit values are exact in TF32.
  constexpr bool SPLIT_A = P == Path::tf32x3 && sizeof(TA) == 4;
  constexpr bool SPLIT_B = P == Path::tf32x3 && sizeof(TB) == 4;
  // tf32x3 sums this call's products in a fresh accumulator and adds it to acc with one rounded
  // fp32 add per element at the end: the tensor core truncates its sum at every instruction, a
  // bias that grows with the number of instructions one accumulator sees (2e-4 relative over a
  // 28672-long stage-A row on an H100, 100x the fp32 tolerance). Per call (one K tile) it stays
  // at the fp32 rounding level.
  float part[R];
  if constexpr (P == Path::tf32x3) {
#pragma unroll
    for (int r = 0; r < R; ++r)
      part[r] = 0.0f;
  }
  float(&sum)[R] = P == Path::tf32x3 ? part : acc;
  // The correction products go first (small into the accumulator before the large one).
  auto mma_tiles_split = [&](auto& d, const auto& ah, const auto& al, const auto& bh,
                             const auto& bl) {
    if constexpr (SPLIT_A)
      mma_tiles_tf32(d, al, bh);
    if constexpr (SPLIT_B)
      mma_tiles_tf32(d, ah, bl);
    mma_tiles_tf32(d, ah, bh);
  };

  if constexpr (P == Path::bf16 || P == Path::f16) {
    static_assert(sizeof(TA) == 2 && sizeof(TB) == 2, "16-bit paths need 16-bit operands");
    static_assert(LDA % 8 == 0 && LDB % 8 == 0, "ldmatrix needs 16-byte aligned rows");
#pragma unroll
    for (int kk = 0; kk < K; kk += 16) {
      u32 af[MT][4];
      u32 bfr[NT][2];
#pragma unroll
      for (int mt = 0; mt < MT; ++mt) {
        const int m0 = m_base + mt * 16;
        if constexpr (!TRANS_A) {
          // x4 matrices: (rows 0-7, k 0-7), (rows 8-15, k 0-7), (rows 0-7, k 8-15), (8-15, 8-15)
          ldmatrix_x4(af[mt], smem_addr(a + (m0 + (lane & 15)) * LDA + kk + (lane >> 4) * 8));
        } else {
          // Stored as Aᵀ[k][m]: the same four matrices, read transposed.
          const int q = lane >> 3, r = lane & 7;
          ldmatrix_x4_trans(af[mt],
                            smem_addr(a + (kk + (q >> 1) * 8 + r) * LDA + m0 + (q & 1) * 8));
        }
      }
#pragma unroll
      for (int nt = 0; nt < NT; ++nt) {
        const int n0 = n_base + nt * 8;
        const int q = (lane >> 3) & 1, r = lane & 7;
        if constexpr (!TRANS_B) {
          // B[k][n] rows are k: transpose so each thread gets (k = 2t, 2t+1; n = g).
          ldmatrix_x2_trans(bfr[nt], smem_addr(b + (kk + q * 8 + r) * LDB + n0));
        } else {
          ldmatrix_x2(bfr[nt], smem_addr(b + (n0 + r) * LDB + kk + q * 8));
        }
      }
#pragma unroll
      for (int mt = 0; mt < MT; ++mt) {
#pragma unroll
        for (int nt = 0; nt < NT; ++nt) {
          float(&d)[4] = *reinterpret_cast<float(*)[4]>(&acc[(mt * NT + nt) * 4]);
          if constexpr (P == Path::bf16)
            mma_m16n8k16_bf16(d, af[mt], bfr[nt]);
          else
            mma_m16n8k16_f16(d, af[mt], bfr[nt]);
        }
      }
    }
  } else if constexpr ((P == Path::tf32 || P == Path::tf32x3) && !TRANS_A && TRANS_B &&
                       K % 16 == 0 && LDA % 4 == 0 && LDB % 4 == 0) {
    // Both operands K-contiguous: the order of k inside a 16-wide slice is free (each k meets
    // its own A and B values), so lane t takes k = 4t..4t+3 of the slice for both instruction
    // steps — slot t of step s is k = 4t + 2s, slot t + 4 is k = 4t + 2s + 1 — and reads them
    // with one 4-element vector load per operand row instead of four scalar loads. With row
    // pitches of 8 (mod 32) words for 16-bit A and 16 (mod 32) words for f32 B (a RowPad of 16
    // elements on 64-wide tiles), the loads of a warp fall on distinct banks.
#pragma unroll
    for (int kk = 0; kk < K; kk += 16) {
      Quad<TA> ar[MT][2];
      Quad<TB> br[NT];
#pragma unroll
      for (int mt = 0; mt < MT; ++mt) {
        const int m0 = m_base + mt * 16;
        ar[mt][0] = load_quad(a + (m0 + g) * LDA + kk + 4 * t);
        ar[mt][1] = load_quad(a + (m0 + g + 8) * LDA + kk + 4 * t);
      }
#pragma unroll
      for (int nt = 0; nt < NT; ++nt) {
        br[nt] = load_quad(b + (n_base + nt * 8 + g) * LDB + kk + 4 * t);
      }
#pragma unroll
      for (int step = 0; step < 2; ++step) {
        u32 af[MT][4], afl[MT][4];
        u32 bfr[NT][2], bfl[NT][2];
#pragma unroll
        for (int mt = 0; mt < MT; ++mt) {
          tf32_parts<SPLIT_A>(ar[mt][0].v[2 * step], af[mt][0], afl[mt][0]);     // (g,     t)
          tf32_parts<SPLIT_A>(ar[mt][1].v[2 * step], af[mt][1], afl[mt][1]);     // (g + 8, t)
          tf32_parts<SPLIT_A>(ar[mt][0].v[2 * step + 1], af[mt][2], afl[mt][2]); // (g,     t + 4)
          tf32_parts<SPLIT_A>(ar[mt][1].v[2 * step + 1], af[mt][3], afl[mt][3]); // (g + 8, t + 4)
        }
#pragma unroll
        for (int nt = 0; nt < NT; ++nt) {
          tf32_parts<SPLIT_B>(br[nt].v[2 * step], bfr[nt][0], bfl[nt][0]);
          tf32_parts<SPLIT_B>(br[nt].v[2 * step + 1], bfr[nt][1], bfl[nt][1]);
        }
        mma_tiles_split(sum, af, afl, bfr, bfl);
      }
    }
  } else if constexpr (P == Path::tf32 || P == Path::tf32x3) {
#pragma unroll
    for (int kk = 0; kk < K; kk += 8) {
      u32 af[MT][4], afl[MT][4];
      u32 bfr[NT][2], bfl[NT][2];
#pragma unroll
      for (int mt = 0; mt < MT; ++mt) {
        const int m0 = m_base + mt * 16;
        // a0: (g, t), a1: (g+8, t), a2: (g, t+4), a3: (g+8, t+4)
        tf32_parts<SPLIT_A>(elem<TRANS_A, LDA>(a, m0 + g, kk + t), af[mt][0], afl[mt][0]);
        tf32_parts<SPLIT_A>(elem<TRANS_A, LDA>(a, m0 + g + 8, kk + t), af[mt][1], afl[mt][1]);
        tf32_parts<SPLIT_A>(elem<TRANS_A, LDA>(a, m0 + g, kk + t + 4), af[mt][2], afl[mt][2]);
        tf32_parts<SPLIT_A>(elem<TRANS_A, LDA>(a, m0 + g + 8, kk + t + 4), af[mt][3], afl[mt][3]);
      }
#pragma unroll
      for (int nt = 0; nt < NT; ++nt) {
        const int n0 = n_base + nt * 8;
        // b0: (k=t, n=g), b1: (k=t+4, n=g); B(k, n) is stored at [k][n] or, transposed, [n][k]
        tf32_parts<SPLIT_B>(elem<TRANS_B, LDB>(b, kk + t, n0 + g), bfr[nt][0], bfl[nt][0]);
        tf32_parts<SPLIT_B>(elem<TRANS_B, LDB>(b, kk + t + 4, n0 + g), bfr[nt][1], bfl[nt][1]);
      }
      mma_tiles_split(sum, af, afl, bfr, bfl);
    }
  } else {
    // Full fp32: each thread computes its own accumulator elements with FFMA, k in order.
#pragma unroll 4
    for (int k = 0; k < K; ++k) {
      float alo[MT], ahi[MT], b0[NT], b1[NT];
#pragma unroll
      for (int mt = 0; mt < MT; ++mt) {
        alo[mt] = to_f32(elem<TRANS_A, LDA>(a, m_base + mt * 16 + g, k));
        ahi[mt] = to_f32(elem<TRANS_A, LDA>(a, m_base + mt * 16 + g + 8, k));
      }
#pragma unroll
      for (int nt = 0; nt < NT; ++nt) {
        b0[nt] = to_f32(elem<TRANS_B, LDB>(b, k, n_base + nt * 8 + 2 * t));
        b1[nt] = to_f32(elem<TRANS_B, LDB>(b, k, n_base + nt * 8 + 2 * t + 1));
      }
#pragma unroll
      for (int mt = 0; mt < MT; ++mt) {
#pragma unroll
        for (int nt = 0; nt < NT; ++nt) {
          float* d = &acc[(mt * NT + nt) * 4];
          d[0] = fmaf(alo[mt], b0[nt], d[0]);
          d[1] = fmaf(alo[mt], b1[nt], d[1]);
          d[2] = fmaf(ahi[mt], b0[nt], d[2]);
          d[3] = fmaf(ahi[mt], b1[nt], d[3]);
        }
      }
    }
  }
  if constexpr (P == Path::tf32x3) {
#pragma unroll
    for (int r = 0; r < R; ++r)
      acc[r] += part[r];
  }
}

/** Row (i) and column (j) of accumulator register `reg` of this thread: the inverse of the
 *  layout at the top of this file, for epilogues written by hand. */
template <int M, int N, int WARPS_M, int WARPS_N>
__device__ __forceinline__ void acc_coord(int warp, int lane, int reg, int& i, int& j) {
  constexpr int WM = M / WARPS_M, WN = N / WARPS_N, NT = WN / 8;
  const int tile = reg >> 2, e = reg & 3;
  i = (warp / WARPS_N) * WM + (tile / NT) * 16 + (lane >> 2) + (e >> 1) * 8;
  j = (warp % WARPS_N) * WN + (tile % NT) * 8 + (lane & 3) * 2 + (e & 1);
}

} // namespace mma
} // namespace tessera
