#include "model/group_norm.h"

#include <ATen/Parallel.h>
#include <ATen/record_function.h>

#include <cmath>
#include <vector>

namespace t2i::model {
namespace {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

constexpr double kEps = 1e-5;

bool reduced_precision_cpu(const torch::Tensor& x) {
  return x.is_cpu() && (x.scalar_type() == torch::kBFloat16 || x.scalar_type() == torch::kHalf);
}

// Pixels per block of the fused kernel's passes: a fixed split, so the statistics are summed in
// the same order whatever the thread count or batch size (bit-identical images either way).
constexpr int64_t kBlockPixels = 64;

// Per group of image n of a [N, P, C] bf16 map, the sum of x − center (or of its square) over
// the group's values, center one value per [N, C]: per channel over each block of pixels in
// float32, then over the blocks and the group's channels in double, always in the same order.
template <bool kSquare>
std::vector<double> group_sums(const c10::BFloat16* x, int64_t n, int64_t pixels, int64_t channels, int64_t groups,
                               const std::vector<float>& center) {
  const int64_t blocks = (pixels + kBlockPixels - 1) / kBlockPixels;
  std::vector<float> partial(static_cast<size_t>(n * blocks * channels), 0.0f);
  at::parallel_for(0, n * blocks, 1, [&](int64_t begin, int64_t end) {
    for (int64_t index = begin; index < end; ++index) {
      const int64_t image = index / blocks, block = index % blocks;
      float* sums = partial.data() + index * channels;
      const float* m = center.data() + image * channels;
      const int64_t last = std::min(pixels, (block + 1) * kBlockPixels);
      for (int64_t p = block * kBlockPixels; p < last; ++p) {
        const c10::BFloat16* row = x + (image * pixels + p) * channels;
        for (int64_t c = 0; c < channels; ++c) {
          const float d = static_cast<float>(row[c]) - m[c];
          sums[c] += kSquare ? d * d : d;
        }
      }
    }
  });
  const int64_t per_group = channels / groups;
  std::vector<double> out(static_cast<size_t>(n * groups), 0.0);
  for (int64_t image = 0; image < n; ++image)
    for (int64_t block = 0; block < blocks; ++block)
      for (int64_t c = 0; c < channels; ++c)
        out[static_cast<size_t>(image * groups + c / per_group)] += partial[static_cast<size_t>((image * blocks + block) * channels + c)];
  return out;
}

// Group norm, scale-and-shift and SiLU of a bf16 channels-last CPU map in one pass over the output,
// and two over the input for the statistics (mean, then the variance about it: no cancellation).
// LibTorch 1.13's path cast the map to float32, normalised it, scaled, shifted and activated it in
// place and cast it back: six passes and a float32 copy. Each value here goes through float32
// once, y = silu((x − μ)·a + b) with a = γ·rstd·(1 + scale) and b = β·(1 + scale) + shift
// (Wu & He 2018, eq. 1; Nichol & Dhariwal 2021's AdaGN), and is rounded to bf16 once.
// Returns y, and the mean and 1/σ per [N, groups] as native_group_norm does.
std::tuple<torch::Tensor, torch::Tensor, torch::Tensor> fused_group_norm_bf16(
    const torch::Tensor& input, const torch::Tensor& weight, const torch::Tensor& bias, const c10::optional<torch::Tensor>& scale,
    const c10::optional<torch::Tensor>& shift, int64_t groups, bool silu) {
  RECORD_FUNCTION("t2i::group_norm", std::vector<c10::IValue>({input}));
  const auto x_map = input.contiguous(torch::MemoryFormat::ChannelsLast);
  const int64_t n = x_map.size(0), channels = x_map.size(1), pixels = x_map.numel() / (n * channels);
  const int64_t per_group = channels / groups;
  const c10::BFloat16* x = x_map.data_ptr<c10::BFloat16>();
  const double count = static_cast<double>(pixels * per_group);

  std::vector<float> mean(static_cast<size_t>(n * channels), 0.0f);  // each channel's group mean
  const std::vector<double> sums = group_sums<false>(x, n, pixels, channels, groups, mean);
  auto mean_out = torch::empty({n, groups});
  auto rstd_out = torch::empty({n, groups});
  for (int64_t g = 0; g < n * groups; ++g) {
    const auto m = static_cast<float>(sums[static_cast<size_t>(g)] / count);
    mean_out.data_ptr<float>()[g] = m;
    const int64_t image = g / groups, first = image * channels + (g % groups) * per_group;
    std::fill(mean.begin() + first, mean.begin() + first + per_group, m);
  }
  const std::vector<double> squares = group_sums<true>(x, n, pixels, channels, groups, mean);

  const auto w = weight.to(torch::kFloat32).contiguous();
  const auto b = bias.to(torch::kFloat32).contiguous();
  const auto s = scale ? (*scale).to(torch::kFloat32).reshape({n, channels}).contiguous() : torch::Tensor();
  const auto t = shift ? (*shift).to(torch::kFloat32).reshape({n, channels}).contiguous() : torch::Tensor();
  std::vector<float> a(static_cast<size_t>(n * channels)), offset(static_cast<size_t>(n * channels));
  float* rstd = rstd_out.data_ptr<float>();
  for (int64_t image = 0; image < n; ++image)
    for (int64_t c = 0; c < channels; ++c) {
      const int64_t g = image * groups + c / per_group;
      rstd[g] = static_cast<float>(1.0 / std::sqrt(squares[static_cast<size_t>(g)] / count + kEps));
      const size_t i = static_cast<size_t>(image * channels + c);
      const double gain = s.defined() ? 1.0 + s.data_ptr<float>()[i] : 1.0;
      a[i] = static_cast<float>(w.data_ptr<float>()[c] * rstd[g] * gain);
      offset[i] = static_cast<float>(b.data_ptr<float>()[c] * gain + (t.defined() ? t.data_ptr<float>()[i] : 0.0));
    }

  auto y_map = torch::empty_like(x_map, torch::MemoryFormat::ChannelsLast);
  c10::BFloat16* y = y_map.data_ptr<c10::BFloat16>();
  const int64_t blocks = (pixels + kBlockPixels - 1) / kBlockPixels;
  at::parallel_for(0, n * blocks, 1, [&](int64_t begin, int64_t end) {
    std::vector<float> values(static_cast<size_t>(kBlockPixels * channels));
    for (int64_t index = begin; index < end; ++index) {
      const int64_t image = index / blocks, block = index % blocks;
      const int64_t first = block * kBlockPixels, last = std::min(pixels, first + kBlockPixels);
      const int64_t size = (last - first) * channels;
      const c10::BFloat16* in = x + (image * pixels + first) * channels;
      const float* m = mean.data() + image * channels;
      const float* gain = a.data() + image * channels;
      const float* add = offset.data() + image * channels;
      for (int64_t p = 0; p < last - first; ++p)
        for (int64_t c = 0; c < channels; ++c)
          values[static_cast<size_t>(p * channels + c)] = (static_cast<float>(in[p * channels + c]) - m[c]) * gain[c] + add[c];
      // LibTorch's own (vectorised) SiLU on the block, still in float32.
      if (silu) {
        torch::Tensor block_values = torch::from_blob(values.data(), {size});
        torch::silu_(block_values);
      }
      c10::BFloat16* out = y + (image * pixels + first) * channels;
      for (int64_t i = 0; i < size; ++i) out[i] = c10::BFloat16(values[static_cast<size_t>(i)]);
    }
  });
  return {y_map, mean_out, rstd_out};
}

// y·(1 + scale) + shift, in place on a float32 y.
void scale_and_shift_(torch::Tensor& y, const torch::Tensor& scale, const torch::Tensor& shift) {
  y.mul_(scale.to(torch::kFloat32) + 1).add_(shift.to(torch::kFloat32));
}

// Group norm of a reduced-precision CPU input in float32, and what follows it, with a backward of
// its own. The norm is group_norm's (the same kernel and layout, so the same bits with and without
// gradients, as checkpointing needs). Through autograd, LibTorch 1.13's backward cast the gradient
// to float32, copied it and the input to NCHW, and handed back an NCHW gradient that autograd then
// added to the residual path's channels-last one (a strided add). Here the gradient is cast and
// laid out in one copy, and the input's gradient comes back in the input's dtype and layout.
// It keeps only the input, in its own dtype, for the backward and recomputes the normalised values
// there (one more pass of the norm's kernel): as separate steps, autograd also kept the norm's
// output for SiLU or for the scale's product and the scaled output for SiLU, each the size of the
// feature map, and between the steps each value went to the input's precision and back.
struct Float32GroupNorm : torch::autograd::Function<Float32GroupNorm> {
  static torch::Tensor forward(AutogradContext* ctx, const torch::Tensor& x, const torch::Tensor& weight,
                               const torch::Tensor& bias, const c10::optional<torch::Tensor>& scale,
                               const c10::optional<torch::Tensor>& shift, int64_t groups, bool silu) {
    ctx->saved_data["groups"] = groups;
    ctx->saved_data["silu"] = silu;
    const auto format = x.suggest_memory_format();
    if (x.scalar_type() == torch::kBFloat16 && format == torch::MemoryFormat::ChannelsLast) {
      auto [y, mean, rstd] = fused_group_norm_bf16(x, weight, bias, scale, shift, groups, silu);
      ctx->save_for_backward({x, weight, bias, mean, rstd, scale.value_or(torch::Tensor()), shift.value_or(torch::Tensor())});
      return y;
    }
    const auto x32 = x.to(torch::kFloat32, false, false, format);
    const int64_t n = x.size(0), channels = x.size(1);
    auto [y, mean, rstd] = at::native_group_norm(x32, weight, bias, n, channels, x.numel() / (n * channels), groups, kEps);
    if (scale) scale_and_shift_(y, *scale, *shift);
    if (silu) y = torch::silu_(y);
    ctx->save_for_backward({x, weight, bias, mean, rstd, scale.value_or(torch::Tensor()), shift.value_or(torch::Tensor())});
    return y.to(x.scalar_type(), false, false, format);
  }

  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    const auto saved = ctx->get_saved_variables();
    const auto &x = saved[0], &weight = saved[1], &bias = saved[2], &mean = saved[3], &rstd = saved[4];
    const auto &scale = saved[5], &shift = saved[6];
    const int64_t groups = ctx->saved_data["groups"].toInt();
    // The native backward works on NCHW-contiguous tensors (it copies anything else).
    const auto x32 = x.to(torch::kFloat32, false, false, torch::MemoryFormat::Contiguous);
    const int64_t n = x32.size(0), channels = x32.size(1), pixels = x32.numel() / (n * channels);
    // Not modified in place: it may be the very gradient autograd hands to another branch.
    auto dy = grads[0].to(torch::kFloat32, false, false, torch::MemoryFormat::Contiguous);
    const bool silu = ctx->saved_data["silu"].toBool();
    torch::Tensor normalised, dscale, dshift;
    if (scale.defined() || silu)
      normalised = std::get<0>(at::native_group_norm(x32, weight, bias, n, channels, pixels, groups, kEps));
    if (silu) {
      auto activated = normalised;
      if (scale.defined()) {
        activated = normalised.clone();
        scale_and_shift_(activated, scale, shift);
      }
      dy = at::silu_backward(dy, activated);
    }
    if (scale.defined()) {
      dscale = (dy * normalised).sum({2, 3}, true).to(scale.scalar_type());
      dshift = dy.sum({2, 3}, true).to(shift.scalar_type());
      dy = dy * (scale.to(torch::kFloat32) + 1);
    }
    const auto [dx, dweight, dbias] =
        at::native_group_norm_backward(dy, x32, mean, rstd, weight, n, channels, pixels, groups, {true, true, true});
    return {dx.to(x.scalar_type(), false, false, x.suggest_memory_format()), dweight, dbias, dscale, dshift,
            torch::Tensor(), torch::Tensor()};
  }
};

} // namespace

