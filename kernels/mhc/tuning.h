/** \file
 * Measured kernel choices for the mHC ops: the table `tessera tune` writes and make_plan()
 * consults before its built-in policy (plan.h). An entry fixes, for one op at one (H, n,
 * precision, SM count) and an inclusive token range, the split count, token tile, ring depth,
 * stage-A kernel and post tile; a zero field leaves that choice to the built-in policy.
 *
 * The file lives beside the kernel cache (`<cache dir>/mhc-tuning-v1.txt`, or
 * TESSERA_MHC_TUNING=path; `off` ignores any file) and is shared by processes: it is written
 * whole to a temporary file and renamed into place, and read once per process. Format, one
 * entry per line, verified on load (version line, every field, a checksum of everything above
 * the checksum line):
 *
 *     tessera-mhc-tuning v1
 *     op=mhc_pre H=7168 n=4 precision=tf32 sms=132 T=1024-4096 splits=8 block_m=128 stages=3 \
 *         stage_a=tile post_tile_h=0 us=201.3
 *     checksum 9f1c0d2e4b7a6358
 *
 * A file that fails verification is not used: one warning on stderr names the file and what
 * is wrong (the ops run on the built-in policy), and the next `tessera tune` replaces it.
 */
#pragma once

#include "kernels/mhc/config.h"
#include "kernels/mhc/op_spec.h"

#include <compare>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace tessera::mhc {

/** Which stage-A kernel (0 in a TuningChoice: the built-in crossover). */
enum class StageAKernel : std::uint8_t { policy, per_token, tile };

/** The choices of one entry; 0 (policy) leaves a choice to the built-in policy. */
struct TuningChoice {
  int splits = 0;  ///< stage-A (or post_stage_a) splits, automatic split policy only
  int block_m = 0; ///< token tile of the tensor-core stage A: 16, 32, 64 or 128
  int stages = 0;  ///< cp.async ring depth of the tile kernels: 1 to 6
  StageAKernel stage_a = StageAKernel::policy;
  int post_tile_h = 0; ///< mhc_post H tile: a multiple of 8 in [256, 8192]

  auto operator<=>(const TuningChoice&) const = default;
};

/** One measured entry. */
struct TuningEntry {
  Op op = Op::mhc_pre;
  std::int64_t hidden = 0;
  int n = 4;
  GemmPrecision precision = GemmPrecision::tf32;
  int sm_count = 0;
  std::int64_t t_min = 0, t_max = 0; ///< inclusive token range
  TuningChoice choice;
  double us = 0; ///< the time measured for the choice (information only)
};

/** An ordered set of entries; a later entry of the same key replaces overlapping ones. */
class TuningTable {
public:
  /** Parses the file format above; UserError naming `origin`, the line and what is wrong. */
  static TuningTable parse(std::string_view text, const std::string& origin);
  /** The file format, checksum included. */
  std::string serialize() const;
  /** Reads and parses `path` (UserError when it cannot be read or verified). */
  static TuningTable load(const std::filesystem::path& path);
  /** Writes the table to `path` atomically (temporary file, then rename); creates the
   *  directory. UserError when it cannot be written. */
  void save(const std::filesystem::path& path) const;

  /** The entry for `op` at (config, sm_count, tokens), or null. */
  const TuningEntry* find(Op op, const Config& config, int sm_count, std::int64_t tokens) const;
  /** Adds `e`, dropping entries of the same op, H, n, precision and SM count whose token range
   *  overlaps it. Validates the choice (UserError). */
  void upsert(const TuningEntry& e);
  const std::vector<TuningEntry>& entries() const { return entries_; }
  bool empty() const { return entries_.empty(); }

private:
  std::vector<TuningEntry> entries_;
};

/** Where the table is read and written: TESSERA_MHC_TUNING (a path), else beside the kernel
 * cache; empty when TESSERA_MHC_TUNING=off or no cache directory can be found. */
std::filesystem::path tuning_path();

/** The table the plans consult: loaded from tuning_path() on first use (a missing file is an
 * empty table; a bad one an empty table and one warning on stderr). */
const TuningTable& active_tuning();
/** Replaces the process's table (`tessera tune` while it measures, tests); nullopt reloads
 * from tuning_path() on next use. Not for use while other threads plan. */
void set_active_tuning(std::optional<TuningTable> table);

} // namespace tessera::mhc
