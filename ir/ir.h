/** \file
 * The tile IR: small immutable node structs with make() factories, in the style of Halide's
 * IR.h. Expressions (Expr) compute values; statements (Stmt) describe block-level work.
 *
 * Semantics are *block-level*: a kernel body runs once per thread block, and tile ops (Copy,
 * Fill, Reduce, Gemm, Parallel) are collective over the block's threads (or over the threads of
 * the enclosing ThreadRange). Only the fragment-partitioning pass decides which thread does
 * what; until then fragments are whole logical tiles. The CPU backend consumes this form.
 */
#pragma once

#include "base/dtype.h"

#include <cstdint>
#include <memory>
#include <source_location>
#include <string>
#include <type_traits>
#include <vector>

namespace tessera::ir {

struct Layout;       // ir/layout.h
struct ParallelPlan; // ir/layout.h

/** Where a DSL statement came from; kept on every statement so errors and emitted CUDA can
 *  point at the user's line. */
struct SourceLoc {
  std::string file;
  int line = 0;

  static SourceLoc from(const std::source_location& loc);
  /** "file.cpp:42" with the directory stripped, or "<unknown>". */
  std::string str() const;
};

// ---------------------------------------------------------------------------------------------
// Node kinds and handles
// ---------------------------------------------------------------------------------------------

enum class ExprKind : std::uint8_t {
  IntImm,
  FloatImm,
  Var,
  Binary,
  Unary,
  Select,
  Cast,
  Call,
  Load,
};

enum class StmtKind : std::uint8_t {
  Block,
  Allocate,
  For,
  Parallel,
  IfThenElse,
  Store,
  TileOp,
  Atomic,
  ThreadRange,
  Barrier,
  PdlWait,
  PdlTrigger,
  // Thread-level statements: what tile ops lower to (codegen/lower_tile_ops.h).
  LetStmt,
  VectorCopy,
  AsyncCommit,
  AsyncWait,
  MmaTile,
};

struct ExprNode {
  ExprKind kind;
  DType type;
  ExprNode(ExprKind k, DType t) : kind(k), type(t) {}
  virtual ~ExprNode() = default;
};

struct StmtNode {
  StmtKind kind;
  SourceLoc loc;
  StmtNode(StmtKind k, SourceLoc l) : kind(k), loc(std::move(l)) {}
  virtual ~StmtNode() = default;
};

/** Handle to an immutable expression node (null when default-constructed). */
class Expr {
public:
  Expr() = default;
  explicit Expr(std::shared_ptr<const ExprNode> node) : node_(std::move(node)) {}
  /** Integer literals become i32 immediates, floating literals f32 immediates. */
  Expr(int value);          // NOLINT(google-explicit-constructor): literals in DSL code
  Expr(std::int64_t value); // NOLINT(google-explicit-constructor)
  Expr(float value);        // NOLINT(google-explicit-constructor)
  Expr(double value);       // NOLINT(google-explicit-constructor)

