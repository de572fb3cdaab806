#include "runtime/launch_args.h"

#include "base/error.h"

#include <fmt/format.h>

namespace tessera {

namespace {

std::string describe(const ArgInfo& a) {
  switch (a.kind) {
  case ArgKind::device_pointer:
    return a.has_dtype ? fmt::format("a pointer to {}", dtype_name(a.dtype)) : "an untyped pointer";
  case ArgKind::host_pointer:
    return fmt::format("a host-memory tensor of {}", dtype_name(a.dtype));
  case ArgKind::address:
    return "a raw device address (CUdeviceptr)";
  case ArgKind::scalar:
    return a.has_dtype ? fmt::format("a {} scalar", dtype_name(a.dtype))
                       : fmt::format("a {}-byte scalar", a.size);
  case ArgKind::bytes:
    return fmt::format("a {}-byte struct", a.size);
  }
  return "?";
}

std::string describe(const ParamDecl& p) {
  switch (p.kind) {
  case ParamKind::pointer:
    return p.has_dtype ? fmt::format("a pointer to {}", dtype_name(p.dtype)) : "a pointer";
  case ParamKind::scalar:
    return fmt::format("a {} scalar", dtype_name(p.dtype));
  case ParamKind::bytes:
    return fmt::format("a {}-byte struct", p.size);
  }
  return "?";
}

std::string arg_name(std::span<const ParamDecl> signature, std::size_t i) {
  if (i < signature.size() && !signature[i].name.empty()) {
    return fmt::format("argument {} '{}'", i, signature[i].name);
  }
  return fmt::format("argument {}", i);
}

[[noreturn]] void fail(std::string_view kernel, std::span<const ParamDecl> signature, std::size_t i,
                       const std::string& what) {
  throw UserError(
      fmt::format("launch of kernel '{}': {} {}", kernel, arg_name(signature, i), what));
}

bool matches(const ParamDecl& p, const ArgInfo& a) {
  switch (p.kind) {
  case ParamKind::pointer:
    if (a.kind == ArgKind::address) {
      return true;
    }
    return a.kind == ArgKind::device_pointer &&
           (!p.has_dtype || !a.has_dtype || p.dtype == a.dtype);
  case ParamKind::scalar:
    return a.kind == ArgKind::scalar && a.size == dtype_size(p.dtype) &&
           (!a.has_dtype || a.dtype == p.dtype);
  case ParamKind::bytes:
    return (a.kind == ArgKind::bytes || a.kind == ArgKind::scalar) && a.size == p.size;
  }
  return false;
}

} // namespace

void check_launch_args(std::string_view kernel, bool params_known,
                       std::span<const ParamInfo> params, std::span<const ParamDecl> signature,
                       std::span<const ArgInfo> args) {
  if (params_known && args.size() != params.size()) {
    throw UserError(fmt::format("launch of kernel '{}': it takes {} argument{}, {} given", kernel,
                                params.size(), params.size() == 1 ? "" : "s", args.size()));
  }
  if (!signature.empty() && args.size() != signature.size()) {
    throw UserError(fmt::format("launch of kernel '{}': its signature has {} parameter{}, {} "
                                "arguments given",
                                kernel, signature.size(), signature.size() == 1 ? "" : "s",
                                args.size()));
  }
  for (std::size_t i = 0; i < args.size(); ++i) {
    const ArgInfo& a = args[i];
    if (a.kind == ArgKind::host_pointer) {
      fail(kernel, signature, i, "is a tensor in host memory; kernels need device memory");
    }
    if (!signature.empty() && !matches(signature[i], a)) {
      fail(kernel, signature, i,
           fmt::format("expects {}, got {}", describe(signature[i]), describe(a)));
    }
    if (params_known && a.size != params[i].size) {
      fail(kernel, signature, i,
           fmt::format("takes {} bytes, got {} ({} bytes)", params[i].size, describe(a), a.size));
    }
  }
}

} // namespace tessera
