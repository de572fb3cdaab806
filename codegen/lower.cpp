#include "codegen/lower.h"

#include "codegen/check_pdl.h"
#include "codegen/infer_layouts.h"
#include "codegen/insert_barriers.h"
#include "codegen/pipeline_loops.h"
#include "codegen/plan_shared_memory.h"
#include "codegen/vectorize_copies.h"
#include "ir/printer.h"

#if __has_include("ir/simplify.h")
#include "ir/simplify.h"
#define TESSERA_HAVE_SIMPLIFY 1
#endif

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <iostream>

namespace tessera::codegen {

namespace {

class Stage {
public:
  Stage(const LowerOptions& o, std::vector<PassRecord>* records)
      : records_(records),
        dump_(o.dump || (std::getenv("TESSERA_DUMP_PASSES") != nullptr &&
                         std::strcmp(std::getenv("TESSERA_DUMP_PASSES"), "0") != 0)),
        out_(o.dump_stream ? o.dump_stream : &std::cerr) {}

  void start() { t0_ = std::chrono::steady_clock::now(); }

  void done(const char* pass, const std::string& ir) {
    const double ms =
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0_).count();
    if (dump_) {
      *out_ << "// ---- IR after " << pass << " (" << ms << " ms)\n" << ir << "\n";
    }
    if (records_ != nullptr) {
      records_->push_back(PassRecord{pass, ir, ms});
    }
  }

private:
  std::vector<PassRecord>* records_;
  bool dump_;
  std::ostream* out_;
  std::chrono::steady_clock::time_point t0_;
};

} // namespace

LoweredKernel lower(const ir::Kernel& kernel, const LowerOptions& options,
                    std::vector<PassRecord>* records) {
  Stage stage(options, records);

  stage.start();
  ir::Kernel k = kernel;
#ifdef TESSERA_HAVE_SIMPLIFY
  k.body = ir::simplify(k.body);
#endif
  // SIMPLIFY CALL SITE: dsl/simplify.h is picked up automatically once it exists.
  stage.done("simplify", ir::to_string(k));

  stage.start();
  LoweredKernel lk = infer_layouts(k);
  stage.done("infer_layouts", lk.str());

  stage.start();
  lk = vectorize_copies(std::move(lk));
  stage.done("vectorize_copies", lk.str());

  stage.start();
  auto pipeline = std::make_shared<PipelinePlan>();
  lk = pipeline_loops(std::move(lk), pipeline.get());
  lk.pipeline = std::move(pipeline);
  stage.done("pipeline_loops", lk.str());

  stage.start();
  lk = plan_shared_memory(std::move(lk));
  stage.done("plan_shared_memory", lk.str());

  stage.start();
  lk = insert_barriers(std::move(lk));
  stage.done("insert_barriers", lk.str());

  stage.start();
  lk = check_pdl(std::move(lk));
  stage.done("check_pdl", lk.str());
  return lk;
}

} // namespace tessera::codegen
