/** \file
 * Strict values for the CLI's numeric and enumerated options. CLI11 alone reads "010" as octal,
 * "0x10" as hex, saturates on overflow and takes NaN; these validators accept decimal integers
 * and finite decimal reals only, check ranges, and name the flag and what it accepts.
 *
 *     cmd->add_option("--tokens,-T", o.tokens)->transform(decimal_integer(0, kMaxTokens));
 *     cmd->add_option("--post-mult", o.post_mult)->transform(finite_real());
 *     cmd->add_option("--precision", o.precision)->check(one_of({"tf32", "fp32"}));
 */
#pragma once

#include <CLI/CLI.hpp>
#include <cstdint>
#include <initializer_list>
#include <limits>
#include <optional>
#include <string>
#include <string_view>

namespace tessera::cli {

/** A base-10 integer in [min, max] (optional '-', digits, nothing else); rewritten without
 * leading zeros so CLI11's conversion cannot read it as octal. */
CLI::Validator decimal_integer(std::int64_t min, std::int64_t max);

/** A finite decimal real in [min, max]. */
CLI::Validator finite_real(double min = -std::numeric_limits<double>::max(),
                           double max = std::numeric_limits<double>::max());

/** One of `choices`, exactly. */
CLI::Validator one_of(std::initializer_list<std::string_view> choices);

/** `--hidden,-H` (or `flags`): the hidden size H, a decimal integer in [1, 2^31]. */
CLI::Option* add_hidden_option(CLI::App* cmd, std::int64_t& hidden,
                               const std::string& flags = "--hidden,-H",
                               const std::string& help = "Hidden size H");

/** `--precision`: the stage-A GEMM precision, tf32 or fp32. */
CLI::Option* add_precision_option(CLI::App* cmd, std::string& precision);

/** `text` as a base-10 integer, or nullopt (not decimal, trailing characters, overflow). */
std::optional<std::int64_t> parse_decimal(std::string_view text);

/** `text` as a finite decimal real, or nullopt (not a number, trailing characters, inf, nan,
 * hex floats). */
std::optional<double> parse_finite_real(std::string_view text);

} // namespace tessera::cli
