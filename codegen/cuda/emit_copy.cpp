// CUDA emitter: tile copies (global / shared / fragment / local, any direction).
//
// A copy is driven by whichever side decides who holds what: a distributed fragment (each
// thread moves its own vectors, 16-byte global accesses where the vectorize pass proved
// alignment), a replicated fragment or local (every thread moves every element), or neither
// (elements dealt round-robin to threads in runs of the vector width; cp.async for global →
// shared). Global elements outside the tensor read as zero and are never written.
#include "base/error.h"
#include "codegen/cuda/cuda_emitter.h"
#include "codegen/cuda/emitter.h"
#include "codegen/pipeline_loops.h"
#include "ir/util.h"

#include <fmt/format.h>

namespace tessera::codegen::internal {

using namespace ir;

namespace {

bool is_distributed(const LoweredKernel& lk, const Buffer& b) {
  return b->scope == Scope::fragment && lk.layout(b).kind == LayoutKind::distributed;
}
bool is_per_thread(const LoweredKernel& lk, const Buffer& b) {
  return b->scope == Scope::local ||
         (b->scope == Scope::fragment && lk.layout(b).kind == LayoutKind::replicated);
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

/** Emits one copy; `e` are the element indices over the region's non-squeezed dims. */
class CopyEmitter {
public:
  CopyEmitter(CudaEmitter& em, const Copy* op)
      : em_(em), op_(op), src_(op->src), dst_(op->dst), shape_(op->src.shape()),
        plan_(em.lk.copies.count(op) ? em.lk.copies.at(op) : CopyPlan{}) {}

  void run() {
    const Buffer& s = src_.buffer;
    const Buffer& d = dst_.buffer;
    if (s->scope == Scope::fragment && em_.lk.layout(s).kind == LayoutKind::mapped) {
      return mapped(src_, dst_, true);
    }
    if (d->scope == Scope::fragment && em_.lk.layout(d).kind == LayoutKind::mapped) {
      return mapped(dst_, src_, false);
    }
    if (is_distributed(em_.lk, d)) {
      return distributed(dst_, src_, false);
    }
    if (is_distributed(em_.lk, s)) {
      return distributed(src_, dst_, true);
    }
    if (is_per_thread(em_.lk, d)) {
      return every_thread();
    }
    if (is_per_thread(em_.lk, s)) {
      return owner_writes();
    }
    return split();
  }

private:
  [[noreturn]] void unsupported(const std::string& what) {
    throw UserError(fmt::format("kernel '{}': {} at {} is not supported by the CUDA backend",
                                em_.lk.kernel.name, what, op_->loc.str()));
  }

  /** Buffer indices of region `r` at element indices `e`. */
  std::vector<std::string> indices(const Region& r, const std::vector<std::string>& e) {
    std::vector<std::string> idx;
    std::size_t j = 0;
    for (const Range& range : r.ranges) {
      const std::string start = em_.expr(range.start);
      if (range.squeezed) {
        idx.push_back(start);
      } else {
        const std::string& x = e.at(j++);
        // Expressions print fully parenthesised, so `start + x` needs no extra parentheses.
        idx.push_back(start == "0" ? x : x == "0" ? start : start + " + " + x);
      }
    }
    return idx;
  }

  /** In-bounds condition for global region `r` at `idx` covering `run` elements of the last
   *  dim; "" when provably in bounds. */
  std::string bounds(const Region& r, const std::vector<std::string>& idx, int run = 1) {
    if (r.buffer->scope != Scope::global) {
      return "";
    }
    std::vector<std::string> conds;
    for (std::size_t d = 0; d < r.ranges.size(); ++d) {
      const Range& range = r.ranges[d];
      const std::int64_t ext = const_extent(r.buffer, static_cast<int>(d));
      const auto start = const_int(range.start);
      if (ext >= 0 && start && *start >= 0 && *start + range.extent <= ext) {
        continue;
      }
      const bool last = d + 1 == r.ranges.size();
      const std::string e = em_.extent(r.buffer, static_cast<int>(d));
      if (last && run > 1) {
        conds.push_back(fmt::format("{} + {} <= {}", idx[d], run, e));
      } else {
        conds.push_back(fmt::format("{} < {}", idx[d], e));
      }
    }
    std::string c;
    for (const std::string& x : conds) {
      c += (c.empty() ? "" : " && ") + x;
    }
    return c;
  }

  std::string convert(const std::string& value, DType from, DType to) const {
    if (from == to) {
      return value;
    }
    return fmt::format("tessera::convert<{}>({})", cuda_type(to), value);
  }

  /** Element access of a non-distributed side. */
  std::string access(const Region& r, const std::vector<std::string>& e) {
    std::vector<std::string> idx = indices(r, e);
    return em_.element(r.buffer, idx);
  }

  /** Declares the element indices e[0..k-2] from a flat leading index `lead`. */
  std::vector<std::string> lead_indices(const std::string& lead) {
    std::vector<std::string> e;
    // Row-major decomposition of `lead` over shape_[0 .. k-2].
    for (std::size_t j = 0; j + 1 < shape_.size(); ++j) {
      std::int64_t below = 1;
      for (std::size_t q = j + 1; q + 1 < shape_.size(); ++q) {
        below *= shape_[q];
      }
      std::string v = below > 1 ? fmt::format("{} / {}", lead, below) : lead;
      if (j > 0) {
        v = fmt::format("{} % {}", below > 1 ? "(" + v + ")" : v, shape_[j]);
      }
      const std::string n = fmt::format("e{}_", j);
      em_.line(fmt::format("const int {} = {};", n, v));
      e.push_back(n);
    }
    return e;
  }

  /** Each thread moves the elements it holds in the mapped fragment `frag` (the mma
   *  accumulator), one register at a time: coordinates from the map, global accesses
   *  bounds-checked (stores skipped, loads zero-filled past the tensor's end). */
  void mapped(const Region& frag, const Region& other, bool frag_is_src) {
    const Layout& l = em_.lk.layout(frag.buffer);
    if (!is_whole(frag)) {
      unsupported(fmt::format("a copy of part of tensor-core fragment '{}'", frag.buffer->name));
    }
    const Buffer& ob = other.buffer;
    const bool other_reg =
        ob->scope == Scope::fragment && em_.lk.layout(ob).kind != LayoutKind::replicated;
    if (other_reg && !l.same_partition(em_.lk.layout(ob))) {
      // The layout pass stages such copies through shared memory; reaching here is a bug.
      throw InternalError(fmt::format("copy between '{}' ({}) and '{}' ({}) at {}",
                                      frag.buffer->name, l.str(), ob->name, em_.lk.layout(ob).str(),
                                      op_->loc.str()));
    }
    const std::string fname = em_.name(frag.buffer);
    const DType ft = frag.buffer->dtype, ot = ob->dtype;
    const int owners = em_.mapped_owners(l);
    if (owners < l.threads) {
      em_.open(fmt::format("if ({} < {})", em_.tid, owners));
    }
    for (std::int64_t r = 0; r < l.registers(); ++r) {
      const std::string reg = fmt::format("{}[{}]", fname, r);
      if (other_reg) {
        const std::string oreg = fmt::format("{}[{}]", em_.name(ob), r);
        em_.line(frag_is_src ? fmt::format("{} = {};", oreg, convert(reg, ft, ot))
                             : fmt::format("{} = {};", reg, convert(oreg, ot, ft)));
        continue;
      }
      em_.open("");
      std::vector<std::string> e;
      const std::vector<std::string> ix = l.map->index_exprs(em_.tid, r);
      for (std::size_t d = 0; d < ix.size(); ++d) {
        e.push_back(fmt::format("e{}_", d));
        em_.line(fmt::format("const int {} = {};", e.back(), ix[d]));
      }
      const std::vector<std::string> oidx = indices(other, e);
      const std::string cond = bounds(other, oidx);
      const std::string oacc = em_.element(ob, oidx);
      if (frag_is_src) {
        if (!cond.empty()) {
          em_.open(fmt::format("if ({})", cond));
        }
        em_.line(fmt::format("{} = {};", oacc, convert(reg, ft, ot)));
        if (!cond.empty()) {
          em_.close();
        }
      } else if (cond.empty()) {
        em_.line(fmt::format("{} = {};", reg, convert(oacc, ot, ft)));
      } else {
        em_.line(fmt::format("{} = {} ? {} : {};", reg, cond, convert(oacc, ot, ft),
                             em_.literal(ft, 0)));
      }
      em_.close();
    }
    if (owners < l.threads) {
      em_.close();
    }
  }

  /** Each thread moves the elements it owns in the distributed fragment `frag`. */
  void distributed(const Region& frag, const Region& other, bool frag_is_src) {
    const Layout& l = em_.lk.layout(frag.buffer);
    if (!is_whole(frag)) {
      unsupported(fmt::format("a copy of part of distributed fragment '{}'", frag.buffer->name));
    }
    if (is_distributed(em_.lk, other.buffer) && !l.same_partition(em_.lk.layout(other.buffer))) {
      unsupported("a copy between fragments of different partitions");
    }
    const std::string fname = em_.name(frag.buffer);
    const std::int64_t lead_n = l.lead_numel();
    const std::int64_t L = l.last_extent();
    const bool full = L % (static_cast<std::int64_t>(l.threads) * l.vec) == 0;
    int opened = 0;
    if (l.chunks > 1) {
      em_.line("#pragma unroll");
      em_.open(fmt::format("for (int c_ = 0; c_ < {}; ++c_)", l.chunks));
      ++opened;
    }
    const std::string slot =
        l.chunks > 1 ? fmt::format("(c_ * {} + {})", l.threads, em_.tid) : em_.tid;
    em_.line(fmt::format("const int h_ = {};", mul(slot, l.vec)));
    if (lead_n > 1) {
      em_.line("#pragma unroll");
      em_.open(fmt::format("for (int lead_ = 0; lead_ < {}; ++lead_)", lead_n));
      ++opened;
    }
    std::vector<std::string> e = lead_indices(lead_n > 1 ? "lead_" : "0");
    const std::string row = l.chunks > 1
                                ? (lead_n > 1 ? fmt::format("(lead_ * {} + c_)", l.chunks) : "c_")
                                : (lead_n > 1 ? "lead_" : "0");
    auto reg = [&](const std::string& v) {
      return fmt::format("{}[{}]", fname, add(mul(row, l.vec), v));
    };

    const int w = plan_.vector_width;
    const bool vector = w > 1 && other.buffer->scope == Scope::global;
    auto elementwise = [&] {
      em_.line("#pragma unroll");
      em_.open(fmt::format("for (int v_ = 0; v_ < {}; ++v_)", l.vec));
      std::vector<std::string> ev = e;
      ev.push_back("h_ + v_");
      std::string cond = full ? "" : fmt::format("h_ + v_ < {}", L);
      if (is_distributed(em_.lk, other.buffer)) {
        const std::string oreg =
            fmt::format("{}[{}]", em_.name(other.buffer), add(mul(row, l.vec), "v_"));
        if (!cond.empty()) {
          em_.open(fmt::format("if ({})", cond));
        }
        em_.line(frag_is_src
                     ? fmt::format("{} = {};", oreg,
                                   convert(reg("v_"), frag.buffer->dtype, other.buffer->dtype))
                     : fmt::format("{} = {};", reg("v_"),
                                   convert(oreg, other.buffer->dtype, frag.buffer->dtype)));
        if (!cond.empty()) {
          em_.close();
        }
        em_.close();
        return;
      }
      const std::vector<std::string> oidx = indices(other, ev);
      const std::string ob = bounds(other, oidx);
      const std::string oacc = em_.element(other.buffer, oidx);
      if (frag_is_src) {
        std::string c = cond;
        if (!ob.empty()) {
          c += (c.empty() ? "" : " && ") + ob;
        }
        if (!c.empty()) {
          em_.open(fmt::format("if ({})", c));
        }
        em_.line(fmt::format("{} = {};", oacc,
                             convert(reg("v_"), frag.buffer->dtype, other.buffer->dtype)));
        if (!c.empty()) {
          em_.close();
        }
      } else {
        if (!cond.empty()) {
          em_.open(fmt::format("if ({})", cond));
        }
        const std::string value = convert(oacc, other.buffer->dtype, frag.buffer->dtype);
        if (ob.empty()) {
          em_.line(fmt::format("{} = {};", reg("v_"), value));
        } else {
          em_.line(fmt::format("{} = {} ? {} : {};", reg("v_"), ob, value,
                               em_.literal(frag.buffer->dtype, 0)));
        }
        if (!cond.empty()) {
          em_.close();
        }
      }
      em_.close();
    };

    if (!vector) {
      elementwise();
    } else {
      std::vector<std::string> ev = e;
      ev.push_back("h_");
      const std::vector<std::string> oidx = indices(other, ev);
      std::string cond = full ? "" : fmt::format("h_ + {} <= {}", l.vec, L);
      const std::string ob = bounds(other, oidx, l.vec);
      if (!ob.empty()) {
        cond += (cond.empty() ? "" : " && ") + ob;
      }
      if (!cond.empty()) {
        em_.open(fmt::format("if ({})", cond));
      }
      const std::string ot = cuda_type(other.buffer->dtype);
      const std::string gname = em_.name(other.buffer);
      const std::string goff = em_.offset(other.buffer, oidx);
      const bool sub = w < l.vec;
      if (sub) {
        em_.line("#pragma unroll");
        em_.open(fmt::format("for (int s_ = 0; s_ < {}; s_ += {})", l.vec, w));
      }
      const std::string base = sub ? "s_" : "0";
      const std::string ptr = fmt::format("{} + {}", gname, sub ? "(" + goff + ") + s_" : goff);
      if (frag_is_src) {
        em_.line(fmt::format("tessera::Vec<{}, {}> vec_;", ot, w));
        em_.line("#pragma unroll");
        em_.open(fmt::format("for (int k_ = 0; k_ < {}; ++k_)", w));
        em_.line(fmt::format("vec_[k_] = {};", convert(reg(add(base, "k_")), frag.buffer->dtype,
                                                       other.buffer->dtype)));
        em_.close();
        em_.line(fmt::format("tessera::store_vec<{}>({}, vec_);", w, ptr));
      } else {
        em_.line(fmt::format("const tessera::Vec<{}, {}> vec_ = tessera::load_vec<{}>({});", ot, w,
                             w, ptr));
        em_.line("#pragma unroll");
        em_.open(fmt::format("for (int k_ = 0; k_ < {}; ++k_)", w));
        em_.line(fmt::format("{} = {};", reg(add(base, "k_")),
                             convert("vec_[k_]", other.buffer->dtype, frag.buffer->dtype)));
        em_.close();
      }
      if (sub) {
        em_.close();
      }
      if (!cond.empty()) {
        em_.close("} else {");
        ++em_.indent;
        elementwise();
        em_.close();
      }
    }
    for (int i = 0; i < opened; ++i) {
      em_.close();
    }
  }

  /** Flat element loop over the region (every thread, unrolled). */
  std::vector<std::string> flat(const std::string& var) {
    std::vector<std::string> e;
    for (std::size_t j = 0; j < shape_.size(); ++j) {
      std::int64_t below = 1;
      for (std::size_t q = j + 1; q < shape_.size(); ++q) {
        below *= shape_[q];
      }
      std::string v = below > 1 ? fmt::format("{} / {}", var, below) : var;
      if (j > 0) {
        v = fmt::format("{} % {}", below > 1 ? "(" + v + ")" : v, shape_[j]);
      }
      if (shape_.size() == 1) {
        e.push_back(var);
        continue;
      }
      const std::string n = fmt::format("e{}_", j);
      em_.line(fmt::format("const int {} = {};", n, v));
      e.push_back(n);
    }
    return e;
  }

  std::int64_t numel() const {
    std::int64_t n = 1;
    for (std::int64_t x : shape_) {
      n *= x;
    }
    return n;
  }

  /** Replicated/local destination: every thread moves every element. */
  void every_thread() {
    em_.line("#pragma unroll");
    em_.open(fmt::format("for (int i_ = 0; i_ < {}; ++i_)", numel()));
    const std::vector<std::string> e = flat("i_");
    const std::vector<std::string> sidx = indices(src_, e);
    const std::string sb = bounds(src_, sidx);
    const std::string value =
        convert(em_.element(src_.buffer, sidx), src_.buffer->dtype, dst_.buffer->dtype);
    const std::string target = access(dst_, e);
    if (sb.empty()) {
      em_.line(fmt::format("{} = {};", target, value));
    } else {
      em_.line(
          fmt::format("{} = {} ? {} : {};", target, sb, value, em_.literal(dst_.buffer->dtype, 0)));
    }
    em_.close();
  }

  /** Replicated/local source into global or shared: element i is written by thread i % P. */
  void owner_writes() {
    em_.line("#pragma unroll");
    em_.open(fmt::format("for (int i_ = 0; i_ < {}; ++i_)", numel()));
    em_.open(fmt::format("if (i_ % {} == {})", em_.threads, em_.tid));
    const std::vector<std::string> e = flat("i_");
    const std::vector<std::string> didx = indices(dst_, e);
    const std::string db = bounds(dst_, didx);
    const std::string value = convert(access(src_, e), src_.buffer->dtype, dst_.buffer->dtype);
    if (!db.empty()) {
      em_.open(fmt::format("if ({})", db));
    }
    em_.line(fmt::format("{} = {};", em_.element(dst_.buffer, didx), value));
    if (!db.empty()) {
      em_.close();
    }
    em_.close();
    em_.close();
  }

  /** Global/shared on both sides: runs of w elements dealt round-robin to the threads. */
  void split() {
    const std::int64_t L = shape_.empty() ? 1 : shape_.back();
    const int w = plan_.vector_width;
    const std::int64_t runs = (L + w - 1) / w;
    const std::int64_t lead = numel() / L;
    em_.open(
        fmt::format("for (int i_ = {}; i_ < {}; i_ += {})", em_.tid, lead * runs, em_.threads));
    std::vector<std::string> e;
    if (!shape_.empty()) {
      // leading indices from i_ / runs, last from (i_ % runs) * w
      em_.line(fmt::format("const int lead_ = i_ / {};", runs));
      em_.line(fmt::format("const int h_ = i_ % {} * {};", runs, w));
      e = lead_indices("lead_");
      e.push_back("h_");
    }
    const std::vector<std::string> sidx = indices(src_, e);
    const std::vector<std::string> didx = indices(dst_, e);
    auto scalar_loop = [&] {
      if (w > 1) {
        em_.line("#pragma unroll");
        em_.open(fmt::format("for (int k_ = 0; k_ < {}; ++k_)", w));
      }
      std::vector<std::string> ek = e;
      if (!ek.empty() && w > 1) {
        ek.back() = "h_ + k_";
      }
      const std::vector<std::string> s = indices(src_, ek);
      const std::vector<std::string> d = indices(dst_, ek);
      std::string cond = w > 1 && L % w != 0 ? fmt::format("h_ + k_ < {}", L) : "";
      const std::string db = bounds(dst_, d);
      if (!db.empty()) {
        cond += (cond.empty() ? "" : " && ") + db;
      }
      const std::string sb = bounds(src_, s);
      if (!cond.empty()) {
        em_.open(fmt::format("if ({})", cond));
      }
      const std::string value =
          convert(em_.element(src_.buffer, s), src_.buffer->dtype, dst_.buffer->dtype);
      if (sb.empty()) {
        em_.line(fmt::format("{} = {};", em_.element(dst_.buffer, d), value));
      } else {
        em_.line(fmt::format("{} = {} ? {} : {};", em_.element(dst_.buffer, d), sb, value,
                             em_.literal(dst_.buffer->dtype, 0)));
      }
      if (!cond.empty()) {
        em_.close();
      }
      if (w > 1) {
        em_.close();
      }
    };
    if (w == 1) {
      scalar_loop();
    } else {
      std::string cond = L % w != 0 ? fmt::format("h_ + {} <= {}", w, L) : "";
      for (const std::string& b : {bounds(src_, sidx, w), bounds(dst_, didx, w)}) {
        if (!b.empty()) {
          cond += (cond.empty() ? "" : " && ") + b;
        }
      }
      if (!cond.empty()) {
        em_.open(fmt::format("if ({})", cond));
      }
      const std::string sp =
          fmt::format("{} + {}", em_.name(src_.buffer), em_.offset(src_.buffer, sidx));
      const std::string dp =
          fmt::format("{} + {}", em_.name(dst_.buffer), em_.offset(dst_.buffer, didx));
      const std::string st = cuda_type(src_.buffer->dtype), dt = cuda_type(dst_.buffer->dtype);
      if (plan_.cp_async) {
        em_.line(fmt::format("tessera::cp_async<{}>({}, {});", w * dtype_size(src_.buffer->dtype),
                             dp, sp));
      } else if (src_.buffer->dtype == dst_.buffer->dtype) {
        em_.line(
            fmt::format("tessera::store_vec<{}>({}, tessera::load_vec<{}>({}));", w, dp, w, sp));
      } else {
        em_.line(fmt::format("const tessera::Vec<{}, {}> in_ = tessera::load_vec<{}>({});", st, w,
                             w, sp));
        em_.line(fmt::format("tessera::Vec<{}, {}> out_;", dt, w));
        em_.line("#pragma unroll");
        em_.open(fmt::format("for (int k_ = 0; k_ < {}; ++k_)", w));
        em_.line(fmt::format("out_[k_] = {};",
                             convert("in_[k_]", src_.buffer->dtype, dst_.buffer->dtype)));
        em_.close();
        em_.line(fmt::format("tessera::store_vec<{}>({}, out_);", w, dp));
      }
      if (!cond.empty()) {
        em_.close("} else {");
        ++em_.indent;
        scalar_loop();
        em_.close();
      }
    }
    em_.close();
    const bool deferred = em_.lk.pipeline && em_.lk.pipeline->deferred.count(op_) != 0;
    if (plan_.cp_async && !deferred) {
      em_.line("tessera::cp_async_wait_all();"); // a pipelined copy is waited for later
    }
  }

  CudaEmitter& em_;
  const Copy* op_;
  const Region& src_;
  const Region& dst_;
  std::vector<std::int64_t> shape_;
  CopyPlan plan_;
};

} // namespace

void CudaEmitter::copy(const Copy* op) {
  if (op->src.shape() != op->dst.shape()) {
    throw UserError(fmt::format("kernel '{}': copy at {} between regions of different shapes",
                                lk.kernel.name, op->loc.str()));
  }
  open("");
  CopyEmitter(*this, op).run();
  close();
}

} // namespace tessera::codegen::internal
