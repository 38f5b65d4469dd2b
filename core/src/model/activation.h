// SiLU for the U-Net's activations, fast in bf16 on the CPU. (The SiLU after a norm runs inside the
// norm's own pass: GroupNorm's NormFollowUp.)
#pragma once

#include <torch/torch.h>

namespace t2i::model {

/// x · sigmoid(x) in x's dtype. A reduced-precision CPU input is computed in float32, forward and
/// backward: LibTorch 1.13's bf16 CPU silu took 2.5–3× and its backward 4–6× the time of float32's
/// (measured, 1 thread, 2×32×64×64 to 4×128×16×16), far more than the casts. Saves only x for the
/// backward, in its own dtype, as torch::silu does.
torch::Tensor silu(const torch::Tensor& x);

} // namespace t2i::model
