// Loss by noise level (issue 26): the training bins and the fixed validation levels against a stub
// denoiser whose ε error per time is known in closed form, the schedule recomputed here in plain
// doubles; determinism and step 0 on a real tiny run; runs without the events (0.1.0); the grid,
// divergence and `t2i runs show`.
#include "test_support.h"
#include "tiny_preset.h"

#include "diffusion/loss.h"
#include "diffusion/schedule.h"
#include "t2i/loss_by_noise.h"
#include "t2i/runs.h"
#include "t2i/runtime.h"
#include "t2i/train.h"
#include "train/loss_by_noise.h"

#include <ATen/CPUGeneratorImpl.h>

#include <QTemporaryDir>
#include <QtTest/QtTest>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <limits>
#include <vector>

using namespace t2i;

namespace {

constexpr int kSteps = 1000;
constexpr double kPi = 3.14159265358979323846;
const double kNaN = std::numeric_limits<double>::quiet_NaN();

/// The stub's error in ε at time t: its prediction is ε + g(t) in every pixel.
double g(double t) { return 0.1 + t; }

/// With x₀ = 0, x_t = σ_t ε, so x_t / σ_t is ε exactly and the stub's error is g(t).
Denoiser stub(const diffusion::NoiseSchedule& schedule) {
  return [schedule](const torch::Tensor& x_t, const torch::Tensor& t, const TextCondition&) {
    const torch::Tensor sigma = schedule.sigma(t).to(torch::kFloat32).view({-1, 1, 1, 1});
    const torch::Tensor error = (t.to(torch::kFloat32) + 0.1f).view({-1, 1, 1, 1});
    return x_t / sigma + error;
  };
}

/// ᾱ of the discrete cosine schedule at step i, as Nichol & Dhariwal define it: Π (1 − β_j) with
/// β_j = min(1 − f(j + 1)/f(j), 0.999), f(τ) = cos²(((τ/T) + s)/(1 + s)·π/2).
std::vector<double> reference_alpha_bar() {
  const auto f = [](double step) { return std::pow(std::cos((step / kSteps + 0.008) / 1.008 * kPi / 2), 2); };
  std::vector<double> alpha_bar;
  double product = 1;
  for (int j = 0; j < kSteps; ++j) {
    product *= 1 - std::min(1 - f(j + 1) / f(j), 0.999);
    alpha_bar.push_back(product);
  }
  return alpha_bar;
}

double reference_log_snr(double alpha_bar) { return std::log(alpha_bar / (1 - alpha_bar)); }

/// P2 with k = 1, γ = 0.5: 1/√(1 + SNR) = √(1 − ᾱ).
double reference_p2(double alpha_bar) { return std::sqrt(1 - alpha_bar); }

diffusion::DiffusionLoss p2_loss(const diffusion::ScheduleSpec& spec) {
  diffusion::LossOptions options;
  options.p2_k = 1.0;
  options.p2_gamma = 0.5;
  return diffusion::DiffusionLoss(diffusion::NoiseSchedule(spec), options);
}

bool same(const std::vector<double>& a, const std::vector<double>& b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (!(a[i] == b[i] || (std::isnan(a[i]) && std::isnan(b[i])))) return false;
  return true;
}

} // namespace

class TestLossByNoise : public QObject {
  Q_OBJECT
private Q_SLOTS:
  void initTestCase() { runtime::initialize(1); }

