// The probe gallery (issue 26, deliverable 2): the recorded steps' closed form, two tiny runs
// alike to the pixel, every cell against the core's sampler run on its own from the checkpoint,
// a resume that drops what came after its checkpoint, and `t2i runs gallery`. The memorisation
// curve measured on it (deliverable 3) against nearest neighbours and percentiles computed here,
// `t2i runs show` printing it and `t2i sample --neighbours`.
#include "test_support.h"
#include "tiny_preset.h"

#include "model/checkpoint_file.h"
#include "model/unet_config.h"
#include "sample/sampling.h"
#include "sample/text_to_image_model.h"
#include "data/prepared_dataset.h"
#include "t2i/data.h"
#include "t2i/probe_gallery.h"
#include "t2i/runs.h"
#include "t2i/runtime.h"
#include "t2i/sample.h"
#include "t2i/train.h"
#include "train/probe_gallery.h"
#include "train/run_folder.h"

#include <QTemporaryDir>
#include <QtTest/QtTest>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <vector>

using namespace t2i;
namespace fs = std::filesystem;

namespace {

const char* const kUserPrompt = "a green triangle";

std::vector<std::int64_t> steps_of(const train::ProbeGallery& gallery) {
  std::vector<std::int64_t> steps;
  for (const auto& e : gallery.evaluations) steps.push_back(e.step);
  return steps;
}

/// The largest difference of two images' channel values (255 when their sizes differ).
int max_difference(const Image& a, const Image& b) {
  if (a.width != b.width || a.height != b.height) return 255;
  int worst = 0;
  for (std::size_t i = 0; i < a.rgb.size(); ++i) worst = std::max(worst, std::abs(int{a.rgb[i]} - int{b.rgb[i]}));
  return worst;
}

/// The smallest RMS pixel difference (in [0, 1]) of `rgb` to the training images but `skip`,
/// written out: the pixel ℓ2 measure's definition, by brute force.
double nearest_distance(const data::PreparedDataset& dataset, const std::uint8_t* rgb, std::int64_t skip = -1) {
  double best = INFINITY;
  const auto& train = dataset.images(data::Split::Train);
  const std::size_t n = dataset.cache().bytes_per_image();
  for (std::size_t j = 0; j < train.size(); ++j) {
    if (static_cast<std::int64_t>(j) == skip) continue;
    const std::uint8_t* other = dataset.cache().pixels(train[j].slot);
    double sum = 0;
    for (std::size_t i = 0; i < n; ++i) sum += (double(rgb[i]) - double(other[i])) * (double(rgb[i]) - double(other[i]));
    best = std::min(best, std::sqrt(sum / double(n)) / 255.0);
  }
  return best;
}

} // namespace

class TestProbeGallery : public QObject {
  Q_OBJECT

  QTemporaryDir dir_;
  std::string preset_;
  std::string cache_;

  std::string runPath(const char* name) const { return dir_.filePath(QString::fromLatin1(name)).toStdString(); }

  /// A tiny run of `max_steps` with one probe prompt of the user's.
  std::string trainRun(const char* name, std::int64_t max_steps) {
    train::TrainOptions options = test::tiny_demo_run(preset_, runPath(name), cache_);
    options.max_steps = max_steps;
    options.probe_gallery = true;
    options.probe_prompts = {kUserPrompt};
    train::Observer quiet;
    train::run(options, quiet);
    return runPath(name);
  }

private Q_SLOTS:
  void initTestCase() {
    runtime::initialize(1);
    QVERIFY(dir_.isValid());
    preset_ = test::write_preset(dir_, test::tiny_preset_json());
    cache_ = dir_.filePath(QStringLiteral("cache")).toStdString();
  }

