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
  /// [step][layer]: [rows, heads, side·side, 2 + text_positions] float32; per pixel the null key's
  /// share, each kept text position's share, then the rest of the text's (padding) summed.
  std::vector<std::vector<torch::Tensor>> steps;
  std::vector<std::vector<std::string>> pieces;  ///< per image, </s> last
};

class AttentionRecorder : public model::AttentionObserver {
public:
  /// For `pieces` (per image, as the model's tokenizer split each prompt, </s> last) sampled
  /// together at `image_size`.
  AttentionRecorder(std::vector<std::vector<std::string>> pieces, int image_size);

  /// Every forward pass is one sampling step: a pass starts when the first layer comes again.
  void cross_attention(const void* layer, std::int64_t height, std::int64_t width,
                       const torch::Tensor& probabilities) override;

  /// What was recorded, for the facade.
  AttentionMaps maps() const;

private:
  AttentionMaps::Data data_;
  std::map<const void*, std::size_t> layer_index_;
};

} // namespace t2i::sample
