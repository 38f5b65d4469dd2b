// The contract between the diffusion engine, the networks and the text encoders: what a
// denoising network receives and what it returns. Header-only; every core area may use it.
#pragma once

#include <torch/torch.h>

#include <functional>

namespace t2i {

/// Text conditioning for a batch, the same whichever encoder produced it (T5 or learned).
struct TextCondition {
  torch::Tensor embeddings;  ///< [B, L, D] float: the encoder's output sequence
  torch::Tensor mask;        ///< [B, L] bool: true at real tokens, false at padding
  torch::Tensor drop;        ///< [B] bool: true = ignore the text and use the learned null text
                             ///< (classifier-free guidance's unconditional half, or an empty prompt)

  int64_t batch() const { return drop.defined() ? drop.size(0) : embeddings.size(0); }

  /// Stacks two conditions along the batch (CFG runs [conditional; unconditional] in one pass).
  static TextCondition cat(const TextCondition& a, const TextCondition& b) {
    TextCondition out;
    if (a.embeddings.defined()) out.embeddings = torch::cat({a.embeddings, b.embeddings}, 0);
    if (a.mask.defined()) out.mask = torch::cat({a.mask, b.mask}, 0);
    out.drop = torch::cat({a.drop, b.drop}, 0);
    return out;
  }

  /// The same texts with every sample dropped: the unconditional counterpart.
  TextCondition dropped() const {
    TextCondition out = *this;
    out.drop = torch::ones_like(drop);
    return out;
  }

  /// Samples [start, end) of the batch.
  TextCondition slice(int64_t start, int64_t end) const {
    TextCondition out;
    if (embeddings.defined()) out.embeddings = embeddings.slice(0, start, end);
    if (mask.defined()) out.mask = mask.slice(0, start, end);
    out.drop = drop.slice(0, start, end);
    return out;
  }

  /// A condition with no text at all for `batch` samples (unconditional models, analytic tests).
  static TextCondition none(int64_t batch, const torch::Device& device = torch::kCPU) {
    TextCondition out;
    out.drop = torch::ones({batch}, torch::TensorOptions().dtype(torch::kBool).device(device));
    return out;
  }
};

/// A denoising network: given x_t [B, C, H, W], the diffusion time t [B] (float, continuous in
/// [0, 1]; a discrete schedule's step i of T is passed as (i + 1) / T) and the text, it returns
/// its prediction [B, C, H, W] in its parameterisation (ε, x₀ or v).
using Denoiser = std::function<torch::Tensor(const torch::Tensor& x_t, const torch::Tensor& t, const TextCondition& text)>;

} // namespace t2i
