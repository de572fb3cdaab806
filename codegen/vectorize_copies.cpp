#include "codegen/vectorize_copies.h"

#include "ir/layout.h"
#include "ir/util.h"
#include "ir/visitor.h"
#include "ops/copy.h"

namespace tessera::codegen {

using namespace ir;
using ops::Copy;

namespace {

/** Largest power of two <= cap dividing `n` (n > 0). */
int pow2_dividing(std::int64_t n, int cap) {
  int w = cap;
  while (w > 1 && n % w != 0) {
    w /= 2;
  }
  return w;
}

/** The widest aligned width for accesses to region `r` of a global tensor, starting at element
 *  offsets that are multiples of the width within the region's last range. */
int global_width(const Region& r, int cap) {
  const Buffer& b = r.buffer;
  const Range& last = r.ranges.back();
  if (last.squeezed) {
    return 1;
  }
  int w = pow2_dividing(std::max<std::int64_t>(1, known_multiple(last.start)), cap);
  if (b->shape.size() > 1) {
    const std::int64_t row = const_extent(b, static_cast<int>(b->shape.size()) - 1);
    if (row < 0) {
      return 1; // dynamic row length: row starts are not provably aligned
    }
    w = std::min(w, pow2_dividing(row, cap));
  }
  return w;
}

/** Width for shared-memory accesses to region `r` (the plan aligns buffers to 16 bytes). */
int shared_width(const Region& r, int cap) {
  const Buffer& b = r.buffer;
  const Range& last = r.ranges.back();
  if (last.squeezed) {
    return 1;
  }
  int w = pow2_dividing(std::max<std::int64_t>(1, known_multiple(last.start)), cap);
  w = std::min(w, pow2_dividing(const_extent(b, static_cast<int>(b->shape.size()) - 1), cap));
  return std::min(w, pow2_dividing(storage_row_pitch(b), cap)); // padded rows start at k·pitch
}

/** The plan of one copy, given the layouts of the kernel's fragments. */
ops::CopyPlan plan(const Copy& op, const ops::LayoutMap& layouts) {
  ops::CopyPlan p;
  const Buffer& src = op.src.buffer;
  const Buffer& dst = op.dst.buffer;
  const bool src_global = src->scope == Scope::global;
  const bool dst_global = dst->scope == Scope::global;
  if (src_global == dst_global) {
    // A thread's own registers to or from shared memory (a local copied by every thread): as
    // wide as the shared side allows. Other copies without a global side stay scalar.
    const bool src_local = src->scope == Scope::local, dst_local = dst->scope == Scope::local;
    if (src_local != dst_local && (src->scope == Scope::shared || dst->scope == Scope::shared)) {
      const Region& sh = src_local ? op.dst : op.src;
      const Region& regs = src_local ? op.src : op.dst;
      const int cap = static_cast<int>(16 / dtype_size(sh.buffer->dtype));
      if (!regs.ranges.back().squeezed) {
        p.vector_width = std::max(1, shared_width(sh, cap));
      }
    }
    return p;
  }
  const Region& g = src_global ? op.src : op.dst;
  const Region& other = src_global ? op.dst : op.src;
  const int cap = static_cast<int>(16 / dtype_size(g.buffer->dtype));
  int w = global_width(g, cap);
  switch (other.buffer->scope) {
  case Scope::fragment: {
    const Layout& l = layouts.at(other.buffer.get());
    if (l.kind == LayoutKind::distributed) {
      w = std::min(w, l.vec); // each thread's run is V elements starting at multiples of V
    } else if (l.kind == LayoutKind::mapped) {
      w = 1;
    }
    break;
  }
  case Scope::shared:
    w = std::min(w, shared_width(other, cap));
    p.async = src_global && src->dtype == dst->dtype && w * dtype_size(src->dtype) >= 4;
    break;
  default:
    break;
  }
  if (other.ranges.back().squeezed) {
    w = 1;
  }
  p.vector_width = std::max(1, w);
  return p;
}

class Vectorizer : public IRMutator {
public:
  explicit Vectorizer(const ops::LayoutMap& layouts) : layouts_(layouts) {}

protected:
  Stmt mutate_tile_op(const TileOp* op, const Stmt& s) override {
    const Copy* c = s.as<Copy>();
    return c != nullptr ? c->with_plan(plan(*c, layouts_)) : s;
  }

private:
  const ops::LayoutMap& layouts_;
};

} // namespace

Kernel vectorize_copies(Kernel kernel) {
  const ops::LayoutMap layouts = fragment_layouts(kernel.body);
  Vectorizer v(layouts);
  kernel.body = v.mutate(kernel.body);
  return kernel;
}

} // namespace tessera::codegen
