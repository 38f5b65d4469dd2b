// The U-Net, its text conditioning and its presets: shapes, parameter budgets (Table 1),
// gradient flow, padding invariance, CFG's null text, checkpointing, bf16, attention kernels.
#include "diffusion/forward_process.h"
#include "diffusion/guidance.h"
#include "diffusion/noise_augmentation.h"
#include "diffusion/sampler.h"
#include "model/activation.h"
#include "model/attention.h"
#include "model/attention_observer.h"
#include "model/autocast.h"
#include "model/checkpoint.h"
#include "model/flop_counter.h"
#include "model/group_norm.h"
#include "model/preset_config.h"
#include "model/text_cache.h"
#include "model/unet.h"
#include "io/tensor_file.h"
#include "t2i/model.h"
#include "t2i/runtime.h"

#include "test_support.h"
#include "tiny_unet.h"

#include <QtTest/QtTest>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <limits>
#include <map>
#include <set>
#include <utility>
#include <vector>

using namespace t2i::model;
using t2i::runtime::Precision;

using t2i::test::expect_error;
using t2i::test::make_unet;
using t2i::test::tiny_unet_config;

namespace {

t2i::TextCondition caption(const torch::Tensor& tokens, int64_t padded_length, uint64_t padding_seed) {
  const int64_t length = tokens.size(0);
  torch::manual_seed(padding_seed);
  t2i::TextCondition text;
  text.embeddings = torch::cat({tokens, torch::randn({padded_length - length, tokens.size(1)})}, 0).unsqueeze(0);
  text.mask = torch::arange(padded_length).lt(length).unsqueeze(0);
  text.drop = torch::zeros({1}, torch::kBool);
  return text;
}

t2i::TextCondition random_text(int64_t batch, int64_t length, int64_t dim, int64_t real) {
  t2i::TextCondition text;
  text.embeddings = torch::randn({batch, length, dim});
  text.mask = torch::arange(length).lt(real).unsqueeze(0).expand({batch, length}).clone();
  text.drop = torch::zeros({batch}, torch::kBool);
  return text;
}

double relative_error(const torch::Tensor& a, const torch::Tensor& b) {
  return ((a - b).norm() / b.norm()).item<double>();
}

// Names of the parameters whose gradient after loss.backward() is defined and not all zero.
std::set<std::string> parameters_with_gradient(UNet& unet, const t2i::TextCondition& text) {
  unet->zero_grad();
  torch::manual_seed(5);
  const auto x = torch::randn({2, 3, 16, 16});
  const auto t = torch::rand({2});
  unet->forward(x, t, text).square().mean().backward();
  std::set<std::string> names;
  for (const auto& item : unet->named_parameters())
    if (item.value().grad().defined() && item.value().grad().abs().sum().item<double>() > 0) names.insert(item.key());
  return names;
}

std::set<std::string> all_parameters(UNet& unet) {
  std::set<std::string> names;
  for (const auto& item : unet->named_parameters()) names.insert(item.key());
  return names;
}

// softmax(q kᵀ/√d) v written out with explicit loops in double precision: the independent
// reference for the attention kernels.
torch::Tensor naive_attention(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v,
                              const torch::Tensor& mask) {
  const auto qd = q.to(torch::kFloat64), kd = k.to(torch::kFloat64), vd = v.to(torch::kFloat64);
  auto out = torch::zeros_like(qd);
  const double scale = 1.0 / std::sqrt(static_cast<double>(q.size(3)));
  for (int64_t b = 0; b < q.size(0); ++b)
    for (int64_t h = 0; h < q.size(1); ++h)
      for (int64_t i = 0; i < q.size(2); ++i) {
        std::vector<double> weights;
        double max_logit = -1e300, total = 0;
        for (int64_t j = 0; j < k.size(2); ++j) {
          const bool keep = !mask.defined() || mask[b][j].item<bool>();
          const double logit = keep ? (qd[b][h][i] * kd[b][h][j]).sum().item<double>() * scale : -1e300;
          weights.push_back(logit);
          if (keep) max_logit = std::max(max_logit, logit);
        }
        for (auto& w : weights) total += (w = w <= -1e299 ? 0.0 : std::exp(w - max_logit));
        for (int64_t j = 0; j < k.size(2); ++j) out[b][h][i] += vd[b][h][j] * (weights[static_cast<size_t>(j)] / total);
      }
  return out;
}

// The base U-Nets as the code before the super-resolution stage computed them (the file was
// written by main at c36f3fc): the SR options must leave their initialisation and forward pass
// exactly where they were, or saved checkpoints would sample differently.
const std::string kBaseGolden = std::string(T2I_SOURCE_DIR) + "/tests/fixtures/unet/base-unets.safetensors";

std::vector<std::pair<std::string, UNetConfig>> golden_configs() {
  const UNetConfig demo = unet_config(find_preset("demo"));
  UNetConfig efficient = demo;
  efficient.efficient = true;
  return {{"demo", demo}, {"demo_efficient", efficient}};
}

// The output on fixed inputs, and every parameter's sum (initialisation order), named.
std::pair<t2i::io::TensorMap, t2i::io::Metadata> golden_of(const std::string& name, const UNetConfig& config) {
  torch::NoGradGuard no_grad;
  UNet unet = make_unet(config, 1);
  torch::manual_seed(2);
  const auto x = torch::randn({2, config.channels, config.image_size, config.image_size});
  const auto t = torch::rand({2});
  const auto text = random_text(2, 8, config.text_embed_dim, 5);
  std::vector<torch::Tensor> sums;
  std::string parameters;
  for (const auto& item : unet->named_parameters()) {
    sums.push_back(item.value().to(torch::kFloat64).sum());
    parameters += item.key() + c10::str(item.value().sizes()) + ";";
  }
  return {{{name + "/output", unet->forward(x, t, text)}, {name + "/parameter_sums", torch::stack(sums)}},
          {{name + "/parameters", parameters}}};
}

// A super-resolution stage's inputs: x_t at the stage's size, and a low-resolution image
// upsampled to it with its augmentation level.
struct SrInputs {
  torch::Tensor x, t, low_res;
  t2i::TextCondition text;
  LowResCondition condition;
};

SrInputs sr_inputs(const UNetConfig& c, int64_t batch, uint64_t seed) {
  torch::manual_seed(static_cast<int64_t>(seed));
  SrInputs in;
  in.x = torch::randn({batch, c.channels, c.image_size, c.image_size});
  in.t = torch::rand({batch});
  in.low_res = torch::rand({batch, c.channels, c.low_res_size, c.low_res_size}) * 2 - 1;
  in.condition = {t2i::diffusion::upsample_low_res(in.low_res, c.image_size), torch::full({batch}, 0.2)};
  in.text = random_text(batch, 8, c.text_embed_dim, 5);
  return in;
}

double max_difference(const torch::Tensor& a, const torch::Tensor& b) { return (a - b).abs().max().item<double>(); }

// `work` on `threads` intra-op threads, then every core again (whatever `work` does).
template <class Work>
auto on_threads(int threads, Work work) {
  struct Restore {
    ~Restore() { t2i::runtime::initialize(); }
  } restore;
  t2i::runtime::initialize(threads);
  return work();
}

// A preset file edited by `edit`, written into `dir`.
QString edited_preset(const QTemporaryDir& dir, const std::function<void(nlohmann::json&)>& edit) {
  const auto source = find_preset("small").path;
  std::ifstream in(source);
  auto document = nlohmann::json::parse(in);
  edit(document);
  const auto path = dir.filePath(QStringLiteral("edited.json"));
  std::ofstream(path.toStdString()) << document.dump(2);
  return path;
}

void expect_load_error(const QString& path, const std::string& field, const std::string& problem) {
  try {
    load_preset(path.toStdString());
    QFAIL(qPrintable(QStringLiteral("no error for %1").arg(QString::fromStdString(field))));
  } catch (const std::runtime_error& e) {
    const std::string message = e.what();
    QVERIFY2(message.find(path.toStdString()) != std::string::npos, e.what());
    QVERIFY2(message.find("'" + field + "'") != std::string::npos, e.what());
    QVERIFY2(message.find(problem) != std::string::npos, e.what());
  }
}

} // namespace

