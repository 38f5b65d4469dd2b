// The benchmarks of t2i/bench.h (`t2i bench …`): each reports what it promises. They take
// seconds, not minutes, at these sizes; test_overfit runs the overfit check.
#include "t2i/bench.h"
#include "t2i/loss_by_noise.h"
#include "t2i/probe_gallery.h"

#include "bench/profile.h"
#include "tiny_preset.h"

#include <ATen/record_function.h>
#include <QDir>
#include <QTemporaryDir>
#include <QtTest/QtTest>
#include <torch/torch.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <iterator>
#include <utility>
#include <vector>

using namespace t2i;
using bench::OpCategory;

class TestBench : public QObject {
  Q_OBJECT
private Q_SLOTS:
  void benchmarkReportsEverySampler() {
    bench::SamplerOptions options;
    options.batch = 1;
    options.size = 8;
    options.steps = 2;
    options.repeats = 1;
    const auto json = nlohmann::json::parse(bench::sampler_json(options));
    QCOMPARE(json.at("benchmark").get<std::string>(), std::string("sampler"));
    for (const char* kind : {"ddpm", "ddim", "dpmpp"})
      for (const char* thresholding : {"thresholding_none", "thresholding_dynamic"})
        QVERIFY(json.at("samplers").at(kind).at(thresholding).at("ms_per_step").get<double>() > 0.0);
    QVERIFY(json.at("samplers").at("ddim").at("thresholding_none").at("model_ms_per_step").get<double>() > 0.0);
    QVERIFY(json.at("conv3x3_128ch_ms").get<double>() > 0.0);
  }

  void operatorNamesMapToTheirKindOfWork() {
    // Names as LibTorch 1.13's profiler reports them for the U-Net's forward, backward and step.
    const std::vector<std::pair<const char*, OpCategory>> expected{
        {"aten::conv2d", OpCategory::Convolution},
        {"aten::convolution", OpCategory::Convolution},
        {"aten::_convolution", OpCategory::Convolution},
        {"aten::mkldnn_convolution", OpCategory::Convolution},
        {"aten::convolution_backward", OpCategory::Convolution},
        {"aten::_slow_conv2d_forward", OpCategory::Convolution},
        {"aten::mm", OpCategory::Matmul},
        {"aten::bmm", OpCategory::Matmul},
        {"aten::addmm", OpCategory::Matmul},
        {"aten::matmul", OpCategory::Matmul},
        {"aten::linear", OpCategory::Matmul},
        {"aten::group_norm", OpCategory::Normalisation},
        {"aten::native_group_norm", OpCategory::Normalisation},
        {"aten::native_group_norm_backward", OpCategory::Normalisation},
        {"aten::layer_norm", OpCategory::Normalisation},
        {"t2i::group_norm", OpCategory::Normalisation},
        {"aten::silu", OpCategory::Elementwise},
        {"aten::silu_", OpCategory::Elementwise},
        {"aten::silu_backward", OpCategory::Elementwise},
        {"aten::add", OpCategory::Elementwise},
        {"aten::add_", OpCategory::Elementwise},
        {"aten::mul", OpCategory::Elementwise},
        {"aten::masked_fill", OpCategory::Elementwise},
        {"aten::mse_loss_backward", OpCategory::Elementwise},
        {"aten::sum", OpCategory::Elementwise},
        {"aten::softmax", OpCategory::Softmax},
        {"aten::_softmax", OpCategory::Softmax},
        {"aten::_softmax_backward_data", OpCategory::Softmax},
        {"aten::to", OpCategory::CastCopy},
        {"aten::_to_copy", OpCategory::CastCopy},
        {"aten::copy_", OpCategory::CastCopy},
        {"aten::contiguous", OpCategory::CastCopy},
        {"aten::clone", OpCategory::CastCopy},
        {"aten::cat", OpCategory::CastCopy},
        {"aten::upsample_nearest2d", OpCategory::CastCopy},
        {"t2i::optimizer", OpCategory::Optimizer},
        {"t2i::ema", OpCategory::Ema},
    };
    for (const auto& [name, category] : expected) {
      const auto found = bench::op_category(name);
      QVERIFY2(found.has_value(), name);
      QCOMPARE(bench::to_string(*found), bench::to_string(category));
    }
    // No work of their own: their time goes to their caller's category.
    for (const char* name : {"aten::empty", "aten::view", "aten::as_strided", "aten::transpose", "aten::randn",
                             "aten::linalg_vector_norm", "ConvolutionBackward0",
                             "autograd::engine::evaluate_function: ConvolutionBackward0", "t2i::something"})
      QVERIFY2(!bench::op_category(name).has_value(), name);
  }

