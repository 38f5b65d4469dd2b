// `t2i bench text`: T5 encoding throughput (t5-v1_1-base size, random weights).
#include "t2i/bench.h"

#include "bench/timing.h"
#include "t2i/runtime.h"
#include "text/t5_encoder.h"
#include "text/tokenizer.h"

#include <nlohmann/json.hpp>

#include <ctime>
#include <stdexcept>

namespace t2i::bench {

std::string text_json(const TextOptions& options) {
  using namespace text;  // the encoder under test
  if (options.batch < 1 || options.tokens < 1 || options.repeats < 1)
    throw std::invalid_argument("bench text: batch, tokens and repeats must be at least 1");
  const T5Config config = T5Config::v1_1_base();
  const io::TensorMap weights = random_t5_weights(config, 1234);
  // Random pieces (ids past the special ones), then </s>: the shapes of real captions.
  auto ids = torch::randint(kUnkId + 1, 32000, {options.batch, options.tokens}, torch::kInt64);
  ids.select(1, options.tokens - 1).fill_(kEosId);
  const auto mask = torch::ones({options.batch, options.tokens}, torch::kBool);

  nlohmann::json results = nlohmann::json::array();
  std::int64_t parameters = 0;
  for (const runtime::Precision precision : options.precisions) {
    const T5Model model(config, weights, "random t5-v1_1-base weights", precision);
    parameters = model.parameter_count();
    model.forward(ids, mask);  // warm-up: first-touch allocations and oneDNN primitive creation
    double best = 0, best_cpu = 0;
    for (int r = 0; r < options.repeats; ++r) {
      const auto start = Clock::now();
      const std::clock_t cpu_start = std::clock();
      model.forward(ids, mask);
      const double s = seconds_since(start);
      const double cpu = static_cast<double>(std::clock() - cpu_start) / CLOCKS_PER_SEC;
      best = r == 0 ? s : std::min(best, s);
      best_cpu = r == 0 ? cpu : std::min(best_cpu, cpu);
    }
    // CPU seconds (all threads) show the cost even when other processes share the cores.
    results.push_back({{"precision", to_string(precision)},
                       {"seconds_per_batch", best},
                       {"cpu_seconds_per_batch", best_cpu},
                       {"captions_per_s", static_cast<double>(options.batch) / best}});
  }
  // The cache holds the real tokens only, so its size follows the mean caption: COCO captions
  // average 53.5 bytes and 14.8 T5 tokens with </s> (coco-mini, 795 captions).
  const std::uint64_t per_caption = cache_record_bytes(54, options.tokens, config.d_model);
  const nlohmann::json out{{"bench", "text"},
                           {"encoder", "t5-v1_1-base, random weights"},
                           {"config", config.summary()},
                           {"parameters", parameters},
                           {"batch", options.batch},
                           {"tokens", options.tokens},
                           {"results", results},
                           {"cache_bytes_per_caption", per_caption},
                           {"cache_bytes_per_100k_captions", per_caption * 100000},
                           {"runtime", nlohmann::json::parse(runtime::to_json(runtime::report()))}};
  return out.dump();
}

} // namespace t2i::bench
