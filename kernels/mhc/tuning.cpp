#include "kernels/mhc/tuning.h"

#include "base/error.h"
#include "base/file_io.h"
#include "runtime/cache.h"

#include <charconv>
#include <cstdio>
#include <cstdlib>
#include <fmt/format.h>
#include <fstream>
#include <iostream>
#include <map>
#include <mutex>
#include <sstream>
#include <unistd.h>

namespace tessera::mhc {

namespace {

constexpr std::string_view kHeader = "tessera-mhc-tuning v1";

/** FNV-1a, 64 bits: detects truncation and edits, not tampering. */
std::uint64_t fnv1a(std::string_view s) {
  std::uint64_t h = 0xcbf29ce484222325ull;
  for (unsigned char c : s) {
    h = (h ^ c) * 0x100000001b3ull;
  }
  return h;
}

const char* stage_a_name(StageAKernel k) {
  switch (k) {
  case StageAKernel::per_token:
    return "per_token";
  case StageAKernel::tile:
    return "tile";
  case StageAKernel::policy:
    break;
  }
  return "policy";
}

/** UserError unless the choice is one the kernels accept. */
void check_choice(const TuningChoice& c, const std::string& where) {
  auto fail = [&](const std::string& what) { throw UserError(fmt::format("{}: {}", where, what)); };
  if (c.splits < 0 || c.splits > 1024) {
    fail(fmt::format("splits={} is outside [0, 1024]", c.splits));
  }
  if (c.block_m != 0 && c.block_m != 16 && c.block_m != 32 && c.block_m != 64 && c.block_m != 128) {
    fail(fmt::format("block_m={} is not 0, 16, 32, 64 or 128", c.block_m));
  }
  if (c.stages < 0 || c.stages > 6) {
    fail(fmt::format("stages={} is outside [0, 6]", c.stages));
  }
  if (c.post_tile_h != 0 && (c.post_tile_h < 256 || c.post_tile_h > 8192 || c.post_tile_h % 8)) {
    fail(fmt::format("post_tile_h={} is not 0 or a multiple of 8 in [256, 8192]", c.post_tile_h));
  }
}

std::int64_t parse_int(std::string_view v, const std::string& where, std::string_view key) {
  std::int64_t x = 0;
  const auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), x);
  if (ec != std::errc() || end != v.data() + v.size()) {
    throw UserError(fmt::format("{}: {}={} is not a whole number", where, key, v));
  }
  return x;
}

TuningEntry parse_entry(std::string_view line, const std::string& where) {
  std::map<std::string, std::string, std::less<>> fields;
  std::istringstream in{std::string(line)};
  std::string tok;
  while (in >> tok) {
    const auto eq = tok.find('=');
    if (eq == std::string::npos || eq == 0) {
      throw UserError(fmt::format("{}: '{}' is not key=value", where, tok));
    }
    if (!fields.emplace(tok.substr(0, eq), tok.substr(eq + 1)).second) {
      throw UserError(fmt::format("{}: '{}' appears twice", where, tok.substr(0, eq)));
    }
  }
  auto take = [&](std::string_view key) {
    auto it = fields.find(key);
    if (it == fields.end()) {
      throw UserError(fmt::format("{}: missing '{}='", where, key));
    }
    std::string v = it->second;
    fields.erase(it);
    return v;
  };
  TuningEntry e;
  e.op = parse_op(take("op"));
  e.hidden = parse_int(take("H"), where, "H");
  e.n = static_cast<int>(parse_int(take("n"), where, "n"));
  const std::string prec = take("precision");
  if (prec != "tf32" && prec != "fp32") {
    throw UserError(fmt::format("{}: precision={} is not tf32 or fp32", where, prec));
  }
  e.precision = prec == "tf32" ? GemmPrecision::tf32 : GemmPrecision::fp32;
  e.sm_count = static_cast<int>(parse_int(take("sms"), where, "sms"));
  const std::string range = take("T");
  const auto dash = range.find('-');
  if (dash == std::string::npos) {
    throw UserError(fmt::format("{}: T={} is not a range MIN-MAX", where, range));
  }
  e.t_min = parse_int(std::string_view(range).substr(0, dash), where, "T");
  e.t_max = parse_int(std::string_view(range).substr(dash + 1), where, "T");
  e.choice.splits = static_cast<int>(parse_int(take("splits"), where, "splits"));
  e.choice.block_m = static_cast<int>(parse_int(take("block_m"), where, "block_m"));
  e.choice.stages = static_cast<int>(parse_int(take("stages"), where, "stages"));
  const std::string sa = take("stage_a");
  if (sa == "policy") {
    e.choice.stage_a = StageAKernel::policy;
  } else if (sa == "per_token") {
    e.choice.stage_a = StageAKernel::per_token;
  } else if (sa == "tile") {
    e.choice.stage_a = StageAKernel::tile;
  } else {
    throw UserError(fmt::format("{}: stage_a={} is not policy, per_token or tile", where, sa));
  }
  e.choice.post_tile_h = static_cast<int>(parse_int(take("post_tile_h"), where, "post_tile_h"));
  const std::string us = take("us");
  char* end = nullptr;
  e.us = std::strtod(us.c_str(), &end);
  if (end == us.c_str() || *end != '\0') {
    throw UserError(fmt::format("{}: us={} is not a number", where, us));
  }
  if (!fields.empty()) {
    throw UserError(fmt::format("{}: unknown field '{}'", where, fields.begin()->first));
  }
  if (e.hidden < 1 || e.n < 1 || e.sm_count < 1 || e.t_min < 1 || e.t_max < e.t_min) {
    throw UserError(fmt::format("{}: H, n, sms must be >= 1 and T a range 1 <= MIN <= MAX", where));
  }
  check_choice(e.choice, where);
  return e;
}