  void recordedStepsSpreadEvenlyAndEndAtTheLast() {
    // 1 + round(k (N − 1) / 9) for k = 0…9.
    const auto many = train::plan_probe_gallery({"a"}, 25, 32);
    QCOMPARE(many.recorded_steps, (std::vector<int>{1, 4, 6, 9, 12, 14, 17, 20, 22, 25}));
    QCOMPARE(train::plan_probe_gallery({"a"}, 4, 32).recorded_steps, (std::vector<int>{1, 2, 3, 4}));
    QCOMPARE(many.probe_count(), train::kProbeSeeds * 3);
    // Probe p = (prompt × seeds + seed) × scales + scale.
    const auto two = train::plan_probe_gallery({"first", "second"}, 25, 32);
    const train::Probe p = two.probe(1 * 3 * train::kProbeSeeds + 1 * 3 + 2);
    QCOMPARE(p.prompt, std::string("second"));
    QCOMPARE(p.seed, std::uint64_t{1});
    QCOMPARE(p.guidance, 7.0);
    QVERIFY_THROWS_EXCEPTION(std::out_of_range, two.probe(two.probe_count()));
  }

  void twoRunsWithTheSameSeedsGiveIdenticalProbes() {
    const std::string a = trainRun("a", 7);
    const std::string b = trainRun("b", 7);
    const auto ga = train::read_probe_gallery(a);
    const auto gb = train::read_probe_gallery(b);
    QVERIFY(ga && gb);
    // Step 0, the evaluation at 5 (eval_every 5) and the closing one at 7.
    QCOMPARE(steps_of(*ga), (std::vector<std::int64_t>{0, 5, 7}));
    QCOMPARE(steps_of(*gb), steps_of(*ga));
    QCOMPARE(ga->prompts.size(), std::size_t{train::kProbeCaptions + 1});
    QCOMPARE(ga->prompts.back(), std::string(kUserPrompt));
    QCOMPARE(ga->guidance, (std::vector<double>{1, 4, 7}));
    QCOMPARE(ga->recorded_t.size(), ga->recorded_steps.size());
    QVERIFY(std::is_sorted(ga->recorded_t.rbegin(), ga->recorded_t.rend()));  // denoising runs from noisy to clean
    for (std::size_t e = 0; e < ga->evaluations.size(); ++e)
      QCOMPARE(max_difference(train::read_probe_sheet(*ga, e), train::read_probe_sheet(*gb, e)), 0);
    // Training changes them: the untrained model's final estimates are not step 7's.
    const std::size_t last = ga->recorded_steps.size() - 1;
    QVERIFY(max_difference(train::probe_tile(*ga, train::read_probe_sheet(*ga, 0), 0, last, train::ProbeImage::Estimate),
                           train::probe_tile(*ga, train::read_probe_sheet(*ga, 2), 0, last, train::ProbeImage::Estimate)) > 0);
  }

  void everyCellIsTheCoreSamplersImageOfItsProbe() {
    const std::string run = runPath("a");
    const auto gallery = train::read_probe_gallery(run);
    QVERIFY(gallery && gallery->evaluations.back().step == 7);
    const Image sheet = train::read_probe_sheet(*gallery, gallery->evaluations.size() - 1);
    // The reference: the step-7 checkpoint's EMA model, as the trainer runs it (fp32), sampling
    // each probe alone with the core's sampler.
    const std::string checkpoint = train::RunFolder(run, false).checkpoint_path(7);
    auto model = sample::TextToImageModel::from_checkpoint(model::read_checkpoint(checkpoint), checkpoint, torch::kCPU);
    model::ExecutionOptions execution = model::default_execution("cpu");
    execution.precision = runtime::Precision::Float32;
    model->set_execution(execution);
    int worst = 0;
    for (const int p : {0, 5, gallery->probe_count() - 1}) {
      const train::Probe probe = gallery->probe(p);
      sample::SamplingSettings settings;
      settings.guidance = probe.guidance;
      settings.steps = gallery->sampling_steps;
      settings.sampler = diffusion::parse_sampler_kind(gallery->sampler);
      settings.thresholding.kind = diffusion::parse_threshold_kind(gallery->thresholding);
      std::vector<Image> estimates, noisy;
      sample::sample_images(*model, {probe.prompt}, {probe.seed}, settings, [&](const diffusion::StepReport& report) {
        if (std::count(gallery->recorded_steps.begin(), gallery->recorded_steps.end(), report.index + 1) == 0) return;
        estimates.push_back(sample::to_image(report.x_0[0]));
        noisy.push_back(sample::to_image(report.x_t[0]));
      });
      QCOMPARE(estimates.size(), gallery->recorded_steps.size());
      for (std::size_t k = 0; k < estimates.size(); ++k) {
        worst = std::max(worst, max_difference(train::probe_tile(*gallery, sheet, p, k, train::ProbeImage::Estimate), estimates[k]));
        worst = std::max(worst, max_difference(train::probe_tile(*gallery, sheet, p, k, train::ProbeImage::Noisy), noisy[k]));
      }
    }
    // A batch of one against the gallery's batch of ten: the same numbers up to float rounding.
    qInfo("largest difference from the separately sampled probes: %d of 255", worst);
    QVERIFY2(worst <= 2, qPrintable(QString::number(worst)));

    // The grid's cells are the tiles, enlarged: probe 5 over denoising steps, at step 7 (last row).
    train::GalleryGridOptions options;
    options.axis = train::GalleryAxis::Denoising;
    options.probe = 5;
    options.kind = train::ProbeImage::Noisy;
    const train::GalleryGrid grid = train::gallery_grid(*gallery, options);
    QCOMPARE(grid.rows, 3);
    QCOMPARE(grid.columns, static_cast<int>(gallery->recorded_steps.size()));
    const int cell = grid.scale * gallery->image_size;
    for (int c = 0; c < grid.columns; ++c) {
      const Image tile = train::probe_tile(*gallery, sheet, 5, static_cast<std::size_t>(c), train::ProbeImage::Noisy);
      Image shown(tile.width, tile.height);
      for (int y = 0; y < tile.height; ++y)
        for (int x = 0; x < tile.width; ++x)
          std::copy_n(grid.image.at(grid.left + c * (cell + grid.gap) + x * grid.scale, grid.top + 2 * (cell + grid.gap) + y * grid.scale),
                      3, shown.at(x, y));
      QCOMPARE(max_difference(shown, tile), 0);
    }
  }

