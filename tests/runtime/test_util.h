/** \file
 * Helpers shared by the runtime tests: scratch directories and small CUDA sources.
 */
#pragma once

#include <atomic>
#include <filesystem>
#include <string>
#include <unistd.h>

namespace tessera::test {

/** A fresh directory under the system temp dir, removed (recursively) on destruction. */
class TempDir {
public:
  explicit TempDir(const std::string& tag = "tessera-test") {
    static std::atomic<int> counter{0};
    path_ = std::filesystem::temp_directory_path() /
            (tag + "-" + std::to_string(::getpid()) + "-" + std::to_string(counter++));
    std::filesystem::remove_all(path_);
    std::filesystem::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::filesystem::path& path() const { return path_; }

private:
  std::filesystem::path path_;
};

/** A small extern "C" kernel with a bf16 include, used by several tests. */
inline const char* kAxpySource = R"(#include <cuda_bf16.h>
extern "C" __global__ void axpy(float* y, const float* x, float a, int n) {
  int i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i < n) y[i] = a * x[i] + y[i];
}
)";

} // namespace tessera::test