  bool defined() const { return node_ != nullptr; }
  const ExprNode* get() const { return node_.get(); }
  const ExprNode* operator->() const { return node_.get(); }
  DType type() const { return node_->type; }
  ExprKind kind() const { return node_->kind; }
  /** The node as T if its kind matches, else nullptr. */
  template <typename T> const T* as() const {
    return node_ && node_->kind == T::kKind ? static_cast<const T*>(node_.get()) : nullptr;
  }
  /** Identity (pointer) comparison, used as a map key; structural equality is ir::equal(). */
  bool same_as(const Expr& other) const { return node_ == other.node_; }

private:
  std::shared_ptr<const ExprNode> node_;
};

struct TileOp;

/** Handle to an immutable statement node. */
class Stmt {
public:
  Stmt() = default;
  explicit Stmt(std::shared_ptr<const StmtNode> node) : node_(std::move(node)) {}
  bool defined() const { return node_ != nullptr; }
  const StmtNode* get() const { return node_.get(); }
  const StmtNode* operator->() const { return node_.get(); }
  StmtKind kind() const { return node_->kind; }
  /** The node as T if it is one, else nullptr. T may be a concrete tile op (ops::Copy ...). */
  template <typename T> const T* as() const {
    if (!node_ || node_->kind != T::kKind) {
      return nullptr;
    }
    if constexpr (std::is_base_of_v<TileOp, T> && !std::is_same_v<TileOp, T>) {
      return dynamic_cast<const T*>(node_.get());
    } else {
      return static_cast<const T*>(node_.get());
    }
  }
  bool same_as(const Stmt& other) const { return node_ == other.node_; }

private:
  std::shared_ptr<const StmtNode> node_;
};

// ---------------------------------------------------------------------------------------------
// Buffers
// ---------------------------------------------------------------------------------------------

/** Memory scope of a buffer. */
enum class Scope : std::uint8_t {
  global,   ///< a kernel tensor parameter in device memory
  shared,   ///< a tile in the block's shared memory
  fragment, ///< a logical tile distributed over the block's threads (registers)
  local,    ///< per-thread registers (every thread has its own copy)
};

const char* scope_name(Scope s);

/** A named, typed, shaped piece of memory. Identity is the node pointer. */
struct BufferNode {
  std::string name;
  DType dtype;
  std::vector<Expr> shape; ///< constant extents, or dynamic dims for global tensors
  Scope scope;
  int param_index = -1;  ///< position among kernel parameters (global tensors only)
  bool writable = false; ///< outputs and every non-global buffer
  SourceLoc loc;         ///< where it was declared
  /** Made by a lowering for its own use (scratch, a register array), not by the DSL: backends
   *  may give it the name as is, it cannot collide with the user's names. */
  bool internal = false;
  /** Shared tiles: elements from the start of one row (last axis) to the next; 0 means the last
   *  extent (dense). A longer pitch pads every row, so that threads reading the same columns of
   *  different rows hit different shared-memory banks. Only storage changes: the logical shape,
   *  bounds and copies are those of `shape`. */
  std::int64_t row_pitch = 0;
  /** A view: the storage of shared buffer `view_of` from element `view_offset` on (a ring slot
   *  picked at run time, codegen/pipeline_loops.h). Its Allocate marks where the offset is
   *  evaluated; it owns no bytes of its own. */
  std::shared_ptr<const BufferNode> view_of;
  Expr view_offset;
};

/** Shared handle to a BufferNode. */
using Buffer = std::shared_ptr<const BufferNode>;

/** The extent of dimension `d` if it is a compile-time constant, else -1. */
std::int64_t const_extent(const Buffer& b, int d);
/** Number of elements when every extent is constant, else -1. */
std::int64_t const_numel(const Buffer& b);
/** Elements between consecutive rows of the last axis in storage: row_pitch if set, else the last
 *  extent (-1 if dynamic). */
std::int64_t storage_row_pitch(const Buffer& b);
/** Elements of storage (numel with the row pitch): what a shared tile occupies; -1 if dynamic. */
std::int64_t storage_numel(const Buffer& b);

// ---------------------------------------------------------------------------------------------
// Expressions
// ---------------------------------------------------------------------------------------------

struct IntImm : ExprNode {
  static constexpr ExprKind kKind = ExprKind::IntImm;
  std::int64_t value;
  IntImm(DType t, std::int64_t v) : ExprNode(kKind, t), value(v) {}
  static Expr make(DType t, std::int64_t v);
};

struct FloatImm : ExprNode {
  static constexpr ExprKind kKind = ExprKind::FloatImm;
  double value;
  FloatImm(DType t, double v) : ExprNode(kKind, t), value(v) {}
  static Expr make(DType t, double v);
};

/** What a variable stands for. */
enum class VarKind : std::uint8_t {
  loop,       ///< a For/Parallel loop variable
  dim,        ///< a dynamic dimension bound at launch from tensor shapes
  scalar,     ///< a scalar kernel parameter
  block_idx,  ///< blockIdx.{x,y,z} (axis in `axis`)
  thread_idx, ///< threadIdx.x (blocks are 1-D)
};

struct Var : ExprNode {
  static constexpr ExprKind kKind = ExprKind::Var;
  std::string name;
  VarKind var_kind;
  int axis = 0; ///< block_idx axis; scalar/dim parameter position
  Var(DType t, std::string n, VarKind k, int a)
      : ExprNode(kKind, t), name(std::move(n)), var_kind(k), axis(a) {}
  static Expr make(DType t, std::string name, VarKind kind, int axis = 0);
};

enum class BinaryOp : std::uint8_t {
  Add,
  Sub,
  Mul,
  Div,
  Mod,
  Min,
  Max,
  EQ,
  NE,
  LT,
  LE,
  GT,
  GE,
  And,
  Or,
};
const char* binary_op_name(BinaryOp op);
bool is_comparison(BinaryOp op);

struct Binary : ExprNode {
  static constexpr ExprKind kKind = ExprKind::Binary;
  BinaryOp op;
  Expr a, b;
  Binary(DType t, BinaryOp o, Expr x, Expr y)
      : ExprNode(kKind, t), op(o), a(std::move(x)), b(std::move(y)) {}
  /** Operands must already have equal types (the front end inserts casts). */
  static Expr make(BinaryOp op, Expr a, Expr b);
};

enum class UnaryOp : std::uint8_t { Neg, Not };

struct Unary : ExprNode {
  static constexpr ExprKind kKind = ExprKind::Unary;
  UnaryOp op;
  Expr a;
  Unary(DType t, UnaryOp o, Expr x) : ExprNode(kKind, t), op(o), a(std::move(x)) {}
  static Expr make(UnaryOp op, Expr a);
};

struct Select : ExprNode {
  static constexpr ExprKind kKind = ExprKind::Select;
  Expr cond, true_value, false_value;
  Select(DType t, Expr c, Expr tv, Expr fv)
      : ExprNode(kKind, t), cond(std::move(c)), true_value(std::move(tv)),
        false_value(std::move(fv)) {}
  static Expr make(Expr cond, Expr true_value, Expr false_value);
};

struct Cast : ExprNode {
  static constexpr ExprKind kKind = ExprKind::Cast;
  Expr value;
  Cast(DType t, Expr v) : ExprNode(kKind, t), value(std::move(v)) {}
  /** Float→bf16/f16 casts round to nearest even; float→int truncates toward zero. */
  static Expr make(DType t, Expr v);
};

/** Built-in functions. Math functions take and return the float type of their argument;
 *  warp functions are collective over the 32 lanes of a warp. */
enum class CallOp : std::uint8_t {
  exp,
  exp2,
  log,
  log2,
  sqrt,
  rsqrt,
  sigmoid,
  tanh,
  abs,
  floor,
  ceil,
  fma,
  warp_sum, ///< (value, width): butterfly all-reduce over `width` lanes (power of two ≤ 32)
  warp_max, ///< (value, width)
  warp_min, ///< (value, width)
  shfl_xor, ///< (value, lane_mask)
  shfl_idx, ///< (value, src_lane)
  /** (f32 value): rounded to TF32 as cvt.rna.tf32.f32 does (nearest, ties away from zero;
   *  inf/NaN kept) — the operand rounding of the TF32 tensor-core path, for portable gemms. */
  round_tf32,
};
const char* call_op_name(CallOp op);
/** The calls that are collective over a warp's lanes. */
bool is_warp_op(CallOp op);

struct Call : ExprNode {
  static constexpr ExprKind kKind = ExprKind::Call;
  CallOp op;
  std::vector<Expr> args;
  Call(DType t, CallOp o, std::vector<Expr> a) : ExprNode(kKind, t), op(o), args(std::move(a)) {}
  static Expr make(CallOp op, std::vector<Expr> args);
};

/** Reads one element of a buffer. Indices are i32 (global addressing is widened by backends). */
struct Load : ExprNode {
  static constexpr ExprKind kKind = ExprKind::Load;
  Buffer buffer;
  std::vector<Expr> indices;
  Load(DType t, Buffer b, std::vector<Expr> i)
      : ExprNode(kKind, t), buffer(std::move(b)), indices(std::move(i)) {}
  static Expr make(Buffer buffer, std::vector<Expr> indices);
};

// ---------------------------------------------------------------------------------------------
// Regions: rectangular pieces of buffers, the operands of tile ops
// ---------------------------------------------------------------------------------------------

/** One dimension of a region: [start, start + extent). A squeezed dimension (written `x[i]`)
 *  has extent 1 and does not count towards the region's shape. */
struct Range {
  Expr start;
  std::int64_t extent = 1;
  bool squeezed = false;
};

/** A rectangular region of a buffer. Whole-buffer regions have every start 0. */
struct Region {
  Buffer buffer;
  std::vector<Range> ranges; ///< one per buffer dimension