  void trainingBinsHoldTheClosedFormMeanOfTheirTimes() {
    const diffusion::DiffusionLoss loss = p2_loss({diffusion::ScheduleKind::Cosine, kSteps});
    // Every step once, in two micro-batches as a training step adds them.
    const torch::Tensor t = (torch::arange(kSteps, torch::kFloat32) + 1) / kSteps;
    torch::Generator generator = at::make_generator<at::CPUGeneratorImpl>(3);
    const torch::Tensor noise = torch::randn({kSteps, 1, 2, 2}, generator);
    const torch::Tensor x_0 = torch::zeros({kSteps, 1, 2, 2});
    train::TrainingLossBins bins(loss.schedule());
    for (const auto& [first, last] : {std::pair<int, int>{0, 400}, {400, kSteps}})
      bins.add(loss.evaluate(stub(loss.schedule()), x_0.slice(0, first, last), TextCondition::none(last - first),
                             {t.slice(0, first, last), noise.slice(0, first, last)}));
    train::LossByNoise event;
    bins.take(event);

    const std::vector<double> alpha_bar = reference_alpha_bar();
    const double low = reference_log_snr(alpha_bar.back()), high = reference_log_snr(alpha_bar.front());
    QCOMPARE(event.bin_edges.size(), std::size_t{train::kTrainingLossBins + 1});
    QVERIFY(std::abs(event.bin_edges.front() - low) < 1e-6 && std::abs(event.bin_edges.back() - high) < 1e-6);
    std::vector<double> p2_sum(train::kTrainingLossBins), mse_sum(train::kTrainingLossBins);
    std::vector<std::int64_t> count(train::kTrainingLossBins);
    for (int i = 0; i < kSteps; ++i) {
      const double lambda = reference_log_snr(alpha_bar[i]);
      const int bin = std::clamp(static_cast<int>(std::floor((lambda - low) / (high - low) * train::kTrainingLossBins)), 0,
                                 train::kTrainingLossBins - 1);
      const double time = (i + 1.0) / kSteps;
      p2_sum[bin] += reference_p2(alpha_bar[i]) * g(time) * g(time);
      mse_sum[bin] += g(time) * g(time);
      ++count[bin];
    }
    std::int64_t total = 0;
    for (int k = 0; k < train::kTrainingLossBins; ++k) {
      total += event.train_count[k];
      QCOMPARE(event.train_count[k], count[k]);
      if (count[k] == 0) {
        QVERIFY(std::isnan(event.train_p2[k]));
        continue;
      }
      const double p2 = p2_sum[k] / count[k], mse = mse_sum[k] / count[k];
      QVERIFY2(std::abs(event.train_p2[k] - p2) < 1e-4 * p2, qPrintable(QStringLiteral("bin %1: %2 vs %3").arg(k).arg(event.train_p2[k]).arg(p2)));
      QVERIFY2(std::abs(event.train_mse[k] - mse) < 1e-4 * mse, qPrintable(QStringLiteral("bin %1").arg(k)));
    }
    QCOMPARE(total, std::int64_t{kSteps});

    train::LossByNoise next;  // take() starts the next interval empty
    bins.take(next);
    for (int k = 0; k < train::kTrainingLossBins; ++k) QVERIFY(next.train_count[k] == 0 && std::isnan(next.train_p2[k]));
  }

  void everyTimeFallsInExactlyOneBin() {
    for (const diffusion::ScheduleSpec spec : {diffusion::ScheduleSpec{diffusion::ScheduleKind::Cosine, 0},
                                               diffusion::ScheduleSpec{diffusion::ScheduleKind::Linear, 0},
                                               diffusion::ScheduleSpec{diffusion::ScheduleKind::Linear, 500}}) {
      const diffusion::NoiseSchedule schedule(spec);
      const train::LogSnrBins bins(schedule, train::kTrainingLossBins);
      torch::Generator generator = at::make_generator<at::CPUGeneratorImpl>(11);
      torch::Tensor t = schedule.sample_times(5000, generator);
      if (!schedule.is_discrete()) t = torch::cat({t, torch::tensor({0.0f, 1.0f})});  // both ends of the range
      const torch::Tensor index = bins.index(t);
      const torch::Tensor lambda = schedule.log_snr(t);
      const std::vector<double> edges = bins.edges();
      for (std::int64_t i = 0; i < t.size(0); ++i) {
        const double l = lambda[i].item<double>();
        int holders = 0;
        for (int k = 0; k < train::kTrainingLossBins; ++k) {
          const bool last = k == train::kTrainingLossBins - 1;
          holders += edges[k] <= l && (l < edges[k + 1] || (last && l <= edges[k + 1]));
        }
        QCOMPARE(holders, 1);
        const auto k = index[i].item<std::int64_t>();
        QVERIFY2(edges[k] <= l && l <= edges[k + 1], qPrintable(QStringLiteral("t %1 λ %2 in bin %3").arg(t[i].item<double>()).arg(l).arg(k)));
      }
    }
  }

