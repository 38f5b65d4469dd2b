#include "diffusion/seeded_noise.h"

#include <ATen/CPUGeneratorImpl.h>

#include <stdexcept>
#include <utility>

namespace t2i::diffusion {

SeededNoise::SeededNoise(const std::vector<std::uint64_t>& seeds, NoiseObserver observer) : observer_(std::move(observer)) {
  if (seeds.empty()) throw std::runtime_error("diffusion/seeded_noise: at least one seed is needed");
  generators_.reserve(seeds.size());
  for (const std::uint64_t seed : seeds) generators_.push_back(at::make_generator<at::CPUGeneratorImpl>(seed));
}

torch::Tensor SeededNoise::draw(torch::IntArrayRef sample_shape, const torch::Device& device) {
  std::vector<torch::Tensor> samples;
  samples.reserve(generators_.size());
  for (auto& generator : generators_)
    samples.push_back(torch::randn(sample_shape, generator, torch::TensorOptions().dtype(torch::kFloat32)));
  const torch::Tensor noise = torch::stack(samples);
  if (observer_) observer_(noise);
  return noise.to(device);
}

} // namespace t2i::diffusion