class TestModel : public QObject {
  Q_OBJECT
private Q_SLOTS:
  void initTestCase() { t2i::runtime::initialize(); }

  // ---- the super-resolution stage (issue 27)

  void baseUNetsAreWhatTheyWereBeforeTheSrStage() {
    const t2i::io::TensorMap golden = t2i::io::load_tensors(kBaseGolden);
    const t2i::io::Metadata names = t2i::io::load_safetensors_metadata(kBaseGolden);
    for (const auto& [name, config] : golden_configs()) {
      const auto [tensors, metadata] = golden_of(name, config);
      QCOMPARE(metadata.at(name + "/parameters"), names.at(name + "/parameters"));  // names, shapes, order
      QVERIFY2(torch::equal(tensors.at(name + "/parameter_sums"), golden.at(name + "/parameter_sums")), name.c_str());
      // Bit for bit on the machine that wrote the file; another CPU's kernels may round the last
      // bits differently, while any change to the network moves the output by O(1).
      const auto& expected = golden.at(name + "/output");
      QVERIFY2(max_difference(tensors.at(name + "/output"), expected) <= 1e-5 * expected.abs().max().item<double>(), name.c_str());
    }
  }

  void srPresetsLoadAndTheirLowResSizeIsChecked() {
    const Preset demo = find_preset("sr-demo");
    QVERIFY(demo.super_resolution());
    QCOMPARE(demo.unet.low_res_size, 32);
    QCOMPARE(demo.unet.image_size, 64);
    const Preset sr256 = find_preset("sr256");
    QCOMPARE(sr256.unet.low_res_size, 64);
    QCOMPARE(sr256.unet.image_size, 256);
    QVERIFY(sr256.unet.efficient && sr256.unet.skip_scale);
    QCOMPARE(sr256.unet.level_res_blocks, (std::vector<int>{2, 4, 8, 8}));
    QVERIFY(!find_preset("demo").super_resolution());

    QTemporaryDir dir;  // small is 64×64
    expect_load_error(edited_preset(dir, [](auto& j) { j["unet"]["low_res_size"] = 64; }), "unet",
                      "low_res_size 64 must be smaller than image_size (64) and divide it");
    expect_load_error(edited_preset(dir, [](auto& j) { j["unet"]["low_res_size"] = 24; }), "unet",
                      "low_res_size 24 must be smaller than image_size (64) and divide it");
    expect_load_error(edited_preset(dir, [](auto& j) { j["unet"]["level_res_blocks"] = {1, 2}; }), "unet",
                      "level_res_blocks must be empty or have one entry per level (3)");
    QCOMPARE(load_preset(edited_preset(dir, [](auto& j) { j["unet"]["low_res_size"] = 16; }).toStdString()).unet.low_res_size, 16);
  }

  void srUNetRefusesAMissingOrMisplacedLowResInput() {
    UNet unet(unet_config(find_preset("sr-demo")));
    expect_error([&] { (void)as_denoiser(unet); }, {"super-resolution stage (32→64)", "needs the low-resolution image"});
    const SrInputs in = sr_inputs(unet->config(), 1, 3);
    expect_error([&] { (void)unet->forward(in.x, in.t, in.text); }, {"super-resolution stage (32→64)", "augmentation level"});
    UNet base(tiny_unet_config());
    expect_error([&] { (void)base->forward(torch::zeros({1, 3, 16, 16}), in.t, random_text(1, 4, 20, 2),
                                           LowResCondition{torch::zeros({1, 3, 16, 16}), torch::zeros({1})}); },
                 {"base model", "no low-resolution image"});
    expect_error([&] { (void)unet->forward(in.x, in.t, in.text, LowResCondition{in.low_res, in.condition.aug}); },
                 {"shaped like x_t"});
  }

  void srUNetEveryParameterGetsAGradient() {
    const UNetConfig config = unet_config(find_preset("sr-demo"));
    UNet unet = make_unet(config);
    SrInputs in = sr_inputs(config, 2, 4);
    in.text.drop = torch::tensor({false, true});  // one caption and the null text: every text parameter
    unet->forward(in.x, in.t, in.text, in.condition).square().mean().backward();
    std::set<std::string> with_gradient;
    for (const auto& item : unet->named_parameters())
      if (item.value().grad().defined() && item.value().grad().abs().sum().item<double>() > 0) with_gradient.insert(item.key());
    QCOMPARE(with_gradient, all_parameters(unet));
    QVERIFY(with_gradient.count("aug.fc1.weight") == 1);
    QCOMPARE(unet->named_parameters()["init_conv.weight"].size(1), int64_t{6});  // x_t and the low-resolution image
  }

  void srUNetOutputsTheHighResolutionShape() {
    torch::NoGradGuard no_grad;
    const UNetConfig config = unet_config(find_preset("sr-demo"));
    UNet unet = make_unet(config);
    const SrInputs in = sr_inputs(config, 2, 5);
    QCOMPARE(in.low_res.sizes().vec(), (std::vector<int64_t>{2, 3, 32, 32}));
    const auto out = unet->forward(in.x, in.t, in.text, in.condition);
    QCOMPARE(out.sizes().vec(), (std::vector<int64_t>{2, 3, 64, 64}));
    QVERIFY(out.isfinite().all().item<bool>());
  }

  void srUNetReadsAugAndTheLowResImage() {
    torch::NoGradGuard no_grad;
    const UNetConfig config = unet_config(find_preset("sr-demo"));
    UNet unet = make_unet(config);
    unet->eval();
    const SrInputs in = sr_inputs(config, 2, 6);
    const auto out = unet->forward(in.x, in.t, in.text, in.condition);
    QCOMPARE(max_difference(unet->forward(in.x, in.t, in.text, in.condition), out), 0.0);  // deterministic
    const double scale = out.abs().max().item<double>();
    QVERIFY(scale > 0);

    LowResCondition other_aug = in.condition;
    other_aug.aug = torch::full({2}, 0.7);
    QVERIFY(max_difference(unet->forward(in.x, in.t, in.text, other_aug), out) > 1e-3 * scale);

    LowResCondition other_image = in.condition;
    other_image.image = t2i::diffusion::upsample_low_res(in.low_res.flip({3}), config.image_size);
    QVERIFY(max_difference(unet->forward(in.x, in.t, in.text, other_image), out) > 1e-3 * scale);
  }

  void srDenoiserRepeatsTheLowResForGuidance() {
    torch::NoGradGuard no_grad;
    const UNetConfig config = unet_config(find_preset("sr-demo"));
    UNet unet = make_unet(config);
    unet->eval();
    const SrInputs in = sr_inputs(config, 2, 7);
    // Classifier-free guidance stacks [conditional; unconditional]: the same two low-res images twice.
    const auto both_text = t2i::TextCondition::cat(in.text, in.text.dropped());
    const auto x = torch::cat({in.x, in.x}), t = torch::cat({in.t, in.t});
    const LowResCondition stacked{torch::cat({in.condition.image, in.condition.image}), torch::cat({in.condition.aug, in.condition.aug})};
    const auto expected = unet->forward(x, t, both_text, stacked);
    QCOMPARE(max_difference(as_denoiser(unet, in.condition)(x, t, both_text), expected), 0.0);
    // The sampling denoiser runs the two halves side by side on one thread each: each half as the
    // network alone gives it on one thread.
    const auto sampled = on_threads(2, [&] { return as_sampling_denoiser(unet, in.condition)(x, t, both_text); });
    const auto halves = on_threads(1, [&] {
      return torch::cat({unet->forward(in.x, in.t, in.text, in.condition), unet->forward(in.x, in.t, in.text.dropped(), in.condition)});
    });
    QCOMPARE(max_difference(sampled, halves), 0.0);
    QVERIFY(max_difference(sampled, expected) <= 1e-5 * expected.abs().max().item<double>());
  }

  void skipScaleChangesThePassNotTheParameters() {
    // The 1/√2 is a constant on the skips: the same weights, a different pass (with it off, the
    // golden test above pins the pass).
    torch::NoGradGuard no_grad;
    UNetConfig plain = tiny_unet_config();
    UNetConfig scaled = plain;
    scaled.skip_scale = true;
    UNet a = make_unet(plain, 3), b = make_unet(scaled, 3);
    QCOMPARE(a->parameter_count(), b->parameter_count());
    torch::manual_seed(8);
    const auto x = torch::randn({1, 3, 16, 16});
    const auto t = torch::rand({1});
    const auto text = random_text(1, 4, 20, 3);
    QVERIFY(max_difference(a->forward(x, t, text), b->forward(x, t, text)) > 1e-4);
  }

