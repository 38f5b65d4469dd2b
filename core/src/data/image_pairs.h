// Training pairs of a super-resolution stage: each image at the stage's output size, and the same
// image at the input size made from it by ONE downsampling, the box average (an antialiased
// area average over each f × f block, f = high/low). Made from the high-resolution image rather
// than read from the low-resolution cache, so the low-resolution input is exactly the high-
// resolution target degraded by a known operator: the pair is consistent by construction, and
// the stage learns to invert that operator (Imagen trains its stages on downsampled images too).
#pragma once

#include "data/prepared_dataset.h"

#include <torch/torch.h>

#include <cstddef>
#include <vector>

namespace t2i::data {

/// x_low[c, i, j] = mean of x[c, f·i + u, f·j + v] over u, v < f  (area downsampling, f = S/size).
/// images [B, C, S, S] → [B, C, size, size]. Throws DataError unless `size` divides S.
torch::Tensor box_downsample(const torch::Tensor& images, int size);

struct ImagePairs {
  torch::Tensor high;  ///< [B, 3, H, H] float32 in [−1, 1], from the cache at H
  torch::Tensor low;   ///< [B, 3, L, L]: box_downsample(high, L)
};

/// The images at `positions` of `split` (positions in PreparedDataset::images(split), as
/// Batch::image_index holds them) as pairs, in the order given. Throws DataError when the dataset
/// has no cache at `high_size`, L does not divide H, or a position is out of range.
ImagePairs image_pairs(const PreparedDataset& data, Split split, const std::vector<std::size_t>& positions, int high_size,
                       int low_size);

} // namespace t2i::data
