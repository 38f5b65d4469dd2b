#include "distributed/gradient_buckets.h"

#include <functional>

namespace t2i::distributed {
namespace {

std::int64_t bytes_of(const torch::Tensor& t) { return t.numel() * static_cast<std::int64_t>(t.element_size()); }

/// Packs each bucket of `tensors` into one flat buffer, runs `collective` on all buffers, and copies
/// the results back. Returns the bytes of the buffers.
std::int64_t bucketed(const std::vector<torch::Tensor>& tensors, std::int64_t bucket_bytes,
                      const std::function<void(std::vector<torch::Tensor>&)>& collective) {
  const auto buckets = plan_buckets(tensors, bucket_bytes);
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
                                                               std::int64_t bucket_bytes) {
  std::vector<std::pair<std::size_t, std::size_t>> buckets;
  std::int64_t filled = 0;
  for (std::size_t i = 0; i < tensors.size(); ++i) {
    const bool fits = !buckets.empty() && filled + bytes_of(tensors[i]) <= bucket_bytes &&
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

std::int64_t average_gradients(ProcessGroup& group, const std::vector<torch::Tensor>& parameters,
                               std::int64_t bucket_bytes) {
  torch::NoGradGuard no_grad;
  // Which gradients any rank has: one small collective, so every rank reduces the same set.
  std::vector<std::int32_t> flags(parameters.size(), 0);
  for (std::size_t i = 0; i < parameters.size(); ++i) flags[i] = parameters[i].grad().defined() ? 1 : 0;
  std::vector<torch::Tensor> defined{torch::tensor(flags, torch::kInt32)};
  group.allreduce_sum(defined);
  const auto any = defined[0].accessor<std::int32_t, 1>();
  std::vector<torch::Tensor> gradients;
  for (std::size_t i = 0; i < parameters.size(); ++i) {
    if (any[static_cast<std::int64_t>(i)] == 0) continue;
    torch::Tensor parameter = parameters[i];
    if (!parameter.grad().defined()) parameter.mutable_grad() = torch::zeros_like(parameter);
    gradients.push_back(parameter.grad());
  }
  const double scale = 1.0 / group.world_size();
  return bucketed(gradients, bucket_bytes, [&](std::vector<torch::Tensor>& flats) {
    group.allreduce_sum(flats);
    for (torch::Tensor& flat : flats) flat.mul_(scale);
  });
}

void broadcast_tensors(ProcessGroup& group, const std::vector<torch::Tensor>& tensors, int root,
                       std::int64_t bucket_bytes) {
  torch::NoGradGuard no_grad;
  bucketed(tensors, bucket_bytes, [&](std::vector<torch::Tensor>& flats) { group.broadcast(flats, root); });
}

} // namespace t2i::distributed
