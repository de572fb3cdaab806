/** \file
 * The embedded C++ front end. A kernel is written as ordinary C++ that calls these functions;
 * running that C++ *traces* it into the tile IR. Plain C++ loops and values are trace-time
 * metaprogramming (they unroll); `serial`, `unroll`, `pipelined` and `parallel` become IR loops.
 *
 *     KernelBuilder kb("scale");
 *     Dim n = kb.dim("n");
 *     auto x = kb.input("x", f32, {n});
 *     auto y = kb.output("y", f32, {n});
 *     kb.launch(grid(ceil_div(n, 1024)), threads(256), [&](Var b) {
 *       auto t = fragment(f32, {1024}, "t");
 *       copy(x[tile(b, 1024)], t);
 *       parallel({1024}, [&](Var i) { t[i] = t[i] * 2.0f; });
 *       copy(t, y[tile(b, 1024)]);
 *     });
 *     ir::Kernel k = kb.build();
 *
 * Statement functions take a defaulted std::source_location, so every IR statement (and the
 * CUDA emitted for it) names the DSL line it came from.
 */
#pragma once

#include "dsl/expr.h"
#include "ir/ir.h"

#include <concepts>
#include <cstdint>
#include <functional>
#include <source_location>
#include <string>
#include <type_traits>
#include <vector>

namespace tessera::dsl {

/** Loop variables and block indices are expressions; `Var` reads better in lambda signatures. */
using Var = Expr;
/** A dynamic dimension (e.g. the token count), bound at launch from tensor shapes. */
using Dim = Expr;
using Loc = std::source_location;

/** The slice of one dimension: `all`, `tile(i, size)` or `range(start, extent)`. */
struct Slice {
  Expr start;
  std::int64_t extent = 0;
  bool whole = false;
};
struct AllSlice {};
/** The whole dimension: `res[t][all][tile(i, 512)]`. */
inline constexpr AllSlice all{};
/** Elements [index*size, index*size + size). */
Slice tile(Expr index, std::int64_t size, Loc loc = Loc::current());
/** Elements [start, start + extent). */
Slice range(Expr start, std::int64_t extent, Loc loc = Loc::current());

/** The argument of TileRef::operator[]: a scalar index, a Slice or `all`, with the source line
 *  of the indexing (an operator cannot take a defaulted std::source_location, a converting
 *  constructor can), so that indexing and element-access errors name the line of the use. */
class IndexArg {
public:
  enum class Kind : std::uint8_t { scalar, slice, all };
  template <std::integral T>
  IndexArg(T index, Loc loc = Loc::current()) // NOLINT(google-explicit-constructor)
      : kind_(Kind::scalar), scalar_(static_cast<int>(index)), loc_(loc) {}
  template <typename T>
  requires(!std::integral<std::remove_cvref_t<T>> && std::is_convertible_v<T&&, Expr>)
      IndexArg(T&& index, Loc loc = Loc::current()) // NOLINT(google-explicit-constructor)
      : kind_(Kind::scalar), scalar_(static_cast<Expr>(std::forward<T>(index))), loc_(loc) {}
  IndexArg(Slice s, Loc loc = Loc::current()) // NOLINT(google-explicit-constructor)
      : kind_(Kind::slice), slice_(std::move(s)), loc_(loc) {}
  IndexArg(AllSlice, Loc loc = Loc::current()) // NOLINT(google-explicit-constructor)
      : kind_(Kind::all), loc_(loc) {}

  Kind kind() const { return kind_; }
  const Expr& scalar() const { return scalar_; }
  const Slice& slice() const { return slice_; }
  const Loc& loc() const { return loc_; }

private:
  Kind kind_;
  Expr scalar_;
  Slice slice_;
  Loc loc_;
};

/** A buffer, or part of one: the handle DSL code indexes, slices, reads and writes.
 *  `x[i][j]` with scalar indices is an element (reads convert to Expr, `=` stores);
 *  with slices it is a region, the operand of tile ops like copy. */
class TileRef {
public:
  TileRef() = default;
  explicit TileRef(ir::Buffer buffer);

  /** `x[i]` (scalar: the dimension is squeezed), `x[tile(i, 64)]`, `x[range(s, n)]`, `x[all]`. */
  TileRef operator[](IndexArg index) const;

  /** Reads the element (every dimension must have been indexed by a scalar). */
  operator Expr() const; // NOLINT(google-explicit-constructor): reads in DSL expressions
  /** The same read, for DSL calls that read an element: a mistake in a ref that was never
   *  indexed is reported at `where` (the call's line) instead of the enclosing statement. */
  Expr read(const ir::SourceLoc& where) const;
  /** Stores `value` into the element. Assigning to a TileRef is always a DSL store. */
  const TileRef& operator=(const Expr& value) const;
  const TileRef& operator=(const TileRef& other) const;
  const TileRef& operator+=(const Expr& value) const;
  TileRef(const TileRef&) = default;

