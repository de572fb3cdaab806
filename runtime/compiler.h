/** \file
 * NVRTC front end: compiles CUDA C++ source to a cubin (real arch) and PTX, with the NVRTC log,
 * compile time, entry points (with their parameter layout, read from the PTX) and per-kernel
 * resource use read from ptxas' verbose output, so all of it works without a GPU.
 *
 * Failures throw CompileError whose what() names the program and arch, quotes the offending
 * source lines and carries the full NVRTC log.
 */
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace tessera {

/** A header handed to NVRTC from memory: `#include "name"` resolves to `content`. */
struct HeaderSource {
  std::string name;
  std::string content;
  bool operator==(const HeaderSource&) const = default;
};

/** How to compile one program. Every field takes part in the cache key. */
struct CompileOptions {
  /** Target, e.g. "sm_90a", "sm_80", or "auto" for the arch of `device` (needs a GPU). */
  std::string arch = "auto";
  /** Device whose arch "auto" picks. */
  int device = 0;
  /** C++ dialect passed as -std=. */
  std::string cpp_std = "c++20";
  /** -default-device: un-annotated functions are device functions. */
  bool default_device = true;
  /** -lineinfo: source line info for profilers (ncu, compute-sanitizer). */
  bool lineinfo = false;
  /** --use_fast_math (opt-in: changes numerics). */
  bool fast_math = false;
  /** Extra -I directories, searched before the CUDA toolkit's include directories. */
  std::vector<std::string> include_paths;
  /** -D macros, "NAME" or "NAME=VALUE". */
  std::vector<std::string> defines;
  /** Headers supplied from memory (the DSL's device prelude, for instance). */
  std::vector<HeaderSource> headers;
  /**
   * C++ names of __global__ functions to instantiate and look up ("gemm<128, 64>"), for
   * templated or non-extern "C" kernels. extern "C" kernels need none.
   */
  std::vector<std::string> name_expressions;
  /** Any other NVRTC options, passed verbatim (use the one-token "--opt=value" form). */
  std::vector<std::string> extra_options;
  /** The program's file name in diagnostics. */
  std::string program_name = "kernel.cu";

  bool operator==(const CompileOptions&) const = default;
};

/** Layout of one kernel parameter in the argument buffer. */
struct ParamInfo {
  std::size_t offset = 0;
  std::size_t size = 0;
};

/** Resource use of one kernel. -1 means unknown. */
struct KernelResources {
  int registers = -1;
  /** Static shared memory, bytes. */
  int shared_bytes = -1;
  /** Local memory per thread (stack frame, includes spills), bytes. */
  int local_bytes = -1;
  int spill_store_bytes = -1;
  int spill_load_bytes = -1;
  /** From __launch_bounds__ / .maxntid, else the hardware limit (1024). */
  int max_threads_per_block = -1;
  /** "ptxas" when parsed from the compile log, "driver" when read with cuFuncGetAttribute. */
  std::string origin;
};

/** One __global__ function of a compiled program. */
struct EntryInfo {
  /** Symbol name in the cubin (the mangled name for C++ kernels). */
  std::string name;
  /** The name expression that produced it, "" for extern "C" kernels. */
  std::string expression;
  /** Parameters as laid out in the PTX signature. */
  std::vector<ParamInfo> params;
  /** False when the entry was not found in the PTX (params then unknown). */
  bool params_known = false;
  KernelResources resources;
};

/** Everything NVRTC produced for one program. */
struct CompileResult {
  std::string program_name;
  std::string source;
  /** Target arch, e.g. "sm_90a". */
  std::string arch;
  /** The exact NVRTC option list used. */
  std::vector<std::string> options;
  /** "13.0". */
  std::string nvrtc_version;
  std::vector<std::uint8_t> cubin;
  std::string ptx;
  /** NVRTC log (warnings and ptxas info); may be empty. */
  std::string log;
  std::vector<EntryInfo> entries;
  /** Wall time of NVRTC program creation + compile + output retrieval, milliseconds. */
  double compile_ms = 0;

  /** Entry whose symbol name or name expression equals `name`; nullptr when none. */
  const EntryInfo* find_entry(std::string_view name) const;
};

/** NVRTC's version, "major.minor". */
std::string nvrtc_version();

/** Real architectures this NVRTC can target ("sm_75", ..., "sm_90a", ...). */
std::vector<std::string> nvrtc_supported_archs();

/** The CUDA toolkit root: $CUDA_HOME, else the one Tessera was built against. */
std::string cuda_home();

/**
 * The arch `options` asks for: options.arch unless it is "auto", in which case the arch of
 * options.device. Throws DriverError (with a hint to pass an explicit arch) without a GPU, and
 * UserError for a malformed arch string.
 */
std::string resolve_arch(const CompileOptions& options);

/** The NVRTC option list compile() passes for `options` and a resolved `arch`. */
std::vector<std::string> nvrtc_options(const CompileOptions& options, const std::string& arch);

/**
 * Compiles `source` with NVRTC. Needs no GPU when options.arch is explicit. Throws CompileError
 * (log, quoted source lines) when NVRTC rejects the program or an option.
 */
CompileResult compile(std::string_view source, const CompileOptions& options);

/** Parses the `.entry` signatures (and .maxntid) of a PTX module. */
std::vector<EntryInfo> parse_ptx_entries(std::string_view ptx);

/** Fills `entries[i].resources` from ptxas' verbose output in an NVRTC log. */
void parse_ptxas_resources(std::string_view log, std::vector<EntryInfo>& entries);

} // namespace tessera
