/** \file
 * Fragment layouts: which thread of a block (or thread range) holds which element of a fragment,
 * and in which register. Pure index algebra, unit-tested on the host (tests/ir/layout_test).
 *
 * Three kinds (docs/dsl.md, "Layouts"):
 *
 *  * distributed — the last axis (extent L) is cut into vectors of V elements; vector slot
 *    `c*P + t` (c in [0, C), C = ceil(L / (P*V))) belongs to thread t of the P participating
 *    threads, which holds every leading index for it. Element [lead..., h] with
 *    h = (c*P + t)*V + v lives in register (lead_linear*C + c)*V + v of thread t.
 *  * replicated — every thread holds every element, register = row-major linear index.
 *  * mapped — an external closed form (the tensor-core accumulator layout, defined by the gemm
 *    lowering) given as a FragmentMap: for each register, the logical index as C++ expressions
 *    of the thread index, which the lowering uses generically.
 */
#pragma once

#include "ir/ir.h"

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace tessera::ir {

/**
 * A thread → element map supplied by another lowering (e.g. the mma accumulator layout). The
 * lowering iterates `registers()` per thread and asks `index` where each register lives.
 */
class FragmentMap {
public:
  virtual ~FragmentMap() = default;
  /** Short description for IR dumps, e.g. "mma.m16n8 acc 64x32 over 128 threads". */
  virtual std::string name() const = 0;
  /** Registers each thread holds. */
  virtual std::int64_t registers() const = 0;
  /** The logical index of register `reg` of thread `thread` (host-side algebra, for tests and the
   *  CPU reference), or nullopt when that register holds no element. */
  virtual std::optional<std::vector<std::int64_t>> element(int thread, std::int64_t reg) const = 0;
  /** The logical index of register `reg` of thread `tid` (i32 expressions, `tid` counted from
   *  the first participating thread): how lowered code finds the element a register holds. */
  virtual std::vector<Expr> index(const Expr& tid, const Expr& reg) const = 0;
};

enum class LayoutKind : std::uint8_t { distributed, replicated, mapped };

/** Where one element lives. `thread` is -1 for replicated layouts (every thread). */
struct Slot {
  int thread = -1;
  std::int64_t reg = 0;
  bool operator==(const Slot&) const = default;
};

/** The layout of one fragment over P participating threads. */
struct Layout {
  LayoutKind kind = LayoutKind::replicated;
  std::vector<std::int64_t> shape;        ///< the fragment's logical shape
  int threads = 1;                        ///< P, participating threads
  int begin = 0;                          ///< first participating thread (thread range begin)
  int vec = 1;                            ///< V (distributed)
  std::int64_t chunks = 1;                ///< C (distributed)
  std::shared_ptr<const FragmentMap> map; ///< mapped layouts

  /** A distributed layout of `shape` over `threads` threads with vectors of `vec` elements. */
  static Layout distributed(std::vector<std::int64_t> shape, int threads, int vec, int begin = 0);
  static Layout replicated(std::vector<std::int64_t> shape);
  static Layout mapped(std::vector<std::int64_t> shape, int threads,
                       std::shared_ptr<const FragmentMap> map, int begin = 0);

  /** Number of logical elements. */
  std::int64_t numel() const;
  /** Extent of the last axis (1 for rank 0). */
  std::int64_t last_extent() const;
  /** Product of the leading (all but last) extents. */
  std::int64_t lead_numel() const;
  /** Registers each thread holds (some may be unused tail slots). */
  std::int64_t registers() const;
  /** Where element `index` lives. Throws InternalError for an out-of-range index. */
  Slot locate(const std::vector<std::int64_t>& index) const;
  /** The element held in register `reg` of thread `thread` (0-based within the range), or
   *  nullopt for an unused (tail) register. For replicated layouts `thread` is ignored. */
  std::optional<std::vector<std::int64_t>> element(int thread, std::int64_t reg) const;
  /** "distributed(P=128, V=8, C=1) regs=32" — what the IR dump shows. */
  std::string str() const;
  /** Mapped layouts: threads [0, n) of the participants hold elements and the rest (idle warps)
   *  none; returns n. InternalError for a map whose owners are not such a prefix or that leaves
   *  registers of an owner empty. */
  int mapped_owners() const;
  /** Same element → (thread, register) assignment: equal distributed parameters, or equal
   *  mapped layouts (same map over the same threads). Never true for replicated layouts. */
  bool same_partition(const Layout& other) const;
};

/** How the iterations of one parallel loop are spread over the participating threads (chosen
 *  by codegen/infer_layouts from the layouts of the fragments the loop touches). */
struct ParallelPlan {
  enum class Kind : std::uint8_t {
    distributed, ///< the innermost axis follows `layout` (a distributed fragment's partition)
    split,       ///< flattened iterations dealt round-robin to threads (no fragment written)
    replicated,  ///< every thread runs every iteration (writes replicated fragments/locals)
    mapped,      ///< iterations follow a mapped layout (e.g. the mma accumulator)
  };
  Kind kind = Kind::replicated;
  Layout layout; ///< distributed / mapped: the partition followed
  int threads = 1;
  int begin = 0;

  /** "distributed over 128 threads (V=8, C=1)", as IR dumps show it. */
  std::string str() const;
};

/** The layouts infer_layouts recorded on the fragments' Allocates under `body`, by buffer. */
std::map<const BufferNode*, Layout> fragment_layouts(const Stmt& body);

/**
 * The vector width V for a distributed fragment whose last extent is `last_extent`, given the
 * widest element type of the global tensors it is copied from or to (`global_elem_bytes`, 0
 * when none: V then targets 16 bytes of f32). V is 16 bytes' worth of elements, halved while it
 * exceeds the next power of two of `last_extent`.
 */
int choose_vector_width(std::int64_t last_extent, int global_elem_bytes);

} // namespace tessera::ir
