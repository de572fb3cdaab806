/** \file
 * Tessera's error types. User mistakes (bad shapes, bad DSL use, bad options) and environment
 * failures (no driver, NVRTC errors) are distinct from internal compiler bugs, following
 * Halide's user_error / internal_error split: a user can act on the first kind, only a
 * Tessera developer on the second.
 */
#pragma once

#include <stdexcept>
#include <string>

namespace tessera {

/** Base of every exception Tessera throws. */
class Error : public std::runtime_error {
public:
  using std::runtime_error::runtime_error;
};

/** The caller did something wrong: bad argument, shape, dtype, stride, pointer, DSL use. */
class UserError : public Error {
public:
  using Error::Error;
};

/** NVRTC (or the CPU JIT) rejected a program; what() holds the full log with quoted source lines.
 */
class CompileError : public Error {
public:
  CompileError(const std::string& message, std::string log)
      : Error(message), log_(std::move(log)) {}
  /** The raw compiler log. */
  const std::string& log() const { return log_; }

private:
  std::string log_;
};

/** The CUDA driver is missing or failed a call; what() names the call and the CUresult. */
class DriverError : public Error {
public:
  DriverError(const std::string& message, int code) : Error(message), code_(code) {}
  /** The CUresult value (0 when no driver call was made, e.g. libcuda could not be loaded). */
  int code() const { return code_; }

private:
  int code_;
};

/** A file could not be read or written; what() names the path and the OS reason. */
class IoError : public Error {
public:
  using Error::Error;
};

/** A broken invariant inside Tessera: always a bug to report, never the user's fault. */
class InternalError : public Error {
public:
  explicit InternalError(const std::string& message) : Error("internal error: " + message) {}
};

} // namespace tessera
