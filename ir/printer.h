/** \file
 * A readable text form of the tile IR (what `tessera emit --ir` and TESSERA_DUMP_PASSES print).
 * Deterministic: the same IR prints the same text byte for byte.
 */
#pragma once

#include "ir/ir.h"

#include <string>

namespace tessera::ir {

/** One expression, fully parenthesised where precedence could mislead. */
std::string to_string(const Expr& e);
/** A statement tree, indented, each statement suffixed with its DSL source line. */
std::string to_string(const Stmt& s, int indent = 0);
/** A region: `name[start:start+extent, i, ...]`. */
std::string to_string(const Region& r);
/** A tile op on one line: `name(args) reads -> writes attrs`. */
std::string to_string(const TileOp& op);
/** A whole kernel: signature, dims, launch shape, then the body. */
std::string to_string(const Kernel& k);

} // namespace tessera::ir
