// Looking inside a sample: the U-Net's cross-attention recorded while it samples, and the token
// maps built from it, against closed forms (rows of probabilities, a network built by hand so
// that one token wins everywhere, constant maps whose average is known).
#include "diffusion/guidance.h"
#include "diffusion/sampler.h"
#include "model/attention.h"
#include "sample/attention_injection.h"
#include "sample/attention_recorder.h"
#include "sample/cascade_file.h"
#include "sample/guidance_anatomy.h"
#include "t2i/attention.h"
#include "t2i/runtime.h"
#include "t2i/sample.h"

#include "diffusion/noise_augmentation.h"
#include "sample/sampling.h"
#include "test_support.h"
#include "tiny_cascade.h"
#include "tiny_unet.h"

#include <ATen/CPUGeneratorImpl.h>
#include <QtTest/QtTest>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <functional>

using namespace t2i::sample;
using t2i::test::make_unet;
using t2i::test::tiny_unet_config;

namespace {

void write_text(const std::filesystem::path& path, const std::string& text) { std::ofstream(path) << text; }

std::string read_text(const std::filesystem::path& path) {
  std::ifstream file(path);
  return std::string(std::istreambuf_iterator<char>(file), std::istreambuf_iterator<char>());
}

constexpr double kStored = 5e-4;  // the recorder keeps probabilities as float16: 3 significant digits

const std::vector<std::string> kPieces = {"\xE2\x96\x81" "a", "\xE2\x96\x81" "red", "\xE2\x96\x81" "cir", "cle", "</s>"};

// `images` texts of `real` pieces, </s> last.
std::vector<std::vector<std::string>> pieces(std::size_t images, std::size_t real) {
  std::vector<std::string> text(kPieces.begin(), kPieces.begin() + static_cast<std::ptrdiff_t>(real - 1));
  text.push_back("</s>");
  return std::vector<std::vector<std::string>>(images, text);
}

// Two texts of 8 positions, the first `real` of them real tokens.
t2i::TextCondition random_text(int64_t real) {
  torch::manual_seed(4);
  t2i::TextCondition text;
  text.embeddings = torch::randn({2, 8, 20});
  text.mask = torch::arange(8).lt(real).unsqueeze(0).expand({2, 8}).clone();
  text.drop = torch::zeros({2}, torch::kBool);
  return text;
}

const t2i::diffusion::NoiseSchedule kSchedule({t2i::diffusion::ScheduleKind::Cosine, 1000});

// Six guided DDIM steps of the tiny U-Net for two images, `observer` in the cross-attention and
// `end_step` called after every step.
torch::Tensor ddim_observed(t2i::model::UNet& unet, const t2i::TextCondition& text, t2i::model::AttentionObserver* observer,
                            const std::function<void()>& end_step, double w = 4.0,
                            const t2i::diffusion::GuidanceObserver& halves = {}) {
  t2i::diffusion::SamplerOptions options;
  options.steps = 6;
  const auto sampler = t2i::diffusion::make_sampler(kSchedule, options);
  t2i::diffusion::SampleRequest request;
  request.text = text;
  request.seeds = {5, 6};
  request.image_shape = {3, 16, 16};
  if (end_step) request.observer = [&](const t2i::diffusion::StepReport&) { end_step(); };
  torch::NoGradGuard no_grad;
  return sampler->sample(t2i::diffusion::classifier_free_guidance(t2i::model::as_sampling_denoiser(unet, observer), w, halves),
                         request);
}

// ddim_observed recording what the probes given record.
torch::Tensor guided_ddim(t2i::model::UNet& unet, const t2i::TextCondition& text, AttentionRecorder* attention,
                          double w = 4.0, GuidanceAnatomyRecorder* anatomy = nullptr) {
  t2i::diffusion::GuidanceObserver halves;
  if (anatomy != nullptr) halves = [anatomy](const t2i::diffusion::GuidanceReport& report) { anatomy->observe(report); };
  std::function<void()> end_step;
  if (attention != nullptr) end_step = [attention] { attention->end_step(); };
  return ddim_observed(unet, text, attention, end_step, w, halves);
}

// ddim_observed with `injection` in the cross-attention, handing `recorder` what the layers used.
torch::Tensor injected_ddim(t2i::model::UNet& unet, const t2i::TextCondition& text, AttentionInjection& injection,
                            AttentionRecorder& recorder) {
  injection.pass_to(&recorder);
  return ddim_observed(unet, text, &injection, [&] {
    injection.end_step();
    recorder.end_step();
  });
}

// Every recorded map of one half at one step, each text position and layer in turn, concatenated.
std::vector<float> all_maps(const AttentionMaps& maps, int step, bool conditional) {
  std::vector<float> out;
  for (int image = 0; image < maps.images(); ++image)
    for (int layer = 0; layer < static_cast<int>(maps.layers().size()); ++layer)
      for (int piece = 0; piece < static_cast<int>(maps.pieces(image).size()); ++piece) {
        const auto values = maps.map({image, step, std::nullopt, layer, std::nullopt, conditional}, {piece}).values;
        out.insert(out.end(), values.begin(), values.end());
      }
  return out;
}

// Request for the demo model: `prompt`, seed 3, 8 DDPM steps.
Request demo_request(const std::string& prompt, double guidance = 5.0) {
  Request request;
  request.prompts = {prompt};
  request.seeds = {3};
  request.steps = 8;
  request.guidance = guidance;
  return request;
}

std::string demo_model() { return std::string(T2I_SOURCE_DIR) + "/resources/demo/demo.safetensors"; }

// Recorded probabilities of one layer: [rows, heads, side², 2 + text positions] with every pixel
// giving `share` to text position `position` and the rest to the null key.
torch::Tensor constant_rows(int64_t rows, int64_t heads, int64_t side, int64_t positions, int64_t position, double share) {
  auto p = torch::zeros({rows, heads, side * side, 1 + positions});
  p.select(3, 0).fill_(1.0 - share);
  p.select(3, 1 + position).fill_(share);
  return p;
}

} // namespace

class TestInspect : public QObject {
  Q_OBJECT

private Q_SLOTS:
  void initTestCase() { t2i::runtime::initialize(); }

  // Each pixel's probabilities sum to 1 over the null key and the text, and masked positions get
  // exactly 0, in every layer of every pass.
  void observedRowsSumToOneAndMaskedKeysGetNothing() {
    struct Check : t2i::model::AttentionObserver {
      int calls = 0;
      double worst_sum = 0, worst_masked = 0;
      void cross_attention(const void*, std::int64_t, std::int64_t, const torch::Tensor& p) override {
        ++calls;
        worst_sum = std::max(worst_sum, (p.sum(3) - 1).abs().max().item<double>());
        worst_masked = std::max(worst_masked, p.narrow(3, 1 + 4, 4).abs().max().item<double>());  // text positions 4–7
      }
    } check;
    t2i::model::UNet unet = make_unet(tiny_unet_config());
    unet->eval();
    torch::NoGradGuard no_grad;
    (void)t2i::model::as_sampling_denoiser(unet, &check)(torch::randn({2, 3, 16, 16}), torch::full({2}, 0.5), random_text(4));
    QCOMPARE(check.calls, 5);
    QVERIFY(check.worst_sum < 1e-5);
    QCOMPARE(check.worst_masked, 0.0);
  }

