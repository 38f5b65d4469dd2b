// The sampling facade's Generator inside: its model and one run of it, shared by generate() and
// the word swap (word_swap.cpp), which adds an attention injection.
#pragma once

#include "sample/attention_injection.h"
#include "sample/text_to_image_model.h"
#include "t2i/sample.h"

#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace t2i::sample {

struct Generator::Impl {
  std::unique_ptr<TextToImageModel> model;
  ModelInfo info;

  /// Generator::generate, with `injection` (optional) in the cross-attention: it sees every layer
  /// first and hands the recorder of `probes` what the layer used.
  std::vector<Image> run(const Request& request, const job::Context& job,
                         const std::function<void(const StepView&)>& on_step, const Probes& probes,
                         AttentionInjection* injection);
  /// Each prompt's pieces as the model reads them, </s> last.
  std::vector<std::vector<std::string>> pieces(const std::vector<std::string>& prompts) const;
};

} // namespace t2i::sample
