/* The C ABI of Tessera (libtessera_c.so): what the Python package calls through ctypes, and
 * what any other language with a C foreign-function interface can call. Plain C, no C++ types,
 * so one build serves every CPython version (docs/python.md says why ctypes).
 *
 * Conventions
 *  - Every function returns a status: TESSERA_OK (0), TESSERA_BAD_ARGUMENT (a UserError: wrong
 *    shape, dtype, stride, null or misaligned pointer, unknown name, broken DSL program) or
 *    TESSERA_FAILURE (NVRTC, driver, cache or internal failure). The message of the last failure
 *    on the calling thread is tessera_last_error(). No C++ exception crosses this boundary.
 *  - Strings and byte buffers returned through `char** out` / `void** out` are allocated here
 *    and released with tessera_free().
 *  - Tensors are tessera_tensor records (DLPack's device and dtype codes, strides in elements).
 *    Device tensors run on their GPU, enqueued on `stream` (a CUstream; NULL is the legacy
 *    default stream); host tensors run on the CPU backend, synchronously.
 */
#ifndef TESSERA_C_H
#define TESSERA_C_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__)
#define TESSERA_C_API __attribute__((visibility("default")))
#else
#define TESSERA_C_API
#endif

#define TESSERA_C_ABI_VERSION 1
#define TESSERA_MAX_RANK 6

enum tessera_status {
  TESSERA_OK = 0,
  TESSERA_BAD_ARGUMENT = 1,
  TESSERA_FAILURE = 2,
};

/* DLPack's device types and dtype codes, so a DLTensor converts field by field. */
enum tessera_device_type { TESSERA_DEVICE_CPU = 1, TESSERA_DEVICE_CUDA = 2 };
enum tessera_dtype_code {
  TESSERA_DTYPE_INT = 0,
  TESSERA_DTYPE_UINT = 1,
  TESSERA_DTYPE_FLOAT = 2,
  TESSERA_DTYPE_BFLOAT = 4,
  TESSERA_DTYPE_BOOL = 6,
};

/* A strided tensor view (120 bytes, no padding: Python packs it with struct "P6q6q4i"). */
typedef struct tessera_tensor {
  void* data;
  int64_t shape[TESSERA_MAX_RANK];
  int64_t strides[TESSERA_MAX_RANK]; /* in elements */
  int32_t rank;
  int32_t dtype;       /* code | bits << 8 (bf16: 4 | 16 << 8, f32: 2 | 32 << 8) */
  int32_t device_type; /* tessera_device_type */
  int32_t device_id;
} tessera_tensor;

/* tessera::mhc::Config (48 bytes, no padding: struct "q2i4f3if"). */
typedef struct tessera_mhc_config {
  int64_t hidden;
  int32_t hc_mult;
  int32_t sinkhorn_iters;
  float rms_eps;
  float hc_pre_eps;
  float hc_sinkhorn_eps;
  float post_mult;
  int32_t gemm_precision; /* 0: TF32 tensor cores, 1: fp32 FMA */
  int32_t splits;         /* 0: the automatic policy, else a fixed stage-A split count */
  int32_t has_norm;       /* the fused RMS norm (then norm_eps and a norm_weight tensor) */
  float norm_eps;
} tessera_mhc_config;

/* The message of the last failure on this thread ("" if none). */
TESSERA_C_API const char* tessera_last_error(void);
/* Releases a string or buffer returned by this library (NULL is ignored). */
TESSERA_C_API void tessera_free(void* p);
/* TESSERA_C_ABI_VERSION of the library (the Python package checks it on load). */
TESSERA_C_API int32_t tessera_abi_version(void);
/* JSON: {"version", "abi", "cpu_backend": bool, "cuda_devices": n, "driver_error": "..."}. */
TESSERA_C_API int32_t tessera_info(char** json_out);

/* ---- mHC operators ---------------------------------------------------------------------- */

/* Operator ids: tessera::mhc::Op's order ("mhc_pre", "mhc_pre_broadcast", "mhc_post",
 * "mhc_fused_post_pre", "hc_head", "sinkhorn", "stage_a", "big_fuse"). */
TESSERA_C_API int32_t tessera_mhc_op_id(const char* name, int32_t* id_out);

/* JSON list of the op's tensors for `tokens` tokens: inputs then outputs, in the order
 * tessera_mhc_run takes them, each {"name", "dtype", "shape", "output", "atol", "rtol",
 * "atol_scaled"} (tolerances: docs/mhc-spec.md §7), and "workspace_bytes" on `device`
 * (-1: the CPU backend). */
TESSERA_C_API int32_t tessera_mhc_signature(int32_t op, const tessera_mhc_config* config,
                                            int64_t tokens, int32_t device, char** json_out);

/* Workspace bytes the op needs for `tokens` tokens on `device` (-1: CPU backend); 0 if none. */
TESSERA_C_API int32_t tessera_mhc_workspace_bytes(int32_t op, const tessera_mhc_config* config,
                                                  int64_t tokens, int32_t device,
                                                  int64_t* bytes_out);

/* Runs `op` on `count` tensors in signature order (norm_weight only when config->has_norm),
 * then the workspace when the op takes one. Validates everything before launching; allocates
 * nothing and never synchronises (device tensors), so it can be captured in a CUDA graph. */
TESSERA_C_API int32_t tessera_mhc_run(int32_t op, const tessera_mhc_config* config,
                                      const tessera_tensor* tensors, int32_t count, void* stream);

/* The fp64 reference of `op` (host tensors, signature order, no workspace): reads the inputs,
 * writes the outputs (f32 or bf16, contiguous). For tests. */
TESSERA_C_API int32_t tessera_mhc_reference(int32_t op, const tessera_mhc_config* config,
                                            const tessera_tensor* tensors, int32_t count);

/* ---- DSL kernels ------------------------------------------------------------------------ */

/* JSON list of the registered kernels: {"name", "description", "params": [{"name", "type",
 * "default", "help"}]}. */
TESSERA_C_API int32_t tessera_kernels(char** json_out);

/* A registered kernel built with "key=value" parameter overrides, as text:
 *   what = "cuda": the generated CUDA; "ir": the traced tile IR; "passes": the IR after every
 *   lowering pass; any pass name: the IR after that pass. `target` ("cuda" or "cpu") is what the
 *   passes lower for. */
TESSERA_C_API int32_t tessera_emit(const char* name, const char* const* params, int32_t num_params,
                                   const char* what, const char* target, char** text_out);

/* Compiles a registered kernel with NVRTC for `arch` ("sm_90a"; no GPU needed): the cubin and
 * a JSON record {"arch", "registers", "local_bytes", "spill_store_bytes", "spill_load_bytes",
 * "shared_bytes", "max_threads", "cuda_source", "ptx", "compile_ms", "from_cache"}. */
TESSERA_C_API int32_t tessera_compile(const char* name, const char* const* params,
                                      int32_t num_params, const char* arch, void** cubin_out,
                                      int64_t* cubin_bytes_out, char** info_json_out);

/* JSON: the JIT cache — on disk {"directory", "enabled", "usable", "entries", "bytes",
 * "format"} and this process's counters {"memory_hits", "disk_hits", "compiles", "bad_entries",
 * "disk_writes"}. */
TESSERA_C_API int32_t tessera_cache_info(char** json_out);

#ifdef __cplusplus
}
#endif

#endif /* TESSERA_C_H */