  void profilerSumsSelfTimeByCategory() {
    torch::manual_seed(0);
    const auto x = torch::randn({2, 8, 16, 16});
    const auto w = torch::randn({8, 8, 3, 3});
    const auto a = torch::randn({64, 64});
    bench::CategoryProfiler profiler;
    profiler.run([&] {
      (void)torch::conv2d(x, w, {}, 1, 1);
      (void)torch::mm(a, a);
      RECORD_USER_SCOPE(bench::kOptimizerScope);
      (void)torch::mm(a, a);  // inside the optimizer's scope: optimizer time, not matmul
    });
    const auto json = profiler.json();
    const auto& by_category = json.at("categories");
    QVERIFY(by_category.at("convolution").get<double>() > 0.0);
    QVERIFY(by_category.at("matmul").get<double>() > 0.0);
    QVERIFY(by_category.at("optimizer").get<double>() > 0.0);
    QCOMPARE(by_category.at("softmax").get<double>(), 0.0);
    QCOMPARE(by_category.at("ema").get<double>(), 0.0);
    double sum = 0;
    for (const auto& [name, ms] : by_category.items()) sum += ms.get<double>();
    QVERIFY(std::abs(sum - json.at("ops_ms").get<double>()) <= 1e-6 * std::max(1.0, sum));
    QVERIFY(json.at("ops_ms").get<double>() <= json.at("wall_ms").get<double>());
  }

  void modelBenchmarkProfilesEveryPhase() {
    QTemporaryDir dir;
    bench::ModelOptions options;
    options.preset = test::write_preset(dir, test::tiny_preset_json());
    options.modes = {"fp32"};
    options.repeats = 1;
    options.kernels = false;
    options.profile = true;
    const std::string text = bench::model_json(options);
    const auto json = nlohmann::json::parse(text);
    const auto& phases = json.at("modes").at("fp32").at("profile").at("phases");
    for (const char* phase : {"forward", "backward"}) {
      QVERIFY(phases.at(phase).at("categories").at("convolution").get<double>() > 0.0);
      QVERIFY(phases.at(phase).at("categories").at("normalisation").get<double>() > 0.0);
      QCOMPARE(phases.at(phase).at("categories").at("optimizer").get<double>(), 0.0);
    }
    QVERIFY(phases.at("forward").at("categories").at("softmax").get<double>() > 0.0);
    QVERIFY(phases.at("step").at("categories").at("optimizer").get<double>() > 0.0);
    QVERIFY(phases.at("step").at("categories").at("ema").get<double>() > 0.0);
    QCOMPARE(phases.at("step").at("categories").at("convolution").get<double>(), 0.0);
    const std::string table = bench::profile_tables(text);
    for (const char* row : {"convolution", "attention softmax", "casts and copies", "EMA", "all operators"})
      QVERIFY2(table.find(row) != std::string::npos, row);
    // The memory estimate beside the measured peak. For a tiny network both are mostly the
    // process itself, so this holds the estimate's scale (bytes, not MiB; the runtime counted
    // once), not its fit for the presets (which bench model on demo, small and full checks).
    const auto& fp32 = json.at("modes").at("fp32");
    const double ratio = fp32.at("estimated_peak_rss_bytes").get<double>() / fp32.at("peak_rss_bytes").get<double>();
    QVERIFY2(ratio > 0.5 && ratio < 2.0, qPrintable(QString::number(ratio)));
  }

  void trainBenchmarkTrainsASuperResolutionStage() {
    QTemporaryDir dir;
    bench::PresetOptions options;
    options.preset = test::write_preset(dir, test::tiny_sr_preset_json());
    options.micro_batches = 1;
    options.precision = runtime::Precision::Float32;
    const auto json = nlohmann::json::parse(bench::train_json(options));
    QCOMPARE(json.at("preset").get<std::string>(), std::string("tiny-sr-test"));
    QCOMPARE(json.at("image_size").get<int>(), 32);
    QVERIFY(json.at("images_per_second").get<double>() > 0.0);
  }

