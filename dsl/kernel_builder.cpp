#include "dsl/kernel_builder.h"

#include "base/error.h"
#include "dsl/verifier.h"
#include "ir/printer.h"

#include <fmt/format.h>

namespace tessera::dsl {

using namespace ir;

// ---------------------------------------------------------------------------------------------
// Trace: the statement lists being filled while a launch body runs
// ---------------------------------------------------------------------------------------------

class Trace {
public:
  explicit Trace(Kernel& k) : kernel(k) {}

  Kernel& kernel;
  std::vector<std::vector<Stmt>> blocks; ///< innermost last
  std::vector<SourceLoc> locs;           ///< location of the innermost DSL statement call
  int next_var = 0;
  int next_buffer = 0;

  void emit(Stmt s) { blocks.back().push_back(std::move(s)); }
  SourceLoc loc() const { return locs.empty() ? SourceLoc{} : locs.back(); }
};

namespace {

thread_local Trace* current_trace = nullptr;

Trace& trace(const char* what) {
  if (current_trace == nullptr) {
    throw UserError(fmt::format("{}() called outside a kernel launch body", what));
  }
  return *current_trace;
}

/** Runs `fn` collecting the statements it emits into a Block. */
Stmt capture(Trace& t, const SourceLoc& loc, const std::function<void()>& fn) {
  t.blocks.emplace_back();
  t.locs.push_back(loc);
  try {
    fn();
  } catch (...) {
    t.blocks.pop_back();
    t.locs.pop_back();
    throw;
  }
  std::vector<Stmt> stmts = std::move(t.blocks.back());
  t.blocks.pop_back();
  t.locs.pop_back();
  return Block::make(std::move(stmts), loc);
}

std::string kernel_context(const Trace& t, const SourceLoc& loc) {
  return fmt::format("kernel '{}' at {}", t.kernel.name, loc.str());
}

TileRef allocate(Scope scope, DType dtype, std::vector<std::int64_t> shape, std::string name,
                 const Loc& where, const char* what, std::int64_t row_pad = 0) {
  Trace& t = trace(what);
  const SourceLoc loc = SourceLoc::from(where);
  auto b = std::make_shared<BufferNode>();
  for (std::int64_t e : shape) {
    if (e <= 0) {
      throw UserError(fmt::format("{}: {}(): every extent must be positive (got {})",
                                  kernel_context(t, loc), what, e));
    }
    b->shape.push_back(Expr(static_cast<int>(e)));
  }
  b->name = name.empty() ? fmt::format("{}{}", what, t.next_buffer++) : std::move(name);
  if (row_pad < 0 || (row_pad > 0 && shape.empty())) {
    throw UserError(fmt::format("{}: {}(): '{}': a row pad needs a tile with rows and must be >= 0 "
                                "(got {})",
                                kernel_context(t, loc), what, b->name, row_pad));
  }
  if (row_pad > 0) {
    b->row_pitch = shape.back() + row_pad;
  }
  b->dtype = dtype;
  b->scope = scope;
  b->writable = true;
  b->loc = loc;
  Buffer buffer = b;
  t.emit(Allocate::make(buffer, loc));
  return TileRef(buffer);
}

} // namespace

// ---------------------------------------------------------------------------------------------
// Slices and TileRef
// ---------------------------------------------------------------------------------------------

namespace {

/** "kernel 'k' at file:line" while tracing (at `use`, else the innermost DSL statement),
 *  "at file:line" outside a launch body when `use` is known, else "". */
std::string use_context(const SourceLoc& use) {
  if (current_trace != nullptr) {
    return kernel_context(*current_trace, use.line > 0 ? use : current_trace->loc());
  }
  return use.line > 0 ? fmt::format("at {}", use.str()) : std::string();
}

/** `problem` prefixed with use_context(use). */
std::string at_use(const SourceLoc& use, const std::string& problem) {
  const std::string where = use_context(use);
  return where.empty() ? problem : fmt::format("{}: {}", where, problem);
}

std::string shape_str(const Buffer& b) {
  std::string s = "[";
  for (std::size_t d = 0; d < b->shape.size(); ++d) {
    s += (d ? ", " : "") + to_string(b->shape[d]);
  }
  return s + "]";
}

/** "('f' declared at file.cpp:12 with shape [4, 8])": the buffer's own line, as extra context. */
std::string declared(const Buffer& b) {
  if (b->loc.line > 0) {
    return fmt::format("('{}' declared at {} with shape {})", b->name, b->loc.str(), shape_str(b));
  }
  return fmt::format("('{}' has shape {})", b->name, shape_str(b));
}

/** How to index every dimension of `b`: "f[i][j]", "sum[0]" (extent-1 dimensions get 0). */
std::string element_pattern(const Buffer& b) {
  static const char* const names[] = {"i", "j", "k", "l"};
  std::string s = b->name;
  for (std::size_t d = 0; d < b->shape.size(); ++d) {
    const IntImm* imm = b->shape[d].as<IntImm>();
    s += fmt::format("[{}]", imm && imm->value == 1 ? "0"
                             : d < 4                ? names[d]
                                                    : fmt::format("i{}", d).c_str());
  }
  return s;
}

std::string indices_str(std::size_t n) {
  return n == 1 ? "1 index" : fmt::format("{} indices", n);
}

/** The hint for an element access with too few / too many indices. */
std::string index_hint(const Buffer& b) {
  if (b->shape.empty()) {
    return fmt::format("'{}' is a scalar: use it without an index ({} = {} + v)", b->name, b->name,
                       b->name);
  }
  return fmt::format("index it as {}", element_pattern(b));
}

} // namespace

Slice tile(Expr index, std::int64_t size, Loc loc) {
  if (size <= 0) {
    throw UserError(
        at_use(SourceLoc::from(loc), fmt::format("tile(): size must be positive (got {})", size)));
  }
  return Slice{cast(DType::i32, index) * Expr(static_cast<int>(size)), size, false};
}

Slice range(Expr start, std::int64_t extent, Loc loc) {
  if (extent <= 0) {
    throw UserError(at_use(SourceLoc::from(loc),
                           fmt::format("range(): extent must be positive (got {})", extent)));
  }
  return Slice{cast(DType::i32, std::move(start)), extent, false};
}

TileRef::TileRef(Buffer buffer) : buffer_(std::move(buffer)) {}

SourceLoc TileRef::use_loc(const SourceLoc& fallback) const {
  return indexed_at_.line > 0 ? indexed_at_ : fallback;
}

TileRef TileRef::operator[](IndexArg index) const {
  const SourceLoc loc = SourceLoc::from(index.loc());
  if (!buffer_) {
    throw UserError(at_use(loc, "indexing an empty TileRef (a buffer handle never assigned)"));
  }
  const std::size_t rank = buffer_->shape.size();
  if (ranges_.size() >= rank) {
    throw UserError(at_use(
        loc, fmt::format("too many indices for buffer '{}': it takes {}, this is index {} {}; {}",
                         buffer_->name, indices_str(rank), ranges_.size() + 1, declared(buffer_),
                         index_hint(buffer_))));
  }
  TileRef r = *this;
  r.indexed_at_ = loc;
  switch (index.kind()) {
  case IndexArg::Kind::scalar: {
    const Expr& e = index.scalar();
    if (!e.defined() || !is_integer(e.type())) {
      throw UserError(at_use(
          loc,
          fmt::format("index {} of buffer '{}' is {}, not an integer {}; convert it with "
                      "cast(i32, ...)",
                      ranges_.size(), buffer_->name,
                      e.defined() ? std::string(dtype_name(e.type())) : "an undefined expression",
                      declared(buffer_))));
    }
    r.ranges_.push_back(Range{cast(DType::i32, e), 1, true});
    break;
  }
  case IndexArg::Kind::slice:
    r.ranges_.push_back(Range{index.slice().start, index.slice().extent, false});
    break;
  case IndexArg::Kind::all: {
    const std::int64_t e = const_extent(buffer_, static_cast<int>(ranges_.size()));
    if (e < 0) {
      // A dynamic dimension taken whole: only sensible for global tensors, whose copies clip.
      throw UserError(at_use(
          loc, fmt::format("buffer '{}': `all` over dynamic dimension {} is not supported {}; "
                           "use tile() or range()",
                           buffer_->name, ranges_.size(), declared(buffer_))));
    }
    r.ranges_.push_back(Range{Expr(0), e, false});
    break;
  }
  }
  return r;
}

TileRef::operator Expr() const {
  return read(SourceLoc{});
}

Expr TileRef::read(const SourceLoc& where) const {
  const SourceLoc loc = use_loc(where);
  if (!buffer_) {
    throw UserError(at_use(loc, "reading an empty TileRef (a buffer handle never assigned)"));
  }
  if (ranges_.size() != buffer_->shape.size()) {
    throw UserError(
        at_use(loc, fmt::format("reading buffer '{}' needs {}, got {} {}; {}", buffer_->name,
                                indices_str(buffer_->shape.size()), ranges_.size(),
                                declared(buffer_), index_hint(buffer_))));
  }
  std::vector<Expr> idx;
  for (const Range& r : ranges_) {
    if (!r.squeezed) {
      throw UserError(
          at_use(loc, fmt::format("reading buffer '{}': a slice is not an element {}; index every "
                                  "dimension with a scalar ({}), or pass the slice to a tile op "
                                  "such as copy()",
                                  buffer_->name, declared(buffer_), element_pattern(buffer_))));
    }
    idx.push_back(r.start);
  }
  return Load::make(buffer_, std::move(idx));
}

const TileRef& TileRef::operator=(const Expr& value) const {
  Trace& t = trace("store");
  const SourceLoc loc = use_loc(t.loc());
  if (!buffer_) {
    throw UserError(at_use(loc, "storing to an empty TileRef (a buffer handle never assigned)"));
  }
  if (ranges_.size() != buffer_->shape.size()) {
    throw UserError(
        at_use(loc, fmt::format("storing to buffer '{}' needs {}, got {} {}; {}{}", buffer_->name,
                                indices_str(buffer_->shape.size()), ranges_.size(),
                                declared(buffer_), index_hint(buffer_),
                                ranges_.size() < buffer_->shape.size()
                                    ? " (to write a whole tile or region use fill() or copy())"
                                    : "")));
  }
  std::vector<Expr> idx;
  for (const Range& r : ranges_) {
    if (!r.squeezed) {
      throw UserError(at_use(loc, fmt::format("storing to a slice of '{}'; use copy() or fill() "
                                              "for tiles, or index every dimension with a "
                                              "scalar ({})",
                                              buffer_->name, element_pattern(buffer_))));
    }
    idx.push_back(r.start);
  }
  if (!value.defined()) {
    throw UserError(
        at_use(loc, fmt::format("storing an undefined expression into '{}'", buffer_->name)));
  }
  t.emit(Store::make(buffer_, std::move(idx), store_conversion(buffer_->dtype, value), t.loc()));
  return *this;
}

const TileRef& TileRef::operator=(const TileRef& other) const {
  // `y[i] = sum`: a mistake in reading `sum` is reported at the line of `y[i]`.
  const SourceLoc fallback = current_trace != nullptr ? use_loc(current_trace->loc()) : indexed_at_;
  return *this = other.read(fallback);
}

const TileRef& TileRef::operator+=(const Expr& value) const {
  const SourceLoc fallback = current_trace != nullptr ? use_loc(current_trace->loc()) : indexed_at_;
  return *this = read(fallback) + value;
}

Region TileRef::region() const {
  Region r{buffer_, ranges_};
  for (std::size_t d = ranges_.size(); d < buffer_->shape.size(); ++d) {
    const std::int64_t e = const_extent(buffer_, static_cast<int>(d));
    if (e < 0) {
      throw UserError(
          at_use(indexed_at_, fmt::format("buffer '{}': dimension {} is dynamic; slice it with "
                                          "tile() or range() before using it as a tile {}",
                                          buffer_->name, d, declared(buffer_))));
    }
    r.ranges.push_back(Range{Expr(0), e, false});
  }
  return r;
}

Grid grid(Expr x) {
  return Grid{{std::move(x)}};
}
Grid grid(Expr x, Expr y) {
  return Grid{{std::move(x), std::move(y)}};
}
Grid grid(Expr x, Expr y, Expr z) {
  return Grid{{std::move(x), std::move(y), std::move(z)}};
}

// ---------------------------------------------------------------------------------------------
// KernelBuilder
// ---------------------------------------------------------------------------------------------

KernelBuilder::KernelBuilder(std::string name, Loc loc) {
  if (name.empty()) {
    throw UserError("KernelBuilder: the kernel needs a name");
  }
  for (char c : name) {
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_')) {
      throw UserError(fmt::format("KernelBuilder: kernel name '{}' must be a C identifier", name));
    }
  }
  kernel_.name = std::move(name);
  kernel_.loc = SourceLoc::from(loc);
}