  void resumeDropsWhatCameAfterItsCheckpointAndContinues() {
    const std::string run = trainRun("r", 7);
    const auto before = train::read_probe_gallery(run);
    QCOMPARE(steps_of(*before), (std::vector<std::int64_t>{0, 5, 7}));
    const Image sheet_5 = train::read_probe_sheet(*before, 1);
    // A run killed after its step-7 evaluation but before the checkpoint: the gallery holds step 7,
    // the newest checkpoint is step 5's.
    const train::RunFolder folder(run, false);
    QVERIFY(fs::remove(folder.checkpoint_path(7)));
    train::TrainOptions options = train::stored_options(run);
    options.max_steps = 12;
    train::Observer quiet;
    train::run(options, quiet);
    const auto after = train::read_probe_gallery(run);
    // Step 7 is gone (no evaluation falls there when training goes on), 10 and 12 follow: each once.
    QCOMPARE(steps_of(*after), (std::vector<std::int64_t>{0, 5, 10, 12}));
    QVERIFY(!fs::exists(folder.probe_sheet_path(7)));
    QCOMPARE(max_difference(train::read_probe_sheet(*after, 1), sheet_5), 0);
    QCOMPARE(after->prompts, before->prompts);
    // The memorisation curve follows the gallery, its baseline stored once.
    const auto curve = train::read_memorisation(run);
    QVERIFY(curve);
    std::vector<std::int64_t> steps;
    for (const auto& point : curve->points) steps.push_back(point.step);
    QCOMPARE(steps, steps_of(*after));
    int baselines = 0;
    for (const auto& event : train::read_metrics(folder.metrics_path()))
      baselines += event.value("event", "") == "memorisation_baseline";
    QCOMPARE(baselines, 1);
  }