  // Issue 26: the cost of looking inside training, each part run once as the trainer runs it:
  // every part is timed, the gallery has the run's probes, and each share is its seconds over the
  // training between two evaluations. A stage is refused; nothing is left in the temporary folder.
  void insideTrainingBenchmarkTimesEachPart() {
    QTemporaryDir dir;
    bench::InsideTrainingOptions options;
    const nlohmann::json preset = test::tiny_preset_json();
    options.preset = test::write_preset(dir, preset);
    options.demo_images = 40;
    options.steps = 1;
    const auto json = nlohmann::json::parse(bench::inside_training_json(options));
    const double step = json.at("seconds_per_step").get<double>();
    QVERIFY(step > 0);
    const double between = json.at("eval_every").get<double>() * step;
    QCOMPARE(json.at("eval_every").get<int>(), preset.value("eval_every", 100));
    QCOMPARE(json.at("training_seconds_between_evaluations").get<double>(), between);
    double all = 0;
    for (const char* part : {"loss_by_noise", "probe_gallery", "memorisation"}) {
      const nlohmann::json& measured = json.at(part);
      const double seconds = measured.at("seconds_per_evaluation").get<double>();
      QVERIFY2(seconds > 0, part);
      QCOMPARE(measured.at("share_of_training").get<double>(), seconds / between);
      all += seconds;
    }
    QCOMPARE(json.at("share_of_training_all").get<double>(), all / between);
    QCOMPARE(json.at("loss_by_noise").at("levels").get<int>(), train::kValidationNoiseLevels);
    QCOMPARE(json.at("probe_gallery").at("probes").get<int>(),
             train::kProbeCaptions * train::kProbeSeeds * static_cast<int>(std::size(train::kProbeGuidance)));
    QVERIFY(!QDir(QDir::tempPath()).exists(QStringLiteral("t2i-bench-inside-%1").arg(QCoreApplication::applicationPid())));

    options.preset = test::write_preset(dir, test::tiny_sr_preset_json());
    QVERIFY_THROWS_EXCEPTION(std::invalid_argument, bench::inside_training_json(options));
  }

  void modelBenchmarkFeedsASuperResolutionStage() {
    // A stage adds to the base network only its input convolution's low-resolution channels and
    // the aug embedding's two linear layers: parameters and counted FLOPs grow by exactly those.
    QTemporaryDir dir;
    auto preset = test::tiny_preset_json();
    bench::ModelOptions options;
    options.modes = {"fp32"};
    options.repeats = 1;
    options.kernels = false;
    options.batch = 2;
    options.preset = test::write_preset(dir, preset);
    const auto base = nlohmann::json::parse(bench::model_json(options));
    preset["unet"]["low_res_size"] = 16;
    options.preset = test::write_preset(dir, preset);
    const auto stage = nlohmann::json::parse(bench::model_json(options));
    QCOMPARE(stage.at("low_res_size").get<int>(), 16);
    QCOMPARE(base.at("low_res_size").get<int>(), 0);

    const double side = 32, dim = 16, time_dim = 4 * 16, channels = 3;
    const double extra_parameters = channels * dim * 9 + (dim * time_dim + time_dim) + (time_dim * time_dim + time_dim);
    QCOMPARE(stage.at("parameters").get<double>() - base.at("parameters").get<double>(), extra_parameters);
    // 2 FLOPs per multiply-add: the 3×3 convolution over 3 more channels, and aug's MLP.
    const double extra_flops = 2 * side * side * dim * channels * 9 + 2 * (dim * time_dim + time_dim * time_dim);
    const double measured = (stage.at("forward_gflop_per_image").get<double>() - base.at("forward_gflop_per_image").get<double>()) * 1e9;
    QVERIFY2(std::abs(measured - extra_flops) <= 1e-6 * extra_flops, qPrintable(QStringLiteral("%1 vs %2").arg(measured).arg(extra_flops)));
  }
};

QTEST_GUILESS_MAIN(TestBench)
#include "test_bench.moc"
