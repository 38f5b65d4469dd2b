#include "train/adamw.h"

#include <cmath>
#include <map>
#include <stdexcept>

namespace t2i::train {

AdamW::AdamW(std::vector<std::pair<std::string, torch::Tensor>> named_parameters, AdamWOptions options)
    : options_(options) {
  for (auto& [name, param] : named_parameters) {
    slots_.push_back({name, param, torch::zeros_like(param, torch::MemoryFormat::Preserve),
                      torch::zeros_like(param, torch::MemoryFormat::Preserve)});
  }
}

void AdamW::step(double lr) {
  torch::NoGradGuard no_grad;
  ++steps_;
  const double t = static_cast<double>(steps_);
  const double bias1 = 1.0 - std::pow(options_.beta1, t);
  const double bias2 = 1.0 - std::pow(options_.beta2, t);
  const double step_size = lr / bias1;
  const double bias2_sqrt = std::sqrt(bias2);
  for (Slot& s : slots_) {
    const torch::Tensor& grad = s.param.grad();
    if (!grad.defined()) continue;
    if (options_.weight_decay != 0.0) s.param.mul_(1.0 - lr * options_.weight_decay);
    s.exp_avg.mul_(options_.beta1).add_(grad, 1.0 - options_.beta1);                  // m_t
    s.exp_avg_sq.mul_(options_.beta2).addcmul_(grad, grad, 1.0 - options_.beta2);      // v_t
    const torch::Tensor denom = (s.exp_avg_sq.sqrt() / bias2_sqrt).add_(options_.eps); // √v̂_t + ε
    s.param.addcdiv_(s.exp_avg, denom, -step_size);                                    // θ −= lr·m̂/(√v̂+ε)
  }
}

void AdamW::zero_grad() {
  for (Slot& s : slots_) {
    if (s.param.grad().defined()) s.param.mutable_grad() = torch::Tensor();
  }
}

std::vector<std::pair<std::string, torch::Tensor>> AdamW::state() const {
  std::vector<std::pair<std::string, torch::Tensor>> out;
  for (const Slot& s : slots_) {
    out.emplace_back("exp_avg/" + s.name, s.exp_avg);
    out.emplace_back("exp_avg_sq/" + s.name, s.exp_avg_sq);
  }
  return out;
}

void AdamW::load_state(const std::vector<std::pair<std::string, torch::Tensor>>& state, int64_t steps) {
  std::map<std::string, torch::Tensor> by_name(state.begin(), state.end());
  torch::NoGradGuard no_grad;
  for (Slot& s : slots_) {
    for (auto* target : {&s.exp_avg, &s.exp_avg_sq}) {
      const std::string key = (target == &s.exp_avg ? "exp_avg/" : "exp_avg_sq/") + s.name;
      auto it = by_name.find(key);
      if (it == by_name.end()) throw std::runtime_error("optimizer state has no " + key);
      if (!it->second.sizes().equals(target->sizes()))
        throw std::runtime_error("optimizer state " + key + " has the wrong shape");
      target->copy_(it->second);
    }
  }
  steps_ = steps;
}

} // namespace t2i::train
