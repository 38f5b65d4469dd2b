#include "best_evaluation.h"

namespace t2i::ui {

void BestEvaluation::clear() {
  step_.reset();
  eval_.reset();
}

void BestEvaluation::setHistory(const train::History& history) {
  clear();
  if (!history.best_step) {
    for (const train::EvalMetrics& eval : history.evals) addEval(eval);
    return;
  }
  step_ = history.best_step;
  for (const train::EvalMetrics& eval : history.evals)
    if (eval.step == *step_) eval_ = eval;
}

void BestEvaluation::addEval(const train::EvalMetrics& eval) {
  if (!eval.improved) return;
  step_ = eval.step;
  eval_ = eval;
}

} // namespace t2i::ui
