// Records the U-Net's cross-attention during one sampling run (model::AttentionObserver) into
// what the facade's AttentionMaps (t2i/attention.h) read.
#pragma once

#include "model/attention_observer.h"
#include "t2i/attention.h"

#include <torch/torch.h>

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace t2i::sample {

struct AttentionMaps::Data {
  int images = 0;
  int image_size = 0;
  bool unconditional = false;  ///< rows images..2·images-1 hold guidance's unconditional half
  int text_positions = 0;      ///< text positions kept, from the first; the rest is summed as padding
  std::vector<AttentionLayer> layers;
  /// [step][layer]: [rows, heads, side·side, 2 + text_positions] float16 (half of float32's memory;
  /// a probability keeps 3 significant digits); per pixel the null key's share, each kept text
  /// position's share, then the rest of the text's (padding) summed.
  std::vector<std::vector<torch::Tensor>> steps;
  std::vector<std::vector<std::string>> pieces;  ///< per image, </s> last
};

class AttentionRecorder : public model::AttentionObserver {
public:
  /// For `pieces` (per image, as the model's tokenizer split each prompt, </s> last) sampled
  /// together at `image_size`.
  AttentionRecorder(std::vector<std::vector<std::string>> pieces, int image_size);

  void cross_attention(const void* layer, std::int64_t height, std::int64_t width,
                       const torch::Tensor& probabilities) override;
  /// Closes a sampling step: the passes seen since the last one (the guided batch of both
  /// halves, or each half on its own) are that step's rows.
  void end_step();

  /// What was recorded, for the facade.
  AttentionMaps maps() const;

private:
  AttentionMaps::Data data_;
  std::map<const void*, std::size_t> layer_index_;
  std::vector<std::vector<torch::Tensor>> pending_;  ///< [layer][pass] of the open step
};

} // namespace t2i::sample
