// The one piece of PyTorch's DDP that c10d does not export usable from Debian's headers
// (c10d::Reducer includes distributed/autograd, which Debian does not ship): tensors packed into
// ~25 MiB flat buffers so a step sends a few large messages instead of one per parameter, and
// gradient buckets all-reduced while backward still computes the others.
#pragma once

#include "distributed/process_group.h"

#include <torch/torch.h>

#include <cstdint>
#include <memory>
#include <utility>
#include <vector>

namespace t2i::distributed {

constexpr std::int64_t kBucketBytes = std::int64_t{25} << 20;  ///< DDP's default bucket_cap_mb
/// DDP's first bucket: small, so communication starts early in backward.
constexpr std::int64_t kFirstBucketBytes = std::int64_t{1} << 20;

/// Consecutive tensors of one dtype and device, at most `bucket_bytes` together (the first bucket
/// at most `first_bucket_bytes`; a larger tensor alone): the index ranges [first, last) of
/// `tensors` that share a flat buffer.
std::vector<std::pair<std::size_t, std::size_t>> plan_buckets(const std::vector<torch::Tensor>& tensors,
                                                               std::int64_t bucket_bytes,
                                                               std::int64_t first_bucket_bytes);

/// Averages the gradients of `parameters` over the group, overlapping communication with backward
/// as DDP's Reducer does: a post-hook on each parameter's gradient accumulator marks it ready in
/// the armed backward (the last micro-batch of an accumulation; the others communicate nothing),
/// and a bucket whose gradients are all ready starts its all-reduce at once, in bucket order so
/// every rank issues the same collectives in the same order. Buckets hold the parameters in
/// reverse order, the order backward produces their gradients.
class GradientReducer {
public:
  /// `overlap` false: every bucket starts in finish() (activation checkpointing runs backward
  /// again inside backward, so a gradient may be accumulated more than once per step).
  GradientReducer(ProcessGroup& group, std::vector<torch::Tensor> parameters, bool overlap,
                  std::int64_t bucket_bytes = kBucketBytes, std::int64_t first_bucket_bytes = kFirstBucketBytes);
  ~GradientReducer();
  GradientReducer(const GradientReducer&) = delete;
  GradientReducer& operator=(const GradientReducer&) = delete;

  /// The next backward completes this step's gradients.
  void arm();
  /// Starts the buckets not started yet, waits for all and replaces every rank's gradients by
  /// their mean. A gradient no rank computed stays undefined (AdamW then skips its parameter, as in
  /// one process); one that only some ranks computed counts as zero on the others.
  struct Bytes {
    std::int64_t total = 0;       ///< all-reduced this step
    std::int64_t overlapped = 0;  ///< of which started while backward was still running
  };
  Bytes finish();

private:
  struct Bucket {
    std::vector<std::size_t> parameters;  ///< indices into parameters_
    torch::Tensor flat;
    std::size_t pending = 0;               ///< gradients not ready yet in the armed backward
  };
  void ready(std::size_t parameter);
  void start(Bucket& bucket);

  ProcessGroup& group_;
  std::vector<torch::Tensor> parameters_;
  std::vector<Bucket> buckets_;
  std::vector<std::size_t> bucket_of_;
  std::size_t next_ = 0;  ///< the first bucket not started
  bool armed_ = false;
  std::int64_t overlapped_ = 0;
  /// The accumulators hold the hooks; holding them keeps autograd from making new ones.
  std::vector<std::pair<std::shared_ptr<torch::autograd::Node>, std::uintptr_t>> hooks_;
};

/// Copies rank `root`'s values of `tensors` into every rank's, in place, bucketed.
void broadcast_tensors(ProcessGroup& group, const std::vector<torch::Tensor>& tensors, int root = 0,
                       std::int64_t bucket_bytes = kBucketBytes);

} // namespace t2i::distributed
