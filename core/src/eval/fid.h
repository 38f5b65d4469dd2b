// Feature statistics and the distances between two feature sets: the Fréchet distance of their
// Gaussians (FID, Heusel et al. 2017) and the kernel distance (KID, Bińkowski et al. 2018), which is
// unbiased at the small sample counts where FID is not (design.md §6).
#pragma once

#include "t2i/evaluate.h"

#include <torch/torch.h>

#include <cstdint>
#include <string>

namespace t2i::eval {

// The facade's vocabulary of results, which this base area computes.
using evaluate::FidResult;
using evaluate::KidOptions;
using evaluate::KidResult;

/// μ and the unbiased covariance Σ of a feature set, in float64.
struct Statistics {
  torch::Tensor mu;         // [d]
  torch::Tensor sigma;      // [d, d]
  std::int64_t count = 0;   // N, the features they summarise (0 = unknown)

  std::int64_t dims() const { return mu.defined() ? mu.size(0) : 0; }
};

/// μ = mean, Σ = (X − μ)ᵀ(X − μ) / (N − 1) of features [N, d] (N ≥ 2), computed in float64.
Statistics compute_statistics(const torch::Tensor& features);

/// FID = |μ1 − μ2|² + Tr Σ1 + Tr Σ2 − 2 Tr √(√Σ1 Σ2 √Σ1), real arithmetic only (design.md §6).
double frechet_distance(const torch::Tensor& mu1, const torch::Tensor& sigma1, const torch::Tensor& mu2,
                        const torch::Tensor& sigma2);

/// frechet_distance of two statistics; logs a warning when small_sample.
FidResult fid(const Statistics& a, const Statistics& b);

/// The warning small_sample stands for, naming the counts; empty when not small.
std::string small_sample_warning(const FidResult& result, std::int64_t dims);

/// KID between features a [N1, d] and b [N2, d]: unbiased MMD² with the cubic polynomial kernel
/// k(x, y) = (xᵀy / d + 1)³ over random subsets drawn without replacement (Bińkowski et al. 2018).
KidResult kid(const torch::Tensor& a, const torch::Tensor& b, const KidOptions& options = {});

} // namespace t2i::eval
