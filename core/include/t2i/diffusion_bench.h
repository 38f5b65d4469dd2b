// Benchmark of the sampling engine itself: the time per sampling step when the network is the
// elementwise analytic denoiser, so that what remains is the engine's own work (guidance
// batching, parameterisation, thresholding, the update), to read against a network forward.
#pragma once

#include <string>

namespace t2i::diffusion {

struct SamplerBenchOptions {
  int batch = 4;
  int channels = 3;
  int size = 64;          ///< image height and width
  int steps = 50;         ///< sampling steps per run
  int repeats = 3;        ///< timed runs per case; the best is reported
  double guidance = 5.0;  ///< classifier-free guidance scale (1 = no unconditional half)
};

/// Times DDPM, DDIM and DPM-Solver++ on a cosine schedule (T = 1000), with no and with dynamic
/// thresholding, each in turns with the same network calls alone (their difference is the
/// engine's cost per step), and one 3x3 convolution (128 channels, the network's batch) as a
/// yardstick for one U-Net layer. Returns one JSON object.
std::string sampler_benchmark_json(const SamplerBenchOptions& options);

} // namespace t2i::diffusion
