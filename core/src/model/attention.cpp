#include "model/attention.h"

#include <torch/version.h>

#include <cmath>
#include <limits>
#include <stdexcept>

namespace t2i::model {
namespace {

// [B, C, H, W] -> [B, H·W, C]; a view when x is channels-last.
torch::Tensor to_tokens(const torch::Tensor& x) {
  return x.permute({0, 2, 3, 1}).reshape({x.size(0), x.size(2) * x.size(3), x.size(1)});
}

// [B, H·W, C] -> [B, C, H, W] laid out channels-last (a view, no copy).
torch::Tensor from_tokens(const torch::Tensor& tokens, const torch::Tensor& like) {
  return tokens.reshape({like.size(0), like.size(2), like.size(3), tokens.size(2)}).permute({0, 3, 1, 2});
}

// [B, L, heads·d] -> [B, heads, L, d]
torch::Tensor split_heads(const torch::Tensor& t, int64_t heads) {
  return t.reshape({t.size(0), t.size(1), heads, -1}).transpose(1, 2);
}

torch::Tensor merge_heads(const torch::Tensor& t) {
  return t.transpose(1, 2).reshape({t.size(0), t.size(2), -1});
}

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

// softmax(logits)·v for reduced-precision logits and values with gradients: the softmax in
// float32, its weights rounded to the values' dtype for the product, as autograd would run it.
// Autograd kept the float32 weights for the softmax's backward and their rounded copy for the
// product's: three bytes per attention-map entry for every byte here. This keeps only the logits
// (in their own dtype) and v, and recomputes the weights in backward from the logits with the
// same kernel, so the gradients are autograd's. The maps are most of what a full-preset training
// step holds at 32×32 with 256 text tokens, and their float32 temporaries decide its peak, so
// both directions work through them one image at a time (the softmax is row by row either way).
struct RecomputedSoftmaxProduct : torch::autograd::Function<RecomputedSoftmaxProduct> {
  static torch::Tensor forward(AutogradContext* ctx, const torch::Tensor& logits, const torch::Tensor& v) {
    ctx->save_for_backward({logits, v});
    auto weights = torch::empty(logits.sizes(), logits.options().dtype(v.scalar_type()));
    for (int64_t i = 0; i < logits.size(0); ++i) weights[i].copy_(torch::softmax(logits[i], -1, torch::kFloat32));
    return torch::matmul(weights, v);
  }

  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    const auto saved = ctx->get_saved_variables();
    const auto& logits = saved[0];
    const auto& v = saved[1];
    const auto& grad_out = grads[0];
    const bool need_logits = ctx->needs_input_grad(0), need_v = ctx->needs_input_grad(1);
    torch::Tensor grad_logits = need_logits ? torch::empty_like(logits) : torch::Tensor();
    torch::Tensor grad_v = need_v ? torch::empty_like(v) : torch::Tensor();
    for (int64_t i = 0; i < logits.size(0); ++i) {
      const auto weights32 = torch::softmax(logits[i], -1, torch::kFloat32);
      if (need_v) grad_v[i].copy_(torch::matmul(weights32.to(v.scalar_type()).transpose(-2, -1), grad_out[i]));
      if (need_logits) {
        const auto grad_weights = torch::matmul(grad_out[i], v[i].transpose(-2, -1)).to(torch::kFloat32);
        grad_logits[i].copy_(at::_softmax_backward_data(grad_weights, weights32, -1, torch::kFloat32));
      }
    }
    return {grad_logits, grad_v};
  }
};

torch::Tensor manual_attention(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v,
                               const torch::Tensor& key_mask, torch::Tensor* probabilities) {
  const double scale = 1.0 / std::sqrt(static_cast<double>(q.size(-1)));  // Vaswani 2017, eq. 1
  auto logits = torch::matmul(q * scale, k.transpose(-2, -1));
  // The mask as an added bias of 0 or −∞, in place: the product's backward does not read its
  // output, a copy of the logits is the size of the attention map, and an addition's backward
  // passes the gradient through where masked_fill's writes a masked copy of it.
  if (key_mask.defined())
    logits.add_(torch::zeros(key_mask.sizes(), logits.options())
                    .masked_fill_(key_mask.logical_not(), -std::numeric_limits<float>::infinity())
                    .unsqueeze(1)
                    .unsqueeze(1));
  // Without gradients (sampling) in the logits' precision: LibTorch's bf16 softmax sums in fp32
  // (measured on 1.13's CPU kernel: the same weights as an fp32 softmax rounded to bf16, rows of
  // 65 to 4096 keys), so casting the logits to fp32 and back would only add two passes over the
  // attention map. Training keeps it in fp32: the backward from bf16 weights moved the gradients
  // of a bf16 network by more than checkpointing's tolerance allows.
  const bool backward = torch::GradMode::is_enabled() && (logits.requires_grad() || v.requires_grad());
  if (!backward) {
    const auto weights = torch::softmax(logits, -1).to(v.scalar_type());
    if (probabilities != nullptr) *probabilities = weights;
    return torch::matmul(weights, v);
  }
  if (logits.scalar_type() != torch::kFloat32) return RecomputedSoftmaxProduct::apply(logits, v);
  return torch::matmul(torch::softmax(logits, -1, torch::kFloat32).to(v.scalar_type()), v);
}

} // namespace