  void levelResBlocksSetTheBlocksOfEachLevel() {
    UNetConfig uniform = tiny_unet_config();
    uniform.res_blocks = 2;
    UNetConfig listed = tiny_unet_config();
    listed.res_blocks = 5;
    listed.level_res_blocks = {2, 2, 2};
    QCOMPARE(UNet(listed)->parameter_count(), UNet(uniform)->parameter_count());
    listed.level_res_blocks = {1, 2, 3};
    std::set<std::string> blocks;
    for (const auto& item : UNet(listed)->named_parameters()) {
      const std::string key = item.key();
      if (key.rfind("down", 0) == 0 && key.find("_downsample") == std::string::npos) blocks.insert(key.substr(0, key.find('.')));
    }
    QCOMPARE(blocks, (std::set<std::string>{"down0_0", "down1_0", "down1_1", "down2_0", "down2_1", "down2_2"}));
  }

  void presetsLoadAndAreListed() {
    const auto names = list_presets();
    for (const char* name : {"small", "base", "large", "full", "demo", "sr-demo", "sr256"}) {
      QVERIFY2(std::find(names.begin(), names.end(), name) != names.end(), name);
      const Preset preset = find_preset(name);
      QCOMPARE(preset.name, std::string(name));
      QVERIFY(!preset.description.empty());
    }
  }

  // Table 1 of the paper, column by column.
  void presetsCarryTable1() {
    struct Row {
      const char* name;
      int batch, micro, text, steps, emb, hidden, every, val;
      double scale;
      std::optional<int> early;
      double params;
    };
    const Row table[] = {{"small", 32, 4, 64, 500, 32, 64, 100, 100, 5, std::nullopt, 4.87e6},
                         {"base", 64, 8, 128, 500, 32, 64, 200, 100, 8, 5000, 9.75e6},
                         {"large", 64, 8, 256, 1000, 64, 128, 1000, 1000, 8, 20000, 19.5e6},
                         {"full", 32, 4, 256, 1000, 512, 256, 100, 100, 5, 2000, 58.78e6}};
    for (const auto& row : table) {
      const Preset p = find_preset(row.name);
      QCOMPARE(p.batch_size, row.batch);
      QCOMPARE(p.max_batch_size, row.micro);
      QCOMPARE(p.max_text_length, row.text);
      QCOMPARE(p.diffusion_steps, row.steps);
      QCOMPARE(p.unet_emb_dim, std::optional<int>(row.emb));
      QCOMPARE(p.unet_hidden_size, std::optional<int>(row.hidden));
      QCOMPARE(p.eval_every, row.every);
      QCOMPARE(p.eval_val_steps, row.val);
      QCOMPARE(p.cond_scale, row.scale);
      QCOMPARE(p.early_stop, row.early);
      QCOMPARE(p.paper_parameters, std::optional<double>(row.params));
      QCOMPARE(p.unet.text_embed_dim, 768);
      QCOMPARE(p.unet.image_size, 64);
      QCOMPARE(p.training.learning_rate, 1e-4);
      QCOMPARE(p.training.beta1, 0.9);
      QCOMPARE(p.training.beta2, 0.99);
    }
  }

  void parameterCountsMatchTable1() {
    const std::map<std::string, double> table{{"small", 4.87e6}, {"base", 9.75e6}, {"large", 19.5e6}, {"full", 58.78e6}};
    for (const auto& [name, expected] : table) {
      const UNet unet(unet_config(find_preset(name)));
      const double count = static_cast<double>(unet->parameter_count());
      QVERIFY2(std::abs(count - expected) / expected < 0.02,
               qPrintable(QStringLiteral("%1: %2 parameters, Table 1 says %3")
                              .arg(QString::fromStdString(name)).arg(count).arg(expected)));
    }
  }

  void outputShapeMatchesInputForEveryPreset() {
    torch::NoGradGuard no_grad;
    for (const char* name : {"demo", "small", "base", "large", "full"}) {
      const Preset preset = find_preset(name);
      torch::manual_seed(0);
      UNetConfig config = unet_config(preset);
      config.execution.channels_last = true;  // the layout training uses, and the faster one here
      UNet unet(config);
      const int64_t batch = 1;
      const auto x = torch::randn({batch, 3, preset.unet.image_size, preset.unet.image_size});
      const auto text = random_text(batch, preset.max_text_length, preset.unet.text_embed_dim, 7);
      const auto out = unet->forward(x, torch::rand({batch}), text);
      QCOMPARE(out.sizes(), x.sizes());
      QCOMPARE(out.scalar_type(), torch::kFloat32);
      QVERIFY(out.isfinite().all().item<bool>());
    }
  }

  void untrainedNetworkPredictsZero() {
    torch::NoGradGuard no_grad;
    torch::manual_seed(0);
    UNet unet(tiny_unet_config());
    const auto out = unet->forward(torch::randn({2, 3, 16, 16}), torch::rand({2}), random_text(2, 6, 20, 3));
    QCOMPARE(out.abs().max().item<float>(), 0.0f);
  }

  // With text, only the null text is unused; with every sample dropped (no embeddings at all),
  // only the text projection is; a batch mixing both reaches every parameter.
  void everyParameterReceivesAGradient() {
    for (const bool efficient : {false, true}) {
      UNetConfig config = tiny_unet_config();
      config.efficient = efficient;
      config.dropout = 0.1;
      UNet unet = make_unet(config);
      unet->train();
      const auto everything = all_parameters(unet);
      const std::set<std::string> null_text{"text.null_text"};
      const std::set<std::string> projection{"text.project.weight", "text.project.bias"};

      auto with_text = random_text(2, 6, 20, 4);
      std::set<std::string> expected;
      std::set_difference(everything.begin(), everything.end(), null_text.begin(), null_text.end(),
                          std::inserter(expected, expected.end()));
      QCOMPARE(parameters_with_gradient(unet, with_text), expected);

      expected.clear();
      std::set_difference(everything.begin(), everything.end(), projection.begin(), projection.end(),
                          std::inserter(expected, expected.end()));
      QCOMPARE(parameters_with_gradient(unet, t2i::TextCondition::none(2)), expected);

      auto mixed = with_text;
      mixed.drop = torch::tensor({false, true});
      QCOMPARE(parameters_with_gradient(unet, mixed), everything);
    }
  }

  void paddingDoesNotChangeTheOutput() {
    UNet unet = make_unet(tiny_unet_config());
    unet->eval();
    torch::NoGradGuard no_grad;
    torch::manual_seed(3);
    const auto words = torch::randn({7, 20});
    const auto x = torch::randn({1, 3, 16, 16});
    const auto t = torch::full({1}, 0.3);
    const auto text64 = caption(words, 64, 10);
    const auto out64 = unet->forward(x, t, text64);
    const auto out256 = unet->forward(x, t, caption(words, 256, 11));
    QVERIFY(out64.abs().max().item<double>() > 1e-3);
    QVERIFY2(torch::allclose(out64, out256, 1e-5, 1e-6), qPrintable(QString::number(relative_error(out256, out64))));

    auto changed = text64;
    changed.embeddings = text64.embeddings.clone();
    changed.embeddings[0][30] = torch::randn({20}) * 100;
    QVERIFY(torch::equal(unet->forward(x, t, changed), out64));
  }

