// Looking inside a sample: the U-Net's cross-attention recorded while it samples, and the token
// maps built from it, against closed forms (rows of probabilities, a network built by hand so
// that one token wins everywhere, constant maps whose average is known).
#include "diffusion/guidance.h"
#include "diffusion/sampler.h"
#include "model/attention.h"
#include "sample/attention_recorder.h"
#include "sample/guidance_anatomy.h"
#include "t2i/attention.h"
#include "t2i/runtime.h"
#include "t2i/sample.h"

#include "test_support.h"
#include "tiny_unet.h"

#include <QtTest/QtTest>

#include <cmath>

using namespace t2i::sample;
using t2i::test::make_unet;
using t2i::test::tiny_unet_config;

namespace {

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

// Six guided DDIM steps of the tiny U-Net for two images, recording what the probes given record.
torch::Tensor guided_ddim(t2i::model::UNet& unet, const t2i::TextCondition& text, AttentionRecorder* attention,
                          double w = 4.0, GuidanceAnatomyRecorder* anatomy = nullptr) {
  t2i::diffusion::SamplerOptions options;
  options.steps = 6;
  const auto sampler = t2i::diffusion::make_sampler(kSchedule, options);
  t2i::diffusion::SampleRequest request;
  request.text = text;
  request.seeds = {5, 6};
  request.image_shape = {3, 16, 16};
  if (attention != nullptr) request.observer = [attention](const t2i::diffusion::StepReport&) { attention->end_step(); };
  t2i::diffusion::GuidanceObserver halves;
  if (anatomy != nullptr) halves = [anatomy](const t2i::diffusion::GuidanceReport& report) { anatomy->observe(report); };
  torch::NoGradGuard no_grad;
  return sampler->sample(t2i::diffusion::classifier_free_guidance(t2i::model::as_sampling_denoiser(unet, attention), w, halves),
                         request);
}

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

  // The shipped demo model: the same images with maps and anatomy recorded, one recorded step per
  // denoising step, and the prompt's words recovered from the pieces its tokenizer made.
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
};

QTEST_GUILESS_MAIN(TestInspect)
#include "test_inspect.moc"
