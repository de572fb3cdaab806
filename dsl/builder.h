/** \file
 * What a kernel author includes: the kernel builder (kernels, tensors, fragments, loops,
 * statements — dsl/kernel_builder.h) and the tile ops (ops/<op>.h: copy, fill, reduce_*, cumsum,
 * gemm). docs/dsl.md is the reference.
 */
#pragma once

#include "dsl/kernel_builder.h"
#include "ops/copy.h"
#include "ops/fill.h"
#include "ops/gemm.h"
#include "ops/reduce.h"
#include "ops/scan.h"
