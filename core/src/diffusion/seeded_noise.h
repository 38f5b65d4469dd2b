// Per-image random streams: image b's noise comes from a generator seeded with seed b alone, so
// the same (prompt, seed, settings) gives the same image whatever else shares its batch.
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <vector>

namespace t2i::diffusion {

class SeededNoise {
public:
  explicit SeededNoise(const std::vector<std::uint64_t>& seeds);

  int64_t batch() const { return static_cast<int64_t>(generators_.size()); }

  /// Standard normal noise [B, sample_shape…]: sample b is the next draw of stream b. Drawn on the
  /// CPU, whose generator is the same on every machine, then moved to `device`, so a seed means
  /// the same noise on the CPU and on a GPU.
  torch::Tensor draw(torch::IntArrayRef sample_shape, const torch::Device& device);

private:
  std::vector<torch::Generator> generators_;
};

} // namespace t2i::diffusion
