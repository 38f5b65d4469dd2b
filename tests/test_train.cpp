// Training engine: accumulation, optimizer and EMA against references, checkpoints, exact resume,
// fault handling, and the sampling facade's PNG metadata.
#include "test_support.h"

#include "io/tensor_file.h"
#include "t2i/preset.h"
#include "t2i/runtime.h"
#include "t2i/sample.h"
#include "t2i/train.h"
#include "train/adamw.h"
#include "train/checkpoint_file.h"
#include "train/ema.h"
#include "train/run_folder.h"
#include "train/sampling.h"
#include "train/train_step.h"

#include <ATen/CPUGeneratorImpl.h>
#include <nlohmann/json.hpp>

#include <QTemporaryDir>
#include <QtTest/QtTest>

#include <csignal>
#include <filesystem>
#include <fstream>
#include <sys/wait.h>
#include <unistd.h>

namespace fs = std::filesystem;
using namespace t2i;

namespace {

/// A preset small enough to train a few steps in a test: 32×32, a two-level U-Net, a one-layer
/// learned text encoder.
nlohmann::json tiny_preset_json() {
  auto preset = nlohmann::json::parse(std::ifstream(model::find_preset("demo").path));
  preset["name"] = "tiny-test";
  preset["batch_size"] = 4;
  preset["max_batch_size"] = 2;
  preset["diffusion_steps"] = 100;
  preset["eval_every"] = 5;
  preset["eval_val_steps"] = 1;
  preset["early_stop"] = nullptr;
  auto& unet = preset["unet"];
  unet["dim"] = 16;
  unet["dim_mults"] = {1, 2};
  unet["res_blocks"] = 1;
  unet["self_attention"] = {false, true};
  unet["cross_attention"] = {false, true};
  unet["heads"] = 2;
  unet["head_dim"] = 8;
  unet["cond_dim"] = 32;
  unet["dropout"] = 0.0;
  unet["text_embed_dim"] = 32;
  preset["text_encoder"]["kind"] = "learned";
  preset["text_encoder"]["learned"] = {{"layers", 1}, {"width", 32}, {"heads", 2}, {"vocab_size", 120}};
  return preset;
}

std::string write_preset(const QTemporaryDir& dir, const nlohmann::json& preset) {
  const std::string path = dir.filePath(QStringLiteral("tiny-test.json")).toStdString();
  std::ofstream(path) << preset.dump(2);
  return path;
}

train::TrainOptions tiny_run(const std::string& preset_path, const std::string& run_dir, const std::string& cache_dir) {
  train::TrainOptions options;
  options.preset = preset_path;
  options.data.demo = true;
  options.data.demo_images = 48;
  options.data.cache_dir = cache_dir;
  options.run_dir = run_dir;
  options.bf16 = false;  // the fp32 reference path: bit-exact comparisons
  options.seed = 7;
  return options;
}

struct Recorder : train::Observer {
  std::vector<train::StepMetrics> steps;
  std::vector<train::EvalMetrics> evals;
  void on_step(const train::StepMetrics& m) override { steps.push_back(m); }
  void on_eval(const train::EvalMetrics& m) override { evals.push_back(m); }
};

void expect_same_tensors(const io::TensorMap& a, const io::TensorMap& b, const std::string& prefix) {
  int compared = 0;
  for (const auto& [name, tensor] : a) {
    if (name.rfind(prefix, 0) != 0) continue;
    const auto other = b.find(name);
    QVERIFY2(other != b.end(), name.c_str());
    QVERIFY2(torch::equal(tensor, other->second), name.c_str());
    ++compared;
  }
  QVERIFY2(compared > 0, prefix.c_str());
}

} // namespace

class TestTrain : public QObject {
  Q_OBJECT
private Q_SLOTS:
  void initTestCase() { runtime::initialize(); }

  void textDropRateIsTenPercent() {
    torch::Generator generator = at::make_generator<at::CPUGeneratorImpl>(3);
    const torch::Tensor drop = train::draw_text_drop(200000, 0.1, generator);
    const double rate = drop.to(torch::kFloat64).mean().item<double>();
    // Binomial standard deviation at n = 200k is 0.00067; 5 of them.
    QVERIFY2(std::abs(rate - 0.1) < 0.0034, qPrintable(QString::number(rate)));
  }

  void adamwMatchesTorchReference() {
    torch::manual_seed(0);
    auto ours = torch::randn({5, 3}).requires_grad_();
    auto reference = ours.detach().clone().requires_grad_();
    train::AdamW adam({{"w", ours}}, {1e-2, 0.9, 0.99, 1e-8, 0.01});
    torch::optim::AdamW torch_adam({reference}, torch::optim::AdamWOptions(1e-2).betas({0.9, 0.99}).eps(1e-8).weight_decay(0.01));
    for (int step = 0; step < 5; ++step) {
      const auto target = torch::randn({5, 3});
      adam.zero_grad();
      torch_adam.zero_grad();
      (ours - target).pow(2).sum().backward();
      (reference - target).pow(2).sum().backward();
      adam.step(1e-2);
      torch_adam.step();
    }
    QVERIFY(torch::allclose(ours, reference, 1e-6, 1e-7));
  }