  // Observing changes nothing in the images and every step and layer is recorded once.
  void observedSamplingIsTheSame() {
    t2i::model::UNet unet = make_unet(tiny_unet_config());
    unet->eval();
    const auto text = random_text(4);
    const torch::Tensor plain = guided_ddim(unet, text, nullptr);
    AttentionRecorder recorder(pieces(2, 4), 16);
    QVERIFY(torch::equal(guided_ddim(unet, text, &recorder), plain));
    const AttentionMaps maps = recorder.maps();
    QCOMPARE(maps.steps(), 6);
    QVERIFY(maps.has_unconditional());
    QCOMPARE(maps.layers().size(), std::size_t{5});  // levels 1 and 2 down and up, and the middle
    QCOMPARE(maps.resolutions(), (std::vector<int>{8, 4}));
    for (int step = 1; step <= 6; ++step)
      for (int layer = 0; layer < 5; ++layer)
        for (const bool conditional : {true, false}) {
          const AttentionShares s = maps.shares({0, step, std::nullopt, layer, std::nullopt, conditional});
          QVERIFY(std::abs(s.words + s.end_token + s.null_key + s.padding - 1.0) < 1e-3);  // stored as float16
          QCOMPARE(s.padding, 0.0);
        }

    // Checkpointed execution samples without gradients: nothing to recompute, the same observation.
    auto execution = unet->execution();
    execution.checkpoint = true;
    unet->set_execution(execution);
    AttentionRecorder again(pieces(2, 4), 16);
    QVERIFY(torch::equal(guided_ddim(unet, text, &again), plain));
    QCOMPARE(again.maps().steps(), 6);
    QCOMPARE(again.maps().bytes(), maps.bytes());
  }

  // A network built so that one text position wins every pixel's attention: normalised features
  // constant (GroupNorm's scale 0, shift 1), so every pixel asks the same query, and keys that
  // agree with it only for the winning token. Its map is 1 and every other map 0, at every
  // resolution and in the aggregate.
  void oneTokenWinsEverywhere() {
    t2i::model::UNet unet = make_unet(tiny_unet_config());
    unet->eval();
    const auto text = random_text(5);
    constexpr int64_t kWinner = 2;
    torch::NoGradGuard no_grad;
    auto* conditioning = unet->named_modules()["text"]->as<t2i::model::TextConditioningImpl>();
    const torch::Tensor tokens = conditioning->forward(text, 2, torch::kCPU).tokens[0];  // [8, cond_dim]
    const torch::Tensor u = tokens[kWinner];
    for (const auto& item : unet->named_modules()) {
      auto* layer = item.value()->as<t2i::model::CrossAttentionImpl>();
      if (layer == nullptr) continue;
      auto parameters = layer->named_parameters();
      parameters["norm.weight"].zero_();
      parameters["norm.bias"].fill_(1.0);
      const torch::Tensor q = parameters["to_q.weight"].sum(1);  // every pixel's query
      torch::Tensor kv = parameters["to_kv.weight"];
      kv.zero_();
      // k_j = α q (u · token_j): the winner's logit α|q|²|u|²/√d exceeds every other token's.
      kv.narrow(0, 0, q.size(0)).copy_(torch::outer(q, u) * (200.0 / (q.square().sum() * u.square().sum())));
      parameters["null_kv"].zero_();
    }
    AttentionRecorder recorder(pieces(2, 5), 16);
    (void)guided_ddim(unet, text, &recorder);
    const AttentionMaps maps = recorder.maps();
    std::vector<std::optional<int>> resolutions{std::nullopt};
    for (const int side : maps.resolutions()) resolutions.push_back(side);
    for (const auto& resolution : resolutions)
      for (int piece = 0; piece < 5; ++piece) {
        const Heatmap map = maps.map({0, std::nullopt, resolution, std::nullopt, std::nullopt, true}, {piece});
        QCOMPARE(map.width, 16);
        const double expected = piece == kWinner ? 1.0 : 0.0;
        for (const float value : map.values) QVERIFY2(std::abs(value - expected) < 1e-4, qPrintable(QString::number(value)));
      }
  }

  // The views against hand-computed averages of constant maps (bicubic upsampling keeps a
  // constant), words from SentencePiece's word starts, shares, filters and normalisations.
  void viewsAverageWhatTheyCover() {
    AttentionRecorder recorder(std::vector<std::vector<std::string>>{kPieces}, 8);
    const int a = 0, b = 1;  // two layers: side 4 and side 2
    for (int step = 0; step < 2; ++step) {
      const double s = 0.1 * (step + 1);  // step 1: 0.1 and 0.3; step 2: 0.2 and 0.6
      recorder.cross_attention(&a, 4, 4, constant_rows(2, 2, 4, 5, 1, s));
      recorder.cross_attention(&b, 2, 2, constant_rows(2, 2, 2, 5, 1, 3 * s));
      recorder.end_step();
    }
    const AttentionMaps maps = recorder.maps();
    QCOMPARE(maps.steps(), 2);
    QCOMPARE(maps.resolutions(), (std::vector<int>{4, 2}));

    const auto words = maps.words(0);
    QCOMPARE(words.size(), std::size_t{3});
    QCOMPARE(words[0].text, std::string("a"));
    QCOMPARE(words[1].text, std::string("red"));
    QCOMPARE(words[2].text, std::string("circle"));
    QCOMPARE(words[2].pieces, (std::vector<int>{2, 3}));

    const auto value = [&](const AttentionSelection& s, std::vector<int> pieces) {
      const Heatmap map = maps.map(s, pieces);
      for (const float v : map.values) if (std::abs(v - map.values[0]) > 1e-6f) return std::nan("");
      return static_cast<double>(map.values[0]);
    };
    const AttentionSelection all;
    QVERIFY(std::abs(value(all, {1}) - (0.1 + 0.3 + 0.2 + 0.6) / 4) < kStored);
    QVERIFY(std::abs(value({0, 2, std::nullopt, std::nullopt, std::nullopt, true}, {1}) - 0.4) < kStored);
    QVERIFY(std::abs(value({0, std::nullopt, 2, std::nullopt, std::nullopt, true}, {1}) - 0.45) < kStored);
    QVERIFY(std::abs(value({0, 1, std::nullopt, 0, 1, true}, {1}) - 0.1) < kStored);
    QVERIFY(std::abs(value(all, {1, 2}) - 0.3 / 2) < kStored);  // a word is the mean of its pieces
    QCOMPARE(value(all, {0}), 0.0);

    const AttentionShares shares = maps.shares(all);
    QVERIFY(std::abs(shares.words - 0.3) < kStored);
    QVERIFY(std::abs(shares.null_key - 0.7) < kStored);
    QCOMPARE(shares.end_token, 0.0);
    QCOMPARE(shares.padding, 0.0);

    // Per-token normalisation stretches a map to [0, 1]; a constant one has no shape: all 0.
    QCOMPARE(maps.map(all, {1}, AttentionNormalisation::PerToken).max, 0.0f);
    AttentionRecorder peaked(std::vector<std::vector<std::string>>{kPieces}, 8);
    auto p = constant_rows(1, 1, 2, 5, 1, 0.2);
    p[0][0][3][2] = 0.6;  // the bottom-right pixel gives 0.6 to the pieces' position 1 instead
    p[0][0][3][0] = 0.2;
    peaked.cross_attention(&a, 2, 2, p);
    peaked.end_step();
    const Heatmap global = peaked.maps().map(all, {1});
    const Heatmap stretched = peaked.maps().map(all, {1}, AttentionNormalisation::PerToken);
    const float low = *std::min_element(global.values.begin(), global.values.end());
    QVERIFY(global.max > low);
    for (std::size_t i = 0; i < global.values.size(); ++i)
      QVERIFY(std::abs(stretched.values[i] - (global.values[i] - low) / (global.max - low)) < 1e-6f);
    QCOMPARE(stretched.max, 1.0f);

    QVERIFY_THROWS_EXCEPTION(std::out_of_range, maps.map({0, 3, std::nullopt, std::nullopt, std::nullopt, true}, {1}));
    QVERIFY_THROWS_EXCEPTION(std::invalid_argument, maps.map({0, std::nullopt, 16, std::nullopt, std::nullopt, true}, {1}));
    QVERIFY_THROWS_EXCEPTION(std::invalid_argument, peaked.maps().map({0, std::nullopt, std::nullopt, std::nullopt, std::nullopt, false}, {1}));
    QVERIFY_THROWS_EXCEPTION(std::out_of_range, maps.map(all, {5}));
  }

