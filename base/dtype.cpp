#include "base/dtype.h"

namespace tessera {

std::optional<DType> parse_dtype(std::string_view name) {
  for (DType t : {DType::bf16, DType::f16, DType::f32, DType::f64, DType::i8, DType::i32,
                  DType::i64, DType::u8, DType::u32, DType::boolean}) {
    if (dtype_name(t) == name) {
      return t;
    }
  }
  return std::nullopt;
}

} // namespace tessera
