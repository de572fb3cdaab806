#include "tools/cli_values.h"

#include <charconv>
#include <cmath>
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <vector>

namespace tessera::cli {

std::optional<std::int64_t> parse_decimal(std::string_view text) {
  std::int64_t value = 0;
  const char* end = text.data() + text.size();
  const auto [ptr, ec] = std::from_chars(text.data(), end, value, 10);
  if (text.empty() || ec != std::errc() || ptr != end || text.front() == '+') {
    return std::nullopt;
  }
  return value;
}

std::optional<double> parse_finite_real(std::string_view text) {
  // from_chars in general format reads decimal and exponent forms only: no hex, no "0x".
  double value = 0;
  const char* end = text.data() + text.size();
  const auto [ptr, ec] = std::from_chars(text.data(), end, value, std::chars_format::general);
  if (text.empty() || ec != std::errc() || ptr != end || !std::isfinite(value)) {
    return std::nullopt;
  }
  return value;
}

CLI::Validator decimal_integer(std::int64_t min, std::int64_t max) {
  return CLI::Validator(
      [min, max](std::string& text) -> std::string {
        const std::optional<std::int64_t> v = parse_decimal(text);
        if (!v) {
          return fmt::format("'{}' is not a decimal integer", text);
        }
        if (*v < min || *v > max) {
          return fmt::format("{} is outside [{}, {}]", *v, min, max);
        }
        text = std::to_string(*v);
        return {};
      },
      fmt::format("INT in [{}, {}]", min, max));
}

CLI::Validator finite_real(double min, double max) {
  return CLI::Validator(
      [min, max](std::string& text) -> std::string {
        const std::optional<double> v = parse_finite_real(text);
        if (!v) {
          return fmt::format("'{}' is not a finite decimal number", text);
        }
        if (*v < min || *v > max) {
          return fmt::format("{} is outside [{}, {}]", *v, min, max);
        }
        return {};
      },
      "REAL");
}

CLI::Validator one_of(std::initializer_list<std::string_view> choices) {
  std::vector<std::string> list(choices.begin(), choices.end());
  const std::string joined = fmt::format("{}", fmt::join(list, " | "));
  return CLI::Validator(
      [list, joined](std::string& text) -> std::string {
        for (const std::string& c : list) {
          if (text == c) {
            return {};
          }
        }
        return fmt::format("'{}' is not one of: {}", text, joined);
      },
      joined);
}

CLI::Option* add_hidden_option(CLI::App* cmd, std::int64_t& hidden, const std::string& flags,
                               const std::string& help) {
  return cmd->add_option(flags, hidden, help)->transform(decimal_integer(1, std::int64_t{1} << 31));
}

CLI::Option* add_precision_option(CLI::App* cmd, std::string& precision) {
  return cmd->add_option("--precision", precision, "Stage-A GEMM precision: tf32 | fp32")
      ->check(one_of({"tf32", "fp32"}));
}

} // namespace tessera::cli