  void emaFollowsItsDecayFormula() {
    auto online = torch::zeros({3});
    auto averaged = torch::ones({3});
    train::Ema ema({averaged}, {online}, 0.999);
    QCOMPARE(ema.decay(0), 0.1);          // (1 + 0) / (10 + 0)
    QCOMPARE(ema.decay(1000000), 0.999);  // capped
    ema.update();                         // averaged = 0.1·1 + 0.9·0
    QVERIFY(torch::allclose(averaged, torch::full({3}, 0.1)));
  }

  void nonFiniteGuardCountsAndStops() {
    train::NonFiniteGuard guard(3);
    QVERIFY(guard.accept(1.0, 1.0));
    QVERIFY(!guard.accept(std::nan(""), 1.0));
    QVERIFY(!guard.accept(1.0, INFINITY));
    QVERIFY(!guard.exhausted());
    QVERIFY(guard.accept(0.5, 0.5));  // a good step resets the run of bad ones
    for (int i = 0; i < 3; ++i) QVERIFY(!guard.accept(std::nan(""), std::nan("")));
    QVERIFY(guard.exhausted());
    QCOMPARE(guard.total(), std::int64_t{5});
  }

  void accumulationEqualsOneBatch() {
    QTemporaryDir dir;
    const model::Preset preset = model::load_preset(write_preset(dir, tiny_preset_json()));
    std::vector<std::string> captions{"a red circle", "a blue square", "a small green triangle", "a large red square"};
    torch::manual_seed(1);
    auto model = train::TextToImageModel::create(preset, "{}", {}, captions, torch::kCPU);
    model::ExecutionOptions fp32;
    model->set_execution(fp32);
    diffusion::DiffusionLoss loss(train::noise_schedule(preset), diffusion::LossOptions{});
    torch::Generator generator = at::make_generator<at::CPUGeneratorImpl>(5);
    const torch::Tensor x_0 = torch::rand({4, 3, 32, 32}, generator) * 2 - 1;
    const diffusion::LossDraw draw = loss.draw(x_0, generator);
    const torch::Tensor drop = torch::tensor({false, true, false, false});

    auto gradients = [&](std::int64_t micro) {
      for (const auto& [name, p] : model->trained_parameters()) p.mutable_grad() = torch::Tensor();
      const double value = *train::accumulate_gradients(*model, loss, x_0, captions, draw, drop, micro);
      std::vector<torch::Tensor> grads;
      for (const auto& [name, p] : model->trained_parameters())
        grads.push_back(p.grad().defined() ? p.grad().clone() : torch::zeros_like(p));
      return std::make_pair(value, grads);
    };
    const auto whole = gradients(4);
    const auto halves = gradients(2);
    const auto singles = gradients(1);
    QVERIFY(std::abs(whole.first - halves.first) < 1e-6 * std::abs(whole.first) + 1e-9);
    QVERIFY(std::abs(whole.first - singles.first) < 1e-6 * std::abs(whole.first) + 1e-9);
    double largest = 0;
    for (size_t i = 0; i < whole.second.size(); ++i) {
      largest = std::max(largest, whole.second[i].abs().max().item<double>());
      QVERIFY(torch::allclose(whole.second[i], halves.second[i], 1e-4, 1e-7));
      QVERIFY(torch::allclose(whole.second[i], singles.second[i], 1e-4, 1e-7));
    }
    QVERIFY(largest > 0);  // the loss reached the parameters at all
  }

  void nonFiniteInputGivesNonFiniteLoss() {
    QTemporaryDir dir;
    const model::Preset preset = model::load_preset(write_preset(dir, tiny_preset_json()));
    std::vector<std::string> captions{"a red circle", "a blue square"};
    auto model = train::TextToImageModel::create(preset, "{}", {}, captions, torch::kCPU);
    model->set_execution(model::ExecutionOptions{});
    diffusion::DiffusionLoss loss(train::noise_schedule(preset), diffusion::LossOptions{});
    torch::Generator generator = at::make_generator<at::CPUGeneratorImpl>(5);
    torch::Tensor x_0 = torch::zeros({2, 3, 32, 32});
    x_0[0][0][3][3] = std::nan("");
    const auto draw = loss.draw(x_0, generator);
    const auto value = train::accumulate_gradients(*model, loss, x_0, captions, draw, torch::zeros({2}, torch::kBool), 2);
    train::NonFiniteGuard guard(1);
    QVERIFY(!guard.accept(*value, 0.0));
    QVERIFY(guard.exhausted());
  }

