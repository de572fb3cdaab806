#include "ir/verify_context.h"

#include "base/error.h"
#include "ir/printer.h"

#include <fmt/format.h>

namespace tessera::ir {

void VerifyContext::fail(const SourceLoc& loc, const std::string& message) const {
  const SourceLoc& where = loc.line > 0 ? loc : kernel_.loc;
  throw UserError(fmt::format("kernel '{}' at {}: {}", kernel_.name, where.str(), message));
}

std::string shape_string(const std::vector<std::int64_t>& shape) {
  std::string s = "[";
  for (std::size_t i = 0; i < shape.size(); ++i) {
    s += (i ? ", " : "") + std::to_string(shape[i]);
  }
  return s + "]";
}

std::string describe(const Buffer& b) {
  std::string s = fmt::format("{} '{}' {}[", scope_name(b->scope), b->name, dtype_name(b->dtype));
  for (std::size_t i = 0; i < b->shape.size(); ++i) {
    s += (i ? ", " : "") + to_string(b->shape[i]);
  }
  return s + "]";
}

bool is_tile_scope(Scope s) {
  return s == Scope::shared || s == Scope::fragment;
}

void VerifyContext::check_indices(const SourceLoc& loc, const Buffer& b,
                                  const std::vector<Expr>& indices, const char* what) const {
  if (indices.size() != b->shape.size()) {
    fail(loc, fmt::format("{} of '{}' has {} indices for rank {}", what, b->name, indices.size(),
                          b->shape.size()));
  }
  for (std::size_t d = 0; d < indices.size(); ++d) {
    if (!indices[d].defined() || !is_integer(indices[d].type())) {
      fail(loc, fmt::format("{} of '{}': index {} is {}, not an integer", what, b->name, d,
                            indices[d].defined() ? dtype_name(indices[d].type()) : "undefined"));
    }
    // Shared, fragment and local buffers have constant shapes: a constant index outside one is
    // a mistake on every target.
    const IntImm* c = indices[d].as<IntImm>();
    const std::int64_t extent = const_extent(b, static_cast<int>(d));
    if (b->scope != Scope::global && c != nullptr && extent >= 0 &&
        (c->value < 0 || c->value >= extent)) {
      fail(loc, fmt::format("{} of {} (declared at {}): constant index {} of dimension {} is "
                            "outside [0, {})",
                            what, describe(b), b->loc.str(), c->value, d, extent));
    }
  }
}

void VerifyContext::check_writable(const SourceLoc& loc, const Buffer& b, const char* what) const {
  if (!b->writable) {
    fail(loc, fmt::format("{} writes to input tensor '{}' (declared at {}); declare it with "
                          "KernelBuilder::output() to write it",
                          what, b->name, b->loc.str()));
  }
}

void VerifyContext::check_value_type(const SourceLoc& loc, const Buffer& b, const Expr& value,
                                     const char* what) const {
  if (!value.defined()) {
    fail(loc, fmt::format("{} into '{}' has no value", what, b->name));
  }
  if (is_float(value.type()) && is_integer(b->dtype)) {
    // The front end converts stored values implicitly, but not float to integer (it truncates).
    fail(loc, fmt::format("{} into {} with a value of type {} would truncate it to {} silently; "
                          "write cast({}, value) to convert it explicitly, or declare '{}' with "
                          "a floating-point type",
                          what, describe(b), dtype_name(value.type()), dtype_name(b->dtype),
                          dtype_name(b->dtype), b->name));
  }
  if (value.type() != b->dtype) {
    fail(loc, fmt::format("{} into {} with a value of type {}; cast it to {}", what, describe(b),
                          dtype_name(value.type()), dtype_name(b->dtype)));
  }
}

void VerifyContext::check_region(const SourceLoc& loc, const Region& r, const char* op,
                                 const char* role) const {
  const Buffer& b = r.buffer;
  if (r.ranges.size() != b->shape.size()) {
    fail(loc, fmt::format("{} {} '{}' has {} index ranges for rank {}", op, role, b->name,
                          r.ranges.size(), b->shape.size()));
  }
  for (std::size_t d = 0; d < r.ranges.size(); ++d) {
    const Range& range = r.ranges[d];
    if (!range.start.defined() || !is_integer(range.start.type())) {
      fail(loc, fmt::format("{} {} '{}': the start of dimension {} must be an integer "
                            "expression",
                            op, role, b->name, d));
    }
    if (range.extent <= 0) {
      fail(loc, fmt::format("{} {} '{}': dimension {} has extent {}", op, role, b->name, d,
                            range.extent));
    }
    const std::int64_t dim = const_extent(b, static_cast<int>(d));
    const IntImm* start = range.start.as<IntImm>();
    if (b->scope == Scope::global || dim < 0 || start == nullptr) {
      continue;
    }
    if (start->value < 0 || start->value + range.extent > dim) {
      fail(loc, fmt::format("{} {} '{}': dimension {} reads [{}, {}) outside [0, {})", op, role,
                            b->name, d, start->value, start->value + range.extent, dim));
    }
  }
}

} // namespace tessera::ir