KernelBuilder::~KernelBuilder() = default;

Dim KernelBuilder::dim(std::string name) {
  Expr v = ir::Var::make(DType::i32, name, VarKind::dim, static_cast<int>(kernel_.dims.size()));
  kernel_.dims.push_back(DynamicDim{std::move(name), v});
  return v;
}

TileRef KernelBuilder::add_tensor(std::string name, DType dtype, std::vector<Expr> shape,
                                  bool writable, Loc loc) {
  if (launched_) {
    throw UserError(
        fmt::format("kernel '{}': tensor '{}' declared after launch()", kernel_.name, name));
  }
  for (const Expr& e : shape) {
    const bool is_dim = e.as<ir::Var>() && e.as<ir::Var>()->var_kind == VarKind::dim;
    const bool is_const = e.as<IntImm>() && e.as<IntImm>()->value > 0;
    if (!is_dim && !is_const) {
      throw UserError(fmt::format("kernel '{}': tensor '{}' extents must be positive constants "
                                  "or dims from KernelBuilder::dim()",
                                  kernel_.name, name));
    }
  }
  auto b = std::make_shared<BufferNode>();
  b->name = name;
  b->dtype = dtype;
  for (const Expr& e : shape) {
    b->shape.push_back(e.as<IntImm>() ? Expr(static_cast<int>(e.as<IntImm>()->value)) : e);
  }
  b->scope = Scope::global;
  b->param_index = static_cast<int>(kernel_.params.size());
  b->writable = writable;
  b->loc = SourceLoc::from(loc);
  kernel_.params.push_back(Param{Param::Kind::tensor, std::move(name), dtype, b, Expr()});
  return TileRef(b);
}