  void checkpointKilledMidWriteLeavesThePreviousOne() {
    QTemporaryDir dir;
    const std::string path = dir.filePath(QStringLiteral("ckpt.safetensors")).toStdString();
    train::Checkpoint first;
    first.tensors["model/w"] = torch::arange(10, torch::kFloat32);
    first.meta["step"] = 1;
    train::write_checkpoint(path, first);

    train::Checkpoint big;
    big.tensors["model/w"] = torch::ones({64, 1024, 1024});  // 256 MiB: takes a while to write
    big.meta["step"] = 2;
    for (int delay_ms : {1, 5, 20, 60}) {
      const pid_t child = fork();
      if (child == 0) {
        train::write_checkpoint(path, big);
        _exit(0);
      }
      usleep(static_cast<useconds_t>(delay_ms) * 1000);
      kill(child, SIGKILL);
      int status = 0;
      waitpid(child, &status, 0);
      const train::Checkpoint read = train::read_checkpoint(path);  // must load, old or new
      const int step = read.meta.at("step").get<int>();
      QVERIFY(step == 1 || step == 2);
      if (step == 1) QVERIFY(torch::equal(read.tensors.at("model/w"), first.tensors.at("model/w")));
    }
  }

  void checkpointErrorsNameTheFile() {
    QTemporaryDir dir;
    const std::string path = dir.filePath(QStringLiteral("not-a-checkpoint.safetensors")).toStdString();
    io::save_safetensors(path, {{"x", torch::zeros({2})}});
    try {
      train::read_checkpoint(path);
      QFAIL("a plain safetensors file was accepted as a checkpoint");
    } catch (const std::exception& e) {
      QVERIFY2(std::string(e.what()).find(path) != std::string::npos, e.what());
    }
    QVERIFY_THROWS_EXCEPTION(std::exception, train::write_checkpoint("/proc/forbidden/ckpt.safetensors", train::Checkpoint{}));
  }

  void pngMetadataRoundTrips() {
    QTemporaryDir dir;
    const std::string path = dir.filePath(QStringLiteral("image.png")).toStdString();
    sample::Image image;
    image.width = 5;
    image.height = 3;
    for (int i = 0; i < 5 * 3 * 3; ++i) image.rgb.push_back(static_cast<std::uint8_t>(i * 5));
    const std::map<std::string, std::string> text{{"prompt", "a red circle above a blue square — ünïcode"},
                                                  {"seed", "42"}, {"cfg", "7.5"}};
    sample::write_png(path, image, text);
    std::map<std::string, std::string> read_text;
    const sample::Image read = sample::read_png(path, &read_text);
    QCOMPARE(read.width, 5);
    QCOMPARE(read.height, 3);
    QVERIFY(read.rgb == image.rgb);
    for (const auto& [key, value] : text) QCOMPARE(QString::fromStdString(read_text[key]), QString::fromStdString(value));
  }

  void metricsAfterAResumePointAreDropped() {
    QTemporaryDir dir;
    train::RunFolder folder(dir.path().toStdString());
    for (int step = 1; step <= 6; ++step) folder.append_metrics({{"event", "step"}, {"step", step}});
    folder.truncate_metrics_after(4);
    const auto events = train::read_metrics(folder.metrics_path());
    QCOMPARE(events.size(), size_t{4});
    QCOMPARE(events.back().at("step").get<int>(), 4);
  }

  void resumeIsExact() {
    QTemporaryDir dir;
    const std::string preset = write_preset(dir, tiny_preset_json());
    const std::string cache = dir.filePath(QStringLiteral("cache")).toStdString();
    train::Control control;
    Recorder straight_events;
    auto straight = tiny_run(preset, dir.filePath(QStringLiteral("straight")).toStdString(), cache);
    straight.max_steps = 12;
    const train::Summary a = train::run(straight, straight_events, control);
    QCOMPARE(a.steps, std::int64_t{12});
    QCOMPARE(a.stop_reason, std::string("max steps"));
    QVERIFY(!straight_events.evals.empty());

    auto split = tiny_run(preset, dir.filePath(QStringLiteral("split")).toStdString(), cache);
    split.max_steps = 6;
    Recorder first_half;
    QCOMPARE(train::run(split, first_half, control).steps, std::int64_t{6});
    split.max_steps = 12;
    split.resume = true;
    Recorder second_half;
    const train::Summary b = train::run(split, second_half, control);
    QCOMPARE(b.steps, std::int64_t{12});
    QCOMPARE(second_half.steps.front().step, std::int64_t{7});

    const auto ta = io::load_tensors(a.last_checkpoint);
    const auto tb = io::load_tensors(b.last_checkpoint);
    for (const char* prefix : {"unet/", "ema_unet/", "optim/", "text_encoder.", "ema_text_encoder.", "rng/"})
      expect_same_tensors(ta, tb, prefix);
    QCOMPARE(second_half.steps.back().train_loss, straight_events.steps.back().train_loss);

    const train::History history = train::read_history(split.run_dir);
    QCOMPARE(history.steps.size(), size_t{12});  // the resumed run replaced nothing and lost nothing
    QVERIFY(!history.evals.empty());
    QVERIFY(!history.latest_checkpoint.empty());
  }

