// The diffusion time as a vector: sinusoidal features of t followed by an MLP.
#pragma once

#include <torch/torch.h>

namespace t2i::model {

/// Sinusoidal features [B, dim] of t [B] (Vaswani 2017 §3.5, as used for timesteps by Ho 2020).
/// t in [0, 1] is scaled by 1000 so that the frequencies span the same range as for integer steps.
torch::Tensor sinusoidal_embedding(const torch::Tensor& t, int64_t dim);

class TimeEmbeddingImpl : public torch::nn::Module {
public:
  TimeEmbeddingImpl(int64_t dim, int64_t time_dim);
  torch::Tensor forward(const torch::Tensor& t);

private:
  int64_t dim_;
  torch::nn::Linear fc1_{nullptr}, fc2_{nullptr};
};
TORCH_MODULE(TimeEmbedding);

} // namespace t2i::model
