#include "codegen/plan_shared_memory.h"

#include "base/error.h"
#include "ir/util.h"
#include "ops/reduce.h"

#include <fmt/format.h>

namespace tessera::codegen {

using namespace ir;
using ops::Reduce;

namespace {

struct Request {
  const void* key; ///< BufferNode* or StmtNode* (scratch)
  bool scratch;
  std::int64_t bytes;
  int start, end; ///< lifetime in statement positions, inclusive
};

class Lifetimes {
public:
  explicit Lifetimes(const LoweredKernel& lk) : lk_(lk) {}
  std::vector<Request> requests;

  void walk(const Stmt& s, int threads) {
    if (!s.defined()) {
      return;
    }
    const int pos = pos_++;
    switch (s.kind()) {
    case StmtKind::Block: {
      const std::size_t first = requests.size();
      for (const Stmt& c : s.as<Block>()->stmts) {
        walk(c, threads);
      }
      for (std::size_t i = first; i < requests.size(); ++i) {
        if (!requests[i].scratch && requests[i].end < 0) {
          requests[i].end = pos_; // live until the end of the enclosing block
        }
      }
      return;
    }
    case StmtKind::Allocate: {
      const Buffer& b = s.as<Allocate>()->buffer;
      if (b->scope == Scope::shared) {
        const std::int64_t bytes = const_numel(b) * static_cast<std::int64_t>(dtype_size(b->dtype));
        requests.push_back(Request{b.get(), false, bytes, pos, -1});
      }
      return;
    }
    case StmtKind::For:
      return walk(s.as<For>()->body, threads);
    case StmtKind::IfThenElse:
      walk(s.as<IfThenElse>()->then_case, threads);
      return walk(s.as<IfThenElse>()->else_case, threads);
    case StmtKind::ThreadRange: {
      const ThreadRange* op = s.as<ThreadRange>();
      return walk(op->body, op->end - op->begin);
    }
    case StmtKind::TileOp: {
      const Reduce* op = s.as<Reduce>();
      if (op == nullptr || op->src->scope != Scope::fragment) {
        return;
      }
      const Layout& l = lk_.layout(op->src);
      const bool cross_thread = l.kind == LayoutKind::distributed &&
                                op->axis == static_cast<int>(op->src->shape.size()) - 1;
      const std::int64_t bytes =
          cross_thread ? reduce_scratch_bytes(std::max<std::int64_t>(1, l.lead_numel()), threads)
                       : 0;
      if (bytes > 0) {
        requests.push_back(Request{s.get(), true, bytes, pos, pos});
      }
      return;
    }
    default:
      return;
    }
  }

private:
  const LoweredKernel& lk_;
  int pos_ = 0;
};

std::int64_t align16(std::int64_t n) {
  return (n + 15) / 16 * 16;
}

} // namespace

LoweredKernel plan_shared_memory(LoweredKernel lk) {
  Lifetimes lt(lk);
  lt.walk(lk.kernel.body, lk.kernel.threads);
  struct Placed {
    std::int64_t offset, bytes;
    int end;
  };
  std::vector<Placed> live;
  std::int64_t total = 0;
  for (const Request& r : lt.requests) {
    std::erase_if(live, [&](const Placed& p) { return p.end < r.start; });
    std::sort(live.begin(), live.end(),
              [](const Placed& a, const Placed& b) { return a.offset < b.offset; });
    // First fit between live allocations.
    std::int64_t offset = 0;
    for (const Placed& p : live) {
      if (offset + r.bytes <= p.offset) {
        break;
      }
      offset = std::max(offset, align16(p.offset + p.bytes));
    }
    live.push_back(Placed{offset, r.bytes, r.end});
    total = std::max(total, align16(offset + r.bytes));
    if (r.scratch) {
      lk.smem.scratch[static_cast<const StmtNode*>(r.key)] = offset;
    } else {
      lk.smem.offsets[static_cast<const BufferNode*>(r.key)] = offset;
    }
  }
  lk.smem.total_bytes = total;
  constexpr std::int64_t kMaxShared = 227 * 1024; // sm_90 opt-in limit per block
  if (total > kMaxShared) {
    throw UserError(fmt::format("kernel '{}' needs {} bytes of shared memory; at most {} fit in "
                                "a block",
                                lk.kernel.name, total, kMaxShared));
  }
  return lk;
}

} // namespace tessera::codegen