  void existingRunIsNotOverwritten() {
    QTemporaryDir dir;
    const std::string preset = write_preset(dir, tiny_preset_json());
    auto options = tiny_run(preset, dir.filePath(QStringLiteral("run")).toStdString(), dir.filePath(QStringLiteral("cache")).toStdString());
    options.max_steps = 1;
    train::Control control;
    train::Observer quiet;
    train::run(options, quiet, control);
    try {
      train::run(options, quiet, control);
      QFAIL("a second run into the same folder was allowed");
    } catch (const std::exception& e) {
      QVERIFY2(std::string(e.what()).find("already holds checkpoints") != std::string::npos, e.what());
    }
  }

  void fidIsUnavailableWithoutWeightsAndScoredWithThem() {
    QTemporaryDir dir;
    const std::string preset = write_preset(dir, tiny_preset_json());
    const std::string cache = dir.filePath(QStringLiteral("cache")).toStdString();
    train::Control control;
    Recorder without;
    auto plain = tiny_run(preset, dir.filePath(QStringLiteral("plain")).toStdString(), cache);
    plain.max_steps = 5;
    train::run(plain, without, control);
    QVERIFY(!without.evals.empty());
    QVERIFY(!without.evals.back().fid);
    QVERIFY2(without.evals.back().fid_status.find("FID unavailable") != std::string::npos, without.evals.back().fid_status.c_str());

    // The network's structure with random weights: the hook's plumbing, not a meaningful score.
    T2I_REQUIRE_SHARED_DATA("fid/inception-random/fid_inception_random_legacy.pth");
    Recorder with;
    auto scored = tiny_run(preset, dir.filePath(QStringLiteral("scored")).toStdString(), cache);
    scored.max_steps = 5;
    scored.inception_weights = t2i::test::sharedData(QStringLiteral("fid/inception-random/fid_inception_random_legacy.pth")).toStdString();
    scored.fid_samples = 4;
    train::run(scored, with, control);
    QVERIFY(!with.evals.empty());
    const train::EvalMetrics& last = with.evals.back();
    QVERIFY(last.fid && std::isfinite(*last.fid) && *last.fid >= 0);
    QVERIFY(last.kid && std::isfinite(*last.kid));
    QVERIFY2(last.fid_status.find("4 vs") != std::string::npos, last.fid_status.c_str());
    // The validation split's reference statistics are cached beside the data for the next evaluation.
    QVERIFY(fs::exists(fs::path(cache) / "fid_val_stats.safetensors"));
  }

  void cancelLeavesAResumableCheckpoint() {
    QTemporaryDir dir;
    const std::string preset = write_preset(dir, tiny_preset_json());
    auto options = tiny_run(preset, dir.filePath(QStringLiteral("run")).toStdString(), dir.filePath(QStringLiteral("cache")).toStdString());
    train::Control control;
    struct CancelAtThree : train::Observer {
      train::Control* control = nullptr;
      void on_step(const train::StepMetrics& m) override {
        if (m.step == 3) control->cancel = true;
      }
    } observer;
    observer.control = &control;
    const train::Summary summary = train::run(options, observer, control);
    QCOMPARE(summary.stop_reason, std::string("cancelled"));
    QCOMPARE(summary.steps, std::int64_t{3});
    QVERIFY(fs::exists(summary.last_checkpoint));

    sample::Generator generator(summary.last_checkpoint);
    QCOMPARE(generator.info().step, std::int64_t{3});
    sample::Request request;
    request.prompts = {"a red circle", "a red circle"};
    request.seeds = {1, 1};
    request.steps = 4;
    int steps_seen = 0;
    const auto images = generator.generate(request, [&](const sample::StepView& view) {
      ++steps_seen;
      QCOMPARE(view.x_t.size(), size_t{2});
    });
    QCOMPARE(steps_seen, 4);
    QCOMPARE(images.size(), size_t{2});
    QCOMPARE(images[0].width, 32);
    QVERIFY(images[0].rgb == images[1].rgb);  // same prompt and seed, same image
  }
};

QTEST_GUILESS_MAIN(TestTrain)
#include "test_train.moc"