std::string entry_line(const TuningEntry& e) {
  return fmt::format("op={} H={} n={} precision={} sms={} T={}-{} splits={} block_m={} stages={} "
                     "stage_a={} post_tile_h={} us={:.3f}",
                     op_name(e.op), e.hidden, e.n,
                     e.precision == GemmPrecision::tf32 ? "tf32" : "fp32", e.sm_count, e.t_min,
                     e.t_max, e.choice.splits, e.choice.block_m, e.choice.stages,
                     stage_a_name(e.choice.stage_a), e.choice.post_tile_h, e.us);
}

bool same_key(const TuningEntry& a, const TuningEntry& b) {
  return a.op == b.op && a.hidden == b.hidden && a.n == b.n && a.precision == b.precision &&
         a.sm_count == b.sm_count;
}

std::mutex& active_mutex() {
  static std::mutex m;
  return m;
}
std::optional<TuningTable>& active_slot() {
  static std::optional<TuningTable> t;
  return t;
}

} // namespace

TuningTable TuningTable::parse(std::string_view text, const std::string& origin) {
  TuningTable t;
  std::size_t pos = 0;
  int line_no = 0;
  bool header = false, checked = false;
  while (pos < text.size()) {
    const std::size_t eol = text.find('\n', pos);
    const std::size_t end = eol == std::string_view::npos ? text.size() : eol;
    const std::string_view line = text.substr(pos, end - pos);
    const std::size_t line_start = pos;
    pos = eol == std::string_view::npos ? text.size() : eol + 1;
    ++line_no;
    const std::string where = fmt::format("{}:{}", origin, line_no);
    if (checked) {
      throw UserError(fmt::format("{}: text after the checksum line", where));
    }
    if (line.empty() || line.front() == '#') {
      continue;
    }
    if (!header) {
      if (line != kHeader) {
        throw UserError(fmt::format("{}: expected '{}' (a tuning table of this version), got '{}'",
                                    where, kHeader, line));
      }
      header = true;
      continue;
    }
    if (line.starts_with("checksum ")) {
      const std::string want = fmt::format("{:016x}", fnv1a(text.substr(0, line_start)));
      if (line.substr(9) != want) {
        throw UserError(fmt::format("{}: checksum {} does not match the contents ({}): the file "
                                    "was cut short or edited",
                                    where, line.substr(9), want));
      }
      checked = true;
      continue;
    }
    t.upsert(parse_entry(line, where));
  }
  if (!header) {
    throw UserError(fmt::format("{}: empty, expected '{}'", origin, kHeader));
  }
  if (!checked) {
    throw UserError(fmt::format("{}: no checksum line: the file was cut short", origin));
  }
  return t;
}

std::string TuningTable::serialize() const {
  std::string s = "# mHC kernel choices measured by `tessera tune` (docs/mhc.md); do not edit\n";
  s += std::string(kHeader) + "\n";
  for (const TuningEntry& e : entries_) {
    s += entry_line(e) + "\n";
  }
  s += fmt::format("checksum {:016x}\n", fnv1a(s));
  return s;
}

TuningTable TuningTable::load(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    throw UserError(fmt::format("cannot read the tuning table '{}'", path.string()));
  }
  std::ostringstream text;
  text << in.rdbuf();
  return parse(text.str(), path.string());
}

void TuningTable::save(const std::filesystem::path& path) const {
  std::error_code ec;
  if (path.has_parent_path()) {
    std::filesystem::create_directories(path.parent_path(), ec);
  }
  // Readers see the old table or the new one, whole.
  write_file_atomic(path, serialize());
}

const TuningEntry* TuningTable::find(Op op, const Config& config, int sm_count,
                                     std::int64_t tokens) const {
  for (const TuningEntry& e : entries_) {
    if (e.op == op && e.hidden == config.hidden && e.n == config.n() &&
        e.precision == config.gemm_precision && e.sm_count == sm_count && tokens >= e.t_min &&
        tokens <= e.t_max) {
      return &e;
    }
  }
  return nullptr;
}

void TuningTable::upsert(const TuningEntry& e) {
  check_choice(e.choice, fmt::format("tuning entry for {}", op_name(e.op)));
  std::erase_if(entries_, [&](const TuningEntry& o) {
    return same_key(o, e) && o.t_min <= e.t_max && e.t_min <= o.t_max;
  });
  entries_.push_back(e);
}

std::filesystem::path tuning_path() {
  if (const char* v = std::getenv("TESSERA_MHC_TUNING"); v != nullptr && *v != '\0') {
    return std::string_view(v) == "off" ? std::filesystem::path() : std::filesystem::path(v);
  }
  const std::filesystem::path dir = CacheConfig::default_directory();
  return dir.empty() ? dir : dir / "mhc-tuning-v1.txt";
}

const TuningTable& active_tuning() {
  std::lock_guard<std::mutex> lock(active_mutex());
  std::optional<TuningTable>& slot = active_slot();
  if (!slot) {
    slot.emplace();
    const std::filesystem::path path = tuning_path();
    std::error_code ec;
    if (!path.empty() && std::filesystem::exists(path, ec)) {
      try {
        *slot = TuningTable::load(path);
      } catch (const UserError& e) {
        std::cerr << "tessera: warning: ignoring the mHC tuning table (built-in choices apply): "
                  << e.what() << "\n";
      }
    }
  }
  return *slot;
}

void set_active_tuning(std::optional<TuningTable> table) {
  std::lock_guard<std::mutex> lock(active_mutex());
  active_slot() = std::move(table);
}

} // namespace tessera::mhc
