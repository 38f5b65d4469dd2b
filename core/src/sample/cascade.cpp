// Cascade sampling (t2i/sample.h): a base model, then super-resolution stages each enlarging the
// images of the stage before (Imagen §2.4), every stage through its own Generator.
#include "t2i/sample.h"

#include <algorithm>
#include <filesystem>
#include <stdexcept>

namespace t2i::sample {
namespace {

std::string size_text(int side) { return std::to_string(side) + "×" + std::to_string(side); }

std::string describe(const std::vector<ModelInfo>& models, std::size_t stage) {
  const ModelInfo& model = models[stage];
  return "stages[" + std::to_string(stage) + "] (" + std::filesystem::path(model.checkpoint).filename().string() +
         ", preset " + model.preset + ")";
}

} // namespace

Request stage_request(const Request& request, const Cascade& cascade, std::size_t stage, const ModelInfo& model) {
  const CascadeStage& settings = cascade.stages.at(stage);
  Request out = request;
  out.low_res.clear();
  out.aug.reset();
  out.scales.clear();
  if (settings.guidance) out.guidance = *settings.guidance;
  else if (stage > 0) out.guidance = model.default_guidance;
  if (settings.steps) out.steps = *settings.steps;
  else if (model.max_steps > 0) out.steps = std::min(out.steps, model.max_steps);
  if (settings.sampler) out.sampler = *settings.sampler;
  if (stage > 0) out.aug = settings.aug;
  return out;
}

void check_cascade(const std::vector<ModelInfo>& models, const std::string& origin) {
  if (models.size() < 2)
    throw std::runtime_error(origin + ": a cascade needs the base stage and at least one super-resolution stage, got " +
                             std::to_string(models.size()));
  if (models.front().low_res_size > 0)
    throw std::runtime_error(origin + ": " + describe(models, 0) + " is a super-resolution stage (" +
                             size_text(models.front().low_res_size) + "→" + size_text(models.front().image_size) +
                             "); the first stage must be a base model");
  for (std::size_t stage = 1; stage < models.size(); ++stage) {
    const ModelInfo& model = models[stage];
    const int below = models[stage - 1].image_size;
    if (model.low_res_size == 0)
      throw std::runtime_error(origin + ": " + describe(models, stage) +
                               " is a base model; every stage after the first must be a super-resolution stage");
    if (model.low_res_size != below)
      throw std::runtime_error(origin + ": " + describe(models, stage) + " enlarges " + size_text(model.low_res_size) +
                               " images, but " + describe(models, stage - 1) + " makes " + size_text(below) + " ones");
  }
}

std::vector<std::vector<Image>> generate_cascade(const std::vector<Generator*>& stages, const Cascade& cascade,
                                                 const std::string& origin, const Request& request,
                                                 const job::Context& job,
                                                 const std::function<void(const StepView&)>& on_step) {
  if (stages.size() != cascade.stages.size())
    throw std::invalid_argument(origin + ": " + std::to_string(cascade.stages.size()) + " stages but " +
                                std::to_string(stages.size()) + " models");
  std::vector<ModelInfo> models;
  for (const Generator* generator : stages) models.push_back(generator->info());
  check_cascade(models, origin);
  std::vector<std::vector<Image>> images;
  for (std::size_t stage = 0; stage < stages.size(); ++stage) {
    if (job.cancelled()) return {};
    Request stage_settings = stage_request(request, cascade, stage, models[stage]);
    if (stage > 0) stage_settings.low_res = images.back();
    std::function<void(const StepView&)> observe;
    if (on_step)
      observe = [&on_step, stage, count = static_cast<int>(stages.size())](const StepView& view) {
        StepView seen = view;
        seen.stage = static_cast<int>(stage);
        seen.stages = count;
        on_step(seen);
      };
    std::vector<Image> made = stages[stage]->generate(stage_settings, job, observe);
    if (made.empty()) return {};
    images.push_back(std::move(made));
  }
  return images;
}

ImageMetadata cascade_metadata(const Request& request, std::size_t index, const Cascade& cascade,
                               const std::string& origin, const std::vector<ModelInfo>& models) {
  ImageMetadata m = image_metadata(stage_request(request, cascade, 0, models.at(0)), index, models.at(0));
  m.cascade_file = origin;
  for (std::size_t stage = 0; stage < models.size(); ++stage) {
    const Request settings = stage_request(request, cascade, stage, models[stage]);
    const ModelInfo& model = models[stage];
    StageMetadata s;
    s.checkpoint = model.checkpoint;
    s.checkpoint_hash = model.hash;
    s.checkpoint_step = model.step;
    s.preset = model.preset;
    s.guidance = settings.guidance;
    s.steps = settings.steps;
    s.sampler = settings.sampler;
    if (model.low_res_size > 0) s.aug = settings.aug.value_or(model.default_aug);
    s.image_size = model.image_size;
    s.low_res_size = model.low_res_size;
    m.cascade.push_back(s);
  }
  return m;
}

} // namespace t2i::sample
