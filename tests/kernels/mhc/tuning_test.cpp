// The mHC tuning table (kernels/mhc/tuning.h): its file format (round trip, every way a file can
// be bad, named in the error), replacement of overlapping entries, the file beside the cache
// (atomic writes, a bad file ignored), and that plans take a matching entry's choices and only
// a matching entry's.
#include "base/error.h"
#include "kernels/mhc/plan.h"
#include "kernels/mhc/tuning.h"
#include "tests/kernels/mhc/configs.h"

#include <catch2/catch.hpp>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <variant>

namespace mhc = tessera::mhc;
namespace kernels = tessera::mhc::kernels;
using mhc::Op;

namespace {

mhc::TuningEntry entry(Op op, std::int64_t H, std::int64_t t_min, std::int64_t t_max,
                       mhc::TuningChoice c, int sms = 132) {
  mhc::TuningEntry e;
  e.op = op;
  e.hidden = H;
  e.sm_count = sms;
  e.t_min = t_min;
  e.t_max = t_max;
  e.choice = c;
  e.us = 12.5;
  return e;
}

mhc::Plan plan(Op op, std::int64_t H, std::int64_t T, int sms = 132) {
  mhc::Config c;
  c.hidden = H;
  return mhc::make_plan({.op = op, .config = c, .tokens = T, .target = mhc::gpu_target(sms)});
}

template <class P> const P& params(const mhc::KernelLaunch& k) {
  REQUIRE(std::holds_alternative<P>(k.params));
  return std::get<P>(k.params);
}

/** Restores the process's table (reloaded from TESSERA_MHC_TUNING=off: none) after a test. */
struct TableGuard {
  TableGuard() { setenv("TESSERA_MHC_TUNING", "off", 1); }
  ~TableGuard() {
    setenv("TESSERA_MHC_TUNING", "off", 1);
    mhc::set_active_tuning(std::nullopt);
  }
};

std::string error_of(const std::string& text) {
  try {
    mhc::TuningTable::parse(text, "t.txt");
  } catch (const tessera::UserError& e) {
    return e.what();
  }
  return "";
}

} // namespace

TEST_CASE("tuning table: the file format round-trips and is verified", "[mhc][tuning][cpu]") {
  mhc::TuningTable t;
  t.upsert(entry(Op::mhc_pre, 7168, 1024, 4096,
                 {.splits = 8, .block_m = 128, .stages = 3, .stage_a = mhc::StageAKernel::tile}));
  t.upsert(entry(Op::mhc_post, 4096, 1, 16, {.post_tile_h = 1024}));
  const std::string text = t.serialize();
  INFO(text);
  const mhc::TuningTable back = mhc::TuningTable::parse(text, "t.txt");
  REQUIRE(back.entries().size() == 2);
  CHECK(back.entries()[0].choice == t.entries()[0].choice);
  CHECK(back.entries()[1].choice.post_tile_h == 1024);
  CHECK(back.entries()[0].t_max == 4096);
  CHECK(back.serialize() == text);

  // Every way a file goes bad is named, with the line.
  std::string edited = text;
  edited[edited.find("splits=8") + 7] = '9';
  CHECK(error_of(edited).find("t.txt:5: checksum") != std::string::npos);
  CHECK(error_of(text.substr(0, text.find("checksum"))).find("cut short") != std::string::npos);
  CHECK(error_of("").find("empty") != std::string::npos);
  std::string v2 = text;
  v2.replace(v2.find("v1"), 2, "v2");
  CHECK(error_of(v2).find("t.txt:2: expected 'tessera-mhc-tuning v1'") != std::string::npos);
  CHECK(error_of(text + "op=mhc_post\n").find("after the checksum") != std::string::npos);
  // Field errors come before the checksum is reached.
  const std::string head = "tessera-mhc-tuning v1\n";
  const std::string ok = "op=mhc_pre H=7168 n=4 precision=tf32 sms=132 T=1-8 splits=0 block_m=0 "
                         "stages=0 stage_a=policy post_tile_h=0 us=1";
  CHECK(error_of(head + ok + " extra=1\n").find("t.txt:2: unknown field 'extra'") !=
        std::string::npos);
  std::string bad_bm = ok;
  bad_bm.replace(bad_bm.find("block_m=0"), 9, "block_m=48");
  CHECK(error_of(head + bad_bm + "\n").find("block_m=48") != std::string::npos);
  std::string bad_op = ok;
  bad_op.replace(0, 10, "op=mhc_foo");
  CHECK_FALSE(error_of(head + bad_op + "\n").empty());
  std::string bad_t = ok;
  bad_t.replace(bad_t.find("T=1-8"), 5, "T=9-8");
  CHECK(error_of(head + bad_t + "\n").find("t.txt:2") != std::string::npos);
  CHECK(error_of(head + "op=mhc_pre H=x\n").find("H=x is not a whole number") != std::string::npos);
}

