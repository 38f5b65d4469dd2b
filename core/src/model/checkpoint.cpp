#include "model/checkpoint.h"

#include "model/autocast.h"

#include <ATen/core/Generator.h>

#include <mutex>

namespace t2i::model {
namespace {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

// What backward needs to replay fn exactly as forward ran it.
struct Replay : torch::CustomClassHolder {
  BlockFunction fn;
  AutocastState autocast;
  c10::optional<at::Generator> generator;
  torch::Tensor rng_state;
  std::vector<bool> needs_grad;
};

at::Generator default_generator_for(const std::vector<torch::Tensor>& inputs) {
  for (const auto& input : inputs)
    if (input.defined() && input.device().is_cuda()) return at::globalContext().defaultGenerator(input.device());
  return at::globalContext().defaultGenerator(torch::kCPU);
}

class CheckpointFunction : public torch::autograd::Function<CheckpointFunction> {
public:
  static torch::Tensor forward(AutogradContext* ctx, c10::intrusive_ptr<Replay> replay, torch::TensorList inputs) {
    auto generator = default_generator_for(inputs.vec());
    {
      std::lock_guard<std::mutex> lock(generator.mutex());
      replay->rng_state = generator.get_state();
    }
    replay->generator = generator;
    replay->autocast = AutocastState::current();
    for (const auto& input : inputs) replay->needs_grad.push_back(input.requires_grad());
    ctx->save_for_backward(inputs.vec());
    ctx->saved_data["replay"] = c10::IValue::make_capsule(replay);
    return replay->fn(inputs.vec());
  }

  static variable_list backward(AutogradContext* ctx, variable_list grad_outputs) {
    const auto replay = c10::static_intrusive_pointer_cast<Replay>(ctx->saved_data["replay"].toCapsule());
    std::vector<torch::Tensor> inputs;
    for (const auto& saved : ctx->get_saved_variables()) inputs.push_back(saved.detach());
    for (size_t i = 0; i < inputs.size(); ++i) inputs[i].requires_grad_(replay->needs_grad[i]);

    // The generator's lock is held only while swapping states: fn's dropout takes it too.
    auto& generator = *replay->generator;
    torch::Tensor current_state;
    {
      std::lock_guard<std::mutex> lock(generator.mutex());
      current_state = generator.get_state();
      generator.set_state(replay->rng_state);
    }
    torch::Tensor output;
    {
      torch::AutoGradMode grad_on(true);
      AutocastScope autocast(replay->autocast);
      output = replay->fn(inputs);
    }
    {
      std::lock_guard<std::mutex> lock(generator.mutex());
      generator.set_state(current_state);
    }
    if (output.requires_grad()) torch::autograd::backward({output}, {grad_outputs[0]});

    variable_list grads{torch::Tensor()};  // for the Replay argument
    for (const auto& input : inputs) grads.push_back(input.requires_grad() ? input.grad() : torch::Tensor());
    return grads;
  }
};

} // namespace

torch::Tensor checkpoint(const BlockFunction& fn, const std::vector<torch::Tensor>& inputs) {
  if (!torch::GradMode::is_enabled()) return fn(inputs);
  auto replay = c10::make_intrusive<Replay>();
  replay->fn = fn;
  return CheckpointFunction::apply(replay, torch::TensorList(inputs));
}

} // namespace t2i::model
