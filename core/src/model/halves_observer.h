// An attention observer shared by the two halves of a batch that run side by side (the sampling
// denoiser's split pass): at each cross-attention layer the halves meet, the observer behind them
// sees the whole batch's probabilities in one call, as from one pass over the batch, and each half
// goes on with its rows of what that observer's replace gave back.
#pragma once

#include "model/attention_observer.h"

#include <condition_variable>
#include <map>
#include <mutex>
#include <utility>

namespace t2i::model {

class HalvesObserver {
public:
  explicit HalvesObserver(AttentionObserver& whole);
  /// The observer to hand the half that holds the batch's first rows (0) or the others (1).
  AttentionObserver& half(int index) { return halves_[index]; }
  /// A half failed: the other stops waiting for it and goes on unobserved.
  void abandon();

private:
  class Half : public AttentionObserver {
  public:
    Half(HalvesObserver& shared, int index) : shared_(shared), index_(index) {}
    void cross_attention(const void* layer, std::int64_t height, std::int64_t width,
                         const torch::Tensor& probabilities) override;
    torch::Tensor replace(const void* layer, const torch::Tensor& probabilities) override;

  private:
    HalvesObserver& shared_;
    int index_;
  };

  // One layer's call of one kind, met by both halves.
  struct Meeting {
    torch::Tensor parts[2];
    torch::Tensor replaced;  // the whole batch's, once both halves are here
  };
  enum class Call { Replace, CrossAttention };

  Meeting& meeting(const void* layer, Call call) { return meetings_[{layer, call}]; }

  AttentionObserver& whole_;
  Half halves_[2];
  std::mutex mutex_;
  std::condition_variable met_;
  std::map<std::pair<const void*, Call>, Meeting> meetings_;
  bool abandoned_ = false;
};

} // namespace t2i::model