  // Guidance's anatomy: the guided noise is w·ε_c + (1 − w)·ε_u at every step, recording changes
  // no image, and Δ, the cosine and the clipped share are what their definitions say.
  void anatomyHoldsTheGuidanceIdentity() {
    t2i::model::UNet unet = make_unet(tiny_unet_config());
    unet->eval();
    const auto text = random_text(4);
    const torch::Tensor plain = guided_ddim(unet, text, nullptr);
    GuidanceAnatomyRecorder recorder(kSchedule, t2i::diffusion::Prediction::Epsilon, {}, 4.0);
    QVERIFY(torch::equal(guided_ddim(unet, text, nullptr, 4.0, &recorder), plain));
    const GuidanceAnatomy anatomy = recorder.anatomy();
    QCOMPARE(anatomy.steps(), 6);
    QCOMPARE(anatomy.images(), 2);
    const auto& data = recorder.data();
    for (const auto& step : data.steps) {
      const torch::Tensor combined = 4.0 * step.epsilon_conditional - 3.0 * step.epsilon_unconditional;
      QVERIFY((step.epsilon_guided - combined).abs().max().item<double>() < 1e-6 * (1 + combined.abs().max().item<double>()));
    }
    const auto series = anatomy.series(1);
    QCOMPARE(series.size(), std::size_t{6});
    const auto& last = data.steps.back();
    const torch::Tensor delta = last.epsilon_conditional[1] - last.epsilon_unconditional[1];
    QVERIFY(std::abs(series.back().delta_rms - delta.square().mean().sqrt().item<double>()) < 1e-6);
    const double cos = (last.epsilon_conditional[1] * last.epsilon_unconditional[1]).sum().item<double>() /
                       (last.epsilon_conditional[1].norm() * last.epsilon_unconditional[1].norm()).item<double>();
    QVERIFY(std::abs(series.back().cosine - cos) < 1e-5);
    for (const auto& s : series) QVERIFY(s.clipped >= 0 && s.clipped <= 1 && s.delta_rms > 0);
    const GuidanceRow row = anatomy.row(1, 6);
    QCOMPARE(row.delta.width, 16);
    QVERIFY(anatomy.delta_scale(1) > 0);
  }

  // At w = 1 the unconditional half runs only for the report: Δ is there, the image is w = 1's.
  void anatomyAtGuidanceOneLeavesTheImage() {
    t2i::model::UNet unet = make_unet(tiny_unet_config());
    unet->eval();
    const auto text = random_text(4);
    const torch::Tensor plain = guided_ddim(unet, text, nullptr, 1.0);
    GuidanceAnatomyRecorder anatomy(kSchedule, t2i::diffusion::Prediction::Epsilon, {}, 1.0);
    AttentionRecorder attention(pieces(2, 4), 16);
    QVERIFY(torch::equal(guided_ddim(unet, text, &attention, 1.0, &anatomy), plain));
    for (const auto& step : anatomy.data().steps) QVERIFY(torch::equal(step.epsilon_guided, step.epsilon_conditional));
    for (const auto& s : anatomy.anatomy().series(0)) QVERIFY(s.delta_rms > 0);
    // The attention of both halves, each run on its own, is one step's.
    QCOMPARE(attention.maps().steps(), 6);
    QVERIFY(attention.maps().has_unconditional());
  }

  // Prompt-to-Prompt's injection on the tiny U-Net: text B is text A with position 1 changed.
  // Injecting nothing leaves B's image exactly; injecting A into A leaves A's; injecting A into B
  // makes B's conditional attention A's at exactly the injected steps and leaves the
  // unconditional half B's own. With the same seeds, both halves see the same x_T at step 1, so
  // the unconditional attention of step 1 is the same without any injection (same noise).
  void injectionUsesTheFirstPromptsAttention() {
    t2i::model::UNet unet = make_unet(tiny_unet_config());
    unet->eval();
    const t2i::TextCondition text_a = random_text(4);
    t2i::TextCondition text_b = text_a;
    text_b.embeddings = text_a.embeddings.clone();
    text_b.embeddings.select(1, 1).copy_(torch::randn({2, 20}, at::make_generator<at::CPUGeneratorImpl>(9)));
    AttentionRecorder plain_a(pieces(2, 4), 16), plain_b(pieces(2, 4), 16);
    const torch::Tensor image_a = guided_ddim(unet, text_a, &plain_a);
    const torch::Tensor image_b = guided_ddim(unet, text_b, &plain_b);
    QVERIFY(!torch::equal(image_a, image_b));
    QCOMPARE(all_maps(plain_b.maps(), 1, false), all_maps(plain_a.maps(), 1, false));
    QVERIFY(all_maps(plain_b.maps(), 1, true) != all_maps(plain_a.maps(), 1, true));

    bool storing_changed_a = false;
    const auto run = [&](const t2i::TextCondition& target, int steps, AttentionRecorder& recorder) {
      AttentionInjection injection(2);
      AttentionRecorder source(pieces(2, 4), 16);
      storing_changed_a = storing_changed_a || !torch::equal(injected_ddim(unet, text_a, injection, source), image_a);
      injection.inject_first(steps);
      return injected_ddim(unet, target, injection, recorder);
    };
    AttentionRecorder none(pieces(2, 4), 16), self(pieces(2, 4), 16), all(pieces(2, 4), 16), half(pieces(2, 4), 16);
    QVERIFY(torch::equal(run(text_b, 0, none), image_b));
    QVERIFY(torch::equal(run(text_a, 6, self), image_a));
    const torch::Tensor injected = run(text_b, 6, all);
    QVERIFY(!torch::equal(injected, image_a) && !torch::equal(injected, image_b));
    for (int step = 1; step <= 6; ++step) QCOMPARE(all_maps(all.maps(), step, true), all_maps(plain_a.maps(), step, true));
    QVERIFY(all_maps(all.maps(), 6, false) != all_maps(plain_a.maps(), 6, false));  // the unconditional half is B's own
    run(text_b, 3, half);
    for (int step = 1; step <= 3; ++step) QCOMPARE(all_maps(half.maps(), step, true), all_maps(plain_a.maps(), step, true));
    QVERIFY(all_maps(half.maps(), 4, true) != all_maps(plain_a.maps(), 4, true));
    QVERIFY(!storing_changed_a);

    // A text of another length cannot take A's attention.
    t2i::TextCondition longer;
    longer.embeddings = torch::randn({2, 9, 20});
    longer.mask = torch::ones({2, 9}, torch::kBool);
    longer.drop = torch::zeros({2}, torch::kBool);
    AttentionInjection injection(2);
    AttentionRecorder ignored(pieces(2, 4), 16), ignored_too(pieces(2, 4), 16);
    injected_ddim(unet, text_a, injection, ignored);
    injection.inject_first(6);
    QVERIFY_THROWS_EXCEPTION(std::invalid_argument, injected_ddim(unet, longer, injection, ignored_too));
  }

