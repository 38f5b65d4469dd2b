#include "sample/attention_recorder.h"

#include <algorithm>
#include <memory>
#include <stdexcept>
#include <utility>

namespace t2i::sample {

AttentionRecorder::AttentionRecorder(std::vector<std::vector<std::string>> pieces, int image_size) {
  data_.images = static_cast<int>(pieces.size());
  data_.image_size = image_size;
  for (const auto& text : pieces) data_.text_positions = std::max(data_.text_positions, static_cast<int>(text.size()));
  data_.pieces = std::move(pieces);
}

void AttentionRecorder::cross_attention(const void* layer, std::int64_t height, std::int64_t width,
                                        const torch::Tensor& probabilities) {
  const std::int64_t rows = probabilities.size(0);
  if (rows != data_.images && rows != 2 * data_.images)
    throw std::logic_error("attention recorder: a pass of " + std::to_string(rows) + " rows for " +
                           std::to_string(data_.images) + " images");
  if (height != width) throw std::logic_error("attention recorder: feature maps must be square");
  auto known = layer_index_.find(layer);
  if (known == layer_index_.end()) {
    known = layer_index_.emplace(layer, data_.layers.size()).first;
    data_.layers.push_back({static_cast<int>(height), static_cast<int>(probabilities.size(1))});
    pending_.emplace_back();
  }

  // Keys: the null key, then the text. Keep the positions some prompt has; sum the rest.
  const std::int64_t kept = std::min<std::int64_t>(data_.text_positions, probabilities.size(3) - 1);
  const torch::Tensor p = probabilities.detach().to(torch::kCPU, torch::kFloat32);
  const torch::Tensor head = p.narrow(3, 0, 1 + kept);
  const torch::Tensor rest = p.narrow(3, 1 + kept, p.size(3) - 1 - kept).sum(3, /*keepdim=*/true);
  std::vector<torch::Tensor> columns{head};
  // A text shorter than the pieces (never with the model's own tokenizer): the missing positions hold 0.
  if (kept < data_.text_positions)
    columns.push_back(torch::zeros({p.size(0), p.size(1), p.size(2), data_.text_positions - kept}, p.options()));
  columns.push_back(rest);
  pending_[known->second].push_back(torch::cat(columns, 3).to(torch::kHalf));
}

void AttentionRecorder::end_step() {
  std::vector<torch::Tensor> step;
  for (auto& passes : pending_) {
    if (passes.empty()) throw std::logic_error("attention recorder: a step in which a layer did not run");
    step.push_back(torch::cat(passes, 0));
    passes.clear();
  }
  if (step.empty()) return;
  const std::int64_t rows = step.front().size(0);
  if (rows != data_.images && rows != 2 * data_.images)
    throw std::logic_error("attention recorder: a step of " + std::to_string(rows) + " rows for " +
                           std::to_string(data_.images) + " images");
  data_.unconditional = rows == 2 * data_.images;
  data_.steps.push_back(std::move(step));
}

AttentionMaps AttentionRecorder::maps() const { return AttentionMaps(std::make_shared<const AttentionMaps::Data>(data_)); }

} // namespace t2i::sample
