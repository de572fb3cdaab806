#include "base/error.h"
#include "runtime/compiler.h"
#include "runtime/device.h"
#include "test_util.h"

#include <catch2/catch.hpp>

using namespace tessera;
using Catch::Matchers::Contains;

namespace {

CompileOptions sm90() {
  CompileOptions o;
  o.arch = "sm_90a";
  return o;
}

} // namespace

TEST_CASE("NVRTC compiles a kernel to cubin and PTX without a GPU", "[compiler]") {
  const CompileResult r = compile(test::kAxpySource, sm90());
  CHECK(r.arch == "sm_90a");
  CHECK(r.cubin.size() > 100);
  // An ELF image.
  CHECK(r.cubin[0] == 0x7f);
  CHECK(r.cubin[1] == 'E');
  CHECK_THAT(r.ptx, Contains(".target sm_90a"));
  CHECK(r.compile_ms > 0);
  CHECK(r.nvrtc_version == nvrtc_version());
  REQUIRE(r.entries.size() == 1);
  const EntryInfo& e = r.entries[0];
  CHECK(e.name == "axpy");
  REQUIRE(e.params_known);
  REQUIRE(e.params.size() == 4);
  CHECK(e.params[0].size == 8);
  CHECK(e.params[1].size == 8);
  CHECK(e.params[2].size == 4);
  CHECK(e.params[2].offset == 16);
  CHECK(e.params[3].size == 4);
  CHECK(e.params[3].offset == 20);
  // ptxas' verbose report gives resources with no GPU.
  CHECK(e.resources.registers > 0);
  CHECK(e.resources.shared_bytes == 0);
  CHECK(e.resources.local_bytes == 0);
  CHECK(e.resources.max_threads_per_block == 1024);
  CHECK(e.resources.origin == "ptxas");
  CHECK(r.find_entry("axpy") == &r.entries[0]);
  CHECK(r.find_entry("nope") == nullptr);
}

TEST_CASE("compile options reach NVRTC", "[compiler]") {
  CompileOptions o = sm90();
  o.lineinfo = true;
  o.fast_math = true;
  o.defines = {"SCALE=3"};
  const auto opts = nvrtc_options(o, "sm_90a");
  CHECK(std::find(opts.begin(), opts.end(), "-std=c++20") != opts.end());
  CHECK(std::find(opts.begin(), opts.end(), "-default-device") != opts.end());
  CHECK(std::find(opts.begin(), opts.end(), "-lineinfo") != opts.end());
  CHECK(std::find(opts.begin(), opts.end(), "--use_fast_math") != opts.end());
  CHECK(std::find(opts.begin(), opts.end(), "--gpu-architecture=sm_90a") != opts.end());
  const auto r = compile("extern \"C\" __global__ void k(int* p) { *p = SCALE; }\n"
                         "int helper() { return 1; }  // needs -default-device\n",
                         o);
  CHECK_THAT(r.ptx, Contains(".loc")); // lineinfo
  CHECK_THAT(r.ptx, Contains("3"));
}

TEST_CASE("sm_80 and __launch_bounds__, shared memory and a templated kernel", "[compiler]") {
  CompileOptions o;
  o.arch = "sm_80";
  o.name_expressions = {"scale<float, 4>"};
  const char* src = R"(
template <class T, int N>
__global__ void __launch_bounds__(128) scale(T* p) {
  __shared__ T tile[128 * N];
  tile[threadIdx.x] = p[threadIdx.x];
  __syncthreads();
  p[threadIdx.x] = tile[127 - threadIdx.x] * T(N);
}
)";
  const CompileResult r = compile(src, o);
  CHECK_THAT(r.ptx, Contains(".target sm_80"));
  const EntryInfo* e = r.find_entry("scale<float, 4>");
  REQUIRE(e != nullptr);
  CHECK(e->name.rfind("_Z", 0) == 0); // mangled
  CHECK(e->resources.max_threads_per_block == 128);
  CHECK(e->resources.shared_bytes == 128 * 4 * 4);
  CHECK(e->params.size() == 1);
}

TEST_CASE("in-memory headers are found by #include", "[compiler]") {
  CompileOptions o = sm90();
  o.headers = {{"prelude.h", "#pragma once\n__device__ inline float twice(float x) { return 2 * x; "
                             "}\n"}};
  const auto r = compile("#include \"prelude.h\"\nextern \"C\" __global__ void k(float* p) { "
                         "*p = twice(*p); }\n",
                         o);
  CHECK(r.entries.size() == 1);
}

