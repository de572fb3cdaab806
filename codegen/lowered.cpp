#include "codegen/lowered.h"

#include "base/error.h"
#include "ir/printer.h"

#include <fmt/format.h>
#include <sstream>

namespace tessera::codegen {

using namespace ir;

const Layout& LoweredKernel::layout(const Buffer& b) const {
  auto it = layouts.find(b.get());
  if (it == layouts.end()) {
    throw InternalError(fmt::format("no layout for fragment '{}'", b->name));
  }
  return it->second;
}

std::int64_t reduce_scratch_bytes(std::int64_t dst_numel, int threads) {
  const int warps = (threads + 31) / 32;
  return warps > 1 ? dst_numel * warps * 4 : 0;
}

namespace {

/** Statements in printer order, for matching annotations to printed lines. */
void collect(const Stmt& s, std::vector<const StmtNode*>& out) {
  if (!s.defined()) {
    return;
  }
  switch (s.kind()) {
  case StmtKind::Block:
    for (const Stmt& c : s.as<Block>()->stmts) {
      collect(c, out);
    }
    return;
  case StmtKind::For:
    out.push_back(s.get());
    collect(s.as<For>()->body, out);
    return;
  case StmtKind::Parallel:
    out.push_back(s.get());
    collect(s.as<Parallel>()->body, out);
    return;
  case StmtKind::IfThenElse:
    out.push_back(s.get());
    collect(s.as<IfThenElse>()->then_case, out);
    if (s.as<IfThenElse>()->else_case.defined()) {
      out.push_back(nullptr); // the printer's "else:" line
      collect(s.as<IfThenElse>()->else_case, out);
    }
    return;
  case StmtKind::ThreadRange:
    out.push_back(s.get());
    collect(s.as<ThreadRange>()->body, out);
    return;
  default:
    out.push_back(s.get());
    return;
  }
}

const char* plan_name(ParallelPlan::Kind k) {
  switch (k) {
  case ParallelPlan::Kind::distributed:
    return "distributed";
  case ParallelPlan::Kind::split:
    return "split";
  case ParallelPlan::Kind::replicated:
    return "replicated";
  case ParallelPlan::Kind::mapped:
    return "mapped";
  }
  return "?";
}

} // namespace

std::string LoweredKernel::str() const {
  // The IR printer prints one line per statement (plus "else:" lines); annotate those lines.
  std::vector<const StmtNode*> stmts;
  collect(kernel.body, stmts);
  std::istringstream in(to_string(kernel));
  std::string line, out;
  // Header lines (signature, dims, launch) come first: skip them.
  std::size_t header = 2 + (kernel.dims.empty() ? 0 : 1);
  std::size_t i = 0;
  while (std::getline(in, line)) {
    if (header > 0) {
      --header;
      out += line + "\n";
      continue;
    }
    std::string note;
    const StmtNode* s = i < stmts.size() ? stmts[i] : nullptr;
    ++i;
    if (s != nullptr) {
      if (s->kind == StmtKind::Allocate) {
        const auto* a = static_cast<const Allocate*>(s);
        if (auto it = layouts.find(a->buffer.get()); it != layouts.end()) {
          note = it->second.str();
        }
        if (auto it = smem.offsets.find(a->buffer.get()); it != smem.offsets.end()) {
          note = fmt::format("smem offset {}", it->second);
        }
      } else if (auto it = parallels.find(s); it != parallels.end()) {
        note = fmt::format("{} over {} threads", plan_name(it->second.kind), it->second.threads);
        if (it->second.kind == ParallelPlan::Kind::distributed) {
          note += fmt::format(" (V={}, C={})", it->second.layout.vec, it->second.layout.chunks);
        }
      } else if (auto it = copies.find(s); it != copies.end()) {
        note = it->second.cp_async ? "cp.async 16B"
                                   : fmt::format("vector width {}", it->second.vector_width);
      }
      if (auto it = smem.scratch.find(s); it != smem.scratch.end()) {
        note += fmt::format("{}scratch smem offset {}", note.empty() ? "" : ", ", it->second);
      }
    }
    out += line + (note.empty() ? "" : "  [" + note + "]") + "\n";
  }
  if (smem.total_bytes > 0) {
    out += fmt::format("  shared memory: {} bytes\n", smem.total_bytes);
  }
  return out;
}

} // namespace tessera::codegen
