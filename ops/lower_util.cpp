#include "ops/lower_util.h"

#include "base/error.h"
#include "ir/util.h"

#include <algorithm>

namespace tessera::ops {

using namespace ir;

Expr zero(DType t) {
  return is_float(t) ? FloatImm::make(t, 0.0) : IntImm::make(t, 0);
}

Expr convert(const Expr& value, DType to) {
  return value.type() == to ? value : Cast::make(to, value);
}

bool is_whole(const Region& r) {
  for (std::size_t d = 0; d < r.ranges.size(); ++d) {
    const auto s = const_int(r.ranges[d].start);
    if (r.ranges[d].squeezed || !s || *s != 0 ||
        r.ranges[d].extent != const_extent(r.buffer, static_cast<int>(d))) {
      return false;
    }
  }
  return true;
}

std::int64_t region_numel(const Region& r) {
  std::int64_t n = 1;
  for (std::int64_t e : r.shape()) {
    n *= e;
  }
  return n;
}

std::vector<Expr> region_indices(const Region& r, const std::vector<Expr>& e) {
  std::vector<Expr> idx;
  std::size_t j = 0;
  for (const Range& range : r.ranges) {
    idx.push_back(range.squeezed ? range.start : add(range.start, e.at(j++)));
  }
  return idx;
}

Expr in_bounds(const Region& r, const std::vector<Expr>& idx, int run) {
  if (r.buffer->scope != Scope::global) {
    return {};
  }
  Expr cond;
  for (std::size_t d = 0; d < r.ranges.size(); ++d) {
    const Range& range = r.ranges[d];
    const std::int64_t ext = const_extent(r.buffer, static_cast<int>(d));
    const auto start = const_int(range.start);
    if (ext >= 0 && start && *start >= 0 && *start + range.extent <= ext) {
      continue; // the whole range is inside the tensor
    }
    const Expr extent = ext >= 0 ? i32(ext) : r.buffer->shape[d];
    const bool last = d + 1 == r.ranges.size();
    cond = land(cond, last && run > 1 ? le(add(idx[d], i32(run)), extent) : lt(idx[d], extent));
  }
  return cond;
}

Expr load_element(const LowerContext& ctx, const Buffer& b, const std::vector<Expr>& idx) {
  if (b->scope == Scope::fragment) {
    return Load::make(ctx.registers(b), {linear_index(idx, const_shape(b))});
  }
  return Load::make(b, idx);
}

Stmt store_element(const LowerContext& ctx, const Buffer& b, const std::vector<Expr>& idx,
                   const Expr& value, const SourceLoc& loc) {
  if (b->scope == Scope::fragment) {
    return Store::make(ctx.registers(b), {linear_index(idx, const_shape(b))}, value, loc);
  }
  return Store::make(b, idx, value, loc);
}

Expr Lets::bind(const std::string& name, const Expr& value) {
  Expr v = int_var(name);
  binds_.emplace_back(v, value);
  return v;
}

Stmt Lets::wrap(Stmt body) const {
  for (auto it = binds_.rbegin(); it != binds_.rend(); ++it) {
    body = LetStmt::make(it->first, it->second, std::move(body));
  }
  return body;
}

std::vector<Expr> decompose(const Expr& flat, const std::vector<std::int64_t>& shape,
                            const std::string& prefix, Lets& lets) {
  std::vector<Expr> e;
  if (shape.size() <= 1) {
    return shape.empty() ? e : std::vector<Expr>{flat};
  }
  for (std::size_t j = 0; j < shape.size(); ++j) {
    std::int64_t below = 1;
    for (std::size_t q = j + 1; q < shape.size(); ++q) {
      below *= shape[q];
    }
    Expr v = div(flat, i32(below));
    if (j > 0) {
      v = mod(v, i32(shape[j]));
    }
    e.push_back(const_int(v) ? v : lets.bind(prefix + std::to_string(j) + "_", v));
  }
  return e;
}

Stmt loop(const Expr& var, std::int64_t extent, bool unroll, Stmt body, const SourceLoc& loc) {
  if (extent == 1) {
    return LetStmt::make(var, i32(0), std::move(body), loc); // no loop for one iteration
  }
  return For::make(var, i32(0), i32(extent), unroll ? ForKind::unrolled : ForKind::serial,
                   std::move(body), loc);
}

Stmt rounds_loop(const Expr& var, std::int64_t rounds, Stmt body, const SourceLoc& loc,
                 bool async) {
  return For::make(var, i32(0), i32(rounds), ForKind::serial, std::move(body), loc, 1,
                   async ? 1 : static_cast<int>(std::min<std::int64_t>(rounds, 4)));
}

Stmt guard(const Expr& cond, Stmt then_case, const SourceLoc& loc) {
  if (!cond.defined()) {
    return then_case;
  }
  return IfThenElse::make(cond, std::move(then_case), Stmt(), loc);
}

} // namespace tessera::ops
