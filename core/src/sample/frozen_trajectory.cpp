// One frozen trajectory (x_T and every noise draw fixed by the seed, diffusion/seeded_noise.h)
// seen two ways: at several guidance scales in one batch, and with one word of the prompt swapped
// (optionally with the first prompt's cross-attention injected, Prompt-to-Prompt).
#include "sample/generator_impl.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdlib>
#include <stdexcept>
#include <string>

namespace t2i::sample {
namespace {

bool word_character(char c) { return std::isalnum(static_cast<unsigned char>(c)) != 0 || (c & 0x80) != 0; }

// `prompt` with every whole-word occurrence of `from` replaced by `to`; throws when there is none.
std::string swap_whole_word(const std::string& prompt, const std::string& from, const std::string& to) {
  if (from.empty() || to.empty()) throw std::invalid_argument("word swap: give a word and its replacement (e.g. red=blue)");
  std::string out;
  bool found = false;
  std::size_t at = 0;
  for (std::size_t hit = prompt.find(from); hit != std::string::npos; hit = prompt.find(from, hit + 1)) {
    const std::size_t end = hit + from.size();
    const bool whole = (hit == 0 || !word_character(prompt[hit - 1])) && (end == prompt.size() || !word_character(prompt[end]));
    if (!whole || hit < at) continue;
    out += prompt.substr(at, hit - at) + to;
    at = end;
    found = true;
  }
  if (!found) throw std::invalid_argument("word swap: \"" + from + "\" is not a word of the prompt \"" + prompt + "\"");
  return out + prompt.substr(at);
}

bool same_word(const std::string& a, const std::string& b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
         });
}

// The index of `word` among the words of the maps' only image, or −1.
int word_index(const AttentionMaps& maps, const std::string& word) {
  const auto words = maps.words(0);
  const auto hit = std::find_if(words.begin(), words.end(), [&](const AttentionWord& w) { return same_word(w.text, word); });
  return hit == words.end() ? -1 : static_cast<int>(hit - words.begin());
}

// |a − b| per channel.
Image difference(const Image& a, const Image& b) {
  Image out(a.width, a.height);
  for (std::size_t i = 0; i < out.rgb.size(); ++i)
    out.rgb[i] = static_cast<std::uint8_t>(std::abs(static_cast<int>(a.rgb[i]) - static_cast<int>(b.rgb[i])));
  return out;
}

void check_one_prompt(const Request& request, const char* what) {
  if (request.prompts.size() != 1 || request.seeds.size() != 1)
    throw std::invalid_argument(std::string(what) + ": give one prompt and one seed (" + std::to_string(request.prompts.size()) +
                                " prompts, " + std::to_string(request.seeds.size()) + " seeds)");
}

} // namespace

std::vector<int> evenly_spaced_steps(int total, int count) {
  if (total < 1 || count < 1) throw std::invalid_argument("evenly spaced steps: need a positive total and count");
  std::vector<int> steps;
  for (int i = 1; i <= std::min(count, total); ++i) {
    const int step = static_cast<int>(std::lround(static_cast<double>(i) * total / std::min(count, total)));
    if (steps.empty() || step > steps.back()) steps.push_back(step);
  }
  return steps;
}

TrajectoryGrid scale_step_grid(Generator& generator, const Request& request, const std::vector<double>& scales,
                               const std::vector<int>& steps, const job::Context& job) {
  check_one_prompt(request, "scale x step grid");
  if (scales.empty() || steps.empty()) throw std::invalid_argument("scale x step grid: give at least one scale and one step");
  for (const int step : steps)
    if (step < 1 || step > request.steps)
      throw std::invalid_argument("scale x step grid: step " + std::to_string(step) + " is not one of the " +
                                  std::to_string(request.steps) + " sampling steps");
  Request batch = request;
  batch.prompts.assign(scales.size(), request.prompts.front());
  batch.seeds.assign(scales.size(), request.seeds.front());
  batch.scales = scales;

  TrajectoryGrid grid;
  grid.scales = scales;
  grid.steps = steps;
  grid.x0_pred.assign(scales.size(), std::vector<Image>(steps.size()));
  grid.x_t.assign(scales.size(), std::vector<Image>(steps.size()));
  const auto on_step = [&](const StepView& view) {
    for (std::size_t column = 0; column < steps.size(); ++column) {
      if (steps[column] != view.step) continue;
      for (std::size_t row = 0; row < scales.size(); ++row) {
        grid.x0_pred[row][column] = view.x0_pred[row];
        grid.x_t[row][column] = view.x_t[row];
      }
    }
  };
  grid.images = generator.generate(batch, job, on_step);
  return grid;
}

WordSwapResult Generator::swap_word(const Request& request, const WordSwap& swap, const job::Context& job) {
  check_one_prompt(request, "word swap");
  if (!(swap.inject >= 0 && swap.inject <= 1)) throw std::invalid_argument("word swap: the injected fraction must be in [0, 1]");
  WordSwapResult result;
  result.prompt_a = request.prompts.front();
  result.prompt_b = swap_whole_word(result.prompt_a, swap.from, swap.to);
  // Prompt-to-Prompt's replacement: the first ⌊f·N⌋ steps (Hertz et al. 2022, cross_replace_steps).
  result.injected_steps = static_cast<int>(std::floor(swap.inject * request.steps + 1e-9));
  if (result.injected_steps > 0) {
    const auto pieces = impl_->pieces({result.prompt_a, result.prompt_b});
    if (pieces[0].size() != pieces[1].size())
      throw std::invalid_argument("word swap: injecting attention needs prompts of as many text pieces, but \"" +
                                  result.prompt_a + "\" has " + std::to_string(pieces[0].size()) + " and \"" +
                                  result.prompt_b + "\" has " + std::to_string(pieces[1].size()));
  }

  AttentionInjection injection(1);
  Request b = request;
  b.prompts = {result.prompt_b};
  Probes probes_a, probes_b;
  probes_a.attention = &result.maps_a;
  probes_b.attention = &result.maps_b;
  const auto a_images = impl_->run(request, job, {}, probes_a, result.injected_steps > 0 ? &injection : nullptr);
  if (a_images.empty()) return result;
  injection.inject_first(result.injected_steps);
  const auto b_images = impl_->run(b, job, {}, probes_b, result.injected_steps > 0 ? &injection : nullptr);
  if (b_images.empty()) return result;
  result.a = a_images.front();
  result.b = b_images.front();
  result.difference = difference(result.a, result.b);
  result.word_a = word_index(result.maps_a, swap.from);
  result.word_b = word_index(result.maps_b, swap.to);
  return result;
}

} // namespace t2i::sample
