// The facade's view of schedules for the Schedules page: curves to plot and noised images.
#include "t2i/diffusion.h"

#include "diffusion/forward_process.h"
#include "diffusion/loss.h"
#include "diffusion/schedule.h"
#include "diffusion/seeded_noise.h"

#include <stdexcept>
#include <string>

namespace t2i::diffusion {
namespace {

std::vector<double> to_vector(const torch::Tensor& values) {
  const torch::Tensor contiguous = values.to(torch::kFloat64).contiguous();
  return {contiguous.data_ptr<double>(), contiguous.data_ptr<double>() + contiguous.numel()};
}

} // namespace

ScheduleCurves schedule_curves(const ScheduleSpec& spec, double p2_k, double p2_gamma, int points) {
  const NoiseSchedule schedule(spec);
  if (!schedule.is_discrete() && points < 1)
    throw std::runtime_error("diffusion: schedule curves need at least one point, got " + std::to_string(points));
  const int64_t count = schedule.is_discrete() ? schedule.steps() : points;
  const torch::Tensor t = torch::arange(1, count + 1, torch::kFloat64) / static_cast<double>(count);
  LossOptions p2;
  p2.weighting = Weighting::P2;
  p2.p2_k = p2_k;
  p2.p2_gamma = p2_gamma;
  const DiffusionLoss loss(schedule, p2);
  return {to_vector(t), to_vector(schedule.alpha_bar(t)), to_vector(schedule.log_snr(t)), to_vector(loss.weight(t))};
}

std::vector<float> noise_image(const std::vector<float>& pixels_hwc, int height, int width, int channels,
                               const ScheduleSpec& spec, double t, std::uint64_t seed) {
  if (height < 1 || width < 1 || channels < 1 ||
      pixels_hwc.size() != static_cast<std::size_t>(height) * static_cast<std::size_t>(width) * static_cast<std::size_t>(channels))
    throw std::runtime_error("diffusion: noise_image got " + std::to_string(pixels_hwc.size()) + " values for a " +
                             std::to_string(height) + "x" + std::to_string(width) + "x" + std::to_string(channels) +
                             " image");
  const NoiseSchedule schedule(spec);
  const NoiseLevel level = schedule.level(t);
  torch::NoGradGuard no_grad;
  const torch::Tensor x_0 =
      torch::from_blob(const_cast<float*>(pixels_hwc.data()), {height, width, channels}, torch::kFloat32);
  const torch::Tensor noise = SeededNoise({seed}).draw({height, width, channels}, torch::kCPU)[0];
  const torch::Tensor x_t = q_sample(level, x_0, noise).contiguous();
  return {x_t.data_ptr<float>(), x_t.data_ptr<float>() + x_t.numel()};
}

} // namespace t2i::diffusion