TileRef KernelBuilder::input(std::string name, DType dtype, std::vector<Expr> shape, Loc loc) {
  return add_tensor(std::move(name), dtype, std::move(shape), false, loc);
}

TileRef KernelBuilder::output(std::string name, DType dtype, std::vector<Expr> shape, Loc loc) {
  return add_tensor(std::move(name), dtype, std::move(shape), true, loc);
}

Expr KernelBuilder::scalar(std::string name, DType dtype) {
  Expr v = ir::Var::make(dtype, name, VarKind::scalar, static_cast<int>(kernel_.params.size()));
  kernel_.params.push_back(Param{Param::Kind::scalar, std::move(name), dtype, nullptr, v});
  return v;
}

void KernelBuilder::cluster(std::vector<int> dims) {
  kernel_.cluster = std::move(dims);
}

std::vector<Expr> KernelBuilder::begin_launch(Grid g, Threads t, Loc loc) {
  if (launched_) {
    throw UserError(fmt::format("kernel '{}': launch() called twice", kernel_.name));
  }
  launched_ = true;
  kernel_.grid = std::move(g.dims);
  kernel_.threads = t.count;
  trace_ = std::make_unique<Trace>(kernel_);
  trace_->locs.push_back(SourceLoc::from(loc));
  std::vector<Expr> idx;
  for (std::size_t i = 0; i < kernel_.grid.size(); ++i) {
    idx.push_back(block_idx(static_cast<int>(i)));
  }
  return idx;
}

