#include "model/time_embedding.h"

#include <cmath>

namespace t2i::model {

torch::Tensor sinusoidal_embedding(const torch::Tensor& t, int64_t dim) {
  const int64_t half = dim / 2;
  // ω_i = 10000^(−i / half), i = 0 … half−1
  const auto frequencies =
      torch::exp(-std::log(10000.0) * torch::arange(half, t.options().dtype(torch::kFloat32)) / half);
  const auto angles = (t.to(torch::kFloat32) * 1000.0).unsqueeze(1) * frequencies.unsqueeze(0);
  auto features = torch::cat({angles.sin(), angles.cos()}, 1);
  if (dim % 2 == 1) features = torch::nn::functional::pad(features, torch::nn::functional::PadFuncOptions({0, 1}));
  return features;
}

TimeEmbeddingImpl::TimeEmbeddingImpl(int64_t dim, int64_t time_dim) : dim_(dim) {
  fc1_ = register_module("fc1", torch::nn::Linear(dim, time_dim));
  fc2_ = register_module("fc2", torch::nn::Linear(time_dim, time_dim));
}

torch::Tensor TimeEmbeddingImpl::forward(const torch::Tensor& t) {
  return fc2_(torch::silu(fc1_(sinusoidal_embedding(t, dim_))));
}

} // namespace t2i::model