  /** The referenced region; dimensions not yet indexed are taken whole. */
  ir::Region region() const;
  const ir::Buffer& buffer() const { return buffer_; }
  /** Dimensions indexed so far. */
  std::size_t indexed() const { return ranges_.size(); }

private:
  /** Where this ref is used in errors: the line of its last indexing, else `fallback`. */
  ir::SourceLoc use_loc(const ir::SourceLoc& fallback) const;

  ir::Buffer buffer_;
  std::vector<ir::Range> ranges_;
  ir::SourceLoc indexed_at_; ///< line of the last operator[] (empty until indexed)
};

/** Launch shape helpers for KernelBuilder::launch. */
struct Grid {
  std::vector<Expr> dims;
};
Grid grid(Expr x);
Grid grid(Expr x, Expr y);
Grid grid(Expr x, Expr y, Expr z);
struct Threads {
  int count;
};
inline Threads threads(int count) {
  return Threads{count};
}

class Trace;

/** Builds one kernel: declare parameters, then trace the body with launch(), then build(). */
class KernelBuilder {
public:
  explicit KernelBuilder(std::string name, Loc loc = Loc::current());
  ~KernelBuilder();
  KernelBuilder(const KernelBuilder&) = delete;
  KernelBuilder& operator=(const KernelBuilder&) = delete;

  /** A dynamic dimension, bound at launch from the shapes of the tensors that use it. */
  Dim dim(std::string name);
  /** A read-only tensor parameter. Shapes mix constants and dims. Tensors are row-major and
   *  contiguous; the launcher checks it. */
  TileRef input(std::string name, DType dtype, std::vector<Expr> shape, Loc loc = Loc::current());
  /** A tensor parameter the kernel writes. */
  TileRef output(std::string name, DType dtype, std::vector<Expr> shape, Loc loc = Loc::current());
  /** A scalar parameter passed by value at launch. */
  Expr scalar(std::string name, DType dtype);
  /** Cluster dimensions (sm_90+): the grid must be divisible by them. */
  void cluster(std::vector<int> dims);

  /** Traces the kernel body. `body` takes one Var per grid dimension (its block index). */
  template <typename F> void launch(Grid g, Threads t, F&& body, Loc loc = Loc::current()) {
    std::vector<Expr> idx = begin_launch(std::move(g), t, loc);
    auto run = [&] {
      if constexpr (std::is_invocable_v<F, Var>) {
        body(idx.at(0));
      } else if constexpr (std::is_invocable_v<F, Var, Var>) {
        body(idx.at(0), idx.at(1));
      } else if constexpr (std::is_invocable_v<F, Var, Var, Var>) {
        body(idx.at(0), idx.at(1), idx.at(2));
      } else {
        static_assert(std::is_invocable_v<F>, "launch body must take 0 to 3 Var arguments");
        body();
      }
    };
    trace_body(run);
  }

  /** Finishes the kernel: runs the verifier, returns the IR. */
  ir::Kernel build();

private:
  std::vector<Expr> begin_launch(Grid g, Threads t, Loc loc);
  void trace_body(const std::function<void()>& run);
  TileRef add_tensor(std::string name, DType dtype, std::vector<Expr> shape, bool writable,
                     Loc loc);

