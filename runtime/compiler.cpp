#include "runtime/compiler.h"

#include "base/error.h"
#include "runtime/device.h"
#include "runtime/nvrtc_loader.h"

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fmt/format.h>
#include <map>
#include <memory>
#include <regex>
#include <sstream>

#ifndef TESSERA_DEFAULT_CUDA_HOME
#define TESSERA_DEFAULT_CUDA_HOME "/usr/local/cuda"
#endif

namespace tessera {

namespace {

// Destroys the NVRTC program on every exit path.
struct ProgramGuard {
  nvrtcProgram program = nullptr;
  ~ProgramGuard() {
    if (program) {
      nvrtc().DestroyProgram(&program);
    }
  }
};

std::vector<std::string_view> split_lines(std::string_view text) {
  std::vector<std::string_view> lines;
  std::size_t start = 0;
  while (start <= text.size()) {
    std::size_t end = text.find('\n', start);
    if (end == std::string_view::npos) {
      end = text.size();
    }
    lines.push_back(text.substr(start, end - start));
    start = end + 1;
  }
  return lines;
}

// Quotes the source lines that NVRTC diagnostics point at ("kernel.cu(12): error: ..."), looking
// the files up among the program and its in-memory headers.
std::string quote_offending_lines(std::string_view log, std::string_view program_name,
                                  std::string_view source,
                                  const std::vector<HeaderSource>& headers) {
  static const std::regex diag(
      R"(^(.+?)\((\d+)\): (catastrophic error|error|warning)[^:]*: (.*)$)");
  std::string out;
  int quoted = 0;
  for (std::string_view line_view : split_lines(log)) {
    std::string line(line_view);
    std::smatch m;
    if (!std::regex_match(line, m, diag) || m[3] == "warning") {
      continue;
    }
    const std::string file = m[1];
    const int line_no = std::stoi(m[2]);
    std::string_view text;
    if (file == program_name) {
      text = source;
    } else {
      for (const auto& h : headers) {
        if (h.name == file) {
          text = h.content;
        }
      }
    }
    out += fmt::format("  {}\n", line);
    if (!text.empty()) {
      auto lines = split_lines(text);
      if (line_no >= 1 && static_cast<std::size_t>(line_no) <= lines.size()) {
        out += fmt::format("    {}:{} | {}\n", file, line_no, lines[line_no - 1]);
      }
    }
    if (++quoted == 20) {
      out += "  ...\n";
      break;
    }
  }
  return out;
}

std::string read_log(nvrtcProgram program) {
  std::size_t size = 0;
  if (nvrtc().GetProgramLogSize(program, &size) != NVRTC_SUCCESS || size <= 1) {
    return {};
  }
  std::string log(size, '\0');
  nvrtc().GetProgramLog(program, log.data());
  log.resize(size - 1); // the reported size includes the terminating NUL
  while (!log.empty() && (log.back() == '\n' || log.back() == '\0')) {
    log.pop_back();
  }
  return log;
}

int parse_int(std::string_view s) {
  int v = 0;
  std::from_chars(s.data(), s.data() + s.size(), v);
  return v;
}

std::size_t ptx_type_size(std::string_view type) {
  // .u64 .s32 .f16 .b8 ... : the digits are the width in bits (.pred is never a kernel param).
  std::size_t digits = type.find_first_of("0123456789");
  if (digits == std::string_view::npos) {
    return 0;
  }
  return static_cast<std::size_t>(parse_int(type.substr(digits))) / 8;
}

bool is_ptx_type(std::string_view tok) {
  static const std::regex type(R"(\.[usfb](8|16|32|64))");
  return std::regex_match(tok.begin(), tok.end(), type);
}

} // namespace

const EntryInfo* CompileResult::find_entry(std::string_view name) const {
  for (const auto& e : entries) {
    if (e.name == name || (!e.expression.empty() && e.expression == name)) {
      return &e;
    }
  }
  return nullptr;
}

std::string nvrtc_version() {
  int major = 0, minor = 0;
  nvrtc().Version(&major, &minor);
  return fmt::format("{}.{}", major, minor);
}

std::vector<std::string> nvrtc_supported_archs() {
  int n = 0;
  std::vector<std::string> out;
  if (nvrtc().GetNumSupportedArchs(&n) != NVRTC_SUCCESS || n <= 0) {
    return out;
  }
  std::vector<int> archs(static_cast<std::size_t>(n));
  nvrtc().GetSupportedArchs(archs.data());
  for (int a : archs) {
    out.push_back(fmt::format("sm_{}", a));
    if (a >= 90) {
      out.push_back(fmt::format("sm_{}a", a));
    }
  }
  return out;
}

std::string cuda_home() {
  const char* env = std::getenv("CUDA_HOME");
  if (env && *env) {
    return env;
  }
  return TESSERA_DEFAULT_CUDA_HOME;
}

std::string resolve_arch(const CompileOptions& options) {
  if (options.arch != "auto") {
    if (!is_valid_arch(options.arch)) {
      throw UserError(fmt::format("invalid target arch '{}' for {}: expected a real arch such as "
                                  "sm_80, sm_90a or sm_100a, or \"auto\"",
                                  options.arch, options.program_name));
    }
    return options.arch;
  }
  try {
    return device_info(options.device).arch;
  } catch (const DriverError& e) {
    throw DriverError(fmt::format("cannot pick the target arch of {} automatically: {} (pass an "
                                  "explicit arch such as sm_90a to compile without a GPU)",
                                  options.program_name, e.what()),
                      e.code());
  }
}

std::vector<std::string> nvrtc_options(const CompileOptions& options, const std::string& arch) {
  std::vector<std::string> opts;
  opts.push_back("--gpu-architecture=" + arch);
  opts.push_back("-std=" + options.cpp_std);
  if (options.default_device) {
    opts.push_back("-default-device");
  }
  if (options.lineinfo) {
    opts.push_back("-lineinfo");
  }
  if (options.fast_math) {
    opts.push_back("--use_fast_math");
  }
  // ptxas' verbose report gives registers / smem / spills without a GPU.
  opts.push_back("--ptxas-options=-v");
  for (const auto& d : options.defines) {
    opts.push_back("-D" + d);
  }
  for (const auto& inc : options.include_paths) {
    opts.push_back("-I" + inc);
  }
  // NVRTC has no default search path; CUDA 13 keeps CCCL (cuda/std/...) under include/cccl.
  const std::filesystem::path home(cuda_home());
  for (const auto& dir : {home / "include", home / "include" / "cccl"}) {
    std::error_code ec;
    if (std::filesystem::is_directory(dir, ec)) {
      opts.push_back("-I" + dir.string());
    }
  }
  for (const auto& o : options.extra_options) {
    opts.push_back(o);
  }
  return opts;
}

CompileResult compile(std::string_view source, const CompileOptions& options) {
  CompileResult result;
  result.program_name = options.program_name;
  result.source = std::string(source);
  result.arch = resolve_arch(options);
  result.options = nvrtc_options(options, result.arch);
  result.nvrtc_version = nvrtc_version();

  const auto start = std::chrono::steady_clock::now();
  std::vector<const char*> header_sources, header_names;
  for (const auto& h : options.headers) {
    header_sources.push_back(h.content.c_str());
    header_names.push_back(h.name.c_str());
  }
  ProgramGuard guard;
  nvrtcResult r = nvrtc().CreateProgram(
      &guard.program, result.source.c_str(), options.program_name.c_str(),
      static_cast<int>(header_sources.size()), header_sources.data(), header_names.data());
  if (r != NVRTC_SUCCESS) {
    throw CompileError(fmt::format("NVRTC could not create program {}: {}", options.program_name,
                                   nvrtc().GetErrorString(r)),
                       "");
  }
  for (const auto& expr : options.name_expressions) {
    r = nvrtc().AddNameExpression(guard.program, expr.c_str());
    if (r != NVRTC_SUCCESS) {
      throw CompileError(fmt::format("NVRTC rejected name expression '{}' of {}: {}", expr,
                                     options.program_name, nvrtc().GetErrorString(r)),
                         "");
    }
  }
  std::vector<const char*> opt_ptrs;
  for (const auto& o : result.options) {
    opt_ptrs.push_back(o.c_str());
  }
  r = nvrtc().CompileProgram(guard.program, static_cast<int>(opt_ptrs.size()), opt_ptrs.data());
  result.log = read_log(guard.program);
  if (r != NVRTC_SUCCESS) {
    std::string message = fmt::format("NVRTC failed to compile {} for {} ({})",
                                      options.program_name, result.arch, nvrtc().GetErrorString(r));
    // A missing CUDA header is almost always a CUDA_HOME that is not a toolkit root.
    std::error_code ec;
    const std::filesystem::path home(cuda_home());
    if ((result.log.find("open source file") != std::string::npos) &&
        !std::filesystem::exists(home / "include" / "cuda_bf16.h", ec)) {
      message += fmt::format("; hint: CUDA_HOME='{}' has no include/cuda_bf16.h: set CUDA_HOME "
                             "to the CUDA toolkit root (e.g. /usr/local/cuda)",
                             home.string());
    }
    const std::string quoted =
        quote_offending_lines(result.log, options.program_name, source, options.headers);
    if (!quoted.empty()) {
      message += "\n" + quoted;
    }
    message +=
        fmt::format("\n--- NVRTC log ---\n{}\n--- options: {} ---",
                    result.log.empty() ? "(empty)" : result.log, fmt::join(result.options, " "));
    throw CompileError(message, result.log);
  }

  std::size_t size = 0;
  if (nvrtc().GetCUBINSize(guard.program, &size) == NVRTC_SUCCESS && size > 0) {
    result.cubin.resize(size);
    nvrtc().GetCUBIN(guard.program, reinterpret_cast<char*>(result.cubin.data()));
  }
  if (result.cubin.empty()) {
    throw CompileError(fmt::format("NVRTC produced no cubin for {} (arch {} must be a real "
                                   "architecture such as sm_90a)",
                                   options.program_name, result.arch),
                       result.log);
  }
  size = 0;
  if (nvrtc().GetPTXSize(guard.program, &size) == NVRTC_SUCCESS && size > 1) {
    result.ptx.resize(size);
    nvrtc().GetPTX(guard.program, result.ptx.data());
    result.ptx.resize(size - 1);
  }
  result.entries = parse_ptx_entries(result.ptx);
  // Lowered names must be copied before the program is destroyed.
  for (const auto& expr : options.name_expressions) {
    const char* lowered = nullptr;
    if (nvrtc().GetLoweredName(guard.program, expr.c_str(), &lowered) == NVRTC_SUCCESS && lowered) {
      bool found = false;
      for (auto& e : result.entries) {
        if (e.name == lowered) {
          e.expression = expr;
          found = true;
        }
      }
      if (!found) {
        EntryInfo e;
        e.name = lowered;
        e.expression = expr;
        result.entries.push_back(std::move(e));
      }
    }
  }
  parse_ptxas_resources(result.log, result.entries);
  result.compile_ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
  return result;
}

std::vector<EntryInfo> parse_ptx_entries(std::string_view ptx) {
  std::vector<EntryInfo> entries;
  std::size_t pos = 0;
  while ((pos = ptx.find(".entry ", pos)) != std::string_view::npos) {
    // Skip matches inside comments ("// .globl" lines never say ".entry ", but be safe).
    const std::size_t line_start = ptx.rfind('\n', pos);
    const std::string_view prefix =
        ptx.substr(line_start == std::string_view::npos ? 0 : line_start + 1,
                   pos - (line_start == std::string_view::npos ? 0 : line_start + 1));
    pos += 7;
    if (prefix.find("//") != std::string_view::npos) {
      continue;
    }
    const std::size_t open = ptx.find('(', pos);
    const std::size_t brace = ptx.find('{', pos);
    if (brace == std::string_view::npos) {
      break;
    }
    EntryInfo entry;
    entry.params_known = true;
    const std::size_t name_end = std::min(open, brace);
    std::string name(ptx.substr(pos, name_end - pos));
    name.erase(std::remove_if(name.begin(), name.end(), [](char c) { return std::isspace(c); }),
               name.end());
    entry.name = name;
    std::size_t offset = 0;
    if (open < brace) {
      const std::size_t close = ptx.find(')', open);
      std::string_view params = ptx.substr(open + 1, close - open - 1);
      std::size_t p = 0;
      while ((p = params.find(".param", p)) != std::string_view::npos) {
        std::size_t end = params.find_first_of(",", p);
        if (end == std::string_view::npos) {
          end = params.size();
        }
        std::istringstream tokens{std::string(params.substr(p + 6, end - p - 6))};
        std::string tok;
        std::size_t align = 0, elem = 0, count = 1;
        while (tokens >> tok) {
          if (tok == ".align") {
            tokens >> tok;
            // ".align N" before the type is the parameter's alignment; after ".ptr" it describes
            // the pointee and is ignored.
            if (elem == 0) {
              align = static_cast<std::size_t>(parse_int(tok));
            }
          } else if (is_ptx_type(tok)) {
            if (elem == 0) {
              elem = ptx_type_size(tok);
            }
          } else if (tok[0] != '.') {
            const std::size_t bracket = tok.find('[');
            if (bracket != std::string::npos) {
              count = static_cast<std::size_t>(parse_int(tok.substr(bracket + 1)));
            }
          }
        }
        if (align == 0) {
          align = elem;
        }
        if (align > 0) {
          offset = (offset + align - 1) / align * align;
        }
        entry.params.push_back({offset, elem * count});
        offset += elem * count;
        p = end;
      }
    }
    // Directives between the signature and the body: .maxntid x, y, z
    const std::size_t sig_end = open < brace ? ptx.find(')', open) : name_end;
    const std::string_view header = ptx.substr(sig_end, brace - sig_end);
    const std::size_t maxntid = header.find(".maxntid");
    if (maxntid != std::string_view::npos) {
      std::istringstream dims{std::string(header.substr(maxntid + 8))};
      int total = 1;
      std::string tok;
      for (int i = 0; i < 3 && std::getline(dims, tok, ','); ++i) {
        total *= std::max(1, std::atoi(tok.c_str()));
      }
      entry.resources.max_threads_per_block = total;
    } else {
      entry.resources.max_threads_per_block = 1024;
    }
    entries.push_back(std::move(entry));
    pos = brace;
  }
  return entries;
}

void parse_ptxas_resources(std::string_view log, std::vector<EntryInfo>& entries) {
  static const std::regex compiling(R"(Compiling entry function '([^']+)')");
  static const std::regex properties(R"(Function properties for (\S+))");
  static const std::regex frame(
      R"((\d+) bytes stack frame, (\d+) bytes spill stores, (\d+) bytes spill loads)");
  static const std::regex used(R"(Used (\d+) registers)");
  static const std::regex smem(R"((\d+) bytes smem)");
  EntryInfo* current = nullptr;
  auto find = [&](const std::string& name) -> EntryInfo* {
    for (auto& e : entries) {
      if (e.name == name) {
        return &e;
      }
    }
    return nullptr;
  };
  for (std::string_view line_view : split_lines(log)) {
    std::string line(line_view);
    std::smatch m;
    if (std::regex_search(line, m, compiling)) {
      current = find(m[1]);
    } else if (std::regex_search(line, m, properties)) {
      // Device functions get "Function properties" too; only entries are tracked.
      current = find(m[1]);
    } else if (current && std::regex_search(line, m, frame)) {
      current->resources.local_bytes = std::stoi(m[1]);
      current->resources.spill_store_bytes = std::stoi(m[2]);
      current->resources.spill_load_bytes = std::stoi(m[3]);
      current->resources.origin = "ptxas";
    } else if (current && std::regex_search(line, m, used)) {
      current->resources.registers = std::stoi(m[1]);
      std::smatch s;
      current->resources.shared_bytes = std::regex_search(line, s, smem) ? std::stoi(s[1]) : 0;
      current->resources.origin = "ptxas";
    }
  }
}

} // namespace tessera
