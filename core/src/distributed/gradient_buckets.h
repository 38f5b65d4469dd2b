// The one piece of PyTorch's DDP that c10d does not export usable from Debian's headers
// (c10d::Reducer includes distributed/autograd, which Debian does not ship): tensors packed into
// ~25 MiB flat buffers so a step sends a few large messages instead of one per parameter.
#pragma once

#include "distributed/process_group.h"

#include <torch/torch.h>

#include <cstdint>
#include <vector>

namespace t2i::distributed {

constexpr std::int64_t kBucketBytes = std::int64_t{25} << 20;  ///< DDP's default bucket_cap_mb

/// Consecutive tensors of one dtype and device, at most `bucket_bytes` together (a larger tensor
/// alone): the index ranges [first, last) of `tensors` that share a flat buffer.
std::vector<std::pair<std::size_t, std::size_t>> plan_buckets(const std::vector<torch::Tensor>& tensors,
                                                               std::int64_t bucket_bytes);

/// Replaces every rank's gradients by their mean over the group. A gradient no rank computed stays
/// undefined (AdamW then skips its parameter, as in one process); one that only some ranks computed
/// counts as zero on the others. Returns the bytes all-reduced.
std::int64_t average_gradients(ProcessGroup& group, const std::vector<torch::Tensor>& parameters,
                               std::int64_t bucket_bytes = kBucketBytes);

/// Copies rank `root`'s values of `tensors` into every rank's, in place, bucketed.
void broadcast_tensors(ProcessGroup& group, const std::vector<torch::Tensor>& tensors, int root = 0,
                       std::int64_t bucket_bytes = kBucketBytes);

} // namespace t2i::distributed
