// Counts the floating-point operations of the convolutions and matrix products that actually run,
// by observing ATen's operator calls (RecordFunction), forward and backward alike. Element-wise
// work (norms, activations, softmax) is not counted: it is small next to these and memory-bound.
#pragma once

#include <cstdint>

namespace t2i::model {

struct FlopCount {
  double conv = 0;    ///< convolutions, forward and backward (2 per multiply-add)
  double matmul = 0;  ///< mm, addmm, bmm, baddbmm (linear layers and attention), fused attention
  double total() const { return conv + matmul; }
};

/// While alive, counts the FLOPs of the operators run by this thread (and by the autograd engine
/// on its behalf). One counter in the process at a time.
class FlopCounter {
public:
  FlopCounter();
  ~FlopCounter();
  FlopCounter(const FlopCounter&) = delete;
  FlopCounter& operator=(const FlopCounter&) = delete;

  FlopCount count() const;

private:
  FlopCount count_;
  std::uint64_t handle_ = 0;
};

} // namespace t2i::model
