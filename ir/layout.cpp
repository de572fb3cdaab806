#include "ir/layout.h"

#include "base/error.h"
#include "ir/visitor.h"

#include <fmt/format.h>

namespace tessera::ir {

namespace {
std::int64_t product(const std::vector<std::int64_t>& v, std::size_t from, std::size_t to) {
  std::int64_t p = 1;
  for (std::size_t i = from; i < to; ++i) {
    p *= v[i];
  }
  return p;
}
} // namespace

Layout Layout::distributed(std::vector<std::int64_t> shape, int threads, int vec, int begin) {
  if (shape.empty() || threads <= 0 || vec <= 0) {
    throw InternalError("Layout::distributed: needs rank >= 1, threads > 0 and vec > 0");
  }
  Layout l;
  l.kind = LayoutKind::distributed;
  l.threads = threads;
  l.begin = begin;
  l.vec = vec;
  const std::int64_t per_round = static_cast<std::int64_t>(threads) * vec;
  l.chunks = (shape.back() + per_round - 1) / per_round;
  l.shape = std::move(shape);
  return l;
}

Layout Layout::replicated(std::vector<std::int64_t> shape) {
  Layout l;
  l.kind = LayoutKind::replicated;
  l.shape = std::move(shape);
  return l;
}

Layout Layout::mapped(std::vector<std::int64_t> shape, int threads,
                      std::shared_ptr<const FragmentMap> map, int begin) {
  Layout l;
  l.kind = LayoutKind::mapped;
  l.shape = std::move(shape);
  l.threads = threads;
  l.begin = begin;
  l.map = std::move(map);
  return l;
}

std::int64_t Layout::numel() const {
  return product(shape, 0, shape.size());
}

std::int64_t Layout::last_extent() const {
  return shape.empty() ? 1 : shape.back();
}

std::int64_t Layout::lead_numel() const {
  return shape.empty() ? 1 : product(shape, 0, shape.size() - 1);
}

std::int64_t Layout::registers() const {
  switch (kind) {
  case LayoutKind::distributed:
    return lead_numel() * chunks * vec;
  case LayoutKind::replicated:
    return numel();
  case LayoutKind::mapped:
    return map->registers();
  }
  return 0;
}

Slot Layout::locate(const std::vector<std::int64_t>& index) const {
  if (index.size() != shape.size()) {
    throw InternalError(fmt::format("Layout::locate: rank {} index for a rank {} layout",
                                    index.size(), shape.size()));
  }
  std::int64_t linear = 0;
  for (std::size_t d = 0; d < shape.size(); ++d) {
    if (index[d] < 0 || index[d] >= shape[d]) {
      throw InternalError("Layout::locate: index out of range");
    }
    linear = linear * shape[d] + index[d];
  }
  switch (kind) {
  case LayoutKind::replicated:
    return Slot{-1, linear};
  case LayoutKind::distributed: {
    const std::int64_t h = index.back();
    const std::int64_t lead = linear / shape.back();
    const std::int64_t slot = h / vec, v = h % vec;
    const std::int64_t c = slot / threads;
    const int t = static_cast<int>(slot % threads);
    return Slot{t, (lead * chunks + c) * vec + v};
  }
  case LayoutKind::mapped:
    // Search: mapped layouts are small, and locate() is only used by tests and checks.
    for (int t = 0; t < threads; ++t) {
      for (std::int64_t r = 0; r < map->registers(); ++r) {
        if (map->element(t, r) == index) {
          return Slot{t, r};
        }
      }
    }
    throw InternalError("Layout::locate: element not held by the mapped layout");
  }
  return {};
}

std::optional<std::vector<std::int64_t>> Layout::element(int thread, std::int64_t reg) const {
  if (reg < 0 || reg >= registers()) {
    return std::nullopt;
  }
  switch (kind) {
  case LayoutKind::replicated: {
    std::vector<std::int64_t> idx(shape.size());
    for (std::size_t d = shape.size(); d-- > 0;) {
      idx[d] = reg % shape[d];
      reg /= shape[d];
    }
    return idx;
  }
  case LayoutKind::distributed: {
    if (thread < 0 || thread >= threads) {
      return std::nullopt;
    }
    const std::int64_t v = reg % vec;
    const std::int64_t c = (reg / vec) % chunks;
    std::int64_t lead = reg / vec / chunks;
    const std::int64_t h = (c * threads + thread) * vec + v;
    if (h >= shape.back()) {
      return std::nullopt; // tail slot
    }
    std::vector<std::int64_t> idx(shape.size());
    idx.back() = h;
    for (std::size_t d = shape.size() - 1; d-- > 0;) {
      idx[d] = lead % shape[d];
      lead /= shape[d];
    }
    return idx;
  }
  case LayoutKind::mapped:
    return map->element(thread, reg);
  }
  return std::nullopt;
}

std::string Layout::str() const {
  switch (kind) {
  case LayoutKind::replicated:
    return fmt::format("replicated regs={}", registers());
  case LayoutKind::distributed:
    return fmt::format("distributed(P={}{}, V={}, C={}) regs={}", threads,
                       begin ? fmt::format(" from {}", begin) : std::string(), vec, chunks,
                       registers());
  case LayoutKind::mapped:
    return fmt::format("mapped({}) regs={}", map->name(), registers());
  }
  return "?";
}

bool Layout::same_partition(const Layout& o) const {
  if (kind == LayoutKind::mapped || o.kind == LayoutKind::mapped) {
    // Two mapped layouts agree when their maps describe the same closed form (the name carries
    // every parameter, e.g. the mma tile and warp arrangement) over the same threads.
    return kind == o.kind && map && o.map && threads == o.threads && begin == o.begin &&
           shape == o.shape && (map == o.map || map->name() == o.map->name());
  }
  return kind == LayoutKind::distributed && o.kind == LayoutKind::distributed &&
         threads == o.threads && begin == o.begin && vec == o.vec && chunks == o.chunks &&
         last_extent() == o.last_extent();
}

int choose_vector_width(std::int64_t last_extent, int global_elem_bytes) {
  int v = 16 / (global_elem_bytes > 0 ? global_elem_bytes : 4);
  while (v > 1 && v / 2 >= last_extent) {
    v /= 2;
  }
  return v;
}

int Layout::mapped_owners() const {
  int owners = 0;
  for (int t = 0; t < threads; ++t) {
    if (map->element(t, 0)) {
      if (owners != t) {
        throw InternalError(fmt::format("mapped layout {}: the threads holding elements are not a "
                                        "prefix of the participants",
                                        str()));
      }
      owners = t + 1;
    }
  }
  for (int t = 0; t < owners; ++t) {
    for (std::int64_t r = 0; r < registers(); ++r) {
      if (!map->element(t, r)) {
        throw InternalError(
            fmt::format("mapped layout {}: register {} of thread {} holds nothing", str(), r, t));
      }
    }
  }
  return owners;
}

std::map<const BufferNode*, Layout> fragment_layouts(const Stmt& body) {
  class Finder : public IRVisitor {
  public:
    std::map<const BufferNode*, Layout> layouts;
    using IRVisitor::visit;

  protected:
    void visit_allocate(const Allocate* op) override {
      if (op->layout && op->buffer->scope == Scope::fragment) {
        layouts.emplace(op->buffer.get(), *op->layout);
      }
    }
  } f;
  f.visit(body);
  return std::move(f.layouts);
}

std::string ParallelPlan::str() const {
  switch (kind) {
  case Kind::distributed:
    return fmt::format("distributed over {} threads (V={}, C={})", threads, layout.vec,
                       layout.chunks);
  case Kind::split:
    return fmt::format("split over {} threads", threads);
  case Kind::replicated:
    return fmt::format("replicated over {} threads", threads);
  case Kind::mapped:
    return fmt::format("mapped over {} threads ({})", threads, layout.str());
  }
  return "?";
}

} // namespace tessera::ir
