#include "model/group_norm.h"

namespace t2i::model {

int64_t norm_groups(int64_t channels) {
  for (int64_t groups = std::min<int64_t>(32, channels / 4); groups > 1; --groups)
    if (channels % groups == 0) return groups;
  return 1;
}

GroupNormImpl::GroupNormImpl(int64_t channels) : groups_(norm_groups(channels)) {
  weight_ = register_parameter("weight", torch::ones({channels}));
  bias_ = register_parameter("bias", torch::zeros({channels}));
}

torch::Tensor GroupNormImpl::forward(const torch::Tensor& x) {
  const auto dtype = x.scalar_type();
  return torch::group_norm(x, groups_, weight_.to(dtype), bias_.to(dtype), 1e-5);
}

} // namespace t2i::model
