// The sampling facade (t2i/sample.h): a checkpoint loaded once, prompts to images.
#include "t2i/sample.h"

#include "data/image_decode.h"
#include "data/png_write.h"
#include "io/device.h"
#include "io/hash.h"
#include "model/checkpoint_file.h"
#include "sample/attention_recorder.h"
#include "sample/generator_impl.h"
#include "sample/guidance_anatomy.h"
#include "sample/sampling.h"
#include "sample/text_to_image_model.h"
#include "t2i/diffusion.h"
#include "text/tokenizer.h"

#include <algorithm>
#include <optional>
#include <stdexcept>

namespace t2i::sample {

namespace {

/// What Generator::generate counts (t2i/job.h).
constexpr const char* kDenoising = "denoising";

// A prompt as the model reads it: cut to its text length, </s> last.
text::Tokenized tokenized(const TextToImageModel& model, const std::string& prompt) {
  const text::TokenIds encoded = model.tokenizer().encode(prompt, model.max_text_length());
  text::Tokenized out;
  out.ids = encoded.ids;
  out.truncated = encoded.truncated;
  out.invalid_utf8 = encoded.invalid_utf8;
  for (const std::int64_t id : encoded.ids) out.pieces.push_back(model.tokenizer().piece(id));
  return out;
}

// Each prompt's pieces as the model reads them, </s> last.
std::vector<std::vector<std::string>> prompt_pieces(const TextToImageModel& model, const std::vector<std::string>& prompts) {
  std::vector<std::vector<std::string>> out;
  for (const auto& prompt : prompts) out.push_back(tokenized(model, prompt).pieces);
  return out;
}

} // namespace

Generator::Generator(const std::string& checkpoint, const std::string& device) : impl_(std::make_unique<Impl>()) {
  const torch::Device target = io::parse_device(device);
  const model::Checkpoint stored = model::read_checkpoint(checkpoint);
  impl_->model = TextToImageModel::for_sampling(stored, checkpoint, target);
  const model::Preset& preset = impl_->model->preset();
  ModelInfo& info = impl_->info;
  info.checkpoint = checkpoint;
  info.preset = preset.name;
  info.step = stored.meta.value("step", std::int64_t{0});
  info.parameters = impl_->model->parameter_count();
  info.image_size = preset.unet.image_size;
  info.low_res_size = preset.unet.low_res_size;
  info.default_guidance = preset.cond_scale;
  info.default_aug = preset.super_resolution() ? preset.sample_aug : 0.0;
  info.max_steps = static_cast<int>(noise_schedule(preset).max_sampling_steps());
  info.text_encoder = impl_->model->text_encoder_name();
  info.hash = io::file_hash(checkpoint);
}

Generator::~Generator() = default;

const ModelInfo& Generator::info() const { return impl_->info; }

text::Tokenized Generator::tokenize(const std::string& prompt) const { return tokenized(*impl_->model, prompt); }

std::vector<Image> Generator::generate(const Request& request, const job::Context& job,
                                       const std::function<void(const StepView&)>& on_step, const Probes& probes) {
  return impl_->run(request, job, on_step, probes, nullptr);
}

std::vector<Image> Generator::Impl::run(const Request& request, const job::Context& job,
                                        const std::function<void(const StepView&)>& on_step, const Probes& probes,
                                        AttentionInjection* injection) {
  if (request.prompts.empty()) return {};
  if (request.seeds.size() != request.prompts.size())
    throw std::invalid_argument("give one seed per prompt (" + std::to_string(request.prompts.size()) + " prompts, " +
                                std::to_string(request.seeds.size()) + " seeds)");
  if (request.steps < 1) throw std::invalid_argument("steps must be at least 1");
  const auto valid_scale = [](double w) { return w >= 0 && w <= 100; };
  if (!valid_scale(request.guidance)) throw std::invalid_argument("guidance scale must be in [0, 100]");
  if (!request.scales.empty() && request.scales.size() != request.prompts.size())
    throw std::invalid_argument("give one guidance scale per prompt (" + std::to_string(request.prompts.size()) +
                                " prompts, " + std::to_string(request.scales.size()) + " scales)");
  if (!std::all_of(request.scales.begin(), request.scales.end(), valid_scale))
    throw std::invalid_argument("guidance scales must be in [0, 100]");
  if (!request.low_res.empty() && request.low_res.size() != request.prompts.size())
    throw std::invalid_argument("give one low-resolution image per prompt (" + std::to_string(request.prompts.size()) +
                                " prompts, " + std::to_string(request.low_res.size()) + " images)");
  SamplingSettings settings;
  settings.guidance = request.guidance;
  settings.scales = request.scales;
  settings.sampler = request.sampler;
  settings.steps = request.steps;
  settings.eta = request.eta;
  settings.thresholding.kind = request.thresholding;
  settings.thresholding.percentile = request.threshold_percentile;
  if (!request.low_res.empty()) {
    std::vector<torch::Tensor> low;
    for (const Image& image : request.low_res) {
      if (image.width != request.low_res.front().width || image.height != request.low_res.front().height)
        throw std::invalid_argument("the low-resolution images differ in size");
      low.push_back(from_image(image));
    }
    settings.low_res = torch::stack(low);
  }
  settings.aug = request.aug;

  std::optional<AttentionRecorder> attention;
  if (probes.attention != nullptr) attention.emplace(prompt_pieces(*model, request.prompts), info.image_size);
  std::optional<GuidanceAnatomyRecorder> anatomy;
  if (probes.guidance != nullptr)
    anatomy.emplace(noise_schedule(model->preset()), prediction(model->preset()), settings.thresholding, settings.guidance);
  SamplingProbes sampling_probes;
  if (attention) sampling_probes.attention = &*attention;
  if (anatomy) sampling_probes.guidance = [&](const diffusion::GuidanceReport& report) { anatomy->observe(report); };
  if (injection != nullptr) {  // the injection first, then the recorder sees what the layers used
    injection->pass_to(sampling_probes.attention);
    sampling_probes.attention = injection;
  }

  const diffusion::StepObserver observer = [&](const diffusion::StepReport& report) {
    if (attention) attention->end_step();
    if (injection != nullptr) injection->end_step();
    job.count(kDenoising, report.index + 1, report.total);
    if (!on_step) return;
    StepView view;
    view.step = static_cast<int>(report.index + 1);
    view.total = static_cast<int>(report.total);
    view.t = report.t;
    for (std::int64_t i = 0; i < report.x_t.size(0); ++i) {
      view.x_t.push_back(to_image(report.x_t[i]));
      view.x0_pred.push_back(to_image(report.x_0[i]));
    }
    on_step(view);
  };
  try {
    const torch::Tensor images =
        sample_images(*model, request.prompts, request.seeds, settings, observer, job.cancel, sampling_probes);
    if (attention) *probes.attention = attention->maps();
    if (anatomy) *probes.guidance = anatomy->anatomy();
    std::vector<Image> out;
    for (std::int64_t i = 0; i < images.size(0); ++i) out.push_back(to_image(images[i]));
    return out;
  } catch (const diffusion::SamplingCancelled&) {
    return {};
  }
}

std::vector<std::vector<std::string>> Generator::Impl::pieces(const std::vector<std::string>& prompts) const {
  return prompt_pieces(*model, prompts);
}

std::map<std::string, std::string> Generator::metadata(const Request& request, std::size_t index) const {
  return to_png_text(image_metadata(request, index, impl_->info));
}

void export_for_sampling(const std::string& checkpoint, const std::string& out, bool fp16) {
  model::write_checkpoint(out, TextToImageModel::sampling_checkpoint(model::read_checkpoint(checkpoint), fp16));
}

void write_png(const std::string& path, const Image& image, const std::map<std::string, std::string>& text) {
  if (image.width < 0 || image.height < 0 ||
      image.rgb.size() != static_cast<std::size_t>(image.width) * static_cast<std::size_t>(image.height) * 3)
    throw std::invalid_argument(path + ": image buffer does not match its size");
  data::write_png(path, image, text);
}

Image read_png(const std::string& path, std::map<std::string, std::string>* text) {
  Image image = data::decode_image_file(path);
  if (text != nullptr) *text = data::read_png_text(path);
  return image;
}

std::map<std::string, std::string> read_png_text(const std::string& path) { return data::read_png_text(path); }

} // namespace t2i::sample
