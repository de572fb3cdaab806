/** \file
 * FileCheck-style matching of printed IR, for the per-pass tests (Triton's lit tests on MLIR,
 * here on Tessera's IR printer). A pattern is a list of directives, one per line:
 *
 *   CHECK: text        `text` occurs on a line at or after the current one; continue after it
 *   CHECK-NEXT: text   `text` occurs on the very next line
 *   CHECK-NOT: text    `text` occurs on no line between the previous match and the next one
 *   CHECK-COUNT-N: text  `text` occurs on exactly N lines of the whole IR (N a number)
 *
 * Text matches as a plain substring (no regular expressions: the IR printer is deterministic).
 */
#pragma once

#include "codegen/lower.h"
#include "ir/ir.h"

#include <string>

namespace tessera::test {

/** Fails the current Catch2 test case, with the IR and the directive that did not hold. */
void check_ir(const std::string& ir, const std::string& pattern);

/** The IR text after `pass` when `kernel` is lowered (for `target`: nullptr is CUDA). */
std::string ir_after(const ir::Kernel& kernel, const std::string& pass,
                     const ops::TargetInfo* target = nullptr);

} // namespace tessera::test