int64_t norm_groups(int64_t channels) {
  for (int64_t groups = std::min<int64_t>(32, channels / 4); groups > 1; --groups)
    if (channels % groups == 0) return groups;
  return 1;
}

GroupNormImpl::GroupNormImpl(int64_t channels) : groups_(norm_groups(channels)) {
  weight_ = register_parameter("weight", torch::ones({channels}));
  bias_ = register_parameter("bias", torch::zeros({channels}));
}

torch::Tensor GroupNormImpl::forward(const torch::Tensor& x, const NormFollowUp& then) {
  if (reduced_precision_cpu(x)) {
    // LibTorch 1.13's CPU kernel for reduced-precision channels-last input sums each group's
    // statistics in that precision: measured 4–9% error at 32×32 in bf16, different for each batch
    // size and thread count, so one image (guidance off) denoised differently from the same image in
    // a batch of two. Normalise in float32 and hand back the input's precision, with or without
    // gradients alike (checkpointing replays a forward run without them: the same bits).
    const auto optional = [](const torch::Tensor& t) { return t.defined() ? c10::optional<torch::Tensor>(t) : c10::nullopt; };
    return Float32GroupNorm::apply(x, weight_, bias_, optional(then.scale), optional(then.shift), groups_, then.silu);
  }
  const auto dtype = x.scalar_type();
  auto y = torch::group_norm(x, groups_, weight_.to(dtype), bias_.to(dtype), kEps);
  if (then.scale.defined()) y = y * (then.scale + 1) + then.shift;
  return then.silu ? torch::silu(y) : y;
}

} // namespace t2i::model
