#include "data/image_pairs.h"

#include "data/data_error.h"
#include "data/image_transform.h"

#include <string>

namespace t2i::data {

torch::Tensor box_downsample(const torch::Tensor& images, int size) {
  const auto full = images.size(-1);
  if (size <= 0 || full % size != 0 || images.size(-2) != full)
    throw DataError("box downsampling: " + std::to_string(size) + " does not divide the image size " + std::to_string(full));
  const auto factor = full / size;
  return torch::nn::functional::avg_pool2d(images, torch::nn::functional::AvgPool2dFuncOptions(factor).stride(factor));
}

ImagePairs image_pairs(const PreparedDataset& data, Split split, const std::vector<std::size_t>& positions, int high_size,
                       int low_size) {
  const ImageCache& cache = data.cache(high_size);
  const std::vector<ManifestImage>& images = data.images(split);
  const auto batch = static_cast<std::int64_t>(positions.size());
  ImagePairs pairs;
  pairs.high = torch::empty({batch, 3, high_size, high_size}, torch::kFloat32);
  const std::size_t plane_floats = 3 * static_cast<std::size_t>(high_size) * static_cast<std::size_t>(high_size);
  for (std::size_t i = 0; i < positions.size(); ++i) {
    if (positions[i] >= images.size())
      throw DataError(cache.path(), "image " + std::to_string(positions[i]) + " of split " + to_string(split) + " does not exist (" +
                                        std::to_string(images.size()) + " images)");
    to_signed_unit_chw(cache.pixels(images[positions[i]].slot), high_size, high_size, false,
                       pairs.high.data_ptr<float>() + i * plane_floats);
  }
  pairs.low = box_downsample(pairs.high, low_size);
  return pairs;
}

} // namespace t2i::data
