// Cross-attention token maps of a generation: where in the image each word of the prompt was
// attended to, per denoising step, feature-map resolution, layer and head, for both halves of
// classifier-free guidance. Recorded by Generator::generate on request. Plain C++ only.
#pragma once

#include "t2i/image.h"

#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace t2i::sample {

/// How a map's values are scaled.
enum class AttentionNormalisation {
  Global,    ///< the share of each pixel's attention the word receives (comparable across words)
  PerToken,  ///< stretched to [0, 1] per map (shows the shape; hides how strong it is)
};

/// Which recorded attention a view averages over; an empty field means "all of them".
struct AttentionSelection {
  int image = 0;                  ///< which image of the generation
  std::optional<int> step;        ///< 1-based sampling step; none = every step (DAAM's aggregate)
  std::optional<int> resolution;  ///< feature-map side (e.g. 16 or 8 at 64×64)
  std::optional<int> layer;       ///< index among the U-Net's cross-attention layers, in pass order
  std::optional<int> head;        ///< one head; none = the mean over heads
  bool conditional = true;        ///< the conditional half of guidance, or the unconditional one
};

/// A word of the prompt and the positions of its pieces in the text.
struct AttentionWord {
  std::string text;
  std::vector<int> pieces;
};

/// Values in row-major order at the generated image's size.
struct Heatmap {
  int width = 0, height = 0;
  std::vector<float> values;
  float max = 0;  ///< the largest value (the legend's top)
};

/// Where the selected attention went, as shares of all of it (they sum to 1).
struct AttentionShares {
  double words = 0;      ///< the prompt's pieces
  double end_token = 0;  ///< </s>
  double null_key = 0;   ///< the learned "no word" key every pixel may attend to
  double padding = 0;    ///< padding positions (masked: 0 unless the mask is broken)
};

/// One cross-attention layer of the U-Net.
struct AttentionLayer {
  int side = 0;   ///< its feature map is side × side
  int heads = 0;
};

class AttentionMaps {
public:
  AttentionMaps();
  ~AttentionMaps();
  AttentionMaps(const AttentionMaps&);
  AttentionMaps& operator=(const AttentionMaps&);

  bool empty() const;
  int images() const;
  int steps() const;
  int image_size() const;
  bool has_unconditional() const;  ///< false when guidance was 1 (only the conditional half ran)
  const std::vector<AttentionLayer>& layers() const;
  std::vector<int> resolutions() const;  ///< the distinct layer sides, largest first
  /// The text's pieces as the tokenizer split it, "</s>" last.
  const std::vector<std::string>& pieces(int image) const;
  /// The prompt's words ("▁" starts a word), each with its pieces; </s> is not a word.
  std::vector<AttentionWord> words(int image) const;
  /// The mean map of `pieces` (positions in the text) over the selection: per layer the map is
  /// upsampled bicubically to the image size, then averaged (DAAM, Tang 2022).
  Heatmap map(const AttentionSelection& selection, const std::vector<int>& pieces,
              AttentionNormalisation normalisation = AttentionNormalisation::Global) const;
  AttentionShares shares(const AttentionSelection& selection) const;
  std::size_t bytes() const;  ///< memory the recorded probabilities take

  struct Data;
  explicit AttentionMaps(std::shared_ptr<const Data> data);

private:
  std::shared_ptr<const Data> data_;
};

/// Writes the maps of image `image` into `folder` (created): <word>.png for every word of the
/// prompt, the map over all steps laid over `base` (the generated image, enlarged to at least
/// 256 pixels), all in one colour scale (its top is "legend_max" in the index); index.json naming the
/// files, the steps, pieces, words, layers and where attention went (words, </s>, null key,
/// padding) overall and per step; with `per_step`, step_NNN/<word>.png for every step too.
/// Returns the files written. Throws naming the file and the problem.
std::vector<std::string> write_attention_maps(const std::string& folder, const AttentionMaps& maps, int image,
                                              const Image& base, bool per_step);

/// `base` with `map` laid over it in a heat colour map (black → red → yellow → white for 0 →
/// `legend_max`), `opacity` in [0, 1]. The map is read at the nearest point when sizes differ.
Image heat_overlay(const Image& base, const Heatmap& map, double opacity, float legend_max);

} // namespace t2i::sample
