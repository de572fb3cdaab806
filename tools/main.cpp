// The `tessera` command-line tool: one subcommand per cmd_*.cpp (see commands.h).
#include "base/error.h"
#include "base/file_io.h"
#include "tools/commands.h"

#include <iostream>
#include <string>

namespace {

std::string first_line(const std::string& text) {
  return text.substr(0, text.find('\n'));
}

} // namespace

int main(int argc, char** argv) {
  CLI::App app{"tessera: tile-kernel DSL and JIT compiler for NVIDIA GPUs.\n"
               "Environment: TESSERA_CACHE_DIR, TESSERA_DISABLE_CACHE=1, TESSERA_DUMP_DIR, "
               "CUDA_HOME (see docs/runtime.md)."};
  app.name("tessera");
  app.require_subcommand(1);
  tessera::cli::add_compile_command(app);
  tessera::cli::add_cache_command(app);
  tessera::cli::add_info_command(app);
  tessera::cli::add_emit_command(app);
  tessera::cli::add_list_command(app);
  tessera::cli::add_run_command(app);
  tessera::cli::add_tune_command(app);
  try {
    app.parse(argc, argv);
    tessera::flush_stdout(); // `tessera list > /dev/full` must fail, not report success
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  } catch (const tessera::CompileError& e) {
    // The diagnostics (quoted lines, NVRTC log) first, then the one-line reason.
    const std::string what = e.what();
    const auto newline = what.find('\n');
    if (newline != std::string::npos) {
      std::cerr << what.substr(newline + 1) << "\n";
    }
    std::cerr << "tessera: error: " << first_line(what) << "\n";
    return 1;
  } catch (const std::exception& e) {
    std::cerr << "tessera: error: " << first_line(e.what()) << "\n";
    return 1;
  }
  return 0;
}
