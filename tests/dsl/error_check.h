/** \file
 * Checking a DSL user error in tests: build_error() returns the message KernelBuilder::build()
 * throws, CHECK_ERROR checks it starts with `kernel '<name>' at <this test file>:<line>: ` and
 * contains each of the given parts.
 */
#pragma once

#include "base/error.h"
#include "dsl/builder.h"

#include <catch2/catch.hpp>
#include <string>
#include <string_view>

namespace tessera::testing {

/** The UserError message of building `kb`, or "<no error>". */
inline std::string build_error(tessera::dsl::KernelBuilder& kb) {
  try {
    kb.build();
  } catch (const tessera::UserError& e) {
    return e.what();
  }
  return "<no error>";
}

/** `kernel '<kernel>' at <basename of file>:<line>: `, the prefix every DSL user error has. */
inline std::string error_prefix(const std::string& kernel, std::string_view file, int line) {
  const std::size_t slash = file.find_last_of('/');
  const std::string_view base = slash == std::string_view::npos ? file : file.substr(slash + 1);
  return "kernel '" + kernel + "' at " + std::string(base) + ":" + std::to_string(line) + ": ";
}

} // namespace tessera::testing

#define CHECK_ERROR(msg, kernel, line, ...)                                                        \
  do {                                                                                             \
    const std::string m_ = (msg);                                                                  \
    INFO(m_);                                                                                      \
    CHECK(m_.rfind(tessera::testing::error_prefix(kernel, __FILE__, line), 0) == 0);               \
    for (const char* part : {__VA_ARGS__}) {                                                       \
      CHECK(m_.find(part) != std::string::npos);                                                   \
    }                                                                                              \
  } while (0)
