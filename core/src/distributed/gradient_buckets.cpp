#include "distributed/gradient_buckets.h"

#include <torch/csrc/autograd/function.h>
#include <torch/csrc/autograd/variable.h>

#include <functional>

namespace t2i::distributed {
namespace {

std::int64_t bytes_of(const torch::Tensor& t) { return t.numel() * static_cast<std::int64_t>(t.element_size()); }

/// A gradient accumulator's post-hook: tells the reducer that its parameter's gradient is complete.
class Hook : public torch::autograd::FunctionPostHook {
public:
  explicit Hook(std::function<void()> on_ready) : on_ready_(std::move(on_ready)) {}
  torch::autograd::variable_list operator()(const torch::autograd::variable_list& outputs,
                                            const torch::autograd::variable_list& /*inputs*/) override {
    on_ready_();
    return outputs;
  }

private:
  std::function<void()> on_ready_;
};

/// Packs each bucket of `tensors` into one flat buffer, runs `collective` on all buffers, and copies
/// the results back. Returns the bytes of the buffers.
std::int64_t bucketed(const std::vector<torch::Tensor>& tensors, std::int64_t bucket_bytes,
                      const std::function<void(std::vector<torch::Tensor>&)>& collective) {
  const auto buckets = plan_buckets(tensors, bucket_bytes, bucket_bytes);
  std::vector<torch::Tensor> flats;
  std::int64_t bytes = 0;
  for (const auto& [first, last] : buckets) {
    std::vector<torch::Tensor> pieces;
    for (std::size_t i = first; i < last; ++i) pieces.push_back(tensors[i].reshape({-1}));
    flats.push_back(torch::cat(pieces));
    bytes += bytes_of(flats.back());
  }
  collective(flats);
  for (std::size_t b = 0; b < buckets.size(); ++b) {
    std::int64_t offset = 0;
    for (std::size_t i = buckets[b].first; i < buckets[b].second; ++i) {
      const std::int64_t n = tensors[i].numel();
      tensors[i].copy_(flats[b].slice(0, offset, offset + n).view(tensors[i].sizes()));
      offset += n;
    }
  }
  return bytes;
}

} // namespace

std::vector<std::pair<std::size_t, std::size_t>> plan_buckets(const std::vector<torch::Tensor>& tensors,
                                                               std::int64_t bucket_bytes,
                                                               std::int64_t first_bucket_bytes) {
  std::vector<std::pair<std::size_t, std::size_t>> buckets;
  std::int64_t filled = 0;
  for (std::size_t i = 0; i < tensors.size(); ++i) {
    const std::int64_t cap = buckets.size() == 1 ? first_bucket_bytes : bucket_bytes;
    const bool fits = !buckets.empty() && filled + bytes_of(tensors[i]) <= cap &&
                      tensors[i].scalar_type() == tensors[buckets.back().first].scalar_type() &&
                      tensors[i].device() == tensors[buckets.back().first].device();
    if (fits) {
      buckets.back().second = i + 1;
      filled += bytes_of(tensors[i]);
    } else {
      buckets.emplace_back(i, i + 1);
      filled = bytes_of(tensors[i]);
    }
  }
  return buckets;
}

GradientReducer::GradientReducer(ProcessGroup& group, std::vector<torch::Tensor> parameters, bool overlap,
                                 std::int64_t bucket_bytes, std::int64_t first_bucket_bytes)
    : group_(group), parameters_(std::move(parameters)), bucket_of_(parameters_.size()) {
  const std::vector<torch::Tensor> backward_order(parameters_.rbegin(), parameters_.rend());
  for (const auto& [first, last] : plan_buckets(backward_order, bucket_bytes, first_bucket_bytes)) {
    Bucket bucket;
    std::int64_t numel = 0;
    for (std::size_t i = first; i < last; ++i) {
      const std::size_t parameter = parameters_.size() - 1 - i;
      bucket.parameters.push_back(parameter);
      bucket_of_[parameter] = buckets_.size();
      numel += parameters_[parameter].numel();
    }
    bucket.flat = torch::empty({numel}, backward_order[first].options().requires_grad(false));
    buckets_.push_back(std::move(bucket));
  }
  if (!overlap) return;
  for (std::size_t i = 0; i < parameters_.size(); ++i) {
    auto accumulator = torch::autograd::impl::grad_accumulator(parameters_[i]);
    if (!accumulator) continue;  // not trained: finish() starts its bucket
    const std::uintptr_t key = accumulator->add_post_hook(std::make_unique<Hook>([this, i] { ready(i); }));
    hooks_.emplace_back(std::move(accumulator), key);
  }
}

GradientReducer::~GradientReducer() {
  for (auto& [accumulator, key] : hooks_) accumulator->del_post_hook(key);
}

void GradientReducer::arm() {
  for (Bucket& bucket : buckets_) bucket.pending = bucket.parameters.size();
  next_ = 0;
  overlapped_ = 0;
  armed_ = !hooks_.empty();
}

void GradientReducer::ready(std::size_t parameter) {
  if (!armed_) return;
  --buckets_[bucket_of_[parameter]].pending;
  while (next_ < buckets_.size() && buckets_[next_].pending == 0) {
    overlapped_ += bytes_of(buckets_[next_].flat);
    start(buckets_[next_++]);
  }
}

void GradientReducer::start(Bucket& bucket) {
  torch::NoGradGuard no_grad;
  std::int64_t offset = 0;
  for (std::size_t parameter : bucket.parameters) {
    const torch::Tensor& gradient = parameters_[parameter].grad();
    const std::int64_t n = parameters_[parameter].numel();
    torch::Tensor slice = bucket.flat.slice(0, offset, offset + n);
    if (gradient.defined())
      slice.copy_(gradient.reshape({-1}));
    else
      slice.zero_();
    offset += n;
  }
  group_.start_allreduce_sum(bucket.flat);
}

GradientReducer::Bytes GradientReducer::finish() {
  torch::NoGradGuard no_grad;
  armed_ = false;
  while (next_ < buckets_.size()) start(buckets_[next_++]);
  // Which gradients any rank has, so every rank keeps the same set defined.
  std::vector<std::int32_t> flags(parameters_.size(), 0);
  for (std::size_t i = 0; i < parameters_.size(); ++i) flags[i] = parameters_[i].grad().defined() ? 1 : 0;
  const torch::Tensor defined = torch::tensor(flags, torch::kInt32);
  group_.start_allreduce_sum(defined);
  group_.wait_started();
  const auto any = defined.accessor<std::int32_t, 1>();
  const double scale = 1.0 / group_.world_size();
  Bytes bytes;
  bytes.overlapped = overlapped_;
  for (Bucket& bucket : buckets_) {
    bucket.flat.mul_(scale);
    bytes.total += bytes_of(bucket.flat);
    std::int64_t offset = 0;
    for (std::size_t parameter : bucket.parameters) {
      torch::Tensor p = parameters_[parameter];
      const std::int64_t n = p.numel();
      if (any[static_cast<std::int64_t>(parameter)] != 0) {
        if (!p.grad().defined()) p.mutable_grad() = torch::zeros_like(p);
        p.mutable_grad().copy_(bucket.flat.slice(0, offset, offset + n).view(p.sizes()));
      }
      offset += n;
    }
  }
  next_ = 0;
  overlapped_ = 0;
  return bytes;
}

void broadcast_tensors(ProcessGroup& group, const std::vector<torch::Tensor>& tensors, int root,
                       std::int64_t bucket_bytes) {
  torch::NoGradGuard no_grad;
  bucketed(tensors, bucket_bytes, [&](std::vector<torch::Tensor>& flats) { group.broadcast(flats, root); });
}

} // namespace t2i::distributed