  void nullTextAndDifferentTextsChangeTheOutput() {
    UNet unet = make_unet(tiny_unet_config());
    unet->eval();
    torch::NoGradGuard no_grad;
    torch::manual_seed(4);
    const auto x = torch::randn({1, 3, 16, 16});
    const auto t = torch::full({1}, 0.5);
    const auto a = caption(torch::randn({5, 20}), 16, 1);
    const auto b = caption(torch::randn({5, 20}), 16, 1);
    const auto out_a = unet->forward(x, t, a);
    const auto out_b = unet->forward(x, t, b);
    const auto out_null = unet->forward(x, t, a.dropped());
    QVERIFY(relative_error(out_b, out_a) > 1e-3);
    QVERIFY(relative_error(out_null, out_a) > 1e-3);

    // The null text is the same whatever the dropped caption was, with or without embeddings,
    // and an empty caption (no real token) reads it too.
    QVERIFY(torch::allclose(unet->forward(x, t, b.dropped()), out_null, 1e-5, 1e-6));
    QVERIFY(torch::allclose(unet->forward(x, t, t2i::TextCondition::none(1)), out_null, 1e-5, 1e-6));
    auto empty = a;
    empty.mask = torch::zeros_like(a.mask);
    QVERIFY(torch::allclose(unet->forward(x, t, empty), out_null, 1e-5, 1e-6));

    // Classifier-free guidance's batched [conditional; unconditional] pass gives the same halves.
    const auto both = as_denoiser(unet)(torch::cat({x, x}), torch::cat({t, t}), t2i::TextCondition::cat(a, a.dropped()));
    QVERIFY(torch::allclose(both[0], out_a[0], 1e-4, 1e-5));
    QVERIFY(torch::allclose(both[1], out_null[0], 1e-4, 1e-5));
  }

  void checkpointingGivesTheSameGradients() {
    for (const auto precision : {Precision::Float32, Precision::BFloat16}) {
      UNetConfig config = tiny_unet_config();
      config.dropout = 0.2;  // checkpointing must replay the same dropout masks
      config.execution.precision = precision;
      UNet unet = make_unet(config);
      unet->train();
      torch::manual_seed(7);
      const auto x = torch::randn({2, 3, 16, 16});
      const auto t = torch::rand({2});
      auto text = random_text(2, 6, 20, 4);
      text.drop = torch::tensor({false, true});

      std::map<std::string, torch::Tensor> grads[2];
      torch::Tensor outputs[2];
      for (const bool use_checkpoint : {false, true}) {
        ExecutionOptions execution = unet->execution();
        execution.checkpoint = use_checkpoint;
        unet->set_execution(execution);
        unet->zero_grad();
        torch::manual_seed(8);
        const auto out = unet->forward(x, t, text);
        out.square().mean().backward();
        outputs[use_checkpoint] = out.detach();
        for (const auto& item : unet->named_parameters()) grads[use_checkpoint][item.key()] = item.value().grad().clone();
      }
      QVERIFY(torch::equal(outputs[0], outputs[1]));
      // The same gradients up to the order in which autograd sums the contributions of the
      // blocks (in bf16 under autocast: a few bf16 roundings).
      const double tolerance = precision == Precision::Float32 ? 1e-5 : 2e-2;
      for (const auto& [name, grad] : grads[0]) {
        const double error = relative_error(grads[1][name], grad);
        QVERIFY2(error < tolerance, qPrintable(QStringLiteral("%1: %2").arg(QString::fromStdString(name)).arg(error)));
      }
    }
  }

  void checkpointFunctionPassesGradientsToInputs() {
    torch::manual_seed(9);
    const auto w = torch::randn({4, 4}, torch::requires_grad());
    const auto a = torch::randn({3, 4}, torch::requires_grad());
    const auto b = torch::randn({3, 4}, torch::requires_grad());
    const BlockFunction fn = [&](const std::vector<torch::Tensor>& in) { return torch::tanh(in[0].matmul(w)) * in[1]; };
    fn({a, b}).sum().backward();
    const auto expected_w = w.grad().clone(), expected_a = a.grad().clone(), expected_b = b.grad().clone();
    w.grad().zero_();
    a.grad().zero_();
    b.grad().zero_();
    checkpoint(fn, {a, b}).sum().backward();
    QVERIFY(torch::allclose(w.grad(), expected_w, 1e-6, 1e-7));
    QVERIFY(torch::allclose(a.grad(), expected_a, 1e-6, 1e-7));
    QVERIFY(torch::allclose(b.grad(), expected_b, 1e-6, 1e-7));
  }

  void bf16IsCloseToFp32() {
    UNet unet = make_unet(tiny_unet_config());
    unet->eval();
    torch::NoGradGuard no_grad;
    torch::manual_seed(6);
    const auto x = torch::randn({2, 3, 16, 16});
    const auto t = torch::rand({2});
    const auto text = random_text(2, 8, 20, 5);
    const auto reference = unet->forward(x, t, text);
    ExecutionOptions execution;
    execution.precision = Precision::BFloat16;
    execution.channels_last = true;
    unet->set_execution(execution);
    const auto out = unet->forward(x, t, text);
    QCOMPARE(out.scalar_type(), torch::kFloat32);
    const double error = relative_error(out, reference);
    QVERIFY2(error < 0.03 && error > 0, qPrintable(QString::number(error)));
    // The master weights stay fp32 and autocast does not leak out of the forward pass.
    for (const auto& parameter : unet->parameters()) QCOMPARE(parameter.scalar_type(), torch::kFloat32);
    QVERIFY(!AutocastState::current().cpu_enabled);
  }

  // A network frozen for sampling in bf16 stores its convolution and linear weights in bf16 once;
  // autocast would have rounded the fp32 weights to the same bf16 values at every call, so the
  // output is the autocast network's bit for bit, and as close to fp32 as bf16 allows.
  void frozenBf16NetworkMatchesAutocast() {
    UNet unet = make_unet(tiny_unet_config());
    unet->eval();
    torch::NoGradGuard no_grad;
    torch::manual_seed(6);
    const auto x = torch::randn({2, 3, 16, 16});
    const auto t = torch::rand({2});
    const auto text = random_text(2, 8, 20, 5);
    const auto reference = unet->forward(x, t, text);
    ExecutionOptions execution;
    execution.precision = Precision::BFloat16;
    execution.channels_last = true;
    unet->set_execution(execution);
    const auto autocast = unet->forward(x, t, text);
    unet->freeze_for_sampling();
    const auto frozen = unet->forward(x, t, text);
    QCOMPARE(frozen.scalar_type(), torch::kFloat32);
    QVERIFY2(torch::equal(frozen, autocast), qPrintable(QString::number(relative_error(frozen, autocast))));
    const double error = relative_error(frozen, reference);
    QVERIFY2(error < 0.03 && error > 0, qPrintable(QString::number(error)));
    // Convolution (4-d) and linear (2-d) weights in bf16; the biases, the normalisations and the
    // learned null text and key/value keep float32.
    for (const auto& item : unet->named_parameters()) {
      const auto& parameter = item.value();
      QVERIFY(!parameter.requires_grad());
      if (parameter.dim() == 4 || parameter.dim() == 2) QVERIFY2(parameter.scalar_type() == torch::kBFloat16, item.key().c_str());
      if (parameter.dim() == 1 || item.key().find("null_") != std::string::npos)
        QVERIFY2(parameter.scalar_type() == torch::kFloat32, item.key().c_str());
    }
    QVERIFY(!AutocastState::current().cpu_enabled);
    // Its weights are bf16 now: it cannot be switched to fp32.
    execution.precision = Precision::Float32;
    QVERIFY_THROWS_EXCEPTION(std::logic_error, unet->set_execution(execution));
  }

  // Frozen in fp32 (a CPU without native bf16), the weights and the output stay as they were.
  void frozenFp32NetworkKeepsItsWeights() {
    UNet unet = make_unet(tiny_unet_config());
    unet->eval();
    torch::NoGradGuard no_grad;
    torch::manual_seed(6);
    const auto x = torch::randn({2, 3, 16, 16});
    const auto t = torch::rand({2});
    const auto text = random_text(2, 8, 20, 5);
    const auto reference = unet->forward(x, t, text);
    unet->freeze_for_sampling();
    QVERIFY(torch::equal(unet->forward(x, t, text), reference));
    for (const auto& parameter : unet->parameters()) {
      QCOMPARE(parameter.scalar_type(), torch::kFloat32);
      QVERIFY(!parameter.requires_grad());
    }
  }

