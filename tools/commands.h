/** \file
 * Subcommands of the `tessera` CLI. Each lives in its own cmd_<name>.cpp and registers itself
 * on the root app; to add one, declare its add_<name>_command here, call it in main.cpp and add
 * the file to tools/CMakeLists.txt.
 *
 * Conventions: a command reports failure by throwing (tessera::Error or CommandError); main()
 * prints "tessera: error: <one line>" to stderr and exits with status 1.
 */
#pragma once

#include <CLI/CLI.hpp>
#include <stdexcept>
#include <string>
#include <vector>

namespace tessera::cli {

/** A failure with a one-line reason, e.g. an unreadable input file. */
class CommandError : public std::runtime_error {
public:
  using std::runtime_error::runtime_error;
};

/** `tessera compile FILE.cu --arch sm_90a [-o out.cubin] [--ptx] ...` */
void add_compile_command(CLI::App& app);
/** `tessera cache stats|path|clear` */
void add_cache_command(CLI::App& app);
/** `tessera info`: driver, devices, NVRTC, cache location. */
void add_info_command(CLI::App& app);
/** `tessera run OP --tokens T --hidden H ...`: run an mHC op (tools/cmd_run.cpp). */
void add_run_command(CLI::App& app);
/** `tessera tune OP --hidden H`: measure an mHC op's kernel choices (tools/cmd_tune.cpp). */
void add_tune_command(CLI::App& app);

/** `tessera emit KERNEL [--param k=v] [--ir|--passes] [--arch A]` (tools/cmd_emit.cpp). */
void add_emit_command(CLI::App& app);
/** `tessera list`: registered DSL kernels and their parameters (tools/cmd_list.cpp). */
void add_list_command(CLI::App& app);
/** True when `name` is a registered DSL kernel (tools/cmd_emit.cpp). */
bool is_registered_kernel(const std::string& name);
/** `tessera compile KERNEL`: compiles a registered DSL kernel to a cubin or PTX file. */
void compile_registered_kernel(const std::string& name, const std::vector<std::string>& params,
                               const std::string& arch, bool ptx, const std::string& output);

} // namespace tessera::cli
