/** \file
 * Reading and writing NumPy .npy files (format versions 1.0–3.0, little-endian, C order) for
 * `tessera run`. Supported element types: float32 ('<f4') and uint16 ('<u2'), the latter
 * holding bfloat16 bit patterns. Anything else (other dtypes, Fortran order, big-endian,
 * truncated data, a corrupt header) is a UserError naming the file and the problem.
 */
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace tessera::cli {

/** An array read from or written to a .npy file. */
struct NpyArray {
  /** NumPy dtype descriptor: "<f4" or "<u2". */
  std::string descr;
  std::vector<std::int64_t> shape;
  /** Raw little-endian element bytes, C order. */
  std::vector<std::uint8_t> bytes;

  std::int64_t numel() const;
};

/** Reads `path`. Throws UserError on I/O errors and unsupported or corrupt files. */
NpyArray read_npy(const std::string& path);

/** Writes `array` to `path` (format 1.0, or 2.0 for very long headers). Throws UserError when
 * the file cannot be written or the byte count does not match the shape. */
void write_npy(const std::string& path, const NpyArray& array);

/** Parses an in-memory .npy image (exposed for tests); `what` names it in errors. */
NpyArray parse_npy(const std::vector<std::uint8_t>& file, const std::string& what);

/** The .npy image of `array` (exposed for tests). */
std::vector<std::uint8_t> encode_npy(const NpyArray& array);

} // namespace tessera::cli