  void memorisationCurveOfTheGallery() {
    const std::string run = runPath("a");
    const auto curve = train::read_memorisation(run);
    QVERIFY(curve);
    QCOMPARE(curve->measure, evaluate::NeighbourMeasure::PixelL2);  // no Inception weights in this run
    const auto gallery = train::read_probe_gallery(run);
    std::vector<std::int64_t> steps;
    for (const auto& point : curve->points) steps.push_back(point.step);
    QCOMPARE(steps, steps_of(*gallery));
    // The threshold: the 5th percentile of the train-to-train nearest distances, by hand.
    const auto dataset = data::PreparedDataset::open(data::prepared_folder(cache_));
    const auto& train_images = dataset->images(data::Split::Train);
    std::vector<double> baseline;
    for (std::size_t j = 0; j < train_images.size(); ++j)
      baseline.push_back(nearest_distance(*dataset, dataset->cache().pixels(train_images[j].slot), static_cast<std::int64_t>(j)));
    std::sort(baseline.begin(), baseline.end());
    const double h = 0.05 * double(baseline.size() - 1);
    const auto lo = static_cast<std::size_t>(h);
    const double threshold = baseline[lo] + (h - double(lo)) * (baseline[lo + 1] - baseline[lo]);
    QVERIFY(std::abs(curve->threshold - threshold) < 1e-12);
    QCOMPARE(curve->images, static_cast<std::int64_t>(train_images.size()));
    std::int64_t counted = 0;
    for (const std::int64_t c : curve->baseline.counts) counted += c;
    QCOMPARE(counted, curve->images);
    QVERIFY(std::abs(curve->baseline.low - baseline.front()) < 1e-12);
    // Each evaluation: the final images' nearest training images, flagged below the threshold.
    const std::size_t last = gallery->recorded_steps.size() - 1;
    for (std::size_t e = 0; e < gallery->evaluations.size(); ++e) {
      const Image sheet = train::read_probe_sheet(*gallery, e);
      std::int64_t flagged = 0;
      double closest = INFINITY;
      for (int p = 0; p < gallery->probe_count(); ++p) {
        const Image tile = train::probe_tile(*gallery, sheet, p, last, train::ProbeImage::Estimate);
        const double d = nearest_distance(*dataset, tile.rgb.data());
        flagged += d < threshold;
        closest = std::min(closest, d);
      }
      const auto& point = curve->points[e];
      QCOMPARE(point.probes, static_cast<std::int64_t>(gallery->probe_count()));
      QCOMPARE(point.flagged, flagged);
      QVERIFY(std::abs(point.closest - closest) < 1e-12);
      QVERIFY(std::abs(point.share - double(flagged) / gallery->probe_count()) < 1e-12);
    }
    // A run from before the curve has none.
    QVERIFY(!train::read_memorisation(T2I_SOURCE_DIR "/tests/fixtures/0.1.0/run"));

    // `t2i runs show` prints it; `t2i sample --neighbours` finds the run's training images.
    const test::CliRun shown = test::runCli({QStringLiteral("runs"), QStringLiteral("show"), QString::fromStdString(run)});
    QVERIFY2(shown.exitCode == 0, qPrintable(shown.err));
    QVERIFY2(shown.out.contains(QStringLiteral("memorisation by pixel")), qPrintable(shown.out));
    QVERIFY2(shown.out.contains(QStringLiteral("/%1").arg(gallery->probe_count())), qPrintable(shown.out));
    QFile::remove(test::artifactsDir() + QStringLiteral("/cli-runs-show-memorisation.txt"));
    QFile text(test::artifactsDir() + QStringLiteral("/cli-runs-show-memorisation.txt"));
    QVERIFY(text.open(QIODevice::WriteOnly));
    text.write(shown.out.toUtf8());
    text.close();
    const QString out = dir_.filePath(QStringLiteral("sampled"));
    const QString checkpoint = QString::fromStdString(train::RunFolder(run, false).checkpoint_path(7));
    const test::CliRun sampled =
        test::runCli({QStringLiteral("sample"), QStringLiteral("--checkpoint"), checkpoint, QStringLiteral("--prompt"),
                      QString::fromLatin1(kUserPrompt), QStringLiteral("--steps"), QStringLiteral("5"), QStringLiteral("--seed"),
                      QStringLiteral("3"), QStringLiteral("--out"), out, QStringLiteral("--neighbours"), QStringLiteral("3")});
    QVERIFY2(sampled.exitCode == 0, qPrintable(sampled.err));
    const auto document = nlohmann::json::parse(std::ifstream(QString(out + QStringLiteral("/neighbours.json")).toStdString()));
    QCOMPARE(document.at("measure").get<std::string>(), std::string("pixel-l2"));
    const auto& neighbours = document.at("images").at(0).at("neighbours");
    QCOMPARE(neighbours.size(), std::size_t{3});
    const Image image = sample::read_png(QString(out + QStringLiteral("/image_0_seed3.png")).toStdString());
    QVERIFY(std::abs(neighbours.at(0).at("value").get<double>() - nearest_distance(*dataset, image.rgb.data())) < 1e-12);
    QVERIFY(neighbours.at(0).at("value").get<double>() <= neighbours.at(2).at("value").get<double>());
    QVERIFY2(sampled.out.contains(QString::fromStdString(neighbours.at(0).at("caption").get<std::string>())), qPrintable(sampled.out));
  }

