// Fuzzes the .npy parser (tools/npy.cpp): any bytes give an array or a UserError; an array
// re-encodes to bytes that parse back to the same array.
#include "base/error.h"
#include "tools/npy.h"

#include <cstdint>
#include <cstdlib>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::vector<std::uint8_t> file(data, data + size);
  tessera::cli::NpyArray a;
  try {
    a = tessera::cli::parse_npy(file, "fuzz.npy");
  } catch (const tessera::UserError&) {
    return 0;
  }
  const tessera::cli::NpyArray b =
      tessera::cli::parse_npy(tessera::cli::encode_npy(a), "round-trip.npy");
  if (b.descr != a.descr || b.shape != a.shape || b.bytes != a.bytes) {
    std::abort();
  }
  return 0;
}