  // One frozen trajectory at 1, 3, 5 and 8 in one batch on the demo model: every cell (x̂₀ and
  // x_t at a step) and every final image is the one a separate generation at that scale alone
  // gives (w = 1 to within rounding, see below); a batch of two seeds gives each seed's image alone.
  void scaleStepGridCellsAreSeparateGenerations() {
    Generator generator(demo_model());
    const Request request = demo_request("a red circle above a blue square");
    const std::vector<int> steps{1, 5, 8};
    QCOMPARE(evenly_spaced_steps(50, 5), (std::vector<int>{10, 20, 30, 40, 50}));
    QCOMPARE(evenly_spaced_steps(3, 5), (std::vector<int>{1, 2, 3}));
    const TrajectoryGrid grid = scale_step_grid(generator, request, kTrajectoryScales, steps);
    QCOMPARE(grid.images.size(), kTrajectoryScales.size());
    for (std::size_t row = 0; row < kTrajectoryScales.size(); ++row) {
      Request alone = request;
      alone.guidance = kTrajectoryScales[row];
      std::vector<t2i::Image> x0(steps.size()), xt(steps.size());
      const auto images = generator.generate(alone, {}, [&](const StepView& view) {
        for (std::size_t column = 0; column < steps.size(); ++column)
          if (steps[column] == view.step) {
            x0[column] = view.x0_pred.front();
            xt[column] = view.x_t.front();
          }
      });
      if (kTrajectoryScales[row] != 1.0) {
        QCOMPARE(grid.images[row].rgb, images.front().rgb);
        for (std::size_t column = 0; column < steps.size(); ++column) {
          QCOMPARE(grid.x0_pred[row][column].rgb, x0[column].rgb);
          QCOMPARE(grid.x_t[row][column].rgb, xt[column].rgb);
        }
        continue;
      }
      // w = 1 alone runs only the conditional half, a network pass of one image, which LibTorch's
      // CPU kernels round differently from the batch (passes of 2 or more images agree bit for
      // bit, as the other rows and the two-seed batch below show). The noise is the same, so the
      // trajectories stay within a few grey levels; x̂₀ of the first steps divides by α ≈ 0 and
      // shows the rounding larger.
      const auto largest_difference = [](const t2i::Image& a, const t2i::Image& b) {
        int worst = 0;
        for (std::size_t i = 0; i < a.rgb.size(); ++i) worst = std::max(worst, std::abs(int(a.rgb[i]) - int(b.rgb[i])));
        return worst;
      };
      QCOMPARE(grid.x_t[row][0].rgb, xt[0].rgb);
      int worst = largest_difference(grid.images[row], images.front());
      for (std::size_t column = 0; column < steps.size(); ++column)
        worst = std::max(worst, largest_difference(grid.x_t[row][column], xt[column]));
      qInfo("w = 1 in the batch against w = 1 alone: x_t and the image differ by at most %d grey levels", worst);
      QVERIFY(worst <= 4);
    }
    QVERIFY(grid.images[2].rgb != grid.images[3].rgb);  // 5 and 8 differ only by the scale
    QCOMPARE(grid.x_t[0][0].rgb, grid.x_t[3][0].rgb);   // step 1: every scale starts from the same x_T
    QVERIFY_THROWS_EXCEPTION(std::invalid_argument, scale_step_grid(generator, request, kTrajectoryScales, {9}));

    Request pair = request;
    pair.prompts = {request.prompts.front(), request.prompts.front()};
    pair.seeds = {3, 11};
    const auto both = generator.generate(pair);
    Request second = request;
    second.seeds = {11};
    QCOMPARE(both.at(0).rgb, generator.generate(request).at(0).rgb);
    QCOMPARE(both.at(1).rgb, generator.generate(second).at(0).rgb);
  }

  // Word swap on the demo model: without injection B is exactly the plain generation of B;
  // swapping a word for itself with full injection gives exactly A; full injection makes B's
  // conditional maps A's. The swapped words are found among the maps' words.
  void wordSwapKeepsTheNoiseAndInjectsAttention() {
    Generator generator(demo_model());
    const Request request = demo_request("a red circle above a blue square");
    const WordSwapResult plain = generator.swap_word(request, {"red", "green", 0.0});
    QCOMPARE(plain.prompt_b, std::string("a green circle above a blue square"));
    QCOMPARE(plain.a.rgb, generator.generate(request).at(0).rgb);
    QCOMPARE(plain.b.rgb, generator.generate(demo_request(plain.prompt_b)).at(0).rgb);
    QCOMPARE(plain.injected_steps, 0);
    QCOMPARE(plain.maps_a.words(0).at(static_cast<std::size_t>(plain.word_a)).text, std::string("red"));
    QCOMPARE(plain.maps_b.words(0).at(static_cast<std::size_t>(plain.word_b)).text, std::string("green"));
    for (std::size_t i = 0; i < plain.difference.rgb.size(); ++i)
      QCOMPARE(static_cast<int>(plain.difference.rgb[i]), std::abs(int(plain.a.rgb[i]) - int(plain.b.rgb[i])));
    QCOMPARE(all_maps(plain.maps_b, 1, false), all_maps(plain.maps_a, 1, false));  // same x_T, same empty text

    const WordSwapResult self = generator.swap_word(request, {"red", "red", 1.0});
    QCOMPARE(self.b.rgb, self.a.rgb);
    const WordSwapResult injected = generator.swap_word(request, {"red", "green", 1.0});
    QCOMPARE(injected.injected_steps, 8);
    QCOMPARE(injected.a.rgb, plain.a.rgb);
    QVERIFY(injected.b.rgb != plain.b.rgb);
    for (int step = 1; step <= 8; ++step) QCOMPARE(all_maps(injected.maps_b, step, true), all_maps(injected.maps_a, step, true));
    QCOMPARE(generator.swap_word(request, {"red", "green", 0.4}).injected_steps, 3);

    QVERIFY_THROWS_EXCEPTION(std::invalid_argument, generator.swap_word(request, {"purple", "green", 0.0}));
    QVERIFY_THROWS_EXCEPTION(std::invalid_argument, generator.swap_word(request, {"re", "green", 0.0}));  // not a whole word
    QVERIFY_THROWS_EXCEPTION(std::invalid_argument, generator.swap_word(request, {"red", "xylophonequartz", 0.5}));
  }