  void validationLevelsGiveTheClosedFormLossAtTheirTimes() {
    const diffusion::DiffusionLoss loss = p2_loss({diffusion::ScheduleKind::Cosine, kSteps});
    const auto levels = train::validation_levels(loss.schedule());
    QCOMPARE(levels.size(), std::size_t{train::kValidationNoiseLevels});
    const std::vector<double> alpha_bar = reference_alpha_bar();
    const double low = reference_log_snr(alpha_bar.back()), high = reference_log_snr(alpha_bar.front());
    for (std::size_t k = 0; k < levels.size(); ++k) {
      // Each level is the step whose log-SNR is nearest the centre of its slice of the range.
      const double target = low + (high - low) * (static_cast<double>(k) + 0.5) / train::kValidationNoiseLevels;
      const int step = static_cast<int>(std::lround(levels[k].t * kSteps)) - 1;
      QVERIFY(std::abs(levels[k].log_snr - reference_log_snr(alpha_bar[step])) < 1e-6);
      for (int other = 0; other < kSteps; ++other)
        QVERIFY(std::abs(reference_log_snr(alpha_bar[other]) - target) >= std::abs(levels[k].log_snr - target) - 1e-9);
      if (k > 0) QVERIFY(levels[k].log_snr > levels[k - 1].log_snr);
    }
    torch::Generator generator = at::make_generator<at::CPUGeneratorImpl>(5);
    const torch::Tensor noise = torch::randn({6, 1, 2, 2}, generator);
    const auto none = [](std::int64_t first, std::int64_t last) { return TextCondition::none(last - first); };
    const train::LevelLosses losses =
        train::losses_at_levels([&](std::int64_t, std::int64_t) { return stub(loss.schedule()); }, loss, torch::zeros({6, 1, 2, 2}),
                                noise, none, levels, 4);
    for (std::size_t k = 0; k < levels.size(); ++k) {
      const int step = static_cast<int>(std::lround(levels[k].t * kSteps)) - 1;
      const double error = g(levels[k].t) * g(levels[k].t);
      QVERIFY(std::abs(losses.mse[k] - error) < 1e-4 * error);
      QVERIFY(std::abs(losses.p2[k] - reference_p2(alpha_bar[step]) * error) < 1e-4 * error);
      // The facade's weight curve is the same P2 weight, read off the log-SNR.
      QVERIFY(std::abs(train::p2_weight_at(levels[k].log_snr, 1.0, 0.5) - reference_p2(alpha_bar[step])) < 1e-9);
    }
  }

  void continuousLevelsSitAtTheirLogSnr() {
    const diffusion::NoiseSchedule schedule({diffusion::ScheduleKind::Cosine, 0});
    const train::LogSnrRange range = train::log_snr_range(schedule);
    const auto levels = train::validation_levels(schedule);
    for (std::size_t k = 0; k < levels.size(); ++k) {
      const double target = range.low + (range.high - range.low) * (static_cast<double>(k) + 0.5) / train::kValidationNoiseLevels;
      QVERIFY2(std::abs(levels[k].log_snr - target) < 1e-6, qPrintable(QString::number(levels[k].log_snr - target)));
    }
  }

  void aTrainingRunRecordsStepZeroAndRepeatsExactly() {
    QTemporaryDir dir;
    const std::string preset = t2i::test::write_preset(dir, t2i::test::tiny_preset_json());
    const std::string cache = dir.filePath(QStringLiteral("cache")).toStdString();
    std::vector<std::vector<train::LossByNoise>> runs;
    for (const char* name : {"a", "b"}) {
      train::Observer quiet;
      train::TrainOptions options = test::tiny_demo_run(preset, dir.filePath(QString::fromLatin1(name)).toStdString(), cache);
      options.max_steps = 7;
      train::run(options, quiet);
      runs.push_back(train::read_loss_by_noise(dir.filePath(QString::fromLatin1(name)).toStdString()));
    }
    const auto& a = runs[0];
    // Step 0, the early evaluation at 5 (eval_every 5) and the closing one at 7.
    QCOMPARE(a.size(), std::size_t{3});
    QCOMPARE(a[0].step, std::int64_t{0});
    QCOMPARE(a[1].step, std::int64_t{5});
    QCOMPARE(a[2].step, std::int64_t{7});
    const std::int64_t batch = t2i::test::tiny_preset_json()["batch_size"].get<std::int64_t>();
    const std::int64_t trained[] = {0, 5 * batch, 2 * batch};  // the steps since the previous evaluation
    for (std::size_t e = 0; e < a.size(); ++e) {
      QCOMPARE(a[e].val_p2.size(), std::size_t{train::kValidationNoiseLevels});
      for (const double v : a[e].val_p2) QVERIFY(std::isfinite(v) && v > 0);
      std::int64_t total = 0;
      for (const std::int64_t c : a[e].train_count) total += c;
      QCOMPARE(total, trained[e]);
      QVERIFY(same(a[e].val_p2, runs[1][e].val_p2));
      QVERIFY(same(a[e].val_mse, runs[1][e].val_mse));
      QVERIFY(same(a[e].train_p2, runs[1][e].train_p2));
    }
    // The readers of the other events are unchanged by the new one.
    const train::History history = train::read_history(dir.filePath(QStringLiteral("a")).toStdString());
    QCOMPARE(history.steps.size(), std::size_t{7});
    QCOMPARE(history.evals.size(), std::size_t{2});

    const t2i::test::CliRun show = t2i::test::runCli(
        {QStringLiteral("runs"), QStringLiteral("show"), dir.filePath(QStringLiteral("a")), QStringLiteral("--loss-by-noise")});
    QVERIFY2(show.exitCode == 0, qPrintable(show.err));
    QVERIFY2(show.out.contains(QStringLiteral("tiny-test")), qPrintable(show.out));
    QVERIFY2(show.out.contains(QStringLiteral("validation P2 by log-SNR")), qPrintable(show.out));
    QVERIFY2(show.out.contains(QStringLiteral("training P2 by log-SNR bin")), qPrintable(show.out));
  }

