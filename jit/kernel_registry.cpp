#include "jit/kernel_registry.h"

#include "base/error.h"

#include <charconv>
#include <cmath>
#include <fmt/format.h>

namespace tessera {

int KernelParams::integer(const std::string& name) const {
  return static_cast<int>(real(name));
}

double KernelParams::real(const std::string& name) const {
  auto it = values_.find(name);
  if (it == values_.end()) {
    throw UserError(fmt::format("kernel parameter '{}' is not set", name));
  }
  return it->second;
}

KernelRegistry& KernelRegistry::global() {
  static KernelRegistry r;
  return r;
}

void KernelRegistry::add(KernelEntry entry) {
  std::string name = entry.name;
  entries_[name] = std::move(entry);
}

std::vector<const KernelEntry*> KernelRegistry::entries() const {
  std::vector<const KernelEntry*> out;
  for (const auto& [name, e] : entries_) {
    out.push_back(&e);
  }
  return out;
}

const KernelEntry& KernelRegistry::get(const std::string& name) const {
  auto it = entries_.find(name);
  if (it == entries_.end()) {
    std::string names;
    for (const auto& [n, e] : entries_) {
      names += (names.empty() ? "" : ", ") + n;
    }
    throw UserError(fmt::format("no registered kernel '{}' (known: {})", name, names));
  }
  return it->second;
}

ir::Kernel KernelRegistry::build(const std::string& name,
                                 const std::vector<std::string>& overrides) const {
  return get(name).build(resolve(name, overrides));
}

KernelParams KernelRegistry::resolve(const std::string& name,
                                     const std::vector<std::string>& overrides) const {
  const KernelEntry& e = get(name);
  std::map<std::string, double> values;
  for (const KernelParam& p : e.params) {
    values[p.name] = p.default_value;
  }
  for (const std::string& kv : overrides) {
    const std::size_t eq = kv.find('=');
    if (eq == std::string::npos) {
      throw UserError(
          fmt::format("kernel '{}': parameter '{}' must be written key=value", name, kv));
    }
    const std::string key = kv.substr(0, eq), text = kv.substr(eq + 1);
    const KernelParam* param = nullptr;
    for (const KernelParam& p : e.params) {
      if (p.name == key) {
        param = &p;
      }
    }
    if (param == nullptr) {
      std::string known;
      for (const KernelParam& p : e.params) {
        known += (known.empty() ? "" : ", ") + p.name;
      }
      throw UserError(fmt::format("kernel '{}' has no parameter '{}' (parameters: {})", name, key,
                                  known.empty() ? "none" : known));
    }
    // Decimal only, finite only: "0x10", "010" read as octal, "nan" and "inf" never reach a
    // kernel as a compile-time constant.
    double v = 0;
    const char* end = text.data() + text.size();
    if (param->type == KernelParam::Type::integer) {
      std::int64_t i = 0;
      const auto [ptr, ec] = std::from_chars(text.data(), end, i, 10);
      if (text.empty() || ec != std::errc() || ptr != end) {
        throw UserError(fmt::format(
            "kernel '{}': parameter '{}' must be a decimal integer, got '{}'", name, key, text));
      }
      v = static_cast<double>(i);
    } else {
      const auto [ptr, ec] = std::from_chars(text.data(), end, v, std::chars_format::general);
      if (text.empty() || ec != std::errc() || ptr != end || !std::isfinite(v)) {
        throw UserError(
            fmt::format("kernel '{}': parameter '{}' must be a finite decimal number, got '{}'",
                        name, key, text));
      }
    }
    values[key] = v;
  }
  return KernelParams(std::move(values));
}

} // namespace tessera
