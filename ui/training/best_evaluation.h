// What the Train page names as a run's best: the step best.safetensors holds, with the evaluation
// made at that step. The page never judges evaluations itself, so it agrees with the trainer's
// selection rule (validation P2, or P2 and FID) and with the file the other pages sample from.
#pragma once

#include "t2i/runs.h"

#include <cstdint>
#include <optional>

namespace t2i::ui {

class BestEvaluation {
public:
  void clear();
  /// A finished run: the step its best.safetensors holds, with that step's evaluation. Without a
  /// readable best.safetensors, the last evaluation the trainer marked `improved`.
  void setHistory(const train::History& history);
  /// A live evaluation: the trainer writes best.safetensors at each one it marks `improved`.
  void addEval(const train::EvalMetrics& eval);

  const std::optional<std::int64_t>& step() const { return step_; }
  /// The evaluation made at step(), when the run's metrics hold it.
  const std::optional<train::EvalMetrics>& eval() const { return eval_; }

private:
  std::optional<std::int64_t> step_;
  std::optional<train::EvalMetrics> eval_;
};

} // namespace t2i::ui
