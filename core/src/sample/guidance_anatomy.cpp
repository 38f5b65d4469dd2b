#include "sample/guidance_anatomy.h"

#include "diffusion/parameterization.h"
#include "io/atomic_file.h"
#include "io/format_version.h"
#include "sample/sampling.h"

#include <nlohmann/json.hpp>

#include <stdexcept>
#include <utility>

namespace t2i::sample {
namespace {

const io::JsonFormat kAnatomyFormat{"guidance anatomy", {1, 0}, {}};

// Per image: the root mean square of x's values, and the cosine between x and y.
torch::Tensor rms(const torch::Tensor& x) { return x.flatten(1).square().mean(1).sqrt(); }
torch::Tensor cosine(const torch::Tensor& x, const torch::Tensor& y) {
  return torch::nn::functional::cosine_similarity(x.flatten(1), y.flatten(1), torch::nn::functional::CosineSimilarityFuncOptions().dim(1));
}

} // namespace

GuidanceAnatomyRecorder::GuidanceAnatomyRecorder(diffusion::NoiseSchedule schedule, diffusion::Prediction prediction,
                                                 diffusion::Thresholding thresholding, double guidance)
    : schedule_(std::move(schedule)), prediction_(prediction), thresholding_(thresholding) {
  data_.guidance = guidance;
}

void GuidanceAnatomyRecorder::observe(const diffusion::GuidanceReport& report) {
  const double t = report.t[0].item<double>();
  const diffusion::NoiseLevel level = schedule_.level(t);
  const torch::Tensor x_t = report.x_t.to(torch::kCPU, torch::kFloat32);
  const torch::Tensor alpha = torch::scalar_tensor(level.alpha, x_t.options());
  const torch::Tensor sigma = torch::scalar_tensor(level.sigma, x_t.options());
  const auto read = [&](const torch::Tensor& output) {
    return diffusion::to_estimate(prediction_, output.to(torch::kCPU, torch::kFloat32), x_t, alpha, sigma);
  };
  const bool thresholds = thresholding_.kind != diffusion::ThresholdKind::None;
  const auto shown = [&](const torch::Tensor& x_0) { return thresholds ? diffusion::threshold(x_0, thresholding_) : x_0; };
  const diffusion::Estimate c = read(report.conditional), u = read(report.unconditional), g = read(report.guided);
  GuidanceAnatomy::Data::Step step;
  step.t = t;
  step.epsilon_conditional = c.epsilon;
  step.epsilon_unconditional = u.epsilon;
  step.epsilon_guided = g.epsilon;
  step.x0_conditional = shown(c.x_0);
  step.x0_unconditional = shown(u.x_0);
  step.x0_guided = shown(g.x_0);
  // Thresholding leaves a clipped value at ±1 (static) or ±s/s (dynamic); without it, the values
  // outside [−1, 1] are what it would clip.
  step.clipped = step.x0_guided.abs().ge(1.0f - 1e-6f).flatten(1).to(torch::kFloat64).mean(1);
  const torch::Tensor delta_max = (c.epsilon - u.epsilon).abs().flatten(1).amax(1);
  data_.delta_max = data_.delta_max.defined() ? torch::maximum(data_.delta_max, delta_max) : delta_max;
  data_.steps.push_back(std::move(step));
}

GuidanceAnatomy GuidanceAnatomyRecorder::anatomy() const { return GuidanceAnatomy(std::make_shared<const GuidanceAnatomy::Data>(data_)); }

GuidanceAnatomy::GuidanceAnatomy() = default;
GuidanceAnatomy::~GuidanceAnatomy() = default;
GuidanceAnatomy::GuidanceAnatomy(const GuidanceAnatomy&) = default;
GuidanceAnatomy& GuidanceAnatomy::operator=(const GuidanceAnatomy&) = default;
GuidanceAnatomy::GuidanceAnatomy(std::shared_ptr<const Data> data) : data_(std::move(data)) {}

bool GuidanceAnatomy::empty() const { return !data_ || data_->steps.empty(); }
int GuidanceAnatomy::images() const { return empty() ? 0 : static_cast<int>(data_->steps.front().x0_guided.size(0)); }
int GuidanceAnatomy::steps() const { return data_ ? static_cast<int>(data_->steps.size()) : 0; }
double GuidanceAnatomy::guidance() const { return data_ ? data_->guidance : 1.0; }

namespace {

void check_image(const GuidanceAnatomy& anatomy, int image) {
  if (image < 0 || image >= anatomy.images())
    throw std::out_of_range("guidance anatomy: image " + std::to_string(image) + " of " + std::to_string(anatomy.images()));
}

} // namespace

std::vector<GuidanceStep> GuidanceAnatomy::series(int image) const {
  check_image(*this, image);
  std::vector<GuidanceStep> out;
  for (std::size_t k = 0; k < data_->steps.size(); ++k) {
    const Data::Step& s = data_->steps[k];
    const torch::Tensor delta = s.epsilon_conditional[image].unsqueeze(0) - s.epsilon_unconditional[image].unsqueeze(0);
    GuidanceStep step;
    step.step = static_cast<int>(k + 1);
    step.t = s.t;
    step.delta_rms = rms(delta).item<double>();
    step.cosine = cosine(s.epsilon_conditional[image].unsqueeze(0), s.epsilon_unconditional[image].unsqueeze(0)).item<double>();
    step.clipped = s.clipped[image].item<double>();
    out.push_back(step);
  }
  return out;
}

float GuidanceAnatomy::delta_scale(int image) const {
  check_image(*this, image);
  return data_->delta_max[image].item<float>();
}

GuidanceRow GuidanceAnatomy::row(int image, int step) const {
  check_image(*this, image);
  if (step < 1 || step > steps())
    throw std::out_of_range("guidance anatomy: step " + std::to_string(step) + " of " + std::to_string(steps()));
  const Data::Step& s = data_->steps[static_cast<std::size_t>(step - 1)];
  const float scale = delta_scale(image);
  const torch::Tensor delta = s.epsilon_conditional[image] - s.epsilon_unconditional[image];
  GuidanceRow row;
  row.conditional = to_image(s.x0_conditional[image]);
  row.unconditional = to_image(s.x0_unconditional[image]);
  row.guided = to_image(s.x0_guided[image]);
  row.delta = to_image(scale > 0 ? delta / scale : delta);
  return row;
}

void write_guidance_anatomy(const std::string& path, const GuidanceAnatomy& anatomy, const std::vector<std::string>& prompts) {
  nlohmann::json document;
  io::stamp_document(kAnatomyFormat, document);
  document["guidance"] = anatomy.guidance();
  document["steps"] = anatomy.steps();
  document["delta"] = "epsilon(z, c) - epsilon(z, null), root mean square over the image";
  document["clipped"] = "share of the guided x0's values at the thresholding's bound";
  for (int image = 0; image < anatomy.images(); ++image) {
    nlohmann::json entry;
    if (static_cast<std::size_t>(image) < prompts.size()) entry["prompt"] = prompts[static_cast<std::size_t>(image)];
    for (const GuidanceStep& s : anatomy.series(image))
      entry["series"].push_back({{"step", s.step}, {"t", s.t}, {"delta_rms", s.delta_rms}, {"cosine", s.cosine}, {"clipped", s.clipped}});
    document["images"].push_back(entry);
  }
  io::write_file_atomically(path, document.dump(2) + "\n");
}

} // namespace t2i::sample
