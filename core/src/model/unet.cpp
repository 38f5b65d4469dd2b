#include "model/unet.h"

#include "model/autocast.h"
#include "model/checkpoint.h"
#include "model/halves_observer.h"
#include "runtime/side_by_side.h"
#include "t2i/runtime.h"

#include <cmath>
#include <optional>
#include <stdexcept>
#include <string>

namespace t2i::model {
namespace {

[[noreturn]] void invalid(const std::string& field, const std::string& problem) {
  throw std::runtime_error("U-Net configuration: " + field + " " + problem);
}

const double kSkipScale = 1.0 / std::sqrt(2.0);

std::string stage_name(const UNetConfig& c) {
  return "a super-resolution stage (" + std::to_string(c.low_res_size) + "→" + std::to_string(c.image_size) + ")";
}

// k copies of the low-resolution condition for a batch of k·N stacked as CFG stacks it.
LowResCondition repeated_for(const LowResCondition& low_res, int64_t batch) {
  const int64_t n = low_res.image.size(0);
  if (n == 0 || batch % n != 0)
    throw std::runtime_error("U-Net: a batch of " + std::to_string(batch) + " images for " + std::to_string(n) +
                             " low-resolution images");
  if (batch == n) return low_res;
  const std::vector<int64_t> repeat_image{batch / n, 1, 1, 1};
  return {low_res.image.repeat(repeat_image), low_res.aug.repeat({batch / n})};
}

} // namespace

std::string to_string(AttentionBackend backend) {
  switch (backend) {
  case AttentionBackend::manual: return "manual";
  case AttentionBackend::sdpa: return "sdpa";
  case AttentionBackend::automatic: break;
  }
  return "automatic";
}

ExecutionOptions default_execution(const std::string& device_type) {
  ExecutionOptions options;
  options.channels_last = true;
  if (device_type == "cuda" || runtime::report().cpu_bf16) options.precision = runtime::Precision::BFloat16;
  return options;
}

void UNetConfig::validate() const {
  if (image_size < 1) invalid("image_size", "must be positive");
  if (channels < 1) invalid("channels", "must be positive");
  if (dim < 1) invalid("dim", "must be positive");
  if (dim_mults.empty()) invalid("dim_mults", "must name at least one level");
  for (const auto mult : dim_mults)
    if (mult < 1) invalid("dim_mults", "must be positive");
  if (res_blocks < 1) invalid("res_blocks", "must be at least 1");
  if (!level_res_blocks.empty() && static_cast<int64_t>(level_res_blocks.size()) != levels())
    invalid("level_res_blocks", "must be empty or have one entry per level (" + std::to_string(levels()) + ")");
  for (const auto blocks : level_res_blocks)
    if (blocks < 1) invalid("level_res_blocks", "must be at least 1 at every level");
  if (static_cast<int64_t>(self_attention.size()) != levels())
    invalid("self_attention", "must have one entry per level (" + std::to_string(levels()) + ")");
  if (static_cast<int64_t>(cross_attention.size()) != levels())
    invalid("cross_attention", "must have one entry per level (" + std::to_string(levels()) + ")");
  if (heads < 1) invalid("heads", "must be positive");
  if (head_dim < 1) invalid("head_dim", "must be positive");
  if (cond_dim < 1) invalid("cond_dim", "must be positive");
  if (text_embed_dim < 1) invalid("text_embed_dim", "must be positive");
  if (time_dim_mult < 1) invalid("time_dim_mult", "must be positive");
  if (!(dropout >= 0.0 && dropout < 1.0)) invalid("dropout", "must be in [0, 1)");
  const int64_t halvings = efficient ? levels() : levels() - 1;
  if (halvings >= 31 || image_size % (int64_t{1} << halvings) != 0)
    invalid("image_size", "must be divisible by 2^" + std::to_string(halvings) + " (one halving per level)");
  if (low_res_size < 0) invalid("low_res_size", "must be 0 (a base model) or positive");
  if (super_resolution() && (low_res_size >= image_size || image_size % low_res_size != 0))
    invalid("low_res_size", std::to_string(low_res_size) + " must be smaller than image_size (" + std::to_string(image_size) +
                                ") and divide it");
}

UNetImpl::UNetImpl(UNetConfig config) : config_(std::move(config)) {
  config_.validate();
  const auto& c = config_;
  const int64_t last = c.levels() - 1;
  time_ = register_module("time", TimeEmbedding(c.dim, c.time_dim()));
  text_ = register_module("text", TextConditioning(c.text_embed_dim, c.cond_dim, c.time_dim()));
  // Stages only: a base network registers, and draws initial weights for, what it always did.
  if (c.super_resolution()) aug_ = register_module("aug", TimeEmbedding(c.dim, c.time_dim()));
  init_conv_ = register_module("init_conv", torch::nn::Conv2d(torch::nn::Conv2dOptions(c.input_channels(), c.dim, 3).padding(1)));

  int64_t width = c.dim;
  for (int64_t level = 0; level <= last; ++level) {
    const int64_t out = c.level_width(level);
    const auto name = std::to_string(level);
    const auto index = static_cast<size_t>(level);
    if (c.efficient) {
      downsample_.push_back(register_module("down" + name + "_downsample", Downsample(width, out)));
      width = out;
    }
    down_.emplace_back();
    for (int64_t b = 0; b < c.blocks_at(level); ++b) {
      down_.back().push_back(register_module(
          "down" + name + "_" + std::to_string(b),
          LevelBlock(width, out, c, c.self_attention[index], c.cross_attention[index])));
      width = out;
    }
    if (!c.efficient && level < last)
      downsample_.push_back(register_module("down" + name + "_downsample", Downsample(width, width)));
  }

  middle1_ = register_module("middle1", LevelBlock(width, width, c, c.middle_attention, c.middle_attention));
  middle2_ = register_module("middle2", LevelBlock(width, width, c, false, false));

  up_.resize(static_cast<size_t>(c.levels()));
  for (int64_t level = last; level >= 0; --level) {
    const int64_t out = c.level_width(level);
    const auto name = std::to_string(level);
    const auto index = static_cast<size_t>(level);
    for (int64_t b = 0; b < c.blocks_at(level); ++b) {
      up_[index].push_back(register_module(
          "up" + name + "_" + std::to_string(b),
          LevelBlock(width + out, out, c, c.self_attention[index], c.cross_attention[index])));
      width = out;
    }
    if (c.efficient || level > 0) {
      const int64_t next = level > 0 ? c.level_width(level - 1) : c.dim;
      upsample_.push_back(register_module("up" + name + "_upsample", Upsample(width, next)));
      width = next;
    }
  }

  final_block_ = register_module("final_block", LevelBlock(width + c.dim, c.dim, c, false, false));
  out_norm_ = register_module("out_norm", GroupNorm(c.dim));
  out_conv_ = register_module("out_conv", torch::nn::Conv2d(torch::nn::Conv2dOptions(c.dim, c.channels, 3).padding(1)));
  // Zero-initialised output: the untrained network predicts 0 and every block starts as a
  // small perturbation (Nichol & Dhariwal 2021, after Goyal et al. 2017).
  {
    torch::NoGradGuard no_grad;
    out_conv_->weight.zero_();
    out_conv_->bias.zero_();
  }
  set_execution(config_.execution);
}

void UNetImpl::set_execution(const ExecutionOptions& execution) {
  if (execution.attention == AttentionBackend::sdpa && !sdpa_available())
    throw std::runtime_error("U-Net: the sdpa attention backend needs LibTorch 2.0 or later");
  if (bf16_weights_ && execution.precision != runtime::Precision::BFloat16)
    throw std::logic_error("U-Net: a network with bf16 weights runs in bf16 only");
  config_.execution = execution;
  const auto format = execution.channels_last ? torch::MemoryFormat::ChannelsLast : torch::MemoryFormat::Contiguous;
  torch::NoGradGuard no_grad;
  for (auto& parameter : parameters())
    if (parameter.dim() == 4) parameter.set_data(parameter.data().contiguous(format));
}

void UNetImpl::freeze_for_sampling() {
  torch::NoGradGuard no_grad;
  for (auto& parameter : parameters()) parameter.set_requires_grad(false);
  if (config_.execution.precision != runtime::Precision::BFloat16) return;
  // The weights autocast casts: convolutions and linear layers compute in bf16 under it. Not the
  // biases: a linear layer on a sequence adds its bias after the product, outside autocast, in
  // float32; a bf16 bias would round that sum to bf16 (measured: 1% off the autocast output).
  for (const auto& module : modules(/*include_self=*/false)) {
    if (module->as<torch::nn::Conv2d>() == nullptr && module->as<torch::nn::Linear>() == nullptr) continue;
    torch::Tensor weight = module->named_parameters(/*recurse=*/false)["weight"];
    weight.set_data(weight.data().to(torch::kBFloat16));
  }
  bf16_weights_ = true;
}

int64_t UNetImpl::parameter_count() const {
  int64_t count = 0;
  for (const auto& parameter : parameters()) count += parameter.numel();
  return count;
}

torch::Tensor UNetImpl::run(const LevelBlock& block, const torch::Tensor& x, const BlockConditioning& cond) const {
  const std::shared_ptr<LevelBlockImpl> impl = block.ptr();
  // Without gradients there is nothing to recompute, and the pass keeps its text cache and observer.
  if (!config_.execution.checkpoint || !torch::GradMode::is_enabled()) return impl->forward(x, cond);
  std::vector<torch::Tensor> inputs{x, cond.time_emb};
  if (impl->reads_text()) {
    inputs.push_back(cond.text_tokens);
    inputs.push_back(cond.text_mask);
  }
  const auto attention = cond.attention;
  return checkpoint(
      [impl, attention](const std::vector<torch::Tensor>& in) {
        BlockConditioning c{in[1], torch::Tensor(), torch::Tensor(), attention};
        if (in.size() > 2) {
          c.text_tokens = in[2];
          c.text_mask = in[3];
        }
        return impl->forward(in[0], c);
      },
      inputs);
}

torch::Tensor UNetImpl::forward(const torch::Tensor& x_t, const torch::Tensor& t, const TextCondition& text,
                                TextCache* text_cache, AttentionObserver* attention_observer) {
  return forward(x_t, t, text, LowResCondition{}, text_cache, attention_observer);
}

torch::Tensor UNetImpl::forward(const torch::Tensor& x_t, const torch::Tensor& t, const TextCondition& text,
                                const LowResCondition& low_res, TextCache* text_cache,
                                AttentionObserver* attention_observer) {
  const auto& c = config_;
  if (x_t.dim() != 4 || x_t.size(1) != c.channels)
    throw std::runtime_error("U-Net: x_t must be [B, " + std::to_string(c.channels) + ", H, W], got " +
                             c10::str(x_t.sizes()));
  const int64_t halvings = c.efficient ? c.levels() : c.levels() - 1;
  if (x_t.size(2) % (int64_t{1} << halvings) != 0 || x_t.size(3) % (int64_t{1} << halvings) != 0)
    throw std::runtime_error("U-Net: image sides must be divisible by " + std::to_string(int64_t{1} << halvings) +
                             ", got " + c10::str(x_t.sizes()));
  const int64_t batch = x_t.size(0);
  if (t.dim() != 1 || t.size(0) != batch)
    throw std::runtime_error("U-Net: t must be [" + std::to_string(batch) + "], got " + c10::str(t.sizes()));
  if (c.super_resolution() && !low_res.defined())
    throw std::runtime_error("U-Net: this network is " + stage_name(c) +
                             "; it needs the low-resolution image and its augmentation level");
  if (!c.super_resolution() && low_res.defined())
    throw std::runtime_error("U-Net: this network is a base model; it takes no low-resolution image");
  if (low_res.defined() && (low_res.image.sizes() != x_t.sizes() || low_res.aug.dim() != 1 || low_res.aug.size(0) != batch))
    throw std::runtime_error("U-Net: the upsampled low-resolution image must be shaped like x_t " + c10::str(x_t.sizes()) +
                             " and aug must be [" + std::to_string(batch) + "], got " + c10::str(low_res.image.sizes()) +
                             " and " + c10::str(low_res.aug.sizes()));

  const auto device = x_t.device();
  AutocastScope autocast(device.type(), c.execution.precision == runtime::Precision::BFloat16);
  // The stage sees x_t and the low-resolution image side by side, channel-wise (§2.4).
  const auto input = low_res.defined() ? torch::cat({x_t, low_res.image.to(x_t.scalar_type())}, 1) : x_t;
  const auto x = c.execution.channels_last ? input.contiguous(torch::MemoryFormat::ChannelsLast) : input;

  // With gradients the text's share is part of the graph: computed in every pass, never cached.
  TextCache* cache = torch::GradMode::is_enabled() ? nullptr : text_cache;
  if (cache != nullptr) cache->use(text);
  const TextContext context =
      cache != nullptr ? cache->context([&] { return text_(text, batch, device); }) : text_(text, batch, device);
  // The augmentation level conditions every block as t does: its embedding joins the time's (§2.3).
  auto time_emb = time_(t.to(device));
  if (low_res.defined()) time_emb = time_emb + aug_(low_res.aug.to(device));
  BlockConditioning cond{time_emb + context.pooled, context.tokens, context.mask, c.execution.attention, cache,
                         attention_observer};

  auto h = init_conv_(x);
  const auto init = h;
  std::vector<torch::Tensor> skips;
  size_t downsample = 0;
  for (int64_t level = 0; level < c.levels(); ++level) {
    if (c.efficient) h = downsample_[downsample++](h);
    for (const auto& block : down_[static_cast<size_t>(level)]) {
      h = run(block, h, cond);
      skips.push_back(h);
    }
    if (!c.efficient && level < c.levels() - 1) h = downsample_[downsample++](h);
  }

  h = run(middle1_, h, cond);
  h = run(middle2_, h, cond);

  size_t upsample = 0;
  for (int64_t level = c.levels() - 1; level >= 0; --level) {
    for (const auto& block : up_[static_cast<size_t>(level)]) {
      // Efficient U-Net: skips scaled by 1/√2 (Saharia 2022, Appendix B.1).
      const auto skip = c.skip_scale ? skips.back() * kSkipScale : skips.back();
      h = run(block, torch::cat({h, skip}, 1), cond);
      skips.pop_back();
    }
    if (c.efficient || level > 0) h = upsample_[upsample++](h);
  }

  h = run(final_block_, torch::cat({h, init}, 1), cond);
  const auto out = out_conv_(out_norm_(h, NormFollowUp{{}, {}, /*silu=*/true}));
  return out.to(x_t.scalar_type()).contiguous();
}

namespace {

void require_base_model(const UNet& unet) {
  if (unet->config().super_resolution())
    throw std::runtime_error("U-Net: this network is " + stage_name(unet->config()) +
                             "; it needs the low-resolution image to denoise");
}

// A sampling run's text caches: one for a whole batch, one for each half of a split one (each
// half's texts stay the same from step to step, as the whole batch's do).
struct SamplingCaches {
  TextCache whole, first_half, second_half;
};

LowResCondition slice(const LowResCondition& low_res, int64_t start, int64_t end) {
  if (!low_res.defined()) return low_res;
  return {low_res.image.slice(0, start, end), low_res.aug.slice(0, start, end)};
}

// A sampling step's pass. A batch of two or more (classifier-free guidance's [images; images])
// runs as two halves side by side, each on its share of the threads: two threads working through
// one pass woke each other for every operator, and a 32×32 step is mostly small operators
// (measured, 2 cores: demo DPM-Solver++ 20 steps 0.33 s per image in one pass, 0.17 s in halves).
// An attention observer sees the halves as one batch (HalvesObserver), so an observed pass runs
// the same arithmetic as an unobserved one: the same images.
torch::Tensor sampling_forward(UNetImpl& unet, const torch::Tensor& x_t, const torch::Tensor& t, const TextCondition& text,
                               const LowResCondition& low_res, SamplingCaches& caches, AttentionObserver* attention_observer) {
  const int64_t batch = x_t.size(0);
  // One thread would run the halves one after the other, and an observed first half would wait
  // for the second at its first layer: the batch stays whole.
  if (batch < 2 || torch::GradMode::is_enabled() || !runtime::side_by_side_available())
    return unet.forward(x_t, t, text, low_res, &caches.whole, attention_observer);
  const int64_t half = batch / 2;
  std::optional<HalvesObserver> observers;
  if (attention_observer != nullptr) observers.emplace(*attention_observer);
  torch::Tensor out[2];
  const auto part = [&](int index, int64_t start, int64_t end, TextCache& cache) {
    try {
      out[index] = unet.forward(x_t.slice(0, start, end), t.slice(0, start, end), text.slice(start, end),
                                slice(low_res, start, end), &cache, observers ? &observers->half(index) : nullptr);
    } catch (...) {
      if (observers) observers->abandon();  // the other half must not wait for this one
      throw;
    }
  };
  runtime::run_side_by_side([&] { part(0, 0, half, caches.first_half); },
                            [&] { part(1, half, batch, caches.second_half); });
  return torch::cat({out[0], out[1]});
}

} // namespace

Denoiser as_denoiser(UNet unet) {
  require_base_model(unet);
  return [impl = unet.ptr()](const torch::Tensor& x_t, const torch::Tensor& t, const TextCondition& text) {
    return impl->forward(x_t, t, text);
  };
}

Denoiser as_sampling_denoiser(UNet unet, AttentionObserver* attention_observer) {
  require_base_model(unet);
  return [impl = unet.ptr(), caches = std::make_shared<SamplingCaches>(), attention_observer](
             const torch::Tensor& x_t, const torch::Tensor& t, const TextCondition& text) {
    return sampling_forward(*impl, x_t, t, text, LowResCondition{}, *caches, attention_observer);
  };
}

Denoiser as_denoiser(UNet unet, LowResCondition low_res) {
  return [impl = unet.ptr(), low_res = std::move(low_res)](const torch::Tensor& x_t, const torch::Tensor& t,
                                                           const TextCondition& text) {
    return impl->forward(x_t, t, text, repeated_for(low_res, x_t.size(0)));
  };
}

Denoiser as_sampling_denoiser(UNet unet, LowResCondition low_res, AttentionObserver* attention_observer) {
  return [impl = unet.ptr(), low_res = std::move(low_res), caches = std::make_shared<SamplingCaches>(), attention_observer](
             const torch::Tensor& x_t, const torch::Tensor& t, const TextCondition& text) {
    return sampling_forward(*impl, x_t, t, text, repeated_for(low_res, x_t.size(0)), *caches, attention_observer);
  };
}

} // namespace t2i::model