  // The text cache: the same output as without it, each cross-attention's keys and values computed
  // once per text however many steps read them, computed again for another text, and never used
  // where gradients flow.
  void textCacheComputesKeysAndValuesOncePerText() {
    UNet unet = make_unet(tiny_unet_config());
    unet->eval();
    int64_t cross_attention_layers = 0;
    for (const auto& module : unet->modules(/*include_self=*/false))
      cross_attention_layers += module->as<CrossAttention>() != nullptr;
    QCOMPARE(cross_attention_layers, int64_t{5});  // levels 1 and 2 down and up, and the middle
    torch::manual_seed(8);
    const auto x = torch::randn({2, 3, 16, 16});
    const auto a = random_text(2, 8, 20, 5);
    const auto b = random_text(2, 8, 20, 3);
    TextCache cache;
    {
      torch::NoGradGuard no_grad;
      for (int step = 0; step < 4; ++step) {
        const auto t = torch::full({2}, 0.9 - 0.2 * step);
        // A condition rebuilt at every step, as guidance stacks it: equal contents, new tensors.
        const t2i::TextCondition same{a.embeddings.clone(), a.mask.clone(), a.drop.clone()};
        QVERIFY(torch::equal(unet->forward(x, t, same, &cache), unet->forward(x, t, a)));
      }
      QCOMPARE(cache.kv_projections(), cross_attention_layers);
      const auto t = torch::full({2}, 0.3);
      QVERIFY(torch::equal(unet->forward(x, t, b, &cache), unet->forward(x, t, b)));
      QVERIFY(torch::equal(unet->forward(x, t, b.dropped(), &cache), unet->forward(x, t, b.dropped())));
      QCOMPARE(cache.kv_projections(), 3 * cross_attention_layers);
    }
    const auto t = torch::full({2}, 0.5);
    (void)unet->forward(x, t, a, &cache);
    QCOMPARE(cache.kv_projections(), 3 * cross_attention_layers);
  }

  // A whole guided sampling run with the run's text caches, its batch split in two halves that run
  // side by side on one thread each, gives the images of the uncached network run on each half
  // alone on one thread, bit for bit; and those of the whole batch in one pass to rounding. (A
  // network's float sums may group differently on another number of threads.)
  void samplingDenoiserSamplesLikeTheNetwork() {
    UNet unet = make_unet(tiny_unet_config());
    unet->eval();
    t2i::diffusion::SamplerOptions options;
    options.steps = 6;
    const auto sampler = t2i::diffusion::make_sampler(
        t2i::diffusion::NoiseSchedule({t2i::diffusion::ScheduleKind::Cosine, 1000}), options);
    torch::manual_seed(9);
    t2i::diffusion::SampleRequest request;
    request.text = random_text(2, 8, 20, 4);
    request.seeds = {5, 6};
    request.image_shape = {3, 16, 16};
    const t2i::Denoiser network_per_half = [&](const torch::Tensor& x_t, const torch::Tensor& t, const t2i::TextCondition& text) {
      const int64_t half = x_t.size(0) / 2;
      return torch::cat({unet->forward(x_t.slice(0, 0, half), t.slice(0, 0, half), text.slice(0, half)),
                         unet->forward(x_t.slice(0, half), t.slice(0, half), text.slice(half, x_t.size(0)))});
    };
    const auto cached = on_threads(2, [&] {
      return sampler->sample(t2i::diffusion::classifier_free_guidance(as_sampling_denoiser(unet), 4.0), request);
    });
    const auto plain = on_threads(1, [&] { return sampler->sample(t2i::diffusion::classifier_free_guidance(network_per_half, 4.0), request); });
    QVERIFY(torch::equal(cached, plain));
    const auto whole = sampler->sample(t2i::diffusion::classifier_free_guidance(as_denoiser(unet), 4.0), request);
    QVERIFY(max_difference(cached, whole) < 1e-4);
  }

  // An attention observer that fails during a split sampling pass: the error reaches the caller,
  // and the half that was waiting for the failed one at a layer goes on instead of hanging.
  void aFailingObserverStopsTheSplitPass() {
    struct Failing : t2i::model::AttentionObserver {
      int calls = 0;
      void cross_attention(const void*, std::int64_t, std::int64_t, const torch::Tensor&) override {
        if (++calls == 3) throw std::runtime_error("observer failed");
      }
    };
    UNet unet = make_unet(tiny_unet_config());
    unet->eval();
    torch::NoGradGuard no_grad;
    Failing observer;
    const auto denoise = as_sampling_denoiser(unet, &observer);
    const auto text = random_text(2, 8, 20, 4);
    const auto both = t2i::TextCondition::cat(text, text.dropped());
    const bool threw = on_threads(2, [&] {
      try {
        denoise(torch::randn({4, 3, 16, 16}), torch::full({4}, 0.5), both);
      } catch (const std::runtime_error&) {
        return true;
      }
      return false;
    });
    QVERIFY(threw);
    QCOMPARE(observer.calls, 3);
  }

  void channelsLastMatchesContiguous() {
    UNet unet = make_unet(tiny_unet_config());
    unet->eval();
    torch::NoGradGuard no_grad;
    torch::manual_seed(6);
    const auto x = torch::randn({2, 3, 16, 16});
    const auto t = torch::rand({2});
    const auto text = random_text(2, 8, 20, 5);
    const auto reference = unet->forward(x, t, text);
    ExecutionOptions execution;
    execution.channels_last = true;
    unet->set_execution(execution);
    const auto out = unet->forward(x, t, text);
    QVERIFY(out.is_contiguous());
    QVERIFY2(torch::allclose(out, reference, 1e-4, 1e-5), qPrintable(QString::number(relative_error(out, reference))));
  }

  // A network's output for one sample must not depend on what else is in its batch: guidance
  // off (w = 1) runs a batch of one, guidance on a batch of two, and both must see the same
  // network. Checked on the demo preset's shapes, where the first 32×32 levels run oneDNN's
  // kernels at the sizes users sample with.
  void batchOfNEqualsItsSamples_data() {
    QTest::addColumn<bool>("channelsLast");
    QTest::addColumn<bool>("bf16");
    QTest::addColumn<double>("tolerance");
    QTest::newRow("NCHW fp32") << false << false << 1e-5;
    QTest::newRow("channels-last fp32") << true << false << 1e-5;
    // bf16 rounds each layer to 8 bits; a different kernel for another batch size may round
    // differently, so allow a few bf16 ulps after the network, not a different image.
    QTest::newRow("NCHW bf16") << false << true << 2.5e-2;
    QTest::newRow("channels-last bf16") << true << true << 2.5e-2;
  }

  void batchOfNEqualsItsSamples() {
    QFETCH(bool, channelsLast);
    QFETCH(bool, bf16);
    QFETCH(double, tolerance);
    UNetConfig config = unet_config(find_preset("demo"));
    config.execution.channels_last = channelsLast;
    config.execution.precision = bf16 ? Precision::BFloat16 : Precision::Float32;
    UNet unet = make_unet(config);
    unet->eval();
    torch::NoGradGuard no_grad;
    torch::manual_seed(21);
    const int64_t size = config.image_size;
    const auto x = torch::randn({4, 3, size, size});
    const auto t = torch::rand({4});
    auto text = random_text(4, 12, config.text_embed_dim, 7);
    text.drop = torch::tensor({0, 1, 0, 0}, torch::kBool);
    std::vector<torch::Tensor> alone;
    for (int64_t i = 0; i < 4; ++i) alone.push_back(unet->forward(x.slice(0, i, i + 1), t.slice(0, i, i + 1), text.slice(i, i + 1)));
    for (int64_t n = 1; n <= 4; ++n) {
      const auto batched = unet->forward(x.slice(0, 0, n), t.slice(0, 0, n), text.slice(0, n));
      for (int64_t i = 0; i < n; ++i) {
        const double error = relative_error(batched.slice(0, i, i + 1), alone[static_cast<size_t>(i)]);
        QVERIFY2(error < tolerance, qPrintable(QStringLiteral("batch of %1, sample %2: relative error %3")
                                                   .arg(n).arg(i).arg(error)));
      }
    }
  }