void KernelBuilder::trace_body(const std::function<void()>& run) {
  if (current_trace != nullptr) {
    throw UserError(
        fmt::format("kernel '{}': launch() inside another kernel's launch body", kernel_.name));
  }
  current_trace = trace_.get();
  try {
    kernel_.body = capture(*trace_, trace_->loc(), run);
  } catch (...) {
    current_trace = nullptr;
    throw;
  }
  current_trace = nullptr;
}

Kernel KernelBuilder::build() {
  if (!launched_) {
    throw UserError(fmt::format("kernel '{}': build() before launch()", kernel_.name));
  }
  verify(kernel_);
  return kernel_;
}

// ---------------------------------------------------------------------------------------------
// Statement functions
// ---------------------------------------------------------------------------------------------

TileRef fragment(DType dtype, std::vector<std::int64_t> shape, std::string name, Loc loc) {
  return allocate(Scope::fragment, dtype, std::move(shape), std::move(name), loc, "fragment");
}
TileRef shared(DType dtype, std::vector<std::int64_t> shape, std::string name, Loc loc) {
  return allocate(Scope::shared, dtype, std::move(shape), std::move(name), loc, "shared");
}
TileRef shared(DType dtype, std::vector<std::int64_t> shape, std::string name, RowPad pad,
               Loc loc) {
  return allocate(Scope::shared, dtype, std::move(shape), std::move(name), loc, "shared",
                  pad.elements);
}
TileRef local(DType dtype, std::vector<std::int64_t> shape, std::string name, Loc loc) {
  return allocate(Scope::local, dtype, std::move(shape), std::move(name), loc, "local");
}

namespace {
void atomic(AtomicOp op, const TileRef& element, Expr value, const Loc& loc) {
  Trace& t = trace("atomic");
  const Expr e = element.read(SourceLoc::from(loc)); // validates full scalar indexing
  const Load* load = e.as<Load>();
  t.emit(Atomic::make(op, element.buffer(), load->indices,
                      store_conversion(element.buffer()->dtype, std::move(value)),
                      SourceLoc::from(loc)));
}
} // namespace