  /** The whole buffer (its extents must be constant). */
  static Region whole(const Buffer& b);
  /** Extents of the non-squeezed dimensions, outermost first. */
  std::vector<std::int64_t> shape() const;
};

// ---------------------------------------------------------------------------------------------
// Statements
// ---------------------------------------------------------------------------------------------

/** A statement sequence. A lowering gives the block it replaced a DSL statement with a `note`
 *  (what the statement was, e.g. "copy x -> f"), which generated code shows as a comment. */
struct Block : StmtNode {
  static constexpr StmtKind kKind = StmtKind::Block;
  std::vector<Stmt> stmts;
  std::string note;
  Block(SourceLoc l, std::vector<Stmt> s, std::string n)
      : StmtNode(kKind, std::move(l)), stmts(std::move(s)), note(std::move(n)) {}
  static Stmt make(std::vector<Stmt> stmts, SourceLoc loc = {}, std::string note = "");
};

/** Declares a shared/fragment/local buffer; it is live until the end of the enclosing Block.
 *  The lowering passes record their decisions here: the layout of a fragment (infer_layouts;
 *  kept on the register array a fragment lowers to, for readers of the generated code) and the
 *  byte offset of a shared buffer in the block's shared memory (plan_shared_memory). */
struct Allocate : StmtNode {
  static constexpr StmtKind kKind = StmtKind::Allocate;
  Buffer buffer;
  std::shared_ptr<const Layout> layout; ///< fragments (and their register arrays), else null
  std::int64_t offset = -1;             ///< shared buffers once planned, else -1
  Allocate(SourceLoc l, Buffer b, std::shared_ptr<const Layout> lay, std::int64_t off)
      : StmtNode(kKind, std::move(l)), buffer(std::move(b)), layout(std::move(lay)), offset(off) {}
  static Stmt make(Buffer buffer, SourceLoc loc, std::shared_ptr<const Layout> layout = nullptr,
                   std::int64_t offset = -1);
};

enum class ForKind : std::uint8_t {
  serial,    ///< an ordinary loop
  unrolled,  ///< fully unrolled by the backend (extent must be constant)
  pipelined, ///< copies into shared memory are issued `stages - 1` iterations ahead
};
const char* for_kind_name(ForKind k);

/** A loop run by every participating thread (the body may contain collective tile ops). */
struct For : StmtNode {
  static constexpr StmtKind kKind = StmtKind::For;
  Expr var; ///< a Var of kind loop
  Expr min, extent;
  ForKind for_kind;
  int stages = 1; ///< pipelined loops only
  /** Serial loops: how far a backend should unroll (0: its own choice, 1: not at all, N: by
   *  N). Lowerings set it where they know the trip count and the register budget better. */
  int unroll = 0;
  Stmt body;
  For(SourceLoc l, Expr v, Expr mn, Expr ext, ForKind k, int s, int u, Stmt b)
      : StmtNode(kKind, std::move(l)), var(std::move(v)), min(std::move(mn)),
        extent(std::move(ext)), for_kind(k), stages(s), unroll(u), body(std::move(b)) {}
  static Stmt make(Expr var, Expr min, Expr extent, ForKind kind, Stmt body, SourceLoc loc,
                   int stages = 1, int unroll = 0);
};

/** An elementwise loop nest over a constant index space, split across the participating
 *  threads by the partitioning pass. Iterations are independent: the body may read and write
 *  fragments and local buffers, and read anything, but contains no collective op. `plan` says
 *  how the iterations are split (set by infer_layouts). */
struct Parallel : StmtNode {
  static constexpr StmtKind kKind = StmtKind::Parallel;
  std::vector<Expr> vars;            ///< loop Vars, outermost first
  std::vector<std::int64_t> extents; ///< constant extents
  Stmt body;
  std::shared_ptr<const ParallelPlan> plan; ///< null until infer_layouts
  Parallel(SourceLoc l, std::vector<Expr> v, std::vector<std::int64_t> e, Stmt b,
           std::shared_ptr<const ParallelPlan> p)
      : StmtNode(kKind, std::move(l)), vars(std::move(v)), extents(std::move(e)),
        body(std::move(b)), plan(std::move(p)) {}
  static Stmt make(std::vector<Expr> vars, std::vector<std::int64_t> extents, Stmt body,
                   SourceLoc loc, std::shared_ptr<const ParallelPlan> plan = nullptr);
};

struct IfThenElse : StmtNode {
  static constexpr StmtKind kKind = StmtKind::IfThenElse;
  Expr cond;
  Stmt then_case, else_case; ///< else_case may be undefined
  IfThenElse(SourceLoc l, Expr c, Stmt t, Stmt e)
      : StmtNode(kKind, std::move(l)), cond(std::move(c)), then_case(std::move(t)),
        else_case(std::move(e)) {}
  static Stmt make(Expr cond, Stmt then_case, Stmt else_case, SourceLoc loc);
};

/** Writes one element. In block-level semantics every participating thread performs the store;
 *  inside a Parallel it is the element's owner that does. */
struct Store : StmtNode {
  static constexpr StmtKind kKind = StmtKind::Store;
  Buffer buffer;
  std::vector<Expr> indices;
  Expr value;
  Store(SourceLoc l, Buffer b, std::vector<Expr> i, Expr v)
      : StmtNode(kKind, std::move(l)), buffer(std::move(b)), indices(std::move(i)),
        value(std::move(v)) {}
  static Stmt make(Buffer buffer, std::vector<Expr> indices, Expr value, SourceLoc loc);
};

/** How a tile op uses one of its operands. */
enum class Access : std::uint8_t { read, write, read_write };

/** A buffer region a tile op reads or writes. */
struct Operand {
  Region region;
  Access access = Access::read;
  bool reads() const { return access != Access::write; }
  bool writes() const { return access != Access::read; }
};

class VerifyContext; // ir/verify_context.h

/**
 * A block-collective tile operation (copy, fill, reduce_*, gemm, ...): every participating
 * thread reaches it, and together they perform it. Each op is a subclass with one home,
 * ops/<op>.{h,cpp}, holding its data, DSL entry point, verification, layout request and
 * lowering (TileLang's src/op/ model). Generic code — printer, visitors, structural equality,
 * pipelining, barrier placement — sees only this interface: operands with their access,
 * scalar arguments and attributes.
 */
struct TileOp : StmtNode {
  static constexpr StmtKind kKind = StmtKind::TileOp;
  explicit TileOp(SourceLoc l) : StmtNode(kKind, std::move(l)) {}