  // Guidance off (w = 1) runs the network on a batch of one; the same image sampled beside
  // another, or with guidance a hair above 1 (a batch of two), must come out the same. The
  // demo preset's network in bf16 and channels-last, as users sample with it.
  void guidanceOffSamplesOneImageLikeABatch() {
    UNetConfig config = unet_config(find_preset("demo"));
    config.execution = default_execution("cpu");
    config.execution.precision = Precision::BFloat16;
    UNet unet = make_unet(config);
    unet->eval();
    const t2i::Denoiser network = as_denoiser(unet);
    t2i::diffusion::SamplerOptions options;
    options.steps = 8;
    const auto sampler = t2i::diffusion::make_sampler(
        t2i::diffusion::NoiseSchedule({t2i::diffusion::ScheduleKind::Cosine, 1000}), options);
    torch::manual_seed(4);
    const auto text = random_text(2, 10, config.text_embed_dim, 6);
    const auto sample = [&](std::vector<std::uint64_t> seeds, double w) {
      t2i::diffusion::SampleRequest request;
      request.text = text.slice(0, static_cast<int64_t>(seeds.size()));
      request.seeds = std::move(seeds);
      request.image_shape = {3, config.image_size, config.image_size};
      return sampler->sample(t2i::diffusion::classifier_free_guidance(network, w), request);
    };
    const auto alone = sample({3}, 1.0);
    const auto beside = sample({3, 4}, 1.0).slice(0, 0, 1);
    const auto nearly_off = sample({3}, 1.0 + 1e-6);
    // Thresholded images in [−1, 1]: a mean difference of 0.01 is about one grey level of 255.
    const double batch_gap = (alone - beside).abs().mean().item<double>();
    const double guidance_gap = (alone - nearly_off).abs().mean().item<double>();
    QVERIFY2(batch_gap < 0.01, qPrintable(QStringLiteral("alone vs in a batch of two: %1").arg(batch_gap)));
    QVERIFY2(guidance_gap < 0.01, qPrintable(QStringLiteral("w = 1 vs w = 1 + 1e-6: %1").arg(guidance_gap)));
  }

  // Against group_norm in float64: LibTorch 1.13's own bf16 channels-last CPU kernel was 4–9% off
  // at 32×32 and differed between batch sizes.
  // 7×9 pixels: a last block of the fused kernels' blocks of 64 only partly filled.
  void groupNormMatchesFloat64InEveryLayout_data() {
    QTest::addColumn<bool>("channelsLast");
    QTest::addColumn<int>("batch");
    QTest::addColumn<int>("height");
    QTest::addColumn<int>("width");
    for (const auto& [height, width] : {std::pair{32, 32}, std::pair{7, 9}})
      for (const int batch : {1, 2, 5})
        for (const bool channels_last : {false, true})
          QTest::addRow("%s N=%d %dx%d", channels_last ? "channels-last" : "NCHW", batch, height, width)
              << channels_last << batch << height << width;
  }

  void groupNormMatchesFloat64InEveryLayout() {
    QFETCH(bool, channelsLast);
    QFETCH(int, batch);
    QFETCH(int, height);
    QFETCH(int, width);
    torch::manual_seed(8);
    GroupNorm norm(64);
    {
      torch::NoGradGuard no_grad;
      for (auto& parameter : norm->parameters()) parameter.normal_(0.5, 1.0);
    }
    const auto format = channelsLast ? torch::MemoryFormat::ChannelsLast : torch::MemoryFormat::Contiguous;
    const auto x = (torch::randn({batch, 64, height, width}) * 3 + 1).to(torch::kBFloat16);
    const auto parameters = norm->parameters();
    const auto reference = torch::group_norm(x.to(torch::kFloat64), norm_groups(64), parameters[0].to(torch::kFloat64),
                                             parameters[1].to(torch::kFloat64), 1e-5);
    torch::NoGradGuard no_grad;
    const auto out = norm(x.contiguous(format));
    QCOMPARE(out.scalar_type(), torch::kBFloat16);
    // One bf16 rounding of the output is 2^-9 ≈ 0.2% at most.
    const double error = relative_error(out.to(torch::kFloat64), reference);
    QVERIFY2(error < 4e-3, qPrintable(QString::number(error)));
  }

  // The bf16 group norm's own backward against autograd through group_norm in float64: the
  // gradients of the input (in its dtype and layout) and of the weight and bias.
  void groupNormGradientsMatchFloat64_data() { groupNormMatchesFloat64InEveryLayout_data(); }

  void groupNormGradientsMatchFloat64() {
    QFETCH(bool, channelsLast);
    QFETCH(int, batch);
    QFETCH(int, height);
    QFETCH(int, width);
    torch::manual_seed(9);
    GroupNorm norm(64);
    {
      torch::NoGradGuard no_grad;
      for (auto& parameter : norm->parameters()) parameter.normal_(0.5, 1.0);
    }
    const auto format = channelsLast ? torch::MemoryFormat::ChannelsLast : torch::MemoryFormat::Contiguous;
    const auto x = (torch::randn({batch, 64, height, width}) * 3 + 1).to(torch::kBFloat16).contiguous(format).requires_grad_(true);
    const auto grad_out = torch::randn({batch, 64, height, width}).to(torch::kBFloat16).contiguous(format);
    norm(x).backward(grad_out);

    const auto parameters = norm->parameters();
    const auto x64 = x.detach().to(torch::kFloat64).requires_grad_(true);
    const auto weight64 = parameters[0].detach().to(torch::kFloat64).requires_grad_(true);
    const auto bias64 = parameters[1].detach().to(torch::kFloat64).requires_grad_(true);
    torch::group_norm(x64, norm_groups(64), weight64, bias64, 1e-5).backward(grad_out.to(torch::kFloat64));

    QCOMPARE(x.grad().scalar_type(), torch::kBFloat16);
    QCOMPARE(x.grad().is_contiguous(format), true);
    // The input's gradient is rounded to bf16 once (2^-9); the parameters' stay in float32.
    const double input_error = relative_error(x.grad().to(torch::kFloat64), x64.grad());
    QVERIFY2(input_error < 4e-3, qPrintable(QString::number(input_error)));
    QVERIFY(relative_error(parameters[0].grad().to(torch::kFloat64), weight64.grad()) < 1e-4);
    QVERIFY(relative_error(parameters[1].grad().to(torch::kFloat64), bias64.grad()) < 1e-4);
  }

  // The norm followed in one pass by SiLU, or by the time embedding's scale-and-shift and SiLU
  // (a residual block's two uses), in bf16, against the same steps one after another through
  // autograd in float64 on the same (rounded) inputs: the output and the gradients of the input,
  // the norm's weight and bias, the scale and the shift.
  void groupNormFollowUpMatchesFloat64_data() { groupNormMatchesFloat64InEveryLayout_data(); }

  void groupNormFollowUpMatchesFloat64() {
    QFETCH(bool, channelsLast);
    QFETCH(int, batch);
    QFETCH(int, height);
    QFETCH(int, width);
    torch::manual_seed(10);
    GroupNorm norm(64);
    {
      torch::NoGradGuard no_grad;
      for (auto& parameter : norm->parameters()) parameter.normal_(0.5, 1.0);
    }
    const auto format = channelsLast ? torch::MemoryFormat::ChannelsLast : torch::MemoryFormat::Contiguous;
    const auto x = (torch::randn({batch, 64, height, width}) * 3 + 1).to(torch::kBFloat16).contiguous(format).requires_grad_(true);
    const auto scale = (torch::randn({batch, 64, 1, 1}) * 0.5).to(torch::kBFloat16).requires_grad_(true);
    const auto shift = torch::randn({batch, 64, 1, 1}).to(torch::kBFloat16).requires_grad_(true);
    const auto grad_out = torch::randn({batch, 64, height, width}).to(torch::kBFloat16).contiguous(format);
    const auto parameters = norm->parameters();
    for (const bool scaled : {false, true}) {
      for (auto tensor : {x, scale, shift, parameters[0], parameters[1]}) tensor.mutable_grad() = torch::Tensor();
      const auto out = scaled ? norm(x, NormFollowUp{scale, shift, true}) : norm(x, NormFollowUp{{}, {}, true});
      out.backward(grad_out);

      const auto x64 = x.detach().to(torch::kFloat64).requires_grad_(true);
      const auto weight64 = parameters[0].detach().to(torch::kFloat64).requires_grad_(true);
      const auto bias64 = parameters[1].detach().to(torch::kFloat64).requires_grad_(true);
      const auto scale64 = scale.detach().to(torch::kFloat64).requires_grad_(true);
      const auto shift64 = shift.detach().to(torch::kFloat64).requires_grad_(true);
      auto reference = torch::group_norm(x64, norm_groups(64), weight64, bias64, 1e-5);
      if (scaled) reference = reference * (scale64 + 1) + shift64;
      reference = reference * torch::sigmoid(reference);
      reference.backward(grad_out.to(torch::kFloat64));

      QCOMPARE(out.scalar_type(), torch::kBFloat16);
      QCOMPARE(out.is_contiguous(format), true);
      QCOMPARE(x.grad().scalar_type(), torch::kBFloat16);
      QCOMPARE(x.grad().is_contiguous(format), true);
      // The output and the input's gradient are rounded to bf16 once (2^-9); the norm's parameters'
      // gradients stay in float32; the scale's and shift's come back in their dtype, bf16.
      const double out_error = relative_error(out.to(torch::kFloat64), reference.detach());
      const double input_error = relative_error(x.grad().to(torch::kFloat64), x64.grad());
      QVERIFY2(out_error < 4e-3, qPrintable(QString::number(out_error)));
      QVERIFY2(input_error < 4e-3, qPrintable(QString::number(input_error)));
      QVERIFY(relative_error(parameters[0].grad().to(torch::kFloat64), weight64.grad()) < 1e-4);
      QVERIFY(relative_error(parameters[1].grad().to(torch::kFloat64), bias64.grad()) < 1e-4);
      if (scaled) {
        QVERIFY(relative_error(scale.grad().to(torch::kFloat64), scale64.grad()) < 4e-3);
        QVERIFY(relative_error(shift.grad().to(torch::kFloat64), shift64.grad()) < 4e-3);
      }
    }
  }