  // The shipped demo model: the same images with maps and anatomy recorded, one recorded step per
  // denoising step, and the prompt's words recovered from the pieces its tokenizer made.
  // Issue 25, deliverable 5: how Look inside showed an image travels in its PNG text. The keys
  // and spellings below are written out by hand, as a reader of the file sees them.
  void inspectionSettingsReadBackFromPngText() {
    ImageMetadata m;
    m.prompt = "a red circle above a blue square";
    m.seed = 9;
    ImageInspection inspection;
    inspection.look_inside = true;
    inspection.freeze_noise = true;
    inspection.words = ImageInspection::Words::One;
    inspection.word = "red";
    inspection.attention.step = 7;
    inspection.attention.resolution = 8;
    inspection.attention.head = 2;
    inspection.attention.conditional = false;
    inspection.normalisation = AttentionNormalisation::PerToken;
    inspection.opacity = 0.35;
    m.inspection = inspection;
    std::map<std::string, std::string> text = to_png_text(m);
    const std::map<std::string, std::string> expected{
        {"look_inside", "on"}, {"freeze_noise", "on"}, {"attention_words", "one"}, {"attention_word", "red"},
        {"attention_step", "7"}, {"attention_resolution", "8"}, {"attention_layer", "all"}, {"attention_head", "2"},
        {"attention_half", "unconditional"}, {"attention_normalisation", "per word"}, {"attention_opacity", "0.35"},
        {"format_version", "1.4"}};
    for (const auto& [key, value] : expected) QCOMPARE(QString::fromStdString(text.at(key)), QString::fromStdString(value));

    const auto read = read_image_metadata(text, "inside.png");
    QVERIFY(read && read->inspection);
    const ImageInspection& back = *read->inspection;
    QVERIFY(back.look_inside && back.freeze_noise);
    QVERIFY(back.words == ImageInspection::Words::One);
    QCOMPARE(back.word, std::string("red"));
    QCOMPARE(back.attention.step, std::optional<int>(7));
    QCOMPARE(back.attention.resolution, std::optional<int>(8));
    QVERIFY(!back.attention.layer);
    QCOMPARE(back.attention.head, std::optional<int>(2));
    QVERIFY(!back.attention.conditional);
    QVERIFY(back.normalisation == AttentionNormalisation::PerToken);
    QCOMPARE(back.opacity, 0.35);

    // Unknown or out-of-range values keep the defaults; the rest still reads.
    text["attention_half"] = "sideways";
    text["attention_opacity"] = "7";
    text["attention_step"] = "0";
    text["attention_words"] = "many";
    const auto odd = read_image_metadata(text, "odd.png");
    QVERIFY(odd && odd->inspection);
    QVERIFY(odd->inspection->attention.conditional);
    QCOMPARE(odd->inspection->opacity, ImageInspection{}.opacity);
    QVERIFY(!odd->inspection->attention.step);
    QVERIFY(odd->inspection->words == ImageInspection::Words::None);
    QCOMPARE(odd->inspection->attention.resolution, std::optional<int>(8));

    // An image saved without them (1.1 and older, or the CLI) has none, and writes none.
    m.inspection.reset();
    text = to_png_text(m);
    QVERIFY(text.count("look_inside") == 0 && text.count("attention_word") == 0);
    QVERIFY(!read_image_metadata(text, "plain.png")->inspection);
    // As the previous version (1.1) wrote it: the same keys, stamped 1.1.
    text["format_version"] = "1.1";
    const auto previous = read_image_metadata(text, "previous.png");
    QVERIFY(previous && !previous->inspection);
    QCOMPARE(previous->prompt, m.prompt);
    QCOMPARE(previous->seed, m.seed);
  }

  void generatorRecordsTheMapsOfItsImages() {
    Generator generator(std::string(T2I_SOURCE_DIR) + "/resources/demo/demo.safetensors");
    Request request;
    request.prompts = {"a red circle above a blue square"};
    request.seeds = {3};
    request.steps = 8;
    request.sampler = t2i::diffusion::SamplerKind::Ddim;
    const auto plain = generator.generate(request);
    AttentionMaps maps;
    GuidanceAnatomy anatomy;
    Probes probes;
    probes.attention = &maps;
    probes.guidance = &anatomy;
    const auto observed = generator.generate(request, {}, {}, probes);
    QCOMPARE(observed.at(0).rgb, plain.at(0).rgb);
    QCOMPARE(maps.steps(), 8);
    QCOMPARE(anatomy.steps(), 8);
    QCOMPARE(anatomy.guidance(), request.guidance);
    QCOMPARE(maps.image_size(), generator.info().image_size);
    QCOMPARE(maps.pieces(0).back(), std::string("</s>"));
    std::vector<std::string> words;
    for (const auto& word : maps.words(0)) words.push_back(word.text);
    QCOMPARE(words, (std::vector<std::string>{"a", "red", "circle", "above", "a", "blue", "square"}));
    const AttentionShares shares = maps.shares({});
    QVERIFY(std::abs(shares.words + shares.end_token + shares.null_key + shares.padding - 1.0) < 1e-3);
    qInfo("recorded attention: %zu bytes for %d steps; shares: words %.3f, </s> %.3f, null %.3f", maps.bytes(),
          maps.steps(), shares.words, shares.end_token, shares.null_key);
  }