  ir::Kernel kernel_;
  std::unique_ptr<Trace> trace_;
  bool launched_ = false;
};

// ---------------------------------------------------------------------------------------------
// Statements (only inside a launch body)
// ---------------------------------------------------------------------------------------------

/** A logical tile distributed over the block's threads; the compiler picks the layout. */
TileRef fragment(DType dtype, std::vector<std::int64_t> shape, std::string name = "",
                 Loc loc = Loc::current());
/** A tile in shared memory. */
TileRef shared(DType dtype, std::vector<std::int64_t> shape, std::string name = "",
               Loc loc = Loc::current());

/** Extra elements stored after every row (last axis) of a shared tile. */
struct RowPad {
  std::int64_t elements = 0;
};
/** A shared tile whose rows are padded in storage: `shared(bf16, {64, 64}, "x_s", RowPad{16})`
 *  stores rows 80 elements apart, so that a warp reading one column chunk of 8 consecutive rows
 *  spreads over all shared-memory banks instead of hitting the same ones (a 128-byte row pitch
 *  maps every row to the same banks). Indexing, copies and gemm see the logical shape; the pad
 *  costs shared memory only. Vector copies into the tile need the padded row to keep their
 *  alignment (pad in multiples of 16 bytes). */
TileRef shared(DType dtype, std::vector<std::int64_t> shape, std::string name, RowPad pad,
               Loc loc = Loc::current());
/** Per-thread registers; shape {} is a scalar variable (`acc = acc + x`). */
TileRef local(DType dtype, std::vector<std::int64_t> shape = {}, std::string name = "",
              Loc loc = Loc::current());

/** Atomic add / max on one element of a global or shared buffer, by each executing thread. */
void atomic_add(const TileRef& element, Expr value, Loc loc = Loc::current());
void atomic_max(const TileRef& element, Expr value, Loc loc = Loc::current());

void barrier(Loc loc = Loc::current());
/** A barrier for every thread of every block of the kernel's cluster (KernelBuilder::cluster,
 * sm_90+): writes to global or shared memory before it are visible to every block of the
 * cluster after it. With a cluster, blocks exchange partial results through a workspace and
 * this barrier, since the cluster's blocks are guaranteed to run at the same time. */
void cluster_barrier(Loc loc = Loc::current());
void pdl_wait(Loc loc = Loc::current());
void pdl_trigger(Loc loc = Loc::current());

namespace detail {

/** Appends `s` to the kernel being traced; `what` names the DSL call for the error raised
 *  outside a launch body. Tile ops (ops/<op>.cpp) emit themselves through this. */
void emit(ir::Stmt s, const char* what);
/** "kernel 'k' at file.cpp:42", the prefix of trace-time errors (`what` as above). */
std::string error_context(const char* what, const Loc& loc);
/** The same prefix for errors of expression building (dsl/expr.cpp), which has no source
 *  location: the innermost DSL statement being traced. Empty outside a launch body. */
std::string trace_context();

} // namespace detail

namespace detail {
using Body1 = std::function<void(Var)>;
void emit_for(Expr min, Expr extent, ir::ForKind kind, int stages, const Body1& body, Loc loc);
void emit_parallel(std::vector<std::int64_t> extents,
                   const std::function<void(const std::vector<Var>&)>& body, Loc loc);
void emit_thread_range(int begin, int end, const std::function<void()>& body, Loc loc);
void emit_if(Expr cond, const std::function<void()>& body, Loc loc);
void attach_else(const std::function<void()>& body, Loc loc);
} // namespace detail

/** for i in [0, extent): an IR loop run by every thread. */
template <typename F> void serial(Expr extent, F&& body, Loc loc = Loc::current()) {
  detail::emit_for(Expr(0), std::move(extent), ir::ForKind::serial, 1, body, loc);
}
/** for i in [min, min + extent). */
template <typename F> void serial(Expr min, Expr extent, F&& body, Loc loc = Loc::current()) {
  detail::emit_for(std::move(min), std::move(extent), ir::ForKind::serial, 1, body, loc);
}
/** A loop the backend unrolls completely (constant extent). */
template <typename F> void unroll(std::int64_t extent, F&& body, Loc loc = Loc::current()) {
  detail::emit_for(Expr(0), Expr(static_cast<int>(extent)), ir::ForKind::unrolled, 1, body, loc);
}
/** A software-pipelined loop: copies into shared memory run `stages - 1` iterations ahead. */
template <typename F> void pipelined(Expr extent, int stages, F&& body, Loc loc = Loc::current()) {
  detail::emit_for(Expr(0), std::move(extent), ir::ForKind::pipelined, stages, body, loc);
}

/** An elementwise loop nest over a constant index space, split over the threads. */
template <typename F>
void parallel(std::vector<std::int64_t> extents, F&& body, Loc loc = Loc::current()) {
  detail::emit_parallel(
      std::move(extents),
      [&](const std::vector<Var>& v) {
        if constexpr (std::is_invocable_v<F, Var>) {
          body(v.at(0));
        } else if constexpr (std::is_invocable_v<F, Var, Var>) {
          body(v.at(0), v.at(1));
        } else if constexpr (std::is_invocable_v<F, Var, Var, Var>) {
          body(v.at(0), v.at(1), v.at(2));
        } else {
          static_assert(std::is_invocable_v<F, Var, Var, Var, Var>,
                        "parallel body must take one Var per dimension (1 to 4)");
          body(v.at(0), v.at(1), v.at(2), v.at(3));
        }
      },
      loc);
}

/** Threads [begin, end) of the block run `body`; collective ops inside involve only them. */
template <typename F> void thread_range(int begin, int end, F&& body, Loc loc = Loc::current()) {
  detail::emit_thread_range(begin, end, body, loc);
}

/** A runtime branch: `if_(c, [&]{...}).else_([&]{...});` */
class IfBuilder {
public:
  template <typename F> void else_(F&& body, Loc loc = Loc::current()) {
    detail::attach_else(body, loc);
  }
};
template <typename F> IfBuilder if_(Expr cond, F&& body, Loc loc = Loc::current()) {
  detail::emit_if(std::move(cond), body, loc);
  return IfBuilder{};
}

} // namespace tessera::dsl