bool sdpa_available() { return TORCH_VERSION_MAJOR >= 2; }

torch::Tensor attention(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v,
                        const torch::Tensor& key_mask, AttentionBackend backend, torch::Tensor* probabilities) {
  const bool use_sdpa = probabilities == nullptr &&
                        (backend == AttentionBackend::sdpa || (backend == AttentionBackend::automatic && sdpa_available()));
#if TORCH_VERSION_MAJOR >= 2
  if (use_sdpa) {
    c10::optional<torch::Tensor> mask;
    if (key_mask.defined()) mask = key_mask.unsqueeze(1).unsqueeze(1);
    return at::scaled_dot_product_attention(q, k, v, mask);
  }
#else
  if (use_sdpa) throw std::runtime_error("attention: scaled_dot_product_attention needs LibTorch 2.0 or later");
#endif
  return manual_attention(q, k, v, key_mask, probabilities);
}

SelfAttentionImpl::SelfAttentionImpl(int64_t channels, int64_t heads, int64_t head_dim)
    : heads_(heads), head_dim_(head_dim) {
  norm_ = register_module("norm", GroupNorm(channels));
  to_qkv_ = register_module("to_qkv", torch::nn::Linear(torch::nn::LinearOptions(channels, 3 * heads * head_dim).bias(false)));
  to_out_ = register_module("to_out", torch::nn::Linear(heads * head_dim, channels));
}

torch::Tensor SelfAttentionImpl::forward(const torch::Tensor& x, AttentionBackend backend) {
  const auto qkv = to_qkv_(to_tokens(norm_(x))).chunk(3, -1);
  const auto out = attention(split_heads(qkv[0], heads_), split_heads(qkv[1], heads_), split_heads(qkv[2], heads_),
                             torch::Tensor(), backend);
  return x + from_tokens(to_out_(merge_heads(out)), x);
}

CrossAttentionImpl::CrossAttentionImpl(int64_t channels, int64_t cond_dim, int64_t heads, int64_t head_dim)
    : heads_(heads), head_dim_(head_dim) {
  norm_ = register_module("norm", GroupNorm(channels));
  to_q_ = register_module("to_q", torch::nn::Linear(torch::nn::LinearOptions(channels, heads * head_dim).bias(false)));
  to_kv_ = register_module("to_kv", torch::nn::Linear(torch::nn::LinearOptions(cond_dim, 2 * heads * head_dim).bias(false)));
  to_out_ = register_module("to_out", torch::nn::Linear(heads * head_dim, channels));
  null_kv_ = register_parameter("null_kv", torch::randn({2, heads, head_dim}));
}

KeysValues CrossAttentionImpl::keys_values(const torch::Tensor& tokens, const torch::Tensor& mask) {
  const int64_t batch = tokens.size(0);
  const auto kv = to_kv_(tokens).chunk(2, -1);
  auto k = split_heads(kv[0], heads_);
  auto v = split_heads(kv[1], heads_);
  // The null key/value goes first: one key every query can always attend to.
  const auto null_kv = null_kv_.to(k.scalar_type()).unsqueeze(2);  // [2, heads, 1, d]
  k = torch::cat({null_kv[0].unsqueeze(0).expand({batch, heads_, 1, head_dim_}), k}, 2);
  v = torch::cat({null_kv[1].unsqueeze(0).expand({batch, heads_, 1, head_dim_}), v}, 2);
  return {k, v, torch::cat({torch::ones({batch, 1}, mask.options()), mask}, 1)};
}

torch::Tensor CrossAttentionImpl::forward(const torch::Tensor& x, const torch::Tensor& tokens,
                                          const torch::Tensor& mask, AttentionBackend backend, TextCache* cache,
                                          AttentionObserver* observer) {
  const auto q = split_heads(to_q_(to_tokens(norm_(x))), heads_);
  const KeysValues text = cache != nullptr ? cache->keys_values(this, [&] { return keys_values(tokens, mask); })
                                           : keys_values(tokens, mask);
  const bool observed = observer != nullptr && !torch::GradMode::is_enabled();
  torch::Tensor probabilities;
  torch::Tensor out = attention(q, text.k, text.v, text.key_mask, backend, observed ? &probabilities : nullptr);
  if (observed) {
    const torch::Tensor used = observer->replace(this, probabilities);
    if (!used.is_same(probabilities)) out = torch::matmul(used, text.v);
    observer->cross_attention(this, x.size(2), x.size(3), used.to(torch::kFloat32));
  }
  return x + from_tokens(to_out_(merge_heads(out)), x);
}

} // namespace t2i::model
