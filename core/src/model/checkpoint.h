// Activation (gradient) checkpointing: run a block without keeping its intermediate activations
// and recompute them during backward (Chen et al. 2016). LibTorch's C++ API has no
// torch.utils.checkpoint, so this is the reentrant variant written as a custom autograd Function.
#pragma once

#include <torch/torch.h>

#include <functional>
#include <vector>

namespace t2i::model {

using BlockFunction = std::function<torch::Tensor(const std::vector<torch::Tensor>& inputs)>;

/// Returns fn(inputs). In grad mode only the inputs are kept (at least one must require grad, as
/// with PyTorch's reentrant checkpoint, or autograd records nothing); backward reruns fn under the
/// same autocast and random-number state (dropout draws the same masks) and backpropagates
/// through the rerun.
/// Parameters captured by fn receive their gradients during that rerun, so use it with
/// `loss.backward()` (gradients accumulated in .grad), not with torch::autograd::grad.
torch::Tensor checkpoint(const BlockFunction& fn, const std::vector<torch::Tensor>& inputs);

} // namespace t2i::model