TEST_CASE("tuning table: a new entry replaces the overlapping ones of its key",
          "[mhc][tuning][cpu]") {
  mhc::TuningTable t;
  t.upsert(entry(Op::mhc_pre, 7168, 1, 100, {.splits = 4}));
  t.upsert(entry(Op::mhc_pre, 7168, 101, 200, {.splits = 5}));
  t.upsert(entry(Op::mhc_pre, 4096, 1, 200, {.splits = 6}));      // another H: kept
  t.upsert(entry(Op::mhc_pre, 7168, 1, 200, {.splits = 7}, 148)); // another GPU: kept
  t.upsert(entry(Op::mhc_pre, 7168, 50, 150, {.splits = 9}));     // replaces both 7168 ranges
  CHECK(t.entries().size() == 3);
  mhc::Config c;
  c.hidden = 7168;
  REQUIRE(t.find(Op::mhc_pre, c, 132, 60) != nullptr);
  CHECK(t.find(Op::mhc_pre, c, 132, 60)->choice.splits == 9);
  CHECK(t.find(Op::mhc_pre, c, 132, 10) == nullptr);
  CHECK(t.find(Op::mhc_pre, c, 148, 10)->choice.splits == 7);
  CHECK(t.find(Op::hc_head, c, 132, 60) == nullptr);
  c.gemm_precision = mhc::GemmPrecision::fp32;
  CHECK(t.find(Op::mhc_pre, c, 132, 60) == nullptr);
  CHECK_THROWS_AS(t.upsert(entry(Op::mhc_pre, 7168, 1, 2, {.stages = 9})), tessera::UserError);
}