TEST_CASE("a syntax error throws CompileError with the log and the quoted line", "[compiler]") {
  CompileOptions o = sm90();
  o.program_name = "broken.cu";
  const char* src = "extern \"C\" __global__ void k(float* p) {\n"
                    "  float y = undefined_thing;\n"
                    "  *p = y;\n"
                    "}\n";
  try {
    compile(src, o);
    FAIL("no exception");
  } catch (const CompileError& e) {
    const std::string what = e.what();
    CHECK_THAT(what, Contains("broken.cu"));
    CHECK_THAT(what, Contains("sm_90a"));
    CHECK_THAT(what, Contains("undefined_thing"));
    CHECK_THAT(what, Contains("broken.cu:2 |   float y = undefined_thing;"));
    CHECK_THAT(e.log(), Contains("broken.cu(2): error"));
  }
}

TEST_CASE("an error inside an in-memory header quotes the header line", "[compiler]") {
  CompileOptions o = sm90();
  o.headers = {{"bad.h", "#pragma once\n__device__ int f() { return nope; }\n"}};
  try {
    compile("#include \"bad.h\"\nextern \"C\" __global__ void k(int* p) { *p = f(); }\n", o);
    FAIL("no exception");
  } catch (const CompileError& e) {
    CHECK_THAT(std::string(e.what()), Contains("bad.h:2 | __device__ int f() { return nope; }"));
  }
}

TEST_CASE("a missing include is a CompileError naming the file", "[compiler]") {
  try {
    compile("#include \"no_such_header.cuh\"\nextern \"C\" __global__ void k() {}\n", sm90());
    FAIL("no exception");
  } catch (const CompileError& e) {
    CHECK_THAT(std::string(e.what()), Contains("no_such_header.cuh"));
    CHECK_THAT(std::string(e.what()), Contains("kernel.cu:1 |"));
  }
}

TEST_CASE("a bad option is a CompileError naming the option", "[compiler]") {
  CompileOptions o = sm90();
  o.extra_options = {"--no-such-option"};
  try {
    compile(test::kAxpySource, o);
    FAIL("no exception");
  } catch (const CompileError& e) {
    CHECK_THAT(std::string(e.what()), Contains("--no-such-option"));
    CHECK_THAT(std::string(e.what()), Contains("NVRTC_ERROR_INVALID_OPTION"));
  }
  o.extra_options.clear();
  o.cpp_std = "c++23";
  CHECK_THROWS_AS(compile(test::kAxpySource, o), CompileError);
}

TEST_CASE("a malformed arch is a UserError", "[compiler]") {
  CompileOptions o;
  o.arch = "hopper";
  CHECK_THROWS_AS(compile(test::kAxpySource, o), UserError);
  o.arch = "compute_90a"; // virtual: no cubin
  CHECK_THROWS_AS(compile(test::kAxpySource, o), UserError);
}

TEST_CASE("a requested kernel name that does not exist fails to compile", "[compiler]") {
  CompileOptions o = sm90();
  o.name_expressions = {"not_there"};
  CHECK_THROWS_AS(compile(test::kAxpySource, o), CompileError);
}

TEST_CASE("arch_for picks the arch-specific targets from Hopper on", "[compiler]") {
  CHECK(arch_for(8, 0) == "sm_80");
  CHECK(arch_for(8, 6) == "sm_86");
  CHECK(arch_for(8, 9) == "sm_89");
  CHECK(arch_for(9, 0) == "sm_90a");
  CHECK(arch_for(10, 0) == "sm_100a");
  CHECK(arch_for(12, 0) == "sm_120a");
  CHECK(is_valid_arch("sm_90a"));
  CHECK(is_valid_arch("sm_100f"));
  CHECK_FALSE(is_valid_arch("compute_90"));
  const auto archs = nvrtc_supported_archs();
  CHECK(std::find(archs.begin(), archs.end(), "sm_90a") != archs.end());
  CHECK(std::find(archs.begin(), archs.end(), "sm_80") != archs.end());
}

TEST_CASE("PTX signatures parse into parameter layouts", "[compiler]") {
  const char* ptx = R"(
.visible .entry k(
	.param .u64 k_param_0,
	.param .u8 k_param_1,
	.param .align 4 .b8 k_param_2[20],
	.param .f64 k_param_3,
	.param .u64 .ptr .global .align 1 k_param_4
)
.maxntid 256, 2, 1
{
	ret;
}
.visible .entry empty()
{
	ret;
}
)";
  const auto entries = parse_ptx_entries(ptx);
  REQUIRE(entries.size() == 2);
  const auto& p = entries[0].params;
  REQUIRE(p.size() == 5);
  CHECK((p[0].offset == 0 && p[0].size == 8));
  CHECK((p[1].offset == 8 && p[1].size == 1));
  CHECK((p[2].offset == 12 && p[2].size == 20));
  CHECK((p[3].offset == 32 && p[3].size == 8));
  CHECK((p[4].offset == 40 && p[4].size == 8));
  CHECK(entries[0].resources.max_threads_per_block == 512);
  CHECK(entries[1].name == "empty");
  CHECK(entries[1].params.empty());
  CHECK(entries[1].params_known);
}
