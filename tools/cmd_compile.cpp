// `tessera compile`: compile any CUDA source file with NVRTC (no GPU needed with --arch).
#include "base/file_io.h"
#include "runtime/compiler.h"
#include "tools/cli_values.h"
#include "tools/commands.h"

#include <filesystem>
#include <fmt/format.h>
#include <fstream>
#include <iostream>
#include <memory>
#include <sstream>

namespace tessera::cli {

namespace {

struct CompileArgs {
  std::string file;
  std::string output;
  bool ptx = false;
  bool quiet = false;
  CompileOptions options;
  std::vector<std::string> params; ///< registered kernels: --param key=value
  std::int64_t hidden = 0;         ///< registered kernels: --hidden H
};

std::string read_source(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    throw CommandError(fmt::format("cannot read '{}'", path));
  }
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void write_output(const std::string& path, const void* data, std::size_t size) {
  write_file_atomic(path, std::string_view(static_cast<const char*>(data), size));
}

void run(const CompileArgs& args) {
  namespace fs = std::filesystem;
  // Not a .cu file but a registered DSL kernel: compile that (tools/cmd_emit.cpp).
  if (!args.file.ends_with(".cu") && !fs::exists(args.file) && is_registered_kernel(args.file)) {
    std::vector<std::string> params = args.params;
    if (args.hidden > 0) {
      params.push_back(fmt::format("hidden={}", args.hidden));
    }
    compile_registered_kernel(args.file, params, args.options.arch, args.ptx, args.output);
    return;
  }
  if (!args.params.empty() || args.hidden > 0) {
    throw CommandError(
        fmt::format("--param/--hidden apply to registered kernels; '{}' is a file", args.file));
  }
  const std::string source = read_source(args.file);
  CompileOptions options = args.options;
  options.program_name = fs::path(args.file).filename().string();
  // Like nvcc: quoted includes resolve next to the source file.
  options.include_paths.insert(options.include_paths.begin(),
                               fs::absolute(args.file).parent_path().string());
  const CompileResult r = compile(source, options);
  std::string output = args.output;
  if (output.empty()) {
    output = fs::path(args.file).replace_extension(args.ptx ? ".ptx" : ".cubin").string();
  }
  if (args.ptx) {
    write_output(output, r.ptx.data(), r.ptx.size());
  } else {
    write_output(output, r.cubin.data(), r.cubin.size());
  }
  if (args.quiet) {
    return;
  }
  std::cout << fmt::format("{}: {} for {} in {:.1f} ms (NVRTC {}), {} bytes\n", output,
                           args.ptx ? "PTX" : "cubin", r.arch, r.compile_ms, r.nvrtc_version,
                           args.ptx ? r.ptx.size() : r.cubin.size());
  for (const auto& e : r.entries) {
    const KernelResources& res = e.resources;
    std::cout << fmt::format("  {}{}: {} registers, {} B shared, {} B local (spills: {} B "
                             "stores, {} B loads), max {} threads, {} params\n",
                             e.name, e.expression.empty() ? "" : " (" + e.expression + ")",
                             res.registers, res.shared_bytes, res.local_bytes,
                             res.spill_store_bytes, res.spill_load_bytes, res.max_threads_per_block,
                             e.params.size());
  }
}

} // namespace

void add_compile_command(CLI::App& app) {
  auto args = std::make_shared<CompileArgs>();
  args->options.arch = "";
  CLI::App* cmd = app.add_subcommand(
      "compile", "Compile a CUDA C++ file with NVRTC to a cubin (or PTX); prints resource use");
  cmd->add_option("file", args->file, "CUDA source file, or a registered DSL kernel (tessera list)")
      ->required();
  cmd->add_option("--arch,-a", args->options.arch,
                  "target: sm_80, sm_90a, sm_100a... or 'auto' (the arch of GPU 0)")
      ->required();
  cmd->add_option("-o,--output", args->output, "output file (default: FILE with .cubin/.ptx)");
  cmd->add_flag("--ptx", args->ptx, "write PTX instead of the cubin");
  cmd->add_option("-I,--include", args->options.include_paths, "include directory (repeatable)");
  cmd->add_option("-D,--define", args->options.defines, "macro NAME or NAME=VALUE (repeatable)");
  cmd->add_option("--kernel,-k", args->options.name_expressions,
                  "kernel name expression to instantiate, e.g. 'gemm<128>' (repeatable)");
  cmd->add_option("--std", args->options.cpp_std, "C++ dialect")->capture_default_str();
  cmd->add_flag("--lineinfo", args->options.lineinfo, "emit line info for profilers");
  cmd->add_flag("--fast-math", args->options.fast_math, "--use_fast_math");
  cmd->add_option("-X,--nvrtc-option", args->options.extra_options,
                  "extra NVRTC option, passed verbatim (repeatable)");
  cmd->add_flag("-q,--quiet", args->quiet, "print nothing on success");
  cmd->add_option("--param", args->params,
                  "Registered kernel: parameter override, key=value (repeatable)");
  add_hidden_option(cmd, args->hidden, "--hidden",
                    "Registered kernel: shorthand for --param hidden=H");
  cmd->callback([args] { run(*args); });
}

} // namespace tessera::cli
