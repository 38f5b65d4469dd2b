// `t2i bench kernels`: the machine's conv and matmul throughput.
#include "t2i/bench.h"

#include "bench/timing.h"
#include "t2i/runtime.h"

#include <torch/torch.h>

#include <nlohmann/json.hpp>

#include <algorithm>

namespace t2i::bench {
namespace {

double best_seconds(int repeats, const std::function<void()>& kernel) {
  kernel();  // warm-up: oneDNN picks and caches its primitive on the first call
  double best = 1e30;
  for (int i = 0; i < repeats; ++i) best = std::min(best, seconds_of(kernel));
  return best;
}

nlohmann::json conv_case(int repeats, torch::Dtype dtype, bool channels_last) {
  torch::NoGradGuard no_grad;
  const int64_t n = 8, c = 128, hw = 64;
  auto options = torch::TensorOptions().dtype(dtype);
  auto x = torch::randn({n, c, hw, hw}, options);
  auto w = torch::randn({c, c, 3, 3}, options);
  if (channels_last) {
    x = x.contiguous(torch::MemoryFormat::ChannelsLast);
    w = w.contiguous(torch::MemoryFormat::ChannelsLast);
  }
  const double seconds = best_seconds(repeats, [&] { (void)torch::conv2d(x, w, {}, 1, 1); });
  const double flops = 2.0 * n * c * c * 9 * hw * hw;
  return {{"seconds", seconds}, {"gflops", flops / seconds / 1e9}};
}

nlohmann::json matmul_case(int repeats, torch::Dtype dtype) {
  torch::NoGradGuard no_grad;
  const int64_t size = 1024;
  auto a = torch::randn({size, size}, torch::TensorOptions().dtype(dtype));
  auto b = torch::randn({size, size}, torch::TensorOptions().dtype(dtype));
  const double seconds = best_seconds(repeats, [&] { (void)torch::mm(a, b); });
  return {{"seconds", seconds}, {"gflops", 2.0 * size * size * size / seconds / 1e9}};
}

} // namespace

std::string kernels_json(const KernelsOptions& options) {
  const int repeats = std::max(1, options.repeats);
  const runtime::Report machine = runtime::report();
  nlohmann::json result{
      {"benchmark", "kernels"},
      {"runtime", nlohmann::json::parse(runtime::to_json(machine))},
      {"conv3x3_8x128x64x64",
       {{"fp32_nchw", conv_case(repeats, torch::kFloat32, false)},
        {"fp32_channels_last", conv_case(repeats, torch::kFloat32, true)},
        {"bf16_nchw", conv_case(repeats, torch::kBFloat16, false)},
        {"bf16_channels_last", conv_case(repeats, torch::kBFloat16, true)}}},
      {"matmul_1024",
       {{"fp32", matmul_case(repeats, torch::kFloat32)}, {"bf16", matmul_case(repeats, torch::kBFloat16)}}}};
  return result.dump(2);
}

} // namespace t2i::bench
