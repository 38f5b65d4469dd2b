#include "train/data_parallel.h"

#include <array>
#include <stdexcept>

namespace t2i::train {
namespace {

// Stop reasons travel as their index here (0: keep going).
const std::array<const char*, 5> kStopReasons{"", "cancelled", "max steps", "time limit", "early stop"};

} // namespace

std::unique_ptr<DataParallel> DataParallel::from_environment(const torch::Device& device, std::chrono::seconds timeout) {
  auto environment = distributed::environment_from_env();
  if (!environment) return nullptr;
  environment->timeout = timeout;
  const torch::Device own = distributed::rank_device(device, environment->local_rank);
  return std::make_unique<DataParallel>(std::make_unique<distributed::ProcessGroup>(*environment, own), own);
}

std::pair<std::int64_t, std::int64_t> DataParallel::shard(std::int64_t batch) const {
  if (batch % world_size() != 0)
    throw std::runtime_error("the global batch of " + std::to_string(batch) + " does not split evenly over " +
                             std::to_string(world_size()) + " processes: choose a process count that divides it");
  const std::int64_t size = batch / world_size();
  return {rank() * size, (rank() + 1) * size};
}

void DataParallel::before_data() {
  if (group_->local_rank() != 0) group_->barrier();
}

void DataParallel::after_data() {
  if (group_->local_rank() == 0) group_->barrier();
  // Preparing a cache that exists may still rewrite files (the demo dataset is written again): no
  // rank opens the data before every rank has prepared it.
  group_->barrier();
}

void DataParallel::broadcast(const std::vector<torch::Tensor>& tensors) { distributed::broadcast_tensors(*group_, tensors); }

void DataParallel::share_gradients_of(std::vector<torch::Tensor> parameters, bool overlap) {
  reducer_ = std::make_unique<distributed::GradientReducer>(*group_, std::move(parameters), overlap);
}

double DataParallel::average(double shard_loss, double shard_seconds) {
  bytes_last_step_ = reducer_->finish();
  // [loss, seconds of rank 0, seconds of rank 1, …]: every rank adds its loss and fills its own
  // time slot, so one small all-reduce carries both.
  std::vector<torch::Tensor> shared{torch::zeros({1 + world_size()}, torch::kFloat64)};
  auto values = shared[0].accessor<double, 1>();
  values[0] = shard_loss;
  values[1 + rank()] = shard_seconds;
  group_->allreduce_sum(shared);
  const auto reduced = shared[0].accessor<double, 1>();
  rank_seconds_last_step_.assign(reduced.data() + 1, reduced.data() + 1 + world_size());
  return reduced[0] / world_size();
}

std::optional<std::string> DataParallel::agree_stop(const std::optional<std::string>& lead_reason, bool cancelled) {
  std::int64_t code = 0;
  if (rank() == 0 && lead_reason) {
    for (std::size_t i = 1; i < kStopReasons.size(); ++i)
      if (*lead_reason == kStopReasons[i]) code = static_cast<std::int64_t>(i);
    if (code == 0) throw std::logic_error("unknown stop reason " + *lead_reason);
  }
  std::vector<torch::Tensor> votes{torch::tensor({code, std::int64_t{cancelled ? 1 : 0}})};
  group_->allreduce_sum(votes);
  if (votes[0][1].item<std::int64_t>() > 0) return std::string("cancelled");
  const std::int64_t agreed = votes[0][0].item<std::int64_t>();
  if (agreed == 0) return std::nullopt;
  return std::string(kStopReasons[static_cast<std::size_t>(agreed)]);
}

} // namespace t2i::train