  // x·sigmoid(x) and its derivative sigmoid(x)·(1 + x·(1 − sigmoid(x))) in float64 against the
  // bf16 SiLU's value and gradient: one bf16 rounding each (2^-9 relative).
  void bf16SiluMatchesFloat64() {
    torch::manual_seed(15);
    const auto x = (torch::randn({2, 8, 5, 5}) * 4).to(torch::kBFloat16).contiguous(torch::MemoryFormat::ChannelsLast).requires_grad_(true);
    const auto grad_out = torch::randn({2, 8, 5, 5}).to(torch::kBFloat16);
    const auto y = t2i::model::silu(x);
    y.backward(grad_out);
    const auto x64 = x.detach().to(torch::kFloat64);
    const auto sigmoid = 1.0 / (1.0 + (-x64).exp());
    const auto expected_y = x64 * sigmoid;
    const auto expected_grad = grad_out.to(torch::kFloat64) * sigmoid * (1.0 + x64 * (1.0 - sigmoid));
    QCOMPARE(y.scalar_type(), torch::kBFloat16);
    QCOMPARE(x.grad().scalar_type(), torch::kBFloat16);
    QVERIFY(torch::allclose(y.to(torch::kFloat64), expected_y, 4e-3, 1e-6));
    QVERIFY(torch::allclose(x.grad().to(torch::kFloat64), expected_grad, 4e-3, 1e-6));
    const auto x32 = torch::randn({3, 4});
    QVERIFY(torch::equal(t2i::model::silu(x32), torch::silu(x32)));
  }

  void attentionKernelsMatchTheNaiveReference() {
    torch::manual_seed(12);
    const auto q = torch::randn({2, 3, 5, 8});
    const auto k = torch::randn({2, 3, 6, 8});
    const auto v = torch::randn({2, 3, 6, 8});
    const auto mask = torch::tensor({1, 1, 0, 1, 0, 0, 1, 1, 1, 1, 1, 0}, torch::kBool).view({2, 6});
    for (const auto& key_mask : {mask, torch::Tensor()}) {
      const auto reference = naive_attention(q, k, v, key_mask).to(torch::kFloat32);
      const auto manual = attention(q, k, v, key_mask, AttentionBackend::manual);
      QVERIFY(torch::allclose(manual, reference, 1e-5, 1e-6));
      if (sdpa_available()) {
        QVERIFY(torch::allclose(attention(q, k, v, key_mask, AttentionBackend::sdpa), manual, 1e-5, 1e-6));
      }
    }
    if (!sdpa_available()) {
      QVERIFY_THROWS_EXCEPTION(std::runtime_error, attention(q, k, v, mask, AttentionBackend::sdpa));
    }
  }

  // bf16 inputs, as under autocast, with rows as long as the U-Net's (65 text keys, 256 pixels):
  // within a few bf16 roundings of the float64 reference on the same (rounded) inputs.
  void bf16AttentionMatchesTheNaiveReference() {
    torch::manual_seed(14);
    for (const int64_t keys : {65, 256}) {
      const auto q = (torch::randn({1, 2, 8, 32}) * 2).to(torch::kBFloat16);
      const auto k = (torch::randn({1, 2, keys, 32}) * 2).to(torch::kBFloat16);
      const auto v = torch::randn({1, 2, keys, 32}).to(torch::kBFloat16);
      const auto mask = torch::arange(keys).lt(keys - 7).unsqueeze(0);
      for (const auto& key_mask : {mask, torch::Tensor()}) {
        const auto reference = naive_attention(q.to(torch::kFloat32), k.to(torch::kFloat32), v.to(torch::kFloat32), key_mask);
        const auto manual = attention(q, k, v, key_mask, AttentionBackend::manual);
        QCOMPARE(manual.scalar_type(), torch::kBFloat16);
        const double error = ((manual.to(torch::kFloat64) - reference).abs().max() / reference.abs().max()).item<double>();
        QVERIFY2(error < 2e-2, qPrintable(QString::number(error)));
      }
    }
  }

  // With gradients, bf16 attention keeps only its logits and recomputes the softmax in backward:
  // the gradients of q, k and v against autograd through the same attention in float64 on the
  // same (rounded) inputs, within a few bf16 roundings as the forward is.
  void bf16AttentionGradientsMatchFloat64() {
    torch::manual_seed(16);
    for (const int64_t keys : {65, 256}) {
      const auto q = (torch::randn({2, 2, 24, 32}) * 2).to(torch::kBFloat16).requires_grad_(true);
      const auto k = (torch::randn({2, 2, keys, 32}) * 2).to(torch::kBFloat16).requires_grad_(true);
      const auto v = torch::randn({2, 2, keys, 32}).to(torch::kBFloat16).requires_grad_(true);
      const auto grad_out = torch::randn({2, 2, 24, 32}).to(torch::kBFloat16);
      const auto mask = torch::arange(keys).lt(keys - 7).unsqueeze(0).expand({2, keys});
      for (const auto& key_mask : {mask, torch::Tensor()}) {
        for (auto tensor : {q, k, v}) tensor.mutable_grad() = torch::Tensor();
        const auto out = attention(q, k, v, key_mask, AttentionBackend::manual);
        out.backward(grad_out);

        const auto q64 = q.detach().to(torch::kFloat64).requires_grad_(true);
        const auto k64 = k.detach().to(torch::kFloat64).requires_grad_(true);
        const auto v64 = v.detach().to(torch::kFloat64).requires_grad_(true);
        auto logits = q64.matmul(k64.transpose(-2, -1)) / std::sqrt(32.0);
        if (key_mask.defined())
          logits = logits.masked_fill(key_mask.logical_not().unsqueeze(1).unsqueeze(1), -std::numeric_limits<double>::infinity());
        torch::softmax(logits, -1).matmul(v64).backward(grad_out.to(torch::kFloat64));

        QCOMPARE(out.scalar_type(), torch::kBFloat16);
        const std::vector<std::pair<torch::Tensor, torch::Tensor>> gradients{
            {q.grad(), q64.grad()}, {k.grad(), k64.grad()}, {v.grad(), v64.grad()}};
        for (const auto& [grad, expected] : gradients) {
          QCOMPARE(grad.scalar_type(), torch::kBFloat16);
          const double error = relative_error(grad.to(torch::kFloat64), expected);
          QVERIFY2(error < 2e-2, qPrintable(QString::number(error)));
        }
      }
    }
  }

