#include "model/low_res.h"

namespace t2i::model {

torch::Tensor upsample_low_res(const torch::Tensor& low_res, int64_t size) {
  namespace F = torch::nn::functional;
  const auto enlarged = F::interpolate(low_res.to(torch::kFloat32), F::InterpolateFuncOptions()
                                                                         .size(std::vector<int64_t>{size, size})
                                                                         .mode(torch::kBicubic)
                                                                         .align_corners(false));
  return enlarged.clamp(-1.0, 1.0).to(low_res.scalar_type());
}

} // namespace t2i::model
