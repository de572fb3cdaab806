/** \file
 * SHA-256 (FIPS 180-4), used for cache keys and to verify cache entries. Incremental: feed bytes
 * with update(), read the digest with finish().
 */
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace tessera {

/** Incremental SHA-256. */
class Sha256 {
public:
  Sha256();
  /** Appends bytes to the message. */
  void update(const void* data, std::size_t size);
  void update(std::string_view bytes) { update(bytes.data(), bytes.size()); }
  /** Pads, finishes and returns the 32-byte digest; the object must not be updated afterwards. */
  std::array<std::uint8_t, 32> finish();
  /** finish() as 64 lowercase hex characters. */
  std::string finish_hex();

private:
  void compress(const std::uint8_t* block);

  std::array<std::uint32_t, 8> h_;
  std::array<std::uint8_t, 64> buffer_{};
  std::size_t buffered_ = 0;
  std::uint64_t total_bytes_ = 0;
};

/** Hex SHA-256 of `bytes`. */
std::string sha256_hex(std::string_view bytes);

} // namespace tessera
