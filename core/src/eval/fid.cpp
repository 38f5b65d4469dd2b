#include "eval/fid.h"

#include "t2i/log.h"

#include <cmath>
#include <numeric>
#include <random>
#include <sstream>
#include <stdexcept>
#include <vector>

namespace t2i::eval {
namespace {

std::string shape_text(const torch::Tensor& t) {
  std::ostringstream text;
  text << t.sizes();
  return text.str();
}

torch::Tensor finite_float64(const torch::Tensor& t, const char* what) {
  const torch::Tensor x = t.to(torch::kCPU, torch::kFloat64).contiguous();
  if (!torch::isfinite(x).all().item<bool>()) throw std::invalid_argument(std::string(what) + " holds non-finite values");
  return x;
}

torch::Tensor feature_matrix(const torch::Tensor& features, const char* what) {
  if (!features.defined() || features.dim() != 2 || features.size(0) < 2 || features.size(1) < 1)
    throw std::invalid_argument(std::string(what) + " must be [N, d] with N ≥ 2, got " +
                                (features.defined() ? shape_text(features) : std::string("nothing")));
  return finite_float64(features, what);
}

/// A uniform draw from [0, n) without modulo bias (rejection of the incomplete last block).
std::uint64_t uniform_below(std::mt19937_64& rng, std::uint64_t n) {
  const std::uint64_t limit = std::mt19937_64::max() - std::mt19937_64::max() % n;
  std::uint64_t r = rng();
  while (r >= limit) r = rng();
  return r % n;
}

/// m distinct indices of [0, n), uniformly (a partial Fisher–Yates shuffle).
torch::Tensor sample_without_replacement(std::mt19937_64& rng, std::int64_t n, std::int64_t m) {
  std::vector<std::int64_t> index(static_cast<std::size_t>(n));
  std::iota(index.begin(), index.end(), 0);
  for (std::int64_t i = 0; i < m; ++i) {
    const auto j = i + static_cast<std::int64_t>(uniform_below(rng, static_cast<std::uint64_t>(n - i)));
    std::swap(index[static_cast<std::size_t>(i)], index[static_cast<std::size_t>(j)]);
  }
  return torch::tensor(std::vector<std::int64_t>(index.begin(), index.begin() + m), torch::kInt64);
}

/// k(x, y) = (xᵀy / d + 1)³ for every row pair (Bińkowski et al. 2018, the KID kernel).
torch::Tensor polynomial_kernel(const torch::Tensor& p, const torch::Tensor& q) {
  return (p.mm(q.t()) / static_cast<double>(p.size(1)) + 1.0).pow(3);
}

/// Unbiased MMD² from the kernel matrices of two samples of size m (Gretton et al. 2012, eq. 3).
double unbiased_mmd2(const torch::Tensor& kxx, const torch::Tensor& kyy, const torch::Tensor& kxy) {
  const auto m = static_cast<double>(kxx.size(0));
  const double within = (kxx.sum() - kxx.trace() + kyy.sum() - kyy.trace()).item<double>() / (m * (m - 1));
  return within - 2.0 * kxy.sum().item<double>() / (m * m);
}

} // namespace

Statistics compute_statistics(const torch::Tensor& features) {
  const torch::Tensor x = feature_matrix(features, "features");
  const std::int64_t n = x.size(0);
  Statistics s;
  s.mu = x.mean(0);
  const torch::Tensor centred = x - s.mu;
  s.sigma = centred.t().mm(centred) / static_cast<double>(n - 1);  // unbiased (ddof = 1)
  s.count = n;
  return s;
}

double frechet_distance(const torch::Tensor& mu1, const torch::Tensor& sigma1, const torch::Tensor& mu2,
                        const torch::Tensor& sigma2) {
  if (!mu1.defined() || !mu2.defined() || !sigma1.defined() || !sigma2.defined())
    throw std::invalid_argument("Fréchet distance: missing μ or Σ");
  const std::int64_t d = mu1.numel();
  if (mu1.dim() != 1 || mu2.sizes() != mu1.sizes() || sigma1.sizes() != c10::IntArrayRef{d, d} ||
      sigma2.sizes() != sigma1.sizes())
    throw std::invalid_argument("Fréchet distance: shapes do not match: μ1 " + shape_text(mu1) + ", Σ1 " +
                                shape_text(sigma1) + ", μ2 " + shape_text(mu2) + ", Σ2 " + shape_text(sigma2));
  const torch::Tensor m1 = finite_float64(mu1, "μ1");
  const torch::Tensor m2 = finite_float64(mu2, "μ2");
  torch::Tensor s1 = finite_float64(sigma1, "Σ1");
  torch::Tensor s2 = finite_float64(sigma2, "Σ2");
  s1 = (s1 + s1.t()) / 2;
  s2 = (s2 + s2.t()) / 2;

  // Tr √(Σ1Σ2) = Tr √(√Σ1 Σ2 √Σ1) (design.md §6). With Σ1 = V Λ Vᵀ, √Σ1 Σ2 √Σ1 = V (Λ½ Vᵀ Σ2 V Λ½) Vᵀ
  // has the eigenvalues of the symmetric Λ½ (Vᵀ Σ2 V) Λ½; eigenvalues below 0 are round-off.
  const auto [lambda, v] = torch::linalg::eigh(s1, "L");
  const torch::Tensor root = lambda.clamp_min(0).sqrt();
  torch::Tensor inner = v.t().mm(s2).mm(v) * root.unsqueeze(1) * root.unsqueeze(0);
  inner = (inner + inner.t()) / 2;
  const double trace_covmean = torch::linalg::eigvalsh(inner, "L").clamp_min(0).sqrt().sum().item<double>();

  const double mean_term = (m1 - m2).pow(2).sum().item<double>();
  return mean_term + s1.trace().item<double>() + s2.trace().item<double>() - 2.0 * trace_covmean;
}

FidResult fid(const Statistics& a, const Statistics& b) {
  FidResult r;
  r.fid = frechet_distance(a.mu, a.sigma, b.mu, b.sigma);
  r.count_a = a.count;
  r.count_b = b.count;
  const std::int64_t d = a.dims();
  r.small_sample = (a.count > 0 && a.count < d) || (b.count > 0 && b.count < d);
  if (r.small_sample) log::core()->warn("{}", small_sample_warning(r, d));
  return r;
}

std::string small_sample_warning(const FidResult& result, std::int64_t dims) {
  if (!result.small_sample) return {};
  std::ostringstream text;
  text << "FID from " << result.count_a << " and " << result.count_b << " samples, fewer than the " << dims
       << " feature dimensions: the covariance is rank-deficient and FID is biased upwards, comparable only "
          "with FID at the same sample counts; KID is unbiased at small N";
  return text.str();
}

KidResult kid(const torch::Tensor& a, const torch::Tensor& b, const KidOptions& options) {
  const torch::Tensor x = feature_matrix(a, "KID: the first features");
  const torch::Tensor y = feature_matrix(b, "KID: the second features");
  if (x.size(1) != y.size(1))
    throw std::invalid_argument("KID: feature widths differ: " + shape_text(x) + " vs " + shape_text(y));
  if (options.subsets < 1 || options.subset_size < 2)
    throw std::invalid_argument("KID: needs at least 1 subset of at least 2 samples");
  const std::int64_t n1 = x.size(0), n2 = y.size(0);
  const std::int64_t m = std::min({n1, n2, options.subset_size});

  const bool whole = n1 * n1 + n2 * n2 + n1 * n2 <= options.max_kernel_entries;
  torch::Tensor kxx, kyy, kxy;
  if (whole) {
    kxx = polynomial_kernel(x, x);
    kyy = polynomial_kernel(y, y);
    kxy = polynomial_kernel(x, y);
  }
  std::mt19937_64 rng(options.seed);
  std::vector<double> mmd2(static_cast<std::size_t>(options.subsets));
  for (double& value : mmd2) {
    const torch::Tensor ix = sample_without_replacement(rng, n1, m);
    const torch::Tensor iy = sample_without_replacement(rng, n2, m);
    if (whole) {
      value = unbiased_mmd2(kxx.index_select(0, ix).index_select(1, ix), kyy.index_select(0, iy).index_select(1, iy),
                            kxy.index_select(0, ix).index_select(1, iy));
    } else {
      const torch::Tensor xs = x.index_select(0, ix), ys = y.index_select(0, iy);
      value = unbiased_mmd2(polynomial_kernel(xs, xs), polynomial_kernel(ys, ys), polynomial_kernel(xs, ys));
    }
  }
  KidResult r;
  r.subsets = options.subsets;
  r.subset_size = m;
  r.mean = std::accumulate(mmd2.begin(), mmd2.end(), 0.0) / static_cast<double>(mmd2.size());
  double squares = 0;
  for (const double value : mmd2) squares += (value - r.mean) * (value - r.mean);
  r.std = std::sqrt(squares / static_cast<double>(mmd2.size()));
  return r;
}

} // namespace t2i::eval
