#include "codegen/target_info.h"

namespace tessera::codegen {

namespace {

class Cuda final : public ops::TargetInfo {
public:
  const char* name() const override { return "cuda"; }
  bool has_tensor_cores() const override { return true; }
};

class Cpu final : public ops::TargetInfo {
public:
  const char* name() const override { return "cpu"; }
  bool has_tensor_cores() const override { return false; }
};

} // namespace

const ops::TargetInfo& cuda_target() {
  static const Cuda target;
  return target;
}

const ops::TargetInfo& cpu_target() {
  static const Cpu target;
  return target;
}

} // namespace tessera::codegen
