#include "runtime/sha256.h"

#include <catch2/catch.hpp>
#include <string>

using namespace tessera;

// Test vectors from FIPS 180-2, appendix B (and its one-million-'a' message).
TEST_CASE("SHA-256 matches the FIPS 180-2 vectors", "[sha256]") {
  CHECK(sha256_hex("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  CHECK(sha256_hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq") ==
        "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  CHECK(sha256_hex(std::string(1000000, 'a')) ==
        "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
  CHECK(sha256_hex("") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

TEST_CASE("SHA-256 is the same however the message is split", "[sha256]") {
  std::string message;
  for (int i = 0; i < 1000; ++i) {
    message += static_cast<char>((i * 131 + 7) & 0xff);
  }
  const std::string expected = sha256_hex(message);
  for (std::size_t chunk : {1u, 3u, 55u, 56u, 63u, 64u, 65u, 127u}) {
    Sha256 h;
    for (std::size_t pos = 0; pos < message.size(); pos += chunk) {
      h.update(std::string_view(message).substr(pos, chunk));
    }
    CHECK(h.finish_hex() == expected);
  }
  // Lengths around the padding boundary (55/56/64 bytes) all differ.
  CHECK(sha256_hex(std::string(55, 'x')) != sha256_hex(std::string(56, 'x')));
}