void atomic_add(const TileRef& element, Expr value, Loc loc) {
  atomic(AtomicOp::add, element, std::move(value), loc);
}
void atomic_max(const TileRef& element, Expr value, Loc loc) {
  atomic(AtomicOp::max, element, std::move(value), loc);
}

void barrier(Loc loc) {
  trace("barrier").emit(Barrier::make(SourceLoc::from(loc)));
}
void cluster_barrier(Loc loc) {
  trace("cluster_barrier").emit(Barrier::make(SourceLoc::from(loc), BarrierScope::cluster));
}
void pdl_wait(Loc loc) {
  trace("pdl_wait").emit(PdlWait::make(SourceLoc::from(loc)));
}
void pdl_trigger(Loc loc) {
  trace("pdl_trigger").emit(PdlTrigger::make(SourceLoc::from(loc)));
}

namespace detail {

void emit(Stmt s, const char* what) {
  trace(what).emit(std::move(s));
}

std::string error_context(const char* what, const Loc& loc) {
  return kernel_context(trace(what), SourceLoc::from(loc));
}

std::string trace_context() {
  return current_trace != nullptr ? kernel_context(*current_trace, current_trace->loc())
                                  : std::string();
}

} // namespace detail

namespace detail {

void emit_for(Expr min, Expr extent, ForKind kind, int stages, const Body1& body, Loc where) {
  Trace& t = trace(for_kind_name(kind));
  const SourceLoc loc = SourceLoc::from(where);
  if (!extent.defined() || !is_integer(extent.type()) || !min.defined() ||
      !is_integer(min.type())) {
    throw UserError(
        fmt::format("{}: loop bounds must be integer expressions", kernel_context(t, loc)));
  }
  if (kind == ForKind::pipelined && stages < 1) {
    throw UserError(fmt::format("{}: pipelined() needs at least 1 stage (got {})",
                                kernel_context(t, loc), stages));
  }
  Expr var = ir::Var::make(DType::i32, fmt::format("i{}", t.next_var++), VarKind::loop);
  Stmt s = capture(t, loc, [&] { body(var); });
  t.emit(For::make(var, cast(DType::i32, min), cast(DType::i32, extent), kind, s, loc, stages));
}

void emit_parallel(std::vector<std::int64_t> extents,
                   const std::function<void(const std::vector<Var>&)>& body, Loc where) {
  Trace& t = trace("parallel");
  const SourceLoc loc = SourceLoc::from(where);
  if (extents.empty() || extents.size() > 4) {
    throw UserError(fmt::format("{}: parallel() takes 1 to 4 extents", kernel_context(t, loc)));
  }
  std::vector<Expr> vars;
  for (std::int64_t e : extents) {
    if (e <= 0) {
      throw UserError(fmt::format("{}: parallel() extents must be positive (got {})",
                                  kernel_context(t, loc), e));
    }
    vars.push_back(ir::Var::make(DType::i32, fmt::format("p{}", t.next_var++), VarKind::loop));
  }
  Stmt s = capture(t, loc, [&] { body(vars); });
  t.emit(Parallel::make(std::move(vars), std::move(extents), s, loc));
}

void emit_thread_range(int begin, int end, const std::function<void()>& body, Loc where) {
  Trace& t = trace("thread_range");
  const SourceLoc loc = SourceLoc::from(where);
  Stmt s = capture(t, loc, body);
  t.emit(ThreadRange::make(begin, end, s, loc));
}

void emit_if(Expr cond, const std::function<void()>& body, Loc where) {
  Trace& t = trace("if_");
  const SourceLoc loc = SourceLoc::from(where);
  if (!cond.defined() || cond.type() != DType::boolean) {
    throw UserError(fmt::format("{}: if_() needs a boolean condition", kernel_context(t, loc)));
  }
  Stmt s = capture(t, loc, body);
  t.emit(IfThenElse::make(std::move(cond), s, Stmt(), loc));
}

void attach_else(const std::function<void()>& body, Loc where) {
  Trace& t = trace("else_");
  const SourceLoc loc = SourceLoc::from(where);
  auto& stmts = t.blocks.back();
  const IfThenElse* prev = stmts.empty() ? nullptr : stmts.back().as<IfThenElse>();
  if (prev == nullptr || prev->else_case.defined()) {
    throw UserError(fmt::format("{}: else_() must directly follow if_()", kernel_context(t, loc)));
  }
  Stmt e = capture(t, loc, body);
  stmts.back() = IfThenElse::make(prev->cond, prev->then_case, e, prev->loc);
}

} // namespace detail

} // namespace tessera::dsl
