// `t2i bench fid`: how fast Inception features come on this machine, in both fp32 memory layouts,
// and what statistics + FID + KID cost at a typical evaluation size.
#include "t2i/bench.h"

#include "bench/timing.h"
#include "eval/fid.h"
#include "eval/fid_evaluator.h"
#include "eval/inception.h"
#include "io/device.h"
#include "t2i/runtime.h"

#include <nlohmann/json.hpp>

#include <limits>
#include <stdexcept>

namespace t2i::bench {

std::string fid_json(const FidOptions& o) {
  using namespace eval;  // the network and the distances under test
  if (o.batch_size < 1 || o.batches < 1 || o.image_size < 1 || o.samples < 2)
    throw std::invalid_argument("bench fid: batch, batches and image size must be positive, samples at least 2");
  const torch::Device device = io::parse_device(o.device);
  FidInception network(random_inception_weights(0), "random weights", device);
  torch::manual_seed(0);
  const torch::Tensor images = torch::randint(0, 256, {o.batch_size, 3, o.image_size, o.image_size}, torch::kUInt8);

  nlohmann::json layouts = nlohmann::json::object();
  torch::Tensor reference;
  double max_relative_difference = 0;
  double best_rate = 0;
  for (const bool channels_last : {false, true}) {
    network.set_channels_last(channels_last);
    torch::Tensor features = network.features(images);  // warm-up: oneDNN primitive creation
    double best = std::numeric_limits<double>::infinity();
    for (std::int64_t i = 0; i < o.batches; ++i) {
      const auto start = Clock::now();
      features = network.features(images);
      if (device.is_cuda()) torch::cuda::synchronize();
      best = std::min(best, seconds_since(start));
    }
    const double rate = static_cast<double>(o.batch_size) / best;
    best_rate = std::max(best_rate, rate);
    layouts[channels_last ? "channels_last" : "nchw"] = {{"seconds_per_batch", best}, {"images_per_second", rate}};
    if (!reference.defined()) reference = features;
    else
      max_relative_difference =
          ((features - reference).abs().max() / reference.abs().max().clamp_min(1e-30)).item<double>();
  }

  // Features shaped like pool3's: non-negative, sparse-ish, correlated through a shared component.
  const torch::Tensor base = torch::randn({1, kInceptionFeatures});
  const torch::Tensor a = torch::relu(torch::randn({o.samples, kInceptionFeatures}) + base);
  const torch::Tensor b = torch::relu(torch::randn({o.samples, kInceptionFeatures}) + base + 0.1);
  auto start = Clock::now();
  const Statistics sa = compute_statistics(a);
  const Statistics sb = compute_statistics(b);
  const double statistics_seconds = seconds_since(start);
  start = Clock::now();
  const double fid_value = frechet_distance(sa.mu, sa.sigma, sb.mu, sb.sigma);
  const double fid_seconds = seconds_since(start);
  start = Clock::now();
  const KidResult kid_value = kid(a, b);
  const double kid_seconds = seconds_since(start);
  const double extraction = 2.0 * static_cast<double>(o.samples) / best_rate;

  nlohmann::json j{{"benchmark", "fid"},
                   {"device", device.str()},
                   {"weights", "random (standard layout)"},
                   {"precision", "fp32"},
                   {"batch", o.batch_size},
                   {"input_size", o.image_size},
                   {"layouts", layouts},
                   {"default_layout", "channels_last"},
                   {"layout_max_relative_difference", max_relative_difference},
                   {"samples_per_side", o.samples},
                   {"statistics_seconds", statistics_seconds},
                   {"fid_seconds", fid_seconds},
                   {"fid_value", fid_value},
                   {"kid_seconds", kid_seconds},
                   {"kid_subsets", kid_value.subsets},
                   {"kid_subset_size", kid_value.subset_size},
                   {"fid_from_images_seconds_extrapolated",
                    {{"extraction", extraction},
                     {"statistics_and_fid", statistics_seconds + fid_seconds},
                     {"total", extraction + statistics_seconds + fid_seconds}}}};
  j["runtime"] = nlohmann::json::parse(runtime::to_json(runtime::report()));
  return j.dump();
}

} // namespace t2i::bench