  void runsWithoutTheEventsReadEmpty() {
    const std::string fixture = std::string(T2I_SOURCE_DIR) + "/tests/fixtures/0.1.0/run";
    QVERIFY(train::read_loss_by_noise(fixture).empty());
    const t2i::test::CliRun show = t2i::test::runCli({QStringLiteral("runs"), QStringLiteral("show"),
                                                      QString::fromStdString(fixture), QStringLiteral("--loss-by-noise")});
    QVERIFY2(show.exitCode == 0, qPrintable(show.err));
    QVERIFY2(show.out.contains(QStringLiteral("no loss-by-noise")), qPrintable(show.out));
  }

  void eventsRoundTripWithEmptyBins() {
    train::LossByNoise e;
    e.step = 42;
    e.level_log_snr = {-3, 1};
    e.level_t = {0.8, 0.3};
    e.val_p2 = {0.5, 0.25};
    e.val_mse = {0.6, 0.3};
    e.bin_edges = {-4, 0, 4};
    e.train_p2 = {kNaN, 0.2};
    e.train_mse = {kNaN, 0.4};
    e.train_count = {0, 3};
    const train::LossByNoise back = train::loss_by_noise_from_json(nlohmann::json::parse(train::to_json(e).dump()));
    QCOMPARE(back.step, e.step);
    QVERIFY(same(back.val_p2, e.val_p2) && same(back.level_t, e.level_t) && same(back.train_p2, e.train_p2));
    QVERIFY(back.train_count == e.train_count);
  }

  void gridsAreRelativeToTheFirstAndDivergenceSubtractsTheLevelsBin() {
    train::LossByNoise first, later;
    first.step = 0;
    first.level_log_snr = {-3, 1};
    first.val_p2 = {0.5, 0.2};
    first.bin_edges = {-4, 0, 4};
    first.train_p2 = {kNaN, kNaN};
    later = first;
    later.step = 100;
    later.val_p2 = {0.25, 0.1};
    later.train_p2 = {0.2, 0.05};
    const train::LossGrid val = train::loss_grid({first, later}, train::LossGridSource::ValidationP2, true);
    QVERIFY(val.steps == (std::vector<std::int64_t>{0, 100}));
    QVERIFY(same(val.values[0], {1.0, 1.0}) && same(val.values[1], {0.5, 0.5}));
    const train::LossGrid training = train::loss_grid({first, later}, train::LossGridSource::TrainingP2, true);
    QVERIFY(same(training.log_snr, {-2, 2}));  // bin centres
    QVERIFY(same(training.values[0], {kNaN, kNaN}) && same(training.values[1], {1.0, 1.0}));
    QVERIFY(same(train::divergence(later), {0.25 - 0.2, 0.1 - 0.05}));
    QVERIFY(same(train::divergence(first), {kNaN, kNaN}));
  }
};

QTEST_GUILESS_MAIN(TestLossByNoise)
#include "test_loss_by_noise.moc"
