#include "model/group_norm.h"

namespace t2i::model {
namespace {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

constexpr double kEps = 1e-5;

bool reduced_precision_cpu(const torch::Tensor& x) {
  return x.is_cpu() && (x.scalar_type() == torch::kBFloat16 || x.scalar_type() == torch::kHalf);
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
    const auto format = x.suggest_memory_format();
    const auto x32 = x.to(torch::kFloat32, false, false, format);
    const int64_t n = x.size(0), channels = x.size(1);
    auto [y, mean, rstd] = at::native_group_norm(x32, weight, bias, n, channels, x.numel() / (n * channels), groups, kEps);
    if (scale) scale_and_shift_(y, *scale, *shift);
    if (silu) y = torch::silu_(y);
    ctx->save_for_backward({x, weight, bias, mean, rstd, scale.value_or(torch::Tensor()), shift.value_or(torch::Tensor())});
    ctx->saved_data["groups"] = groups;
    ctx->saved_data["silu"] = silu;
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
