#include "codegen/lower.h"

#include "codegen/check_pdl.h"
#include "codegen/infer_layouts.h"
#include "codegen/insert_barriers.h"
#include "codegen/lower_tile_ops.h"
#include "codegen/pipeline_loops.h"
#include "codegen/plan_shared_memory.h"
#include "codegen/prune_bounds_checks.h"
#include "codegen/target_info.h"
#include "codegen/vectorize_copies.h"
#include "ir/printer.h"
#include "ir/simplify.h"

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <iostream>

namespace tessera::codegen {

namespace {

/** Runs one pass, timing it and recording / printing the IR after it. */
class Stage {
public:
  Stage(const LowerOptions& o, std::vector<PassRecord>* records)
      : records_(records),
        dump_(o.dump || (std::getenv("TESSERA_DUMP_PASSES") != nullptr &&
                         std::strcmp(std::getenv("TESSERA_DUMP_PASSES"), "0") != 0)),
        print_(dump_ || (o.record_ir && records != nullptr)),
        out_(o.dump_stream ? o.dump_stream : &std::cerr) {}

  void run(const char* pass, ir::Kernel& k, const std::function<void(ir::Kernel&)>& fn) {
    const auto t0 = std::chrono::steady_clock::now();
    fn(k);
    const double ms =
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    const std::string ir = print_ ? ir::to_string(k) : std::string();
    if (dump_) {
      *out_ << "// ---- IR after " << pass << " (" << ms << " ms)\n" << ir << "\n";
    }
    if (records_ != nullptr) {
      records_->push_back(PassRecord{pass, ir, ms});
    }
  }

private:
  std::vector<PassRecord>* records_;
  bool dump_, print_;
  std::ostream* out_;
};

} // namespace

const std::vector<std::string>& pass_names() {
  static const std::vector<std::string> names = {
      "simplify",  "infer_layouts",  "vectorize_copies",    "pipeline_loops",    "insert_barriers",
      "check_pdl", "lower_tile_ops", "prune_bounds_checks", "plan_shared_memory"};
  return names;
}

ir::Kernel lower(const ir::Kernel& kernel, const LowerOptions& options,
                 std::vector<PassRecord>* records) {
  const ops::TargetInfo& target = options.target ? *options.target : cuda_target();
  Stage stage(options, records);
  ir::Kernel k = kernel;
  stage.run("simplify", k, [](ir::Kernel& x) { x.body = ir::simplify(x.body); });
  stage.run("infer_layouts", k, [](ir::Kernel& x) { x = infer_layouts(x); });
  stage.run("vectorize_copies", k, [](ir::Kernel& x) { x = vectorize_copies(std::move(x)); });
  stage.run("pipeline_loops", k, [](ir::Kernel& x) { x = pipeline_loops(std::move(x)); });
  stage.run("insert_barriers", k, [](ir::Kernel& x) { x = insert_barriers(std::move(x)); });
  stage.run("check_pdl", k, [](ir::Kernel& x) { check_pdl(x); });
  stage.run("lower_tile_ops", k, [&](ir::Kernel& x) { x = lower_tile_ops(std::move(x), target); });
  stage.run("prune_bounds_checks", k, [](ir::Kernel& x) { x = prune_bounds_checks(std::move(x)); });
  stage.run("plan_shared_memory", k, [](ir::Kernel& x) { x = plan_shared_memory(std::move(x)); });
  return k;
}

} // namespace tessera::codegen
