/** \file
 * A registry of named kernel factories with typed, defaulted parameters ("rmsnorm" with
 * hidden=4096), used by the CLI (`tessera list`, `tessera emit KERNEL --param hidden=5120`).
 * Registration is explicit (KernelRegistry::add), not static-initialiser magic, so it survives
 * static linking.
 */
#pragma once

#include "ir/ir.h"

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

namespace tessera {

/** One factory parameter. */
struct KernelParam {
  enum class Type : std::uint8_t { integer, real };
  std::string name;
  Type type = Type::integer;
  double default_value = 0;
  std::string help;
};

/** Parameter values by name; every declared parameter is present when a factory runs. */
class KernelParams {
public:
  KernelParams() = default;
  explicit KernelParams(std::map<std::string, double> values) : values_(std::move(values)) {}
  /** Integer value of `name`; throws UserError when absent. */
  int integer(const std::string& name) const;
  double real(const std::string& name) const;
  const std::map<std::string, double>& values() const { return values_; }

private:
  std::map<std::string, double> values_;
};

/** A registered kernel. */
struct KernelEntry {
  std::string name;
  std::string description;
  std::vector<KernelParam> params;
  std::function<ir::Kernel(const KernelParams&)> build;
};

class KernelRegistry {
public:
  /** The process-wide registry. */
  static KernelRegistry& global();

  /** Adds (or replaces) an entry. */
  void add(KernelEntry entry);
  /** Entries sorted by name. */
  std::vector<const KernelEntry*> entries() const;
  /** Throws UserError listing the registered names when `name` is unknown. */
  const KernelEntry& get(const std::string& name) const;
  bool contains(const std::string& name) const { return entries_.count(name) != 0; }

  /**
   * Builds `name` with "key=value" overrides on top of the defaults. Throws UserError for an
   * unknown key, a malformed value or a non-integer value for an integer parameter.
   */
  ir::Kernel build(const std::string& name, const std::vector<std::string>& overrides = {}) const;
  /** The parameter values build() would pass to `name`'s factory (same errors). */
  KernelParams resolve(const std::string& name,
                       const std::vector<std::string>& overrides = {}) const;

private:
  std::map<std::string, KernelEntry> entries_;
};

} // namespace tessera