  void flopCounterCountsConvolutionsAndProducts() {
    torch::manual_seed(13);
    torch::nn::Conv2d conv(torch::nn::Conv2dOptions(2, 4, 3).padding(1));
    torch::nn::Linear linear(5, 7);
    const auto image = torch::randn({1, 2, 8, 8}, torch::requires_grad());
    const double conv_flops = 2.0 * 4 * 2 * 9 * 64;  // 2 · C_out · C_in · k² · H·W
    const double linear_flops = 2.0 * 3 * 5 * 7;
    const double bmm_flops = 2.0 * 2 * 3 * 4 * 5;
    {
      FlopCounter counter;
      const auto out = conv(image);
      (void)linear(torch::randn({3, 5}));
      (void)torch::bmm(torch::randn({2, 3, 4}), torch::randn({2, 4, 5}));
      QCOMPARE(counter.count().conv, conv_flops);
      QCOMPARE(counter.count().matmul, linear_flops + bmm_flops);
      out.sum().backward();  // gradients for the input and the weight: twice the forward
      QCOMPARE(counter.count().conv, 3 * conv_flops);
    }
    {
      FlopCounter counter;
      AutocastScope autocast(c10::DeviceType::CPU, true);
      torch::NoGradGuard no_grad;
      (void)conv(image);
      (void)torch::bmm(torch::randn({2, 3, 4}), torch::randn({2, 4, 5}));
      QCOMPARE(counter.count().conv, conv_flops);  // counted once, not again after autocast's cast
      QCOMPARE(counter.count().matmul, bmm_flops);
    }
  }

  void presetLoaderNamesTheBadField() {
    QTemporaryDir dir;
    expect_load_error(edited_preset(dir, [](auto& j) { j.erase("diffusion_steps"); }), "diffusion_steps", "missing");
    expect_load_error(edited_preset(dir, [](auto& j) { j["batch_size"] = "32"; }), "batch_size", "expected an integer");
    expect_load_error(edited_preset(dir, [](auto& j) { j["unet"]["heads"] = 0; }), "unet.heads", "out of range");
    expect_load_error(edited_preset(dir, [](auto& j) { j["unet"]["dims"] = 3; }), "unet.dims", "unknown key");
    expect_load_error(edited_preset(dir, [](auto& j) { j["colour"] = "red"; }), "colour", "unknown key");
    expect_load_error(edited_preset(dir, [](auto& j) { j["training"]["schedule"] = "sigmoid"; }), "training.schedule",
                      "not one of");
    expect_load_error(edited_preset(dir, [](auto& j) { j["unet"]["self_attention"] = {true}; }), "unet",
                      "one entry per level");
    expect_load_error(edited_preset(dir, [](auto& j) { j["text_encoder"]["learned"]["heads"] = 3.5; }),
                      "text_encoder.learned.heads", "expected an integer");
    expect_load_error(edited_preset(dir, [](auto& j) { j["max_batch_size"] = 64; }), "max_batch_size", "batch_size");

    const auto broken = dir.filePath(QStringLiteral("broken.json"));
    std::ofstream(broken.toStdString()) << "{\"name\": ";
    QVERIFY_THROWS_EXCEPTION(std::runtime_error, load_preset(broken.toStdString()));
    QVERIFY_THROWS_EXCEPTION(std::runtime_error, find_preset("no-such-preset"));
  }

  void presetsDirFromTheEnvironmentComesFirst() {
    QTemporaryDir dir;
    const auto path = edited_preset(dir, [](auto& j) { j["name"] = "mine"; j["cond_scale"] = 3.5; });
    QVERIFY(QFile::rename(path, dir.filePath(QStringLiteral("small.json"))));
    qputenv("T2I_PRESETS_DIR", dir.path().toUtf8());
    const Preset preset = find_preset("small");
    qunsetenv("T2I_PRESETS_DIR");
    QCOMPARE(preset.name, std::string("mine"));
    QCOMPARE(preset.cond_scale, 3.5);
    QCOMPARE(find_preset("small").name, std::string("small"));
  }

  void presetRoundTripsThroughJson() {
    for (const std::string& name : list_presets()) {
      const Preset preset = find_preset(name);
      const Preset again = parse_preset(preset_to_json(preset), "round trip");
      QCOMPARE(preset_to_json(again), preset_to_json(preset));
      std::ifstream in(preset.path);
      QCOMPARE(nlohmann::json::parse(preset_to_json(preset)), nlohmann::json::parse(in));
    }
  }

  void presetBecomesAUNetConfig() {
    const Preset preset = find_preset("demo");
    QCOMPARE(preset.text_encoder.kind, std::string("learned"));
    QCOMPARE(preset.unet.text_embed_dim, preset.text_encoder.learned_width);
    const UNetConfig config = unet_config(preset, 96);
    QCOMPARE(config.text_embed_dim, int64_t{96});
    QCOMPARE(config.image_size, int64_t{preset.unet.image_size});
    QCOMPARE(config.dim_mults.size(), preset.unet.dim_mults.size());
    QCOMPARE(config.cross_attention, preset.unet.cross_attention);
  }

  void presetOptionalFieldsTakeTheSchemaDefaults() {
    QTemporaryDir dir;
    const auto path = edited_preset(dir, [](auto& j) {
      for (const char* key : {"format_version", "description", "unet_emb_dim", "early_stop", "training", "text_encoder"})
        j.erase(key);
      j["unet"].erase("dropout");
      j["unet"].erase("channels");
    });
    const Preset preset = load_preset(path.toStdString());
    for (const PresetField& field : preset_schema()) {
      const std::string group = field.key.substr(0, field.key.find('.'));
      const bool erased = group == "training" || group == "text_encoder" || field.key == "description" ||
                          field.key == "unet_emb_dim" || field.key == "early_stop" || field.key == "unet.dropout" ||
                          field.key == "unet.channels";
      if (!erased) continue;
      QCOMPARE(QString::fromStdString(preset_value_text(field.get(preset))),
               QString::fromStdString(preset_value_text(field.fallback)));
    }
    QCOMPARE(preset.training.beta2, 0.99);
    QCOMPARE(preset.unet.channels, 3);
  }

  void presetOutOfRangeNamesFieldAndRange() {
    for (const PresetField& field : preset_schema()) {
      if (field.type != FieldType::Integer && field.type != FieldType::Number) continue;
      for (const double bad : {field.min_exclusive ? field.min : field.min - 1, field.max + 1}) {
        QTemporaryDir dir;
        const auto path = edited_preset(dir, [&](auto& j) {
          nlohmann::json* node = &j;
          std::size_t start = 0;
          for (auto dot = field.key.find('.'); dot != std::string::npos; start = dot + 1, dot = field.key.find('.', start))
            node = &(*node)[field.key.substr(start, dot - start)];
          (*node)[field.key.substr(start)] =
              field.type == FieldType::Integer ? nlohmann::json(static_cast<long long>(bad)) : nlohmann::json(bad);
        });
        expect_load_error(path, field.key, "out of range " + field.allowed());
      }
    }
  }

  void presetWithoutAVersionIsRelease010() {
    QTemporaryDir dir;
    const auto path = edited_preset(dir, [](auto& j) { j.erase("format_version"); });
    QCOMPARE(preset_to_json(load_preset(path.toStdString())), preset_to_json(find_preset("small")));
    expect_load_error(edited_preset(dir, [](auto& j) { j.erase("format_version"); j["unet"]["colour"] = 1; }),
                      "unet.colour", "unknown key");
  }

  void presetSchemaIsWhatTheWriterWrites() {
    const auto written = nlohmann::json::parse(preset_to_json(find_preset("demo")));
    std::size_t leaves = 0;
    const std::function<void(const nlohmann::json&)> count = [&](const nlohmann::json& node) {
      for (const auto& item : node.items()) item.value().is_object() ? count(item.value()) : void(++leaves);
    };
    count(written);
    QCOMPARE(leaves, preset_schema().size() + 1);  // every field, plus format_version
    QCOMPARE(written.at("format_version").get<std::string>(), std::string("2.1"));
    for (const PresetField& field : preset_schema()) {
      QVERIFY2(!field.label.empty() && !field.help.empty(), field.key.c_str());
      QVERIFY2(field.required || field.nullable || !std::holds_alternative<std::monostate>(field.fallback), field.key.c_str());
    }
  }
};

QTEST_GUILESS_MAIN(TestModel)
#include "test_model.moc"
