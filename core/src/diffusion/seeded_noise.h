// Per-image random streams: image b's noise comes from a generator seeded with seed b alone, so
// the same (prompt, seed, settings) gives the same image whatever else shares its batch.
//
// The frozen-trajectory contract: a sampler draws x_T first and then at most one draw per step,
// whether it draws depending only on the schedule (never on the network's output), so draw k of
// stream b is a function of (seed b, step k) alone. Two generations with the same seed and
// different guidance scales, prompts or batch neighbours share x_T and every noise draw.
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <functional>
#include <vector>

namespace t2i::diffusion {

/// Sees every draw [B, sample_shape…] as it is made (a test seam for the contract above).
using NoiseObserver = std::function<void(const torch::Tensor& draw)>;

class SeededNoise {
public:
  explicit SeededNoise(const std::vector<std::uint64_t>& seeds, NoiseObserver observer = {});

  int64_t batch() const { return static_cast<int64_t>(generators_.size()); }

  /// Standard normal noise [B, sample_shape…]: sample b is the next draw of stream b. Drawn on the
  /// CPU, whose generator is the same on every machine, then moved to `device`, so a seed means
  /// the same noise on the CPU and on a GPU.
  torch::Tensor draw(torch::IntArrayRef sample_shape, const torch::Device& device);

private:
  std::vector<torch::Generator> generators_;
  NoiseObserver observer_;
};

} // namespace t2i::diffusion
