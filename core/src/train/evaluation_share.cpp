#include "train/evaluation_share.h"

namespace t2i::train {

std::pair<std::int64_t, std::int64_t> EvaluationShare::range(std::int64_t items) const {
  if (group_ == nullptr) return {0, items};
  const std::int64_t rank = group_->rank();
  const std::int64_t world = group_->world_size();
  return {items * rank / world, items * (rank + 1) / world};
}

void EvaluationShare::sum(std::vector<double>& values) const {
  if (group_ == nullptr || values.empty()) return;
  torch::Tensor tensor = torch::tensor(values, torch::kFloat64);
  sum(tensor);
  const auto reduced = tensor.accessor<double, 1>();
  for (std::size_t i = 0; i < values.size(); ++i) values[i] = reduced[static_cast<std::int64_t>(i)];
}

void EvaluationShare::sum(torch::Tensor& tensor) const {
  if (group_ == nullptr) return;
  std::vector<torch::Tensor> tensors{tensor};
  group_->allreduce_sum(tensors);
}

} // namespace t2i::train
