#include "model/activation.h"

namespace t2i::model {
namespace {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

struct Float32Silu : torch::autograd::Function<Float32Silu> {
  static torch::Tensor forward(AutogradContext* ctx, const torch::Tensor& x) {
    ctx->save_for_backward({x});
    return torch::silu(x.to(torch::kFloat32)).to(x.scalar_type());
  }

  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    const auto x = ctx->get_saved_variables()[0];
    return {at::silu_backward(grads[0].to(torch::kFloat32), x.to(torch::kFloat32)).to(x.scalar_type())};
  }
};

} // namespace

torch::Tensor silu(const torch::Tensor& x) {
  const auto dtype = x.scalar_type();
  if (x.is_cpu() && (dtype == torch::kBFloat16 || dtype == torch::kHalf)) return Float32Silu::apply(x);
  return torch::silu(x);
}

} // namespace t2i::model