  /** The DSL name ("copy", "reduce_sum", "gemm"). */
  virtual std::string op_name() const = 0;
  /** Buffer operands, in a fixed order. */
  virtual std::vector<Operand> operands() const = 0;
  /** Scalar expression operands (a fill value), in a fixed order. */
  virtual std::vector<Expr> args() const { return {}; }
  /** Everything else that defines the op ("axis=1", "clear"): printed, compared and hashed. */
  virtual std::vector<std::string> attrs() const { return {}; }
  /** This op with `operands` and `args` replaced (same counts and order): what mutators build. */
  virtual Stmt rebuild(std::vector<Region> operands, std::vector<Expr> args) const = 0;
  /** Throws UserError through `ctx` for a mistake in the op's use (shapes, scopes, dtypes). */
  virtual void verify(const VerifyContext& ctx) const = 0;
};

enum class AtomicOp : std::uint8_t { add, max };

/** Atomic read-modify-write of one element of a global or shared buffer, by every thread that
 *  executes it (use inside a ThreadRange or IfThenElse to pick the threads). */
struct Atomic : StmtNode {
  static constexpr StmtKind kKind = StmtKind::Atomic;
  AtomicOp op;
  Buffer buffer;
  std::vector<Expr> indices;
  Expr value;
  Atomic(SourceLoc l, AtomicOp o, Buffer b, std::vector<Expr> i, Expr v)
      : StmtNode(kKind, std::move(l)), op(o), buffer(std::move(b)), indices(std::move(i)),
        value(std::move(v)) {}
  static Stmt make(AtomicOp op, Buffer buffer, std::vector<Expr> indices, Expr value,
                   SourceLoc loc);
};

/** Threads [begin, end) of the block run `body`; the rest skip it. Collective ops inside are
 *  collective over those threads only, and thread_idx inside still counts from 0 of the block.
 *  begin and end must be multiples of 32 unless the body has no collective op or barrier. */
struct ThreadRange : StmtNode {
  static constexpr StmtKind kKind = StmtKind::ThreadRange;
  int begin, end;
  Stmt body;
  ThreadRange(SourceLoc l, int b, int e, Stmt s)
      : StmtNode(kKind, std::move(l)), begin(b), end(e), body(std::move(s)) {}
  static Stmt make(int begin, int end, Stmt body, SourceLoc loc);
};

/** Who waits at a Barrier. */
enum class BarrierScope {
  block,  ///< __syncthreads(): every thread of the block
  cluster ///< every thread of every block of the thread-block cluster (sm_90+): also orders the
          ///< blocks' global and shared memory accesses (release/acquire at cluster scope)
};

/** A barrier every thread of its scope must reach. A cluster barrier is also a block barrier. */
struct Barrier : StmtNode {
  static constexpr StmtKind kKind = StmtKind::Barrier;
  BarrierScope scope;
  Barrier(SourceLoc l, BarrierScope s) : StmtNode(kKind, std::move(l)), scope(s) {}
  static Stmt make(SourceLoc loc, BarrierScope scope = BarrierScope::block);
};

/** Programmatic dependent launch: wait for the preceding kernel's memory to be visible. */
struct PdlWait : StmtNode {
  static constexpr StmtKind kKind = StmtKind::PdlWait;
  explicit PdlWait(SourceLoc l) : StmtNode(kKind, std::move(l)) {}
  static Stmt make(SourceLoc loc);
};

/** Programmatic dependent launch: allow the next kernel in the stream to start launching. */
struct PdlTrigger : StmtNode {
  static constexpr StmtKind kKind = StmtKind::PdlTrigger;
  explicit PdlTrigger(SourceLoc l) : StmtNode(kKind, std::move(l)) {}
  static Stmt make(SourceLoc loc);
};

// ---------------------------------------------------------------------------------------------
// Thread-level statements. After codegen/lower_tile_ops no tile op, parallel loop or fragment is
// left: every statement is run by each thread for itself (SIMT), fragments live in per-thread
// register arrays (local buffers), and the nodes below spell the accesses and instructions the
// tile ops became. Both backends consume this level: the CUDA printer and the LLVM translator.
// ---------------------------------------------------------------------------------------------

/** `var` (a Var) stands for `value` inside `body`: `const int h = ...;` in C. */
struct LetStmt : StmtNode {
  static constexpr StmtKind kKind = StmtKind::LetStmt;
  Expr var, value;
  Stmt body;
  LetStmt(SourceLoc l, Expr v, Expr val, Stmt b)
      : StmtNode(kKind, std::move(l)), var(std::move(v)), value(std::move(val)),
        body(std::move(b)) {}
  static Stmt make(Expr var, Expr value, Stmt body, SourceLoc loc = {});
};

/**
 * `lanes` consecutive elements moved from `src` to `dst` with element type conversion:
 * dst[dst_index + k] = src[src_index + k] for k in [0, lanes), the offset applied to the last
 * index. A global or shared side is accessed as one vector of lanes × element bytes, which the
 * lowering proved aligned (vectorize_copies); a local side is a register array. With `async`
 * (global → shared, equal types, 4/8/16 bytes) the copy is a cp.async that completes at an
 * AsyncWait; a backend without asynchronous copies performs it at once.
 */
struct VectorCopy : StmtNode {
  static constexpr StmtKind kKind = StmtKind::VectorCopy;
  Buffer dst;
  std::vector<Expr> dst_index;
  Buffer src;
  std::vector<Expr> src_index;
  int lanes;
  bool async;
  VectorCopy(SourceLoc l, Buffer d, std::vector<Expr> di, Buffer s, std::vector<Expr> si, int n,
             bool a)
      : StmtNode(kKind, std::move(l)), dst(std::move(d)), dst_index(std::move(di)),
        src(std::move(s)), src_index(std::move(si)), lanes(n), async(a) {}
  static Stmt make(Buffer dst, std::vector<Expr> dst_index, Buffer src, std::vector<Expr> src_index,
                   int lanes, bool async = false, SourceLoc loc = {});
};

/** Closes the group of asynchronous copies issued since the last commit (cp.async). */
struct AsyncCommit : StmtNode {
  static constexpr StmtKind kKind = StmtKind::AsyncCommit;
  explicit AsyncCommit(SourceLoc l) : StmtNode(kKind, std::move(l)) {}
  static Stmt make(SourceLoc loc = {});
};

/** Waits until at most `pending` committed groups of this thread are still in flight, or with
 *  kAll for every copy issued so far, committed or not. The copies are then visible to the
 *  issuing thread; a Barrier makes them visible to the block. */
struct AsyncWait : StmtNode {
  static constexpr StmtKind kKind = StmtKind::AsyncWait;
  static constexpr int kAll = -1;
  int pending;
  AsyncWait(SourceLoc l, int p) : StmtNode(kKind, std::move(l)), pending(p) {}
  static Stmt make(int pending, SourceLoc loc = {});
};

/** The tensor-core instruction family of an MmaTile (ops/mma_layout.h). */
enum class MmaPath : std::uint8_t {
  bf16, ///< mma.m16n8k16 bf16 × bf16 → f32
  f16,  ///< mma.m16n8k16 f16 × f16 → f32
  tf32, ///< mma.m16n8k8 tf32 × tf32 → f32 (f32 operands rounded to nearest; bf16/f16 exact)
  fp32, ///< FFMA in the accumulator layout (exact fp32)
  /// mma.m16n8k8 tf32 on split operands: each f32 operand is hi + lo (both TF32), and
  /// hi·hi + hi·lo + lo·hi is accumulated (16-bit operands are exact, so they need no lo part)
  tf32x3,
};
const char* mma_path_name(MmaPath p);

/**
 * acc (+)= op(A) · op(B) on tensor cores, collective over the warps of the participating
 * threads (CUDA only: the gemm op lowers to plain loops for targets without tensor cores).
 * A (M×K, or K×M with trans_a) and B (K×N, or N×K with trans_b) are shared tiles with row
 * strides lda/ldb; warps_m × warps_n warps each compute one warp tile of the M×N product into
 * their registers of `acc`, in the accumulator layout of ops/mma_layout.h. `tid` is the thread's
 * index among the participants.
 */
struct MmaTile : StmtNode {
  static constexpr StmtKind kKind = StmtKind::MmaTile;
  MmaPath path;
  std::int64_t m, n, k, lda, ldb;
  int warps_m, warps_n;
  bool trans_a, trans_b;
  Buffer a, b, acc;
  Expr tid;
  MmaTile(SourceLoc l, MmaPath p, std::int64_t m_, std::int64_t n_, std::int64_t k_,
          std::int64_t la, std::int64_t lb, int wm, int wn, bool ta, bool tb, Buffer a_, Buffer b_,
          Buffer c, Expr t)
      : StmtNode(kKind, std::move(l)), path(p), m(m_), n(n_), k(k_), lda(la), ldb(lb), warps_m(wm),
        warps_n(wn), trans_a(ta), trans_b(tb), a(std::move(a_)), b(std::move(b_)),
        acc(std::move(c)), tid(std::move(t)) {}
  static Stmt make(const MmaTile& fields);
};

// ---------------------------------------------------------------------------------------------
// Kernels
// ---------------------------------------------------------------------------------------------

/** A kernel parameter, in declaration order. Tensors are passed as device pointers; dynamic
 *  dims are extra i32 scalar parameters appended after the declared ones. */
struct Param {
  enum class Kind : std::uint8_t { tensor, scalar };
  Kind kind;
  std::string name;
  DType dtype;
  Buffer buffer; ///< tensor parameters
  Expr var;      ///< scalar parameters (a Var of kind scalar)
};

/** A dynamic dimension: a symbolic extent bound at launch from tensor shapes. */
struct DynamicDim {
  std::string name;
  Expr var; ///< Var of kind dim, type i32
};

/** A complete traced kernel: what the front end builds and every pass consumes. */
struct Kernel {
  std::string name;
  std::vector<Param> params;
  std::vector<DynamicDim> dims;
  std::vector<Expr> grid;   ///< 1 to 3 extents (may use dims and scalars)
  int threads = 128;        ///< threads per block, a multiple of 32
  std::vector<int> cluster; ///< empty, or 1 to 3 cluster dims
  Stmt body;
  SourceLoc loc;
  /** Dynamic shared memory every launch needs, bytes (set by plan_shared_memory). */
  std::int64_t shared_bytes = 0;
};

} // namespace tessera::ir
