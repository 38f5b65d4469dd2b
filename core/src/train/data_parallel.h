// The trainer's side of data-parallel training (issue 23): which part of each global batch this
// rank trains on, what it shares with the other ranks, and who decides when the run stops.
#pragma once

#include "distributed/gradient_buckets.h"
#include "distributed/process_group.h"
#include "train/evaluation_share.h"

#include <torch/torch.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace t2i::train {

class DataParallel {
public:
  /// The group torchrun's (or `t2i train --nproc`'s) environment describes, for a run asked to
  /// train on `device`; nothing for one process.
  static std::unique_ptr<DataParallel> from_environment(const torch::Device& device, std::chrono::seconds timeout);

  DataParallel(std::unique_ptr<distributed::ProcessGroup> group, const torch::Device& device)
      : group_(std::move(group)), device_(device) {}

  int rank() const { return group_->rank(); }
  /// Where this rank trains: the device asked for, a CUDA one narrowed to this rank's GPU.
  const torch::Device& device() const { return device_; }
  int world_size() const { return group_->world_size(); }

  /// [first, last) of a global batch of `batch` samples that this rank trains on: contiguous
  /// equal shards in rank order, so the ranks' union is the batch a single process would train on.
  std::pair<std::int64_t, std::int64_t> shard(std::int64_t batch) const;

  /// The data cache is built by local rank 0 first; the other ranks of its machine wait for it
  /// before preparing (then finding it built), and all wait for all before opening it.
  void before_data();
  void after_data();

  /// Rank 0's values, in place, on every rank (weights at start and on resume).
  void broadcast(const std::vector<torch::Tensor>& tensors);

  /// The parameters whose gradients average() averages; `overlap`: share each bucket of them while
  /// the last backward of a step still runs (off under activation checkpointing).
  void share_gradients_of(std::vector<torch::Tensor> parameters, bool overlap);

  /// Just before the backward that completes a step's gradients.
  void arm() { reducer_->arm(); }

  /// Averages the gradients and the shard losses over the ranks: the global batch's gradient and
  /// loss. Returns the mean loss. `shard_seconds`, this rank's time computing its shard, travels
  /// in the same all-reduce to every rank (rank_seconds_last_step()).
  double average(double shard_loss, double shard_seconds);

  /// Each rank's shard_seconds of the last step, by rank.
  const std::vector<double>& rank_seconds_last_step() const { return rank_seconds_last_step_; }

  /// Gradient bytes this rank all-reduced in its last step, and how many of them while backward ran.
  const distributed::GradientReducer::Bytes& bytes_last_step() const { return bytes_last_step_; }

  /// This rank's part in evaluations that every rank computes a share of.
  EvaluationShare evaluation_share() const { return EvaluationShare(*group_); }

  /// One decision for all ranks: rank 0's reason to stop (its clock, its evaluations), or
  /// "cancelled" when any rank was cancelled.
  std::optional<std::string> agree_stop(const std::optional<std::string>& lead_reason, bool cancelled);

private:
  std::unique_ptr<distributed::ProcessGroup> group_;
  torch::Device device_;
  std::unique_ptr<distributed::GradientReducer> reducer_;
  distributed::GradientReducer::Bytes bytes_last_step_;
  std::vector<double> rank_seconds_last_step_;
};

} // namespace t2i::train