  // The cascade file (t2i/sample.h): a document of checkpoints and per-stage settings.
  void cascadeFileRoundTripsAndResolvesRelativePaths() {
    QTemporaryDir dir;
    const std::filesystem::path root(dir.path().toStdString());
    std::filesystem::create_directories(root / "runs");
    for (const char* name : {"runs/base.pt", "runs/sr.pt"}) std::ofstream(root / name) << "x";
    write_text(root / "c.json", R"({"format_version": "1.0", "stages": [
        {"checkpoint": "runs/base.pt", "guidance": 5, "steps": 40, "sampler": "ddim"},
        {"checkpoint": "runs/../runs/sr.pt", "guidance": 2.5, "steps": 20, "sampler": "dpmpp", "aug": 0.25},
        {"checkpoint": ")" + (root / "runs/sr.pt").string() + R"("}]})");
    const t2i::sample::Cascade cascade = t2i::sample::read_cascade((root / "c.json").string());
    QCOMPARE(cascade.stages.size(), std::size_t{3});
    QCOMPARE(cascade.stages[0].checkpoint, (root / "runs/base.pt").string());
    QCOMPARE(cascade.stages[1].checkpoint, (root / "runs/sr.pt").string());
    QCOMPARE(cascade.stages[2].checkpoint, (root / "runs/sr.pt").string());
    QCOMPARE(*cascade.stages[0].guidance, 5.0);
    QCOMPARE(*cascade.stages[0].steps, 40);
    QVERIFY(*cascade.stages[0].sampler == t2i::diffusion::SamplerKind::Ddim);
    QVERIFY(!cascade.stages[0].aug);
    QCOMPARE(*cascade.stages[1].aug, 0.25);
    QVERIFY(*cascade.stages[1].sampler == t2i::diffusion::SamplerKind::DpmSolverPP);
    QVERIFY(!cascade.stages[2].guidance && !cascade.stages[2].steps && !cascade.stages[2].sampler && !cascade.stages[2].aug);

    // What the writer writes reads back as the same cascade, with paths inside the folder
    // written relative to it, so the folder can move.
    const std::string written = (root / "written.json").string();
    t2i::sample::write_cascade(cascade, written);
    QVERIFY(t2i::sample::read_cascade(written) == cascade);
    QVERIFY(read_text(written).find("\"runs/sr.pt\"") != std::string::npos);
    const std::filesystem::path moved = root.string() + "-moved";
    std::filesystem::rename(root, moved);
    QCOMPARE(t2i::sample::read_cascade((moved / "written.json").string()).stages[1].checkpoint, (moved / "runs/sr.pt").string());
    std::filesystem::rename(moved, root);
  }

  void hostileCascadeFilesNameTheFileAndTheProblem_data() {
    QTest::addColumn<QByteArray>("text");
    QTest::addColumn<QByteArray>("message");
    const auto row = [](const char* name, const QByteArray& text, const char* message) {
      QTest::newRow(name) << text << QByteArray(message);
    };
    const QByteArray base = R"({"checkpoint": "base.pt"})";
    const auto two = [&](const char* sr) -> QByteArray { return QByteArray(R"({"stages": [)") + base + ", " + sr + "]}"; };
    row("not json", "{\"stages\": [", "not valid JSON");
    row("not an object", "[1, 2]", "expected a JSON object, got array");
    row("no stages", "{}", "stages: missing");
    row("stages not a list", R"({"stages": {"checkpoint": "base.pt"}})", "stages: expected an array, got object");
    row("base only", QByteArray(R"({"stages": [)") + base + "]}", "needs the base stage and at least one super-resolution stage, got 1");
    row("unknown top key", R"({"stages": [], "stage": 1})", "stage: unknown key");
    row("unknown stage key", two(R"({"checkpoint": "sr.pt", "guidnace": 3})"), "stages[1].guidnace: unknown key");
    row("stage not object", two("\"sr.pt\""), "stages[1]: expected an object, got string");
    row("no checkpoint", two(R"({"steps": 3})"), "stages[1].checkpoint: missing");
    row("checkpoint number", two(R"({"checkpoint": 7})"), "stages[1].checkpoint: expected a string, got number 7");
    row("nonexistent checkpoint", two(R"({"checkpoint": "gone.pt"})"), "stages[1].checkpoint: no checkpoint file");
    row("guidance text", two(R"({"checkpoint": "sr.pt", "guidance": "high"})"), "stages[1].guidance: expected a number, got string");
    row("negative steps", two(R"({"checkpoint": "sr.pt", "steps": -3})"),
        "stages[1].steps: expected an integer in [1, 100000], got number -3");
    row("fractional steps", two(R"({"checkpoint": "sr.pt", "steps": 2.5})"),
        "stages[1].steps: expected an integer in [1, 100000], got number 2.5");
    row("unknown sampler", two(R"({"checkpoint": "sr.pt", "sampler": "euler"})"),
        "stages[1].sampler: unknown sampler 'euler' (expected ddpm|ddim|dpmpp)");
    row("aug out of range", two(R"({"checkpoint": "sr.pt", "aug": 1.5})"), "stages[1].aug: 1.5 is out of range [0.0, 1.0]");
    row("aug on the base", R"({"stages": [{"checkpoint": "base.pt", "aug": 0.1}, {"checkpoint": "sr.pt"}]})",
        "stages[0].aug: the base stage has no low-resolution input to augment");
    row("newer major", R"({"format_version": "2.0", "stages": []})", "cascade format 2.0");
  }

  void hostileCascadeFilesNameTheFileAndTheProblem() {
    QFETCH(QByteArray, text);
    QFETCH(QByteArray, message);
    QTemporaryDir dir;
    const std::filesystem::path root(dir.path().toStdString());
    for (const char* name : {"base.pt", "sr.pt"}) std::ofstream(root / name) << "x";
    const std::string path = (root / "cascade.json").string();
    write_text(path, text.toStdString());
    try {
      t2i::sample::read_cascade(path);
      QFAIL("accepted");
    } catch (const std::runtime_error& e) {
      const std::string what = e.what();
      QVERIFY2(what.rfind(path + ": ", 0) == 0, what.c_str());
      QVERIFY2(what.find(message.toStdString()) != std::string::npos, what.c_str());
    }
  }

  // Issue 27, deliverable 4: a cascade samples base → super-resolution. The references are each
  // stage sampled alone through its own Generator, with the settings the cascade gives it.
  void cascadeSamplingIsDeterministicStageByStage() {
    QTemporaryDir dir;
    CascadeStage sr_settings;
    sr_settings.guidance = 2.0;
    sr_settings.steps = 4;
    sr_settings.sampler = t2i::diffusion::SamplerKind::Ddim;
    sr_settings.aug = 0.3;
    const std::string file = t2i::test::write_tiny_cascade(dir.path().toStdString(), 64, sr_settings);
    const Cascade cascade = read_cascade(file);
    Generator base(cascade.stages[0].checkpoint);
    Generator sr(cascade.stages[1].checkpoint);
    Request request;
    request.prompts = {"a red circle", "a blue square"};
    request.seeds = {5, 6};
    request.steps = 3;
    request.guidance = 3.0;
    request.sampler = t2i::diffusion::SamplerKind::Ddim;
    std::vector<StepView> seen;
    const auto first = generate_cascade({&base, &sr}, cascade, file, request, {}, [&](const StepView& view) { seen.push_back(view); });
    const auto again = generate_cascade({&base, &sr}, cascade, file, request);
    QCOMPARE(first.size(), std::size_t{2});
    QCOMPARE(again.size(), std::size_t{2});
    for (std::size_t stage = 0; stage < 2; ++stage) {
      QCOMPARE(first[stage].size(), std::size_t{2});
      for (std::size_t i = 0; i < 2; ++i) {
        QCOMPARE(first[stage][i].width, stage == 0 ? 32 : 64);
        QCOMPARE(first[stage][i].height, stage == 0 ? 32 : 64);
        QVERIFY(first[stage][i].rgb == again[stage][i].rgb);  // the same seeds, bit for bit
      }
    }
    // Each stage is its Generator on its own: the base at the request's settings, the
    // super-resolution stage at the cascade's, enlarging the base's images.
    const auto base_alone = base.generate(request);
    Request sr_request = request;
    sr_request.guidance = 2.0;
    sr_request.steps = 4;
    sr_request.aug = 0.3;
    sr_request.low_res = base_alone;
    const auto sr_alone = sr.generate(sr_request);
    for (std::size_t i = 0; i < 2; ++i) {
      QVERIFY(first[0][i].rgb == base_alone[i].rgb);
      QVERIFY(first[1][i].rgb == sr_alone[i].rgb);
    }
    // The noise augmentation level is an input the stage sees.
    sr_request.aug = 0.9;
    QVERIFY(sr.generate(sr_request)[0].rgb != sr_alone[0].rgb);
    // Every stage's steps were seen, in order, each stage's images at its size.
    QCOMPARE(seen.size(), std::size_t{3 + 4});
    for (std::size_t k = 0; k < seen.size(); ++k) {
      const bool base_step = k < 3;
      QCOMPARE(seen[k].stage, base_step ? 0 : 1);
      QCOMPARE(seen[k].stages, 2);
      QCOMPARE(seen[k].step, static_cast<int>(base_step ? k + 1 : k - 2));
      QCOMPARE(seen[k].total, base_step ? 3 : 4);
      QCOMPARE(seen[k].x0_pred.at(1).width, base_step ? 32 : 64);
    }
    QVERIFY(seen.back().x0_pred.at(1).rgb == first[1][1].rgb);
    // Another seed, another pair of images.
    Request other = request;
    other.seeds = {7, 8};
    QVERIFY(generate_cascade({&base, &sr}, cascade, file, other)[1][0].rgb != first[1][0].rgb);
  }

  void cascadeCancelsWithinAStage() {
    QTemporaryDir dir;
    const std::string file = t2i::test::write_tiny_cascade(dir.path().toStdString(), 64);
    const Cascade cascade = read_cascade(file);
    Generator base(cascade.stages[0].checkpoint);
    Generator sr(cascade.stages[1].checkpoint);
    Request request;
    request.prompts = {"a red circle"};
    request.seeds = {1};
    request.steps = 4;
    for (const int stop_stage : {0, 1}) {
      t2i::job::CancelToken cancel;
      t2i::job::Context job;
      job.cancel = &cancel;
      std::vector<StepView> seen;
      const auto images = generate_cascade({&base, &sr}, cascade, file, request, job, [&](const StepView& view) {
        seen.push_back(view);
        if (view.stage == stop_stage && view.step == 2) cancel.cancel();
      });
      QVERIFY(images.empty());
      QCOMPARE(seen.back().stage, stop_stage);
      QCOMPARE(seen.back().step, 2);
    }
  }

  void mismatchedCascadeStagesNameTheFileAndTheStage() {
    ModelInfo base;
    base.checkpoint = "/runs/base.safetensors";
    base.preset = "demo";
    base.image_size = 32;
    ModelInfo sr = base;
    sr.checkpoint = "/runs/sr.safetensors";
    sr.preset = "sr-demo";
    sr.low_res_size = 32;
    sr.image_size = 64;
    ModelInfo from16 = sr;
    from16.checkpoint = "/runs/sr16.safetensors";
    from16.low_res_size = 16;
    check_cascade({base, sr}, "c.json");
    t2i::test::expect_error([&] { check_cascade({base, from16}, "c.json"); },
                            {"c.json: stages[1] (sr16.safetensors, preset sr-demo) enlarges 16×16 images",
                             "stages[0] (base.safetensors, preset demo) makes 32×32 ones"});
    t2i::test::expect_error([&] { check_cascade({sr, sr}, "c.json"); },
                            {"c.json: stages[0] (sr.safetensors, preset sr-demo) is a super-resolution stage (32×32→64×64)",
                             "the first stage must be a base model"});
    t2i::test::expect_error([&] { check_cascade({base, base}, "c.json"); },
                            {"c.json: stages[1] (base.safetensors, preset demo) is a base model"});
    t2i::test::expect_error([&] { check_cascade({base}, "c.json"); }, {"c.json", "at least one super-resolution stage"});

    // Through the facade: real checkpoints, a 16→32 stage after a 32×32 base, nothing sampled.
    QTemporaryDir dir;
    const std::string folder = dir.path().toStdString();
    const std::string file = t2i::test::write_tiny_cascade(folder, 64);
    const std::string wrong = t2i::test::write_untrained_checkpoint(t2i::test::tiny_sr_preset_json(16, 32), folder + "/sr16.safetensors", 3);
    Cascade cascade = read_cascade(file);
    cascade.stages[1].checkpoint = wrong;
    Generator first(cascade.stages[0].checkpoint);
    Generator second(wrong);
    Request request;
    request.prompts = {"a red circle"};
    request.seeds = {1};
    int steps = 0;
    t2i::test::expect_error([&] { generate_cascade({&first, &second}, cascade, file, request, {}, [&](const StepView&) { ++steps; }); },
                            {file + ": stages[1] (sr16.safetensors, preset tiny-sr-test) enlarges 16×16 images"});
    QCOMPARE(steps, 0);
  }

  // A super-resolution stage whose denoiser knows the clean target (ε = (z_t − α_t x₀)/σ_t, the
  // ε-prediction of the target x₀) samples exactly that target with deterministic DDIM. The target
  // is the low-resolution condition itself at aug = 0: the clean bicubic enlargement.
  void superResolutionWithAnOracleDenoiserGivesItsTarget() {
    const t2i::model::Preset preset =
        t2i::model::parse_preset(t2i::test::tiny_sr_preset_json(16, 32).dump(), "tiny-sr-test");
    torch::manual_seed(4);
    auto model = TextToImageModel::create(preset, t2i::model::preset_to_json(preset), {}, {"a red circle", "a blue square"}, torch::kCPU);
    const std::vector<std::uint64_t> seeds{11, 12};
    torch::Generator draw = at::make_generator<at::CPUGeneratorImpl>(9);
    SamplingSettings settings;
    settings.low_res = torch::rand({2, 3, 16, 16}, draw) * 2 - 1;
    settings.aug = 0.0;
    const t2i::model::LowResCondition condition = low_res_condition(*model, settings, seeds);
    const torch::Tensor target = t2i::diffusion::upsample_low_res(settings.low_res, 32);
    QVERIFY(torch::equal(condition.image, target));
    QVERIFY(torch::equal(condition.aug, torch::zeros({2})));

    const t2i::diffusion::NoiseSchedule schedule = noise_schedule(preset);
    const t2i::Denoiser oracle = [&](const torch::Tensor& z_t, const torch::Tensor& t, const t2i::TextCondition&) {
      const torch::Tensor alpha = schedule.alpha(t).view({-1, 1, 1, 1});
      const torch::Tensor sigma = schedule.sigma(t).view({-1, 1, 1, 1});
      return (z_t - alpha * condition.image) / sigma;
    };
    t2i::diffusion::SamplerOptions options;
    options.kind = t2i::diffusion::SamplerKind::Ddim;
    options.steps = 25;
    options.eta = 0.0;
    options.prediction = prediction(preset);
    options.thresholding.kind = t2i::diffusion::ThresholdKind::None;
    t2i::diffusion::SampleRequest request;
    request.seeds = seeds;
    request.image_shape = {3, 32, 32};
    request.text = t2i::TextCondition::none(2);
    request.device = torch::kCPU;
    const torch::Tensor sampled = t2i::diffusion::make_sampler(schedule, options)->sample(oracle, request);
    const double error = (sampled - target).abs().max().item<double>();
    qInfo("oracle super-resolution: largest |x - target| = %.3g", error);
    QVERIFY2(error < 1e-4, qPrintable(QString::number(error)));
  }

  // PNG metadata 1.3: a cascade's image records every stage. The keys and their spellings are
  // written out by hand, as a reader of the file sees them.
  void cascadeMetadataRoundTripsAndOlderTextsRead() {
    ModelInfo base;
    base.checkpoint = "/runs/base.safetensors";
    base.hash = "h0";
    base.step = 10;
    base.preset = "demo";
    base.image_size = 32;
    base.default_guidance = 5.0;
    ModelInfo sr;
    sr.checkpoint = "/runs/sr.safetensors";
    sr.hash = "h1";
    sr.step = 20;
    sr.preset = "sr-demo";
    sr.image_size = 64;
    sr.low_res_size = 32;
    sr.default_guidance = 3.0;
    sr.default_aug = 0.2;
    Cascade cascade;
    cascade.stages = {{base.checkpoint, {}, {}, {}, {}}, {sr.checkpoint, {}, 7, t2i::diffusion::SamplerKind::Ddim, {}}};
    Request request;
    request.prompts = {"a red circle"};
    request.seeds = {4};
    request.guidance = 6.0;
    request.steps = 12;
    request.sampler = t2i::diffusion::SamplerKind::DpmSolverPP;
    const ImageMetadata m = cascade_metadata(request, 0, cascade, "/runs/c.json", {base, sr});
    std::map<std::string, std::string> text = to_png_text(m);
    const std::map<std::string, std::string> expected{
        {"format_version", "1.4"}, {"prompt", "a red circle"}, {"seed", "4"}, {"cfg", "6"}, {"steps", "12"},
        {"sampler", "dpmpp"}, {"checkpoint", "/runs/base.safetensors"}, {"preset", "demo"},
        {"cascade_file", "/runs/c.json"}, {"cascade_stages", "2"},
        {"stage0_checkpoint", "/runs/base.safetensors"}, {"stage0_checkpoint_hash", "h0"}, {"stage0_checkpoint_step", "10"},
        {"stage0_preset", "demo"}, {"stage0_cfg", "6"}, {"stage0_steps", "12"}, {"stage0_sampler", "dpmpp"},
        {"stage0_size", "32"}, {"stage0_low_res_size", "0"},
        {"stage1_checkpoint", "/runs/sr.safetensors"}, {"stage1_checkpoint_hash", "h1"}, {"stage1_checkpoint_step", "20"},
        {"stage1_preset", "sr-demo"}, {"stage1_cfg", "3"}, {"stage1_steps", "7"}, {"stage1_sampler", "ddim"},
        {"stage1_aug", "0.2"}, {"stage1_size", "64"}, {"stage1_low_res_size", "32"}};
    for (const auto& [key, value] : expected) QCOMPARE(QString::fromStdString(text.at(key)), QString::fromStdString(value));
    QCOMPARE(text.count("stage0_aug"), std::size_t{0});

    const auto read = read_image_metadata(text, "cascade.png");
    QVERIFY(read);
    QCOMPARE(read->cascade_file, std::string("/runs/c.json"));
    QCOMPARE(read->cascade.size(), std::size_t{2});
    for (std::size_t i = 0; i < 2; ++i) {
      const StageMetadata& a = m.cascade[i];
      const StageMetadata& b = read->cascade[i];
      QCOMPARE(b.checkpoint, a.checkpoint);
      QCOMPARE(b.checkpoint_hash, a.checkpoint_hash);
      QCOMPARE(b.checkpoint_step, a.checkpoint_step);
      QCOMPARE(b.preset, a.preset);
      QCOMPARE(b.guidance, a.guidance);
      QCOMPARE(b.steps, a.steps);
      QVERIFY(b.sampler == a.sampler);
      QCOMPARE(b.aug, a.aug);
      QCOMPARE(b.image_size, a.image_size);
      QCOMPARE(b.low_res_size, a.low_res_size);
    }
    QCOMPARE(read->guidance, 6.0);
    QCOMPARE(read->checkpoint, base.checkpoint);

    // A stage without its checkpoint leaves the cascade out whole; the base image still reads.
    text.erase("stage1_checkpoint");
    const auto partial = read_image_metadata(text, "partial.png");
    QVERIFY(partial && partial->cascade.empty() && partial->cascade_file.empty());
    QCOMPARE(partial->prompt, request.prompts[0]);

    // As the previous version (1.2) wrote an image, byte for byte: it reads, with no cascade.
    const std::map<std::string, std::string> previous{
        {"prompt", "a red circle"}, {"seed", "4"}, {"cfg", "6"}, {"steps", "12"}, {"sampler", "ddim"},
        {"eta", "0.000000"}, {"thresholding", "dynamic"}, {"threshold_percentile", "0.995000"},
        {"checkpoint", "/runs/base.safetensors"}, {"checkpoint_hash", "h0"}, {"checkpoint_step", "10"},
        {"preset", "demo"}, {"software", "t2i-studio"}, {"format_version", "1.2"}, {"written_by", "t2i-studio 0.12.0"},
        {"look_inside", "on"}, {"freeze_noise", "off"}, {"attention_words", "none"}, {"attention_step", "all"},
        {"attention_resolution", "all"}, {"attention_layer", "all"}, {"attention_head", "all"},
        {"attention_half", "conditional"}, {"attention_normalisation", "global"}, {"attention_opacity", "0.6"}};
    const auto old = read_image_metadata(previous, "previous.png");
    QVERIFY(old && old->inspection && old->inspection->look_inside);
    QVERIFY(old->cascade.empty());
    QCOMPARE(old->guidance, 6.0);
    QCOMPARE(old->steps, 12);
    QCOMPARE(old->checkpoint, base.checkpoint);
  }

  // 1.4: a frozen trajectory's steps shown and a word swap travel in the PNG text; a 1.3 text, as
  // that version wrote a Compare grid byte for byte, reads as before, with neither.
  void trajectoryAndWordSwapKeysRoundTripAndOlderTextsRead() {
    ImageMetadata m;
    m.prompt = "a red circle above a blue square";
    m.seed = 4;
    m.grid_seeds = {4};
    m.grid_guidance = {1, 3, 5, 8};
    m.grid_steps = {2, 5, 10};
    std::map<std::string, std::string> text = to_png_text(m);
    QCOMPARE(text.at("steps shown"), std::string("2, 5, 10"));
    QCOMPARE(text.count("swap_from"), std::size_t{0});
    auto read = read_image_metadata(text, "trajectory.png");
    QVERIFY(read);
    QCOMPARE(read->grid_steps, m.grid_steps);
    QVERIFY(!read->word_swap);

    m.grid_steps.clear();
    m.grid_guidance.clear();
    m.word_swap = t2i::sample::WordSwap{"red", "green", 0.25};
    text = to_png_text(m);
    QCOMPARE(text.at("swap_from"), std::string("red"));
    QCOMPARE(text.at("swap_to"), std::string("green"));
    QCOMPARE(text.at("inject_attention"), std::string("0.25"));
    read = read_image_metadata(text, "swap.png");
    QVERIFY(read && read->word_swap && read->grid_steps.empty());
    QCOMPARE(read->word_swap->from, std::string("red"));
    QCOMPARE(read->word_swap->to, std::string("green"));
    QCOMPARE(read->word_swap->inject, 0.25);

    // Out of range or unreadable: an injection keeps 0, a list with a bad step is left out whole.
    text["inject_attention"] = "1.5";
    text["steps shown"] = "2, five";
    read = read_image_metadata(text, "bad.png");
    QVERIFY(read && read->word_swap && read->grid_steps.empty());
    QCOMPARE(read->word_swap->inject, 0.0);
    text.erase("swap_to");
    QVERIFY(!read_image_metadata(text, "half.png")->word_swap);

    const std::map<std::string, std::string> previous{
        {"prompt", "a red circle"}, {"seed", "4"}, {"cfg", "1"}, {"steps", "10"}, {"sampler", "ddim"},
        {"eta", "0.000000"}, {"thresholding", "dynamic"}, {"threshold_percentile", "0.995000"},
        {"checkpoint", "/runs/base.safetensors"}, {"checkpoint_hash", "h0"}, {"checkpoint_step", "10"},
        {"preset", "demo"}, {"software", "t2i-studio"}, {"format_version", "1.3"}, {"written_by", "t2i-studio 0.13.0"},
        {"seeds", "4"}, {"guidance scales", "w = 1; w = 3; w = 5; w = 8"}};
    const auto old = read_image_metadata(previous, "previous.png");
    QVERIFY(old && old->grid_steps.empty() && !old->word_swap);
    QCOMPARE(old->grid_guidance, (std::vector<double>{1, 3, 5, 8}));
    QCOMPARE(old->grid_seeds, (std::vector<std::uint64_t>{4}));
  }

  void newerMinorCascadeSkipsUnknownKeys() {
    const t2i::sample::Cascade cascade = t2i::sample::parse_cascade(
        R"({"format_version": "1.3", "stages": [{"checkpoint": "a.pt", "seed_offset": 1}, {"checkpoint": "/b.pt"}], "notes": ""})",
        "c.json", "/runs", false);
    QCOMPARE(cascade.stages[0].checkpoint, std::string("/runs/a.pt"));
    QCOMPARE(cascade.stages[1].checkpoint, std::string("/b.pt"));
  }
};

QTEST_GUILESS_MAIN(TestInspect)
#include "test_inspect.moc"
