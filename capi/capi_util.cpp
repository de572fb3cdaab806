#include "capi/capi_util.h"

#include "base/error.h"

#include <cstdlib>
#include <cstring>
#include <exception>
#include <fmt/format.h>
#include <new>

namespace tessera::capi {

namespace {

thread_local std::string thread_error;

/** DLPack (code, bits) of a tessera_tensor dtype to a DType. */
DType dtype_of(std::int32_t packed, std::string_view what) {
  const int code = packed & 0xff;
  const int bits = (packed >> 8) & 0xff;
  switch (code) {
  case TESSERA_DTYPE_FLOAT:
    if (bits == 32) {
      return DType::f32;
    }
    if (bits == 16) {
      return DType::f16;
    }
    if (bits == 64) {
      return DType::f64;
    }
    break;
  case TESSERA_DTYPE_BFLOAT:
    if (bits == 16) {
      return DType::bf16;
    }
    break;
  case TESSERA_DTYPE_INT:
    if (bits == 8) {
      return DType::i8;
    }
    if (bits == 32) {
      return DType::i32;
    }
    if (bits == 64) {
      return DType::i64;
    }
    break;
  case TESSERA_DTYPE_UINT:
    if (bits == 8) {
      return DType::u8;
    }
    if (bits == 32) {
      return DType::u32;
    }
    break;
  case TESSERA_DTYPE_BOOL:
    return DType::boolean;
  default:
    break;
  }
  throw UserError(fmt::format("{}: unsupported dtype (DLPack code {}, {} bits)", what, code, bits));
}

} // namespace

void set_last_error(std::string message) {
  thread_error = std::move(message);
}

const std::string& last_error() {
  return thread_error;
}

std::int32_t status_of_current_exception() noexcept {
  try {
    throw;
  } catch (const UserError& e) {
    set_last_error(e.what());
    return TESSERA_BAD_ARGUMENT;
  } catch (const std::bad_alloc&) {
    set_last_error("out of host memory");
  } catch (const std::exception& e) {
    set_last_error(e.what());
  } catch (...) {
    set_last_error("unknown C++ exception");
  }
  return TESSERA_FAILURE;
}

void require_pointer(const void* p, std::string_view what) {
  if (p == nullptr) {
    throw UserError(fmt::format("{} is a null pointer", what));
  }
}

char* copy_string(std::string_view text) {
  char* p = static_cast<char*>(std::malloc(text.size() + 1));
  if (p == nullptr) {
    throw std::bad_alloc();
  }
  std::memcpy(p, text.data(), text.size());
  p[text.size()] = '\0';
  return p;
}

TensorView to_view(const tessera_tensor& t, std::string_view what) {
  if (t.rank < 0 || t.rank > TESSERA_MAX_RANK) {
    throw UserError(fmt::format("{}: rank {} is outside 0..{}", what, t.rank, TESSERA_MAX_RANK));
  }
  MemoryKind memory = MemoryKind::host;
  if (t.device_type == TESSERA_DEVICE_CUDA) {
    memory = MemoryKind::cuda;
  } else if (t.device_type != TESSERA_DEVICE_CPU) {
    throw UserError(
        fmt::format("{}: device type {} is neither CPU (1) nor CUDA (2)", what, t.device_type));
  }
  if (t.device_id < 0) {
    throw UserError(fmt::format("{}: device id {} is negative", what, t.device_id));
  }
  const auto rank = static_cast<std::size_t>(t.rank);
  return TensorView(t.data, dtype_of(t.dtype, what), std::span<const std::int64_t>(t.shape, rank),
                    std::span<const std::int64_t>(t.strides, rank), memory,
                    memory == MemoryKind::cuda ? t.device_id : 0);
}

mhc::Config to_config(const tessera_mhc_config& c) {
  mhc::Config config;
  config.hidden = c.hidden;
  config.hc_mult = c.hc_mult;
  config.sinkhorn_iters = c.sinkhorn_iters;
  config.rms_eps = c.rms_eps;
  config.hc_pre_eps = c.hc_pre_eps;
  config.hc_sinkhorn_eps = c.hc_sinkhorn_eps;
  config.post_mult = c.post_mult;
  if (c.gemm_precision != 0 && c.gemm_precision != 1) {
    throw UserError(
        fmt::format("gemm_precision {} is neither 0 (tf32) nor 1 (fp32)", c.gemm_precision));
  }
  config.gemm_precision =
      c.gemm_precision == 0 ? mhc::GemmPrecision::tf32 : mhc::GemmPrecision::fp32;
  config.split = c.splits == 0 ? mhc::SplitPolicy::automatic() : mhc::SplitPolicy::fixed(c.splits);
  if (c.has_norm != 0) {
    config.norm_eps = c.norm_eps;
  }
  return config;
}

} // namespace tessera::capi

// Python packs these records with struct formats (tessera/_abi.py); keep the layouts fixed.
static_assert(sizeof(tessera_tensor) == 120, "tessera_tensor layout changed");
static_assert(sizeof(tessera_mhc_config) == 48, "tessera_mhc_config layout changed");
