#include "codegen/plan_shared_memory.h"

#include "base/error.h"
#include "ir/util.h"
#include "ir/visitor.h"

#include <algorithm>
#include <fmt/format.h>
#include <map>

namespace tessera::codegen {

using namespace ir;

namespace {

struct Request {
  const BufferNode* buffer;
  std::int64_t bytes;
  int start, end; ///< lifetime in statement positions, inclusive
};

/** Shared allocations in program order with their lifetimes. */
class Lifetimes {
public:
  std::vector<Request> requests;

  void walk(const Stmt& s) {
    if (!s.defined()) {
      return;
    }
    const int pos = pos_++;
    switch (s.kind()) {
    case StmtKind::Block: {
      const std::size_t first = requests.size();
      for (const Stmt& c : s.as<Block>()->stmts) {
        walk(c);
      }
      for (std::size_t i = first; i < requests.size(); ++i) {
        if (requests[i].end < 0) {
          requests[i].end = pos_; // live until the end of the enclosing block
        }
      }
      return;
    }
    case StmtKind::Allocate: {
      const Buffer& b = s.as<Allocate>()->buffer;
      if (b->scope == Scope::shared && !b->view_of) { // a view owns no bytes
        const std::int64_t bytes =
            storage_numel(b) * static_cast<std::int64_t>(dtype_size(b->dtype));
        requests.push_back(Request{b.get(), bytes, pos, -1});
      }
      return;
    }
    case StmtKind::For:
      return walk(s.as<For>()->body);
    case StmtKind::IfThenElse:
      walk(s.as<IfThenElse>()->then_case);
      return walk(s.as<IfThenElse>()->else_case);
    case StmtKind::ThreadRange:
      return walk(s.as<ThreadRange>()->body);
    case StmtKind::LetStmt:
      return walk(s.as<LetStmt>()->body);
    default:
      return;
    }
  }

private:
  int pos_ = 0;
};

std::int64_t align16(std::int64_t n) {
  return (n + 15) / 16 * 16;
}

/** Writes the offsets onto the shared Allocates. */
class Place : public IRMutator {
public:
  explicit Place(const std::map<const BufferNode*, std::int64_t>& offsets) : offsets_(offsets) {}

protected:
  Stmt mutate_allocate(const Allocate* op, const Stmt& s) override {
    auto it = offsets_.find(op->buffer.get());
    return it == offsets_.end() ? s : Allocate::make(op->buffer, op->loc, op->layout, it->second);
  }

private:
  const std::map<const BufferNode*, std::int64_t>& offsets_;
};

} // namespace

Kernel plan_shared_memory(Kernel kernel) {
  Lifetimes lt;
  lt.walk(kernel.body);
  struct Placed {
    std::int64_t offset, bytes;
    int end;
  };
  std::vector<Placed> live;
  std::map<const BufferNode*, std::int64_t> offsets;
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
    offsets[r.buffer] = offset;
  }
  constexpr std::int64_t kMaxShared = 227 * 1024; // sm_90 opt-in limit per block
  if (total > kMaxShared) {
    throw UserError(fmt::format("kernel '{}' needs {} bytes of shared memory; at most {} fit in "
                                "a block",
                                kernel.name, total, kMaxShared));
  }
  Place place(offsets);
  kernel.body = place.mutate(kernel.body);
  kernel.shared_bytes = total;
  return kernel;
}

} // namespace tessera::codegen