  void theCliDrawsTheGridAndNamesProblems() {
    const QString run = QString::fromStdString(runPath("a"));
    const QString out = dir_.filePath(QStringLiteral("grid.png"));
    const test::CliRun made = test::runCli({QStringLiteral("runs"), QStringLiteral("gallery"), run, QStringLiteral("--out"), out});
    QVERIFY2(made.exitCode == 0, qPrintable(made.err));
    QVERIFY2(made.out.contains(QString::fromLatin1(kUserPrompt)), qPrintable(made.out));
    const auto gallery = train::read_probe_gallery(runPath("a"));
    const train::GalleryGrid grid = train::gallery_grid(*gallery, {});
    const Image written = sample::read_png(out.toStdString());
    QCOMPARE(max_difference(written, grid.image), 0);
    QCOMPARE(grid.rows, gallery->probe_count());
    QCOMPARE(grid.columns, 3);
    QFile::remove(test::artifactsDir() + QStringLiteral("/cli-probe-grid-training.png"));
    QFile::copy(out, test::artifactsDir() + QStringLiteral("/cli-probe-grid-training.png"));

    const QString denoising = dir_.filePath(QStringLiteral("denoising.png"));
    const test::CliRun one = test::runCli({QStringLiteral("runs"), QStringLiteral("gallery"), run, QStringLiteral("--out"), denoising,
                                           QStringLiteral("--step-axis"), QStringLiteral("denoising"), QStringLiteral("--probe"),
                                           QStringLiteral("5"), QStringLiteral("--xt")});
    QVERIFY2(one.exitCode == 0, qPrintable(one.err));
    QFile::remove(test::artifactsDir() + QStringLiteral("/cli-probe-grid-denoising-xt.png"));
    QFile::copy(denoising, test::artifactsDir() + QStringLiteral("/cli-probe-grid-denoising-xt.png"));

    const test::CliRun unchosen = test::runCli({QStringLiteral("runs"), QStringLiteral("gallery"), run, QStringLiteral("--out"),
                                                denoising, QStringLiteral("--step-axis"), QStringLiteral("denoising")});
    QVERIFY(unchosen.exitCode != 0);
    QVERIFY2(unchosen.err.contains(QStringLiteral("one probe")), qPrintable(unchosen.err));
    const test::CliRun outside = test::runCli(
        {QStringLiteral("runs"), QStringLiteral("gallery"), run, QStringLiteral("--out"), denoising, QStringLiteral("--probe"), QStringLiteral("999")});
    QVERIFY(outside.exitCode != 0);
    QVERIFY2(outside.err.contains(QStringLiteral("probe 999 does not exist")), qPrintable(outside.err));
    // A run from before galleries (t2i-studio 0.1.0) says so.
    const test::CliRun old = test::runCli({QStringLiteral("runs"), QStringLiteral("gallery"),
                                           QString::fromLatin1(T2I_SOURCE_DIR "/tests/fixtures/0.1.0/run"), QStringLiteral("--out"), denoising});
    QVERIFY(old.exitCode != 0);
    QVERIFY2(old.err.contains(QStringLiteral("has no probe gallery")), qPrintable(old.err));
  }

  void aDamagedIndexIsNamed() {
    QTemporaryDir run;
    const train::RunFolder folder(run.path().toStdString());
    std::ofstream(folder.config_path()) << "{}";
    std::ofstream(folder.probe_index_path()) << R"({"format_version": "1.0", "prompts": ["a"], "seeds": "zero"})";
    try {
      train::read_probe_gallery(run.path().toStdString());
      QFAIL("a damaged index was read");
    } catch (const std::runtime_error& e) {
      QVERIFY2(std::string(e.what()).find("index.json") != std::string::npos, e.what());
    }
  }
};

QTEST_GUILESS_MAIN(TestProbeGallery)
#include "test_probe_gallery.moc"