TEST_CASE("plans take a matching tuning entry's choices, and only a matching one's",
          "[mhc][tuning][plan][cpu]") {
  TableGuard guard;
  mhc::TuningTable t;
  t.upsert(entry(Op::mhc_pre, 7168, 1000, 5000, {.splits = 5, .block_m = 64, .stages = 4}));
  t.upsert(entry(Op::mhc_pre, 7168, 64, 64, {.stage_a = mhc::StageAKernel::per_token}));
  t.upsert(entry(Op::mhc_fused_post_pre, 7168, 17, 512,
                 {.splits = 3, .stage_a = mhc::StageAKernel::tile}));
  t.upsert(entry(Op::mhc_fused_post_pre, 4096, 17, 512, {.stage_a = mhc::StageAKernel::per_token}));
  t.upsert(entry(Op::mhc_post, 4096, 1, 16, {.post_tile_h = 1024}));
  mhc::set_active_tuning(t);

  const mhc::Plan tuned = plan(Op::mhc_pre, 7168, 4096);
  CHECK(tuned.splits == 5);
  const auto& a = params<kernels::StageAMmaParams>(tuned.launches[0]);
  CHECK(a.block_m == 64);
  CHECK(a.stages == 4);
  CHECK(a.splits == 5);
  // Outside the range, on another GPU, or on the CPU: the built-in policy.
  CHECK(plan(Op::mhc_pre, 7168, 8192).splits != 5);
  CHECK(params<kernels::StageAMmaParams>(plan(Op::mhc_pre, 7168, 4096, 148).launches[0]).block_m ==
        128);
  mhc::Config c;
  c.hidden = 7168;
  const mhc::Plan cpu = mhc::make_plan(
      {.op = Op::mhc_pre, .config = c, .tokens = 4096, .target = {tessera::Target::cpu, 0, 2}});
  CHECK(std::holds_alternative<kernels::StageAParams>(cpu.launches[0].params));
  // A fixed split policy is the caller's: the table does not change it.
  c.split = mhc::SplitPolicy::fixed(2);
  CHECK(mhc::make_plan(
            {.op = Op::mhc_pre, .config = c, .tokens = 4096, .target = mhc::gpu_target(132)})
            .splits == 2);
  // The stage-A kernel choice, both ways.
  CHECK(std::holds_alternative<kernels::StageAParams>(
      plan(Op::mhc_pre, 7168, 64).launches[0].params));
  CHECK(plan(Op::mhc_fused_post_pre, 7168, 100).launches.size() == 3); // post, stage_a, big_fuse
  const mhc::testing::PostStageAOn on;
  const mhc::Plan fused = plan(Op::mhc_fused_post_pre, 7168, 100);
  CHECK(params<kernels::PostStageAParams>(fused.launches[0]).splits == 3);
  CHECK(plan(Op::mhc_fused_post_pre, 4096, 100).launches.size() == 3); // post, stage_a, big_fuse
  CHECK(params<kernels::PostParams>(plan(Op::mhc_post, 4096, 8).launches[0]).tile_h == 1024);
  CHECK(params<kernels::PostParams>(plan(Op::mhc_post, 4096, 17).launches[0]).tile_h == 512);
}

TEST_CASE("the tuning file beside the cache: written whole, read once, a bad one ignored",
          "[mhc][tuning][cpu]") {
  TableGuard guard;
  const auto dir = std::filesystem::temp_directory_path() / "tessera-tuning-test";
  std::filesystem::remove_all(dir);
  const auto path = dir / "sub" / "mhc-tuning-v1.txt";
  mhc::TuningTable t;
  t.upsert(entry(Op::mhc_pre, 7168, 1000, 5000, {.splits = 5}));
  t.save(path); // creates the directory
  CHECK(std::distance(std::filesystem::directory_iterator(path.parent_path()),
                      std::filesystem::directory_iterator{}) == 1); // no temporary left behind
  CHECK(mhc::TuningTable::load(path).entries().size() == 1);

  setenv("TESSERA_MHC_TUNING", path.c_str(), 1);
  CHECK(mhc::tuning_path() == path);
  mhc::set_active_tuning(std::nullopt); // reload from the file
  CHECK(plan(Op::mhc_pre, 7168, 4096).splits == 5);

  // Cut short: ignored (one warning), the built-in policy applies.
  {
    std::string text = t.serialize();
    std::ofstream(path, std::ios::trunc) << text.substr(0, text.size() / 2);
  }
  mhc::set_active_tuning(std::nullopt);
  CHECK(mhc::active_tuning().empty());
  CHECK(plan(Op::mhc_pre, 7168, 4096).splits != 5);
  CHECK_THROWS_WITH(mhc::TuningTable::load(path), Catch::Contains("mhc-tuning-v1.txt"));
  CHECK_THROWS_WITH(mhc::TuningTable::load(dir / "missing.txt"), Catch::Contains("cannot read"));

  setenv("TESSERA_MHC_TUNING", "off", 1);
  CHECK(mhc::tuning_path().empty());
  unsetenv("TESSERA_MHC_TUNING");
  setenv("TESSERA_CACHE_DIR", dir.c_str(), 1);
  CHECK(mhc::tuning_path() == dir / "mhc-tuning-v1.txt");
  std::filesystem::remove_all(dir);
}
