#include "base/error.h"
#include "runtime/launch_args.h"
#include "runtime/memory.h"

#include <catch2/catch.hpp>
#include <vector>

using namespace tessera;
using Catch::Matchers::Contains;

namespace {

// Binds arguments the way DeviceFunction::launch does, without a GPU.
template <class... Args> std::vector<ArgInfo> infos_of(const Args&... args) {
  std::vector<ArgInfo> infos(sizeof...(Args));
  std::vector<void*> slots(sizeof...(Args));
  std::vector<std::uint64_t> storage(sizeof...(Args));
  std::size_t i = 0;
  ((bind_arg(args, slots[i], infos[i], storage[i]), ++i), ...);
  return infos;
}

std::string error_of(const std::vector<ParamInfo>& params, const std::vector<ParamDecl>& sig,
                     const std::vector<ArgInfo>& args) {
  try {
    check_launch_args("my_kernel", true, params, sig, args);
  } catch (const UserError& e) {
    return e.what();
  }
  return "";
}

struct Pair {
  float a, b;
};

} // namespace

TEST_CASE("bind_arg classifies arguments", "[launch]") {
  float* f = nullptr;
  const bf16* b = nullptr;
  int n = 3;
  unsigned long long addr = 0;
  Pair pair{};
  std::int64_t big = 1;
  float host[4];
  TensorView dev(nullptr, DType::bf16, {2, 2});
  TensorView hv(host, DType::f32, {4}, MemoryKind::host);
  const auto infos = infos_of(f, b, n, addr, pair, big, dev, hv, 1.0);
  CHECK((infos[0].kind == ArgKind::device_pointer && infos[0].dtype == DType::f32));
  CHECK((infos[1].kind == ArgKind::device_pointer && infos[1].dtype == DType::bf16));
  CHECK((infos[2].kind == ArgKind::scalar && infos[2].dtype == DType::i32 && infos[2].size == 4));
  CHECK(infos[3].kind == ArgKind::address);
  CHECK((infos[4].kind == ArgKind::bytes && infos[4].size == sizeof(Pair)));
  CHECK((infos[5].kind == ArgKind::scalar && infos[5].dtype == DType::i64));
  CHECK((infos[6].kind == ArgKind::device_pointer && infos[6].dtype == DType::bf16));
  CHECK(infos[7].kind == ArgKind::host_pointer);
  CHECK((infos[8].kind == ArgKind::scalar && infos[8].dtype == DType::f64));
  // The slot of a TensorView holds its pointer value.
  std::vector<void*> slots(1);
  std::vector<ArgInfo> one(1);
  std::vector<std::uint64_t> storage(1);
  float data[2];
  bind_arg(TensorView(data, DType::f32, {2}), slots[0], one[0], storage[0]);
  CHECK(*static_cast<void**>(slots[0]) == data);
}

TEST_CASE("argument count and sizes are checked against the parameter layout", "[launch]") {
  const std::vector<ParamInfo> params = {{0, 8}, {8, 4}};
  float* p = nullptr;
  int n = 1;
  CHECK(error_of(params, {}, infos_of(p, n)).empty());
  CHECK_THAT(error_of(params, {}, infos_of(p)), Contains("takes 2 arguments, 1 given"));
  CHECK_THAT(error_of(params, {}, infos_of(p, n, n)), Contains("takes 2 arguments, 3 given"));
  CHECK_THAT(error_of(params, {}, infos_of(p, std::int64_t{1})),
             Contains("argument 1 takes 4 bytes, got a i64 scalar (8 bytes)"));
  CHECK_THAT(error_of(params, {}, infos_of(p, n)), !Contains("my_kernel"));
  CHECK_THAT(error_of(params, {}, infos_of(n, n)), Contains("kernel 'my_kernel'"));
  // Unknown layout: nothing to check against.
  CHECK_NOTHROW(check_launch_args("k", false, {}, {}, infos_of(p, n, n)));
}

TEST_CASE("a declared signature checks kinds and dtypes", "[launch]") {
  const std::vector<ParamInfo> params = {{0, 8}, {8, 8}, {16, 4}, {20, 8}};
  const std::vector<ParamDecl> sig = {
      ParamDecl::pointer(DType::bf16, "out"), ParamDecl::untyped_pointer("scratch"),
      ParamDecl::scalar(DType::f32, "eps"), ParamDecl::bytes(8, "pair")};
  bf16* out = nullptr;
  float* wrong = nullptr;
  void* scratch = nullptr;
  float eps = 1e-6f;
  Pair pair{};
  CHECK(error_of(params, sig, infos_of(out, scratch, eps, pair)).empty());
  CHECK(error_of(params, sig, infos_of(TensorView(nullptr, DType::bf16, {4}), wrong, eps, pair))
            .empty());
  CHECK_THAT(error_of(params, sig, infos_of(wrong, scratch, eps, pair)),
             Contains("argument 0 'out' expects a pointer to bf16, got a pointer to f32"));
  CHECK_THAT(error_of(params, sig, infos_of(out, scratch, 1, pair)),
             Contains("argument 2 'eps' expects a f32 scalar, got a i32 scalar"));
  CHECK_THAT(error_of(params, sig, infos_of(out, 1.0f, eps, pair)),
             Contains("argument 1 'scratch' expects a pointer"));
  CHECK_THAT(error_of(params, sig, infos_of(out, scratch, eps)),
             Contains("takes 4 arguments, 3 given"));
  float host[4];
  CHECK_THAT(
      error_of(params, sig,
               infos_of(TensorView(host, DType::bf16, {4}, MemoryKind::host), scratch, eps, pair)),
      Contains("argument 0 'out' is a tensor in host memory"));
  // A raw CUdeviceptr is accepted where a pointer is declared.
  CUdeviceptr raw = 0;
  CHECK(error_of(params, sig, infos_of(raw, scratch, eps, pair)).empty());
}
