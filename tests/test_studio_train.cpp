// The studio's training side driven as a user would: pick the demo dataset, build its caches,
// train the demo preset for a few steps while the curves fill, stop (a checkpoint is written),
// continue the run, read it back from its folder, quit during training, and stop in the middle of an
// FID pass. The GUI event loop is timed throughout: the longest stall is printed and bounded
// (t2i::test::kGuiStallBoundMs).
#include "stall_meter.h"
#include "studio_support.h"
#include "test_support.h"

#include "data/thumbnail_model.h"
#include "main_window.h"
#include "pages/data_page.h"
#include "pages/train_page.h"
#include "plots/metric_plot.h"
#include "plots/training_curves.h"
#include "settings.h"
#include "widgets/enlarged_image.h"
#include "widgets/pixel_image_view.h"
#include "training/best_evaluation.h"
#include "training/preset_editor.h"
#include "training/training_session.h"

#include "t2i/data.h"
#include "t2i/model.h"
#include "t2i/probe_gallery.h"
#include "t2i/runs.h"
#include "t2i/runtime.h"
#include "t2i/sample.h"

#include <QCheckBox>
#include <QComboBox>
#include <QCryptographicHash>
#include <QDir>
#include <QElapsedTimer>
#include <QJsonDocument>
#include <QJsonObject>
#include <QLabel>
#include <QLineEdit>
#include <QListView>
#include <QMessageBox>
#include <QProcess>
#include <QPushButton>
#include <QRadioButton>
#include <QScrollArea>
#include <QSettings>
#include <QSignalSpy>
#include <QSpinBox>
#include <QTemporaryDir>
#include <QTimer>
#include <QtEndian>
#include <QtTest/QtTest>

#include <cmath>
#include <memory>

using namespace t2i::ui;

using t2i::test::child;
using t2i::test::saveShot;

namespace {

constexpr int kDemoImages = 48;
constexpr int kStepTimeoutMs = 300'000;  // a hang guard: the first steps took 146 s under two busy loops
/// From Stop to the run's end while FID samples are drawn: the trainer stops within the batch of
/// samples in flight (one denoising step), then saves a checkpoint.
constexpr int kStopDuringFidMs = 10'000;

QStringList checkpointsIn(const QString& run) {
  return QDir(run + QStringLiteral("/checkpoints")).entryList({QStringLiteral("*.safetensors")}, QDir::Files);
}

t2i::train::EvalMetrics evaluation(std::int64_t step, double val_p2, double fid, bool improved) {
  t2i::train::EvalMetrics eval;
  eval.step = step;
  eval.val_p2 = val_p2;
  eval.fid = fid;
  eval.improved = improved;
  return eval;
}

/// A checkpoint without tensors: the safetensors header with the metadata the trainer writes,
/// which is all the run-folder reader looks at.
void writeCheckpointHeader(const QString& path, std::int64_t step) {
  const QJsonObject meta{{QStringLiteral("format_version"), QStringLiteral("2.0")}, {QStringLiteral("step"), static_cast<qint64>(step)}};
  const QJsonObject metadata{{QStringLiteral("t2i"), QString::fromUtf8(QJsonDocument(meta).toJson(QJsonDocument::Compact))}};
  const QByteArray header = QJsonDocument(QJsonObject{{QStringLiteral("__metadata__"), metadata}}).toJson(QJsonDocument::Compact);
  QByteArray bytes(8, '\0');
  qToLittleEndian<quint64>(static_cast<quint64>(header.size()), bytes.data());
  QFile file(path);
  QVERIFY(file.open(QIODevice::WriteOnly));
  QCOMPARE(file.write(bytes + header), static_cast<qint64>(bytes.size() + header.size()));
}

/// Turns the Train page's probe gallery off for a test that does not look at it (test_probe_gallery_view
/// does): sampling its probes at step 0 and at every evaluation would be most of a tiny run's time.
void turnProbesOff(QWidget* page) { child<QCheckBox>(page, "probeGallery")->setChecked(false); }

double lastStep(const MetricPlot* plot, int series) {
  const QVector<QPointF> points = plot->points(series);
  return points.isEmpty() ? -1 : points.last().x();
}

} // namespace

class TestStudioTrain : public QObject {
  Q_OBJECT
private Q_SLOTS:
  void initTestCase() {
    t2i::test::useOwnSettings();
    t2i::runtime::initialize();
    QVERIFY(folder_.isValid());
    QSettings().clear();
    settings::cacheFolder.setValue(folder_.filePath(QStringLiteral("cache")));
    settings::runsFolder.setValue(folder_.filePath(QStringLiteral("runs")));
  }

  void settingsAreTypedWithDefaults() {
    const SettingKey<int> key("test/number", 7);
    key.reset();
    QCOMPARE(key.value(), 7);
    key.setValue(42);
    QCOMPARE(key.value(), 42);
    QCOMPARE(QSettings().value(QStringLiteral("test/number")).toInt(), 42);
    QSettings().setValue(QStringLiteral("test/number"), QStringLiteral("not a number"));
    QCOMPARE(key.value(), 7);  // a value of the wrong type reads as the default
    key.reset();
    QCOMPARE(settings::device.value(), QStringLiteral("cpu"));
    QCOMPARE(settings::cacheRoot(), folder_.filePath(QStringLiteral("cache")));
  }

  void smoothingIsBiasCorrected() {
    // A constant series must come out unchanged from the first point on (no pull towards 0).
    Smoother constant(0.9);
    for (int i = 0; i < 5; ++i) QCOMPARE(constant.add(2.5), 2.5);
    // Two points: (0.9·0.1·a + 0.1·b) / (1 − 0.81), the debiased EMA in closed form.
    Smoother two(0.9);
    two.add(1.0);
    QVERIFY(std::abs(two.add(3.0) - (0.09 * 1.0 + 0.1 * 3.0) / 0.19) < 1e-12);
  }

  void plotHoversExportsAndSwitchesScale() {
    MetricPlot plot(QStringLiteral("Loss"), QStringLiteral("loss"));
    const int series = plot.addSeries(QStringLiteral("train loss"), Qt::blue, MetricPlot::Style::LineAndDots);
    const int other = plot.addSeries(QStringLiteral("val"), Qt::red, MetricPlot::Style::Dots);
    plot.resize(600, 360);
    plot.show();
    QVERIFY(QTest::qWaitForWindowExposed(&plot));
    for (int step = 1; step <= 10; ++step) plot.addPoint(series, step, 1.0 / step);
    plot.addPoint(other, 5, 0.5);
    plot.addPoint(other, 12, std::nan(""));  // not finite: ignored
    QCOMPARE(plot.points(series).size(), 10);
    QCOMPARE(plot.points(other).size(), 1);

    const QPointF at = plot.pixelOf(series, 4, 0.25);
    QTest::mouseMove(plot.chartWidget(), at.toPoint());
    QTRY_COMPARE(plot.hoverText(), QStringLiteral("train loss at step 4: 0.25"));
    QVERIFY(plot.valueAt(QPointF(-500, -500)).isEmpty());

    const QString csv = folder_.filePath(QStringLiteral("plot.csv"));
    QVERIFY(plot.exportCsv(csv));
    QFile file(csv);
    QVERIFY(file.open(QIODevice::ReadOnly | QIODevice::Text));
    const QStringList lines = QString::fromUtf8(file.readAll()).split(QLatin1Char('\n'), Qt::SkipEmptyParts);
    QCOMPARE(lines.size(), 11);
    QCOMPARE(lines[0], QStringLiteral("step,\"train loss\",\"val\""));
    QCOMPARE(lines[4], QStringLiteral("4,0.25,"));
    QCOMPARE(lines[5], QStringLiteral("5,0.2,0.5"));
    QVERIFY(plot.exportPng(t2i::test::artifactsDir() + QStringLiteral("/studio-plot.png")));

    plot.setLogScale(true);
    QVERIFY(plot.logScale());
    QVERIFY(plot.findChild<QWidget*>(QStringLiteral("logScale")) != nullptr);
    plot.setLogScale(false);
    QVERIFY(!plot.logScale());

    plot.removeFrom(8);
    QCOMPARE(plot.points(series).size(), 7);
  }

  void curvesExplainMissingFidAndRedoResumedSteps() {
    TrainingCurves curves;
    curves.setFidHint(QStringLiteral("hint"));
    QCOMPARE(curves.fidPlot()->note(), QStringLiteral("hint"));
    t2i::train::EvalMetrics eval;
    eval.step = 10;
    eval.val_p2 = 0.1;
    eval.fid_status = "no Inception weights configured";
    curves.addEval(eval);
    QVERIFY(curves.fidPlot()->note().contains(QStringLiteral("no Inception weights configured")));
    QVERIFY(curves.fidPlot()->note().contains(QStringLiteral("pt_inception-2015-12-05")));
    QCOMPARE(curves.valPlot()->points(0).size(), 1);
    QVERIFY(curves.fidPlot()->points(TrainingCurves::Fid).isEmpty());

    std::vector<t2i::train::StepMetrics> steps(12);
    for (int i = 0; i < 12; ++i) steps[i] = {i + 1, 1.0, 0, 0, 0, 0, -1, 0};
    curves.addSteps(steps);
    // A run resumed from step 10 redoes steps 11 and 12: the old ones are replaced, not doubled.
    curves.addSteps({{11, 2.0, 0, 0, 0, 0, -1, 0}});
    const QVector<QPointF> raw = curves.lossPlot()->points(TrainingCurves::RawLoss);
    QCOMPARE(raw.size(), 11);
    QCOMPARE(raw.last(), QPointF(11, 2.0));
    QCOMPARE(curves.lossPlot()->points(TrainingCurves::SmoothedLoss).size(), 11);
  }

  void trainPageShowsTheBestTheTrainerChose() {
    // A run selected by P2 and FID, written by hand: step 20 has the lowest validation P2, but its
    // FID was worse, so the trainer's best (best.safetensors) is step 30.
    const QString run = writeScriptedRun(QStringLiteral("scripted-run"), R"({"event":"eval","step":10,"val_p2":0.5,"fid":90.0,"improved":true,"steps_without_improvement":0,"early_stop_in":-1,"fid_status":""}
{"event":"eval","step":20,"val_p2":0.4,"fid":120.0,"improved":false,"steps_without_improvement":10,"early_stop_in":-1,"fid_status":""}
{"event":"eval","step":30,"val_p2":0.45,"fid":90.0,"improved":true,"steps_without_improvement":0,"early_stop_in":-1,"fid_status":""}
{"event":"eval","step":40,"val_p2":0.42,"fid":95.0,"improved":false,"steps_without_improvement":10,"early_stop_in":-1,"fid_status":""}
)");
    QFile best(run + QStringLiteral("/checkpoints/best.safetensors"));
    QVERIFY(best.open(QIODevice::WriteOnly));
    best.close();

    TrainPage page;
    QSignalSpy opened(&page, &TrainPage::runOpened);
    page.openRun(run);
    QTRY_COMPARE_WITH_TIMEOUT(opened.count(), 1, kStepTimeoutMs);
    auto* label = child<QLabel>(&page, "bestLabel");
    const auto shows = [&](double val_p2, double fid, int step) {
      const QLocale locale;
      return label->text().contains(QStringLiteral("val P2 %1, FID %2 at step %3")
                                        .arg(locale.toString(val_p2, 'g', 4), locale.toString(fid, 'g', 4), locale.toString(step)));
    };
    QVERIFY2(shows(0.45, 90, 30), qPrintable(label->text()));

    // Live evaluations: the page follows the trainer's decision, not the lowest loss it has seen.
    t2i::train::EvalMetrics eval;
    eval.step = 50;
    eval.val_p2 = 0.3;
    eval.fid = 100;
    eval.improved = false;
    Q_EMIT page.session()->evaluated(eval);
    QVERIFY2(shows(0.45, 90, 30), qPrintable(label->text()));
    eval.step = 60;
    eval.val_p2 = 0.44;
    eval.fid = 89;
    eval.improved = true;
    Q_EMIT page.session()->evaluated(eval);
    QVERIFY2(shows(0.44, 89, 60), qPrintable(label->text()));
  }

  void bestEvaluationNamesTheStepOfBestSafetensors() {
    // Selected by P2 and FID: step 20 has the lowest validation P2 but a worse FID. The log marks
    // step 40 improved, but best.safetensors still holds step 30 (the trainer stopped between
    // the evaluation's line and the file's rename): the file decides.
    t2i::train::History history;
    history.evals = {evaluation(10, 0.5, 90, true), evaluation(20, 0.4, 120, false), evaluation(30, 0.45, 90, true),
                     evaluation(40, 0.42, 89, true)};
    history.best_step = 30;
    const auto stepOf = [](const BestEvaluation& best) { return best.step().value_or(-1); };
    BestEvaluation best;
    best.setHistory(history);
    QCOMPARE(stepOf(best), std::int64_t{30});
    QVERIFY(best.eval());
    QCOMPARE(best.eval()->val_p2, 0.45);
    QCOMPARE(best.eval()->fid.value_or(-1), 90.0);

    // A best.safetensors evaluated before metrics.jsonl began (or whose lines were lost): its step, no values.
    history.best_step = 5;
    best.setHistory(history);
    QCOMPARE(stepOf(best), std::int64_t{5});
    QVERIFY(!best.eval());

    // Without a readable best.safetensors, the trainer's own marks in the log.
    history.best_step.reset();
    best.setHistory(history);
    QCOMPARE(stepOf(best), std::int64_t{40});

    // Live: the trainer writes best.safetensors at each evaluation it marks improved, and only then.
    best.addEval(evaluation(50, 0.3, 100, false));
    QCOMPARE(stepOf(best), std::int64_t{40});
    best.addEval(evaluation(60, 0.41, 88, true));
    QCOMPARE(stepOf(best), std::int64_t{60});
    best.clear();
    QVERIFY(!best.step());
  }

  void trainPageNamesTheStepBestSafetensorsHolds() {
    const QString run = writeScriptedRun(QStringLiteral("interrupted-run"), R"({"event":"eval","step":10,"val_p2":0.5,"fid":90.0,"improved":true,"steps_without_improvement":0,"early_stop_in":-1,"fid_status":""}
{"event":"eval","step":20,"val_p2":0.4,"fid":120.0,"improved":false,"steps_without_improvement":10,"early_stop_in":-1,"fid_status":""}
{"event":"eval","step":30,"val_p2":0.45,"fid":90.0,"improved":true,"steps_without_improvement":0,"early_stop_in":-1,"fid_status":""}
{"event":"eval","step":40,"val_p2":0.42,"fid":89.0,"improved":true,"steps_without_improvement":0,"early_stop_in":-1,"fid_status":""}
)");
    writeCheckpointHeader(run + QStringLiteral("/checkpoints/best.safetensors"), 30);

    TrainPage page;
    QSignalSpy opened(&page, &TrainPage::runOpened);
    page.openRun(run);
    QTRY_COMPARE_WITH_TIMEOUT(opened.count(), 1, kStepTimeoutMs);
    const QString text = child<QLabel>(&page, "bestLabel")->text();
    const QLocale locale;
    QVERIFY2(text.contains(QStringLiteral("val P2 %1, FID %2 at step %3")
                               .arg(locale.toString(0.45, 'g', 4), locale.toString(90.0, 'g', 4), locale.toString(30))),
             qPrintable(text));
  }

  void dataPageBuildsTheDemoCaches() {
    window_ = std::make_unique<MainWindow>();
    window_->resize(1280, 860);
    window_->show();
    QVERIFY(QTest::qWaitForWindowExposed(window_.get()));
    window_->showPage(Page::Data);
    auto* page = window_->findChild<DataPage*>();
    QVERIFY(page);
    QTest::mouseClick(child<QRadioButton>(page, "dataDemo"), Qt::LeftButton);
    QVERIFY(page->isDemo());
    child<QSpinBox>(page, "demoImages")->setValue(kDemoImages);
    auto* preset = child<QComboBox>(page, "dataPreset");
    QVERIFY(preset->findText(QStringLiteral("demo")) >= 0);
    preset->setCurrentIndex(preset->findText(QStringLiteral("demo")));

    QSignalSpy ready(page, &DataPage::cachesReady);
    t2i::test::StallMeter stall;
    stall.start();
    QTest::mouseClick(child<QPushButton>(page, "buildCaches"), Qt::LeftButton);
    QVERIFY(page->hasRunningJob());
    QTRY_COMPARE_WITH_TIMEOUT(ready.count(), 1, kStepTimeoutMs);
    const qint64 longest = stall.stop();
    qInfo("longest GUI stall while building the caches: %lld ms", static_cast<long long>(longest));
    QVERIFY2(longest <= t2i::test::kGuiStallBoundMs, qPrintable(QString::number(longest)));
    QVERIFY(!page->hasRunningJob());

    QVERIFY(page->report().has_value());
    const t2i::data::DatasetReport& report = *page->report();
    QCOMPARE(report.images_usable, static_cast<std::size_t>(kDemoImages));
    QCOMPARE(report.split_train + report.split_val + report.split_test, report.images_usable);
    QVERIFY(report.captions_per_image_min >= 1);

    // The grid lists every usable image and decodes thumbnails only when they are shown.
    ThumbnailModel* thumbnails = page->thumbnails();
    QCOMPARE(thumbnails->rowCount(), kDemoImages);
    QTRY_VERIFY(thumbnails->loadedCount() > 0);
    QVERIFY(!thumbnails->data(thumbnails->index(0), Qt::DisplayRole).toString().isEmpty());
    QTest::qWait(200);
    saveShot(window_.get(), QStringLiteral("studio-data.png"));

    // Away and back: the caches built for the demo come back with their gallery.
    child<QRadioButton>(page, "dataCoco")->click();
    QCOMPARE(thumbnails->rowCount(), 0);
    child<QRadioButton>(page, "dataDemo")->click();
    QTRY_COMPARE_WITH_TIMEOUT(thumbnails->rowCount(), kDemoImages, kStepTimeoutMs);
    QTRY_VERIFY(!page->hasRunningJob());
    QVERIFY(page->report().has_value());
  }

  void trainPageTrainsStopsAndContinues() {
    QVERIFY(window_);
    window_->showPage(Page::Train);
    auto* page = window_->findChild<TrainPage*>();
    QVERIFY(page);
    QCOMPARE(page->presetName(), QStringLiteral("demo"));  // follows the Data page
    PresetEditor* editor = page->presetEditor();
    // A tiny run: small batches, an evaluation (and a preview) every 2 steps.
    child<QSpinBox>(editor, "batch_size")->setValue(4);
    child<QSpinBox>(editor, "max_batch_size")->setValue(4);
    child<QSpinBox>(editor, "eval_every")->setValue(2);
    child<QSpinBox>(editor, "eval_val_steps")->setValue(1);
    child<QSpinBox>(page, "maxSteps")->setValue(200);
    turnProbesOff(page);
    QVERIFY(editor->isModified());
    QCOMPARE(editor->preset().batch_size, 4);
    QVERIFY(!child<QSpinBox>(editor, "batch_size")->toolTip().isEmpty());

    // The parameter count and memory estimate arrive in the background.
    QTRY_VERIFY_WITH_TIMEOUT(page->resourceEstimate().has_value(), kStepTimeoutMs);
    QVERIFY(page->resourceEstimate()->parameters > 0);
    QVERIFY(child<QLabel>(page, "resourceEstimate")->text().contains(QStringLiteral("parameters")));

    QSignalSpy ended(page, &TrainPage::runEnded);
    t2i::test::StallMeter stall;
    stall.start();
    window_->activateWindow();
    QVERIFY(QTest::qWaitForWindowActive(window_.get()));
    QTest::keyClick(window_.get(), Qt::Key_Return, Qt::ControlModifier);  // Start
    QVERIFY(page->isTraining());
    QTRY_VERIFY_WITH_TIMEOUT(page->curves()->lossPlot()->points(TrainingCurves::RawLoss).size() >= 3, kStepTimeoutMs);
    QTRY_VERIFY_WITH_TIMEOUT(!page->curves()->valPlot()->points(0).isEmpty(), kStepTimeoutMs);
    QTRY_VERIFY_WITH_TIMEOUT(!page->previewImage().isNull(), kStepTimeoutMs);
    QVERIFY(page->curves()->fidPlot()->note().contains(QStringLiteral("Inception")));
    stall.exclude([&] { saveShot(window_.get(), QStringLiteral("studio-train.png")); });

    // Pause holds the trainer between steps; Resume lets it go on.
    auto* pause = child<QPushButton>(page, "pauseTraining");
    QTest::mouseClick(pause, Qt::LeftButton);
    QVERIFY(pause->isChecked());
    // The step in flight (with its evaluation and preview) finishes; then no step follows for a
    // while. The window must outlast that step: 1.5 s did not on a loaded machine, where the step
    // in flight then landed after the check.
    double pausedAt = -1;
    for (int tries = 0; tries < 30; ++tries) {
      pausedAt = lastStep(page->curves()->lossPlot(), TrainingCurves::RawLoss);
      QTest::qWait(5000);
      if (lastStep(page->curves()->lossPlot(), TrainingCurves::RawLoss) == pausedAt) break;
    }
    QTest::qWait(1000);
    QCOMPARE(lastStep(page->curves()->lossPlot(), TrainingCurves::RawLoss), pausedAt);
    QTest::mouseClick(pause, Qt::LeftButton);
    QVERIFY(!pause->isChecked());
    QTRY_VERIFY_WITH_TIMEOUT(lastStep(page->curves()->lossPlot(), TrainingCurves::RawLoss) > pausedAt, kStepTimeoutMs);

    QTest::keyClick(window_.get(), Qt::Key_Escape);  // Stop
    QTRY_COMPARE_WITH_TIMEOUT(ended.count(), 1, kStepTimeoutMs);
    const qint64 longest = stall.stop();
    qInfo("longest GUI stall while training: %lld ms", static_cast<long long>(longest));
    QVERIFY2(longest <= t2i::test::kGuiStallBoundMs, qPrintable(QString::number(longest)));

    const QString run = page->runFolder();
    QVERIFY(QDir(run).exists());
    QVERIFY2(!checkpointsIn(run).isEmpty(), qPrintable(run));
    QVERIFY(!t2i::train::read_probe_gallery(run.toStdString()).has_value());  // as the box said
    QVERIFY(child<QLabel>(page, "trainStatus")->text().contains(QStringLiteral("cancelled")));
    const double stoppedAt = lastStep(page->curves()->lossPlot(), TrainingCurves::RawLoss);
    QVERIFY(stoppedAt >= 3);

    // Continue the same run from its checkpoint: new steps follow the old ones. A field edited
    // meanwhile does not apply to a continued run, so the editor goes back to the run's value.
    child<QSpinBox>(editor, "eval_every")->setValue(7);
    auto* continueButton = child<QPushButton>(page, "continueRun");
    QVERIFY(continueButton->isEnabled());
    QTest::mouseClick(continueButton, Qt::LeftButton);
    QVERIFY(page->isTraining());
    QCOMPARE(page->runFolder(), run);
    QCOMPARE(child<QSpinBox>(editor, "eval_every")->value(), 2);
    QTRY_VERIFY_WITH_TIMEOUT(lastStep(page->curves()->lossPlot(), TrainingCurves::RawLoss) > stoppedAt, kStepTimeoutMs);
    QTest::mouseClick(child<QPushButton>(page, "stopTraining"), Qt::LeftButton);
    QTRY_COMPARE_WITH_TIMEOUT(ended.count(), 2, kStepTimeoutMs);
    run_ = run;

    // Every grid the run made stays listed by step; the first is at step 2 (eval_every 2), and a
    // click on the grid shown opens it enlarged.
    auto* previewSteps = child<QComboBox>(page, "previewStep");
    QVERIFY(previewSteps->count() >= 1);
    previewSteps->setCurrentIndex(0);
    QCOMPARE(previewSteps->currentText(), QStringLiteral("step 2"));
    QVERIFY(!page->previewImage().isNull());
    QTest::mouseClick(child<QLabel>(page, "previewImage"), Qt::LeftButton);
    auto* enlarged = page->findChild<EnlargedImage*>(QStringLiteral("enlargedPreview"));
    QVERIFY(enlarged);
    QCOMPARE(enlarged->view()->image(), page->previewImage());
    QVERIFY(enlarged->view()->sizeHint().width() >= 4 * page->previewImage().width());
    enlarged->close();
  }

  void finishedRunOpensFromItsFolder() {
    QVERIFY(window_ && !run_.isEmpty());
    auto* page = window_->findChild<TrainPage*>();
    const QVector<QPointF> live = page->curves()->lossPlot()->points(TrainingCurves::RawLoss);
    page->curves()->clear();
    QSignalSpy opened(page, &TrainPage::runOpened);
    page->openRun(run_);
    QTRY_COMPARE_WITH_TIMEOUT(opened.count(), 1, kStepTimeoutMs);
    // The metrics log holds exactly what was plotted live.
    QCOMPARE(page->curves()->lossPlot()->points(TrainingCurves::RawLoss), live);
    QVERIFY(!page->curves()->valPlot()->points(0).isEmpty());
    QVERIFY(!page->previewImage().isNull());
    QVERIFY(child<QComboBox>(page, "previewStep")->count() >= 1);
    QVERIFY(child<QPushButton>(page, "continueRun")->isEnabled());
    saveShot(window_.get(), QStringLiteral("studio-train-history.png"));
    window_.reset();
  }

  // The charts throttle their redraws while steps stream in; the run's end is drawn at once, so
  // the page never shows a finished run one step and one evaluation short (as a screenshot taken
  // right after a multi-process run's end did, its last metrics line having come in the last read).
  void trainPageDrawsTheLastStepWhenTheRunEnds() {
    MainWindow window;
    window.showPage(Page::Train);
    auto* page = window.findChild<TrainPage*>();
    QVERIFY(page);
    TrainingCurves* curves = page->curves();
    curves->clear();
    std::vector<t2i::train::StepMetrics> steps(3);
    for (std::size_t i = 0; i < steps.size(); ++i) {
      steps[i].step = static_cast<std::int64_t>(i) + 1;
      steps[i].train_loss = 0.5;
    }
    Q_EMIT page->session()->steps(steps);
    Q_EMIT page->session()->evaluated(evaluation(2, 0.4, 30, true));
    QTRY_VERIFY(curves->lossPlot()->drawnSteps().second >= 3.0);  // the throttled redraw
    t2i::train::StepMetrics last;
    last.step = 4;
    last.train_loss = 0.25;
    Q_EMIT page->session()->steps({last});
    Q_EMIT page->session()->evaluated(evaluation(4, 0.3, 20, true));
    t2i::train::Summary summary;
    summary.steps = 4;
    summary.stop_reason = "max steps";
    Q_EMIT page->session()->ended(summary);
    QVERIFY(curves->lossPlot()->drawnSteps().second >= 4.0);
    QVERIFY(curves->valPlot()->drawnSteps().second >= 4.0);
    QVERIFY(curves->fidPlot()->drawnSteps().second >= 4.0);
  }

  // Processes = 2 runs `t2i train --nproc 2` (the CLI's launcher): the page follows rank 0's run
  // folder to the end and shows each process's throughput, and every rank's start line arrives.
  void trainPageRunsTwoProcesses() {
    if (t2i::runtime::available_cores() < 2) QSKIP("the Processes field goes up to the cores: this machine has one");
    MainWindow window;
    window.resize(1280, 860);
    window.show();
    QVERIFY(QTest::qWaitForWindowExposed(&window));
    child<QSpinBox>(window.findChild<DataPage*>(), "demoImages")->setValue(kDemoImages);
    window.showPage(Page::Train);
    auto* page = window.findChild<TrainPage*>();
    QVERIFY(page);
    page->session()->setCliProgram(t2i::test::cliPath());
    PresetEditor* editor = page->presetEditor();
    child<QSpinBox>(editor, "batch_size")->setValue(4);
    child<QSpinBox>(editor, "max_batch_size")->setValue(4);
    child<QSpinBox>(editor, "eval_every")->setValue(2);
    child<QSpinBox>(editor, "eval_val_steps")->setValue(1);
    child<QSpinBox>(page, "maxSteps")->setValue(3);
    child<QSpinBox>(page, "threads")->setValue(2);
    turnProbesOff(page);
    auto* processes = child<QSpinBox>(page, "processes");
    QCOMPARE(processes->value(), 1);
    QVERIFY(processes->toolTip().contains(QStringLiteral("2-core")));
    processes->setValue(2);

    QSignalSpy ended(page, &TrainPage::runEnded);
    QSignalSpy status(page->session(), &TrainingSession::status);
    QTest::mouseClick(child<QPushButton>(page, "startTraining"), Qt::LeftButton);
    QVERIFY(page->isTraining());
    QVERIFY(!child<QPushButton>(page, "pauseTraining")->isEnabled());  // the workers step together
    QVERIFY(!processes->isEnabled());
    QTRY_COMPARE_WITH_TIMEOUT(ended.count(), 1, kStepTimeoutMs);
    QVERIFY2(child<QLabel>(page, "trainStatus")->text().contains(QStringLiteral("max steps")),
             qPrintable(child<QLabel>(page, "trainStatus")->text()));
    // The charts hold and show metrics.jsonl's last step and evaluation as soon as the run has
    // ended, not one throttled redraw later (a screenshot then showed the step before).
    const t2i::train::History history = t2i::train::read_history(page->runFolder().toStdString());
    QVERIFY(!history.steps.empty() && !history.evals.empty());
    QCOMPARE(history.steps.back().step, std::int64_t{3});
    const QVector<QPointF> losses = page->curves()->lossPlot()->points(TrainingCurves::RawLoss);
    QVERIFY(!losses.isEmpty());
    QCOMPARE(losses.last(), QPointF(3.0, history.steps.back().train_loss));
    QVERIFY(page->curves()->lossPlot()->drawnSteps().second >= 3.0);
    const QVector<QPointF> evals = page->curves()->valPlot()->points(0);
    QVERIFY(!evals.isEmpty());
    const auto lastEval = static_cast<double>(history.evals.back().step);
    QCOMPARE(evals.last(), QPointF(lastEval, history.evals.back().val_p2));
    QVERIFY(page->curves()->valPlot()->drawnSteps().second >= lastEval);
    const QString throughput = child<QLabel>(page, "throughputLabel")->text();
    QVERIFY2(throughput.contains(QStringLiteral("per process")) && throughput.count(QLatin1Char(',')) >= 1,
             qPrintable(throughput));
    QStringList lines;
    for (const QList<QVariant>& signal : status) lines << signal.at(0).toString();
    for (const QString& rank : {QStringLiteral("Rank 0 of 2"), QStringLiteral("Rank 1 of 2")})
      QVERIFY2(lines.filter(rank).size() >= 1, qPrintable(lines.join(QLatin1Char('\n'))));
    QVERIFY(!checkpointsIn(page->runFolder()).isEmpty());
    child<QScrollArea>(page, "trainSettings")->ensureWidgetVisible(processes);
    saveShot(&window, QStringLiteral("studio-train-2-processes.png"));
  }

  void quittingDuringTrainingStopsSavesThenCloses() {
    MainWindow window;
    window.resize(1280, 860);
    window.show();
    QVERIFY(QTest::qWaitForWindowExposed(&window));
    auto* page = window.findChild<TrainPage*>();
    window.showPage(Page::Train);
    child<QSpinBox>(page->presetEditor(), "batch_size")->setValue(4);
    child<QSpinBox>(page->presetEditor(), "max_batch_size")->setValue(4);
    child<QSpinBox>(page, "maxSteps")->setValue(200);
    turnProbesOff(page);
    QTest::mouseClick(child<QPushButton>(page, "startTraining"), Qt::LeftButton);
    QVERIFY(page->isTraining());
    QTRY_VERIFY_WITH_TIMEOUT(!page->curves()->lossPlot()->points(TrainingCurves::RawLoss).isEmpty(), kStepTimeoutMs);
    const QString run = page->runFolder();

    QVERIFY(!window.close());  // refused while training: the user is asked first
    QVERIFY(window.isVisible());
    QMessageBox* box = nullptr;
    QTRY_VERIFY((box = window.findChild<QMessageBox*>(QStringLiteral("confirmQuit"))) != nullptr);
    QTest::mouseClick(box->button(QMessageBox::Yes), Qt::LeftButton);
    QTRY_VERIFY_WITH_TIMEOUT(!window.isVisible(), kStepTimeoutMs);
    QVERIFY(!page->isTraining());
    QVERIFY2(!checkpointsIn(run).isEmpty(), qPrintable(run));
  }

  void stopDuringAnFidPassEndsSoonAndKeepsTheRun() {
    T2I_REQUIRE_SHARED_DATA("fid/inception-random/fid_inception_random_legacy.pth");
    MainWindow window;
    window.resize(1280, 860);
    window.show();
    QVERIFY(QTest::qWaitForWindowExposed(&window));
    // The small demo dataset, its caches built by dataPageBuildsTheDemoCaches (FID statistics come
    // from its validation images).
    child<QSpinBox>(window.findChild<DataPage*>(), "demoImages")->setValue(kDemoImages);
    window.showPage(Page::Train);
    auto* page = window.findChild<TrainPage*>();
    QVERIFY(page);
    // An evaluation after 2 steps: the first one always improves, so FID follows.
    PresetEditor* editor = page->presetEditor();
    child<QSpinBox>(editor, "batch_size")->setValue(4);
    child<QSpinBox>(editor, "max_batch_size")->setValue(4);
    child<QSpinBox>(editor, "eval_every")->setValue(2);
    child<QSpinBox>(editor, "eval_val_steps")->setValue(1);
    child<QSpinBox>(page, "maxSteps")->setValue(6);
    turnProbesOff(page);
    child<QLineEdit>(page, "inceptionWeights")
        ->setText(t2i::test::sharedData(QStringLiteral("fid/inception-random/fid_inception_random_legacy.pth")));

    // Stop while the first batch of FID samples is being drawn: its 16 samples take the demo model
    // a minute or more on 2 cores, so a Stop that waited for the batch (or the pass) would show.
    bool fidStarted = false;
    QElapsedTimer sinceStop;
    auto* stopButton = child<QPushButton>(page, "stopTraining");
    connect(page->session(), &TrainingSession::status, this, [&](const QString& message) {
      if (fidStarted || !message.startsWith(QStringLiteral("Computing FID"))) return;
      fidStarted = true;
      QTimer::singleShot(500, stopButton, [&] {
        QTest::mouseClick(stopButton, Qt::LeftButton);
        sinceStop.start();
      });
    });
    int fidBatches = 0;
    connect(page->session(), &TrainingSession::progress, this, [&](const ProgressFrame& frame) {
      if (frame.phase == QStringLiteral("FID samples")) ++fidBatches;
    });
    QSignalSpy evaluated(page->session(), &TrainingSession::evaluated);
    QSignalSpy ended(page, &TrainPage::runEnded);
    t2i::test::StallMeter stall;
    stall.start();
    QTest::mouseClick(child<QPushButton>(page, "startTraining"), Qt::LeftButton);
    QVERIFY(page->isTraining());
    QTRY_VERIFY2_WITH_TIMEOUT(sinceStop.isValid() || !page->isTraining(),
                              qPrintable(child<QLabel>(page, "trainStatus")->text()), kStepTimeoutMs);
    QVERIFY2(sinceStop.isValid(), qPrintable(child<QLabel>(page, "trainStatus")->text()));
    QTRY_COMPARE_WITH_TIMEOUT(ended.count(), 1, kStopDuringFidMs);
    const qint64 stopMs = sinceStop.elapsed();
    const qint64 longest = stall.stop();
    qInfo("stopped %lld ms after Stop, during the FID pass; longest GUI stall %lld ms", static_cast<long long>(stopMs),
          static_cast<long long>(longest));
    QCOMPARE(fidBatches, 0);  // the batch in flight was abandoned, not finished
    QVERIFY2(longest <= t2i::test::kGuiStallBoundMs, qPrintable(QString::number(longest)));

    // Cancelled in the evaluation at step 2: nothing recorded for it, a step-2 checkpoint written.
    QVERIFY(!page->isTraining());
    QCOMPARE(evaluated.count(), 0);
    QVERIFY(page->curves()->valPlot()->points(0).isEmpty());
    const QString status = child<QLabel>(page, "trainStatus")->text();
    QVERIFY2(status.contains(QStringLiteral("cancelled")), qPrintable(status));
    const QString run = page->runFolder();
    const QStringList checkpoints = checkpointsIn(run);
    QCOMPARE(checkpoints.size(), 1);
    const QString checkpoint = run + QStringLiteral("/checkpoints/") + checkpoints.first();
    QVERIFY2(status.contains(QDir::toNativeSeparators(checkpoint)), qPrintable(status));
    QCOMPARE(t2i::sample::Generator(checkpoint.toStdString()).info().step, std::int64_t{2});

    // The run goes on from there.
    std::int64_t firstResumedStep = 0;
    connect(page->session(), &TrainingSession::steps, this, [&](const std::vector<t2i::train::StepMetrics>& batch) {
      if (firstResumedStep == 0 && !batch.empty()) firstResumedStep = batch.front().step;
    });
    auto* continueButton = child<QPushButton>(page, "continueRun");
    QVERIFY(continueButton->isEnabled());
    QTest::mouseClick(continueButton, Qt::LeftButton);
    QVERIFY(page->isTraining());
    QTRY_VERIFY_WITH_TIMEOUT(firstResumedStep > 0, kStepTimeoutMs);
    QCOMPARE(firstResumedStep, std::int64_t{3});
    QTest::mouseClick(child<QPushButton>(page, "stopTraining"), Qt::LeftButton);
    QTRY_COMPARE_WITH_TIMEOUT(ended.count(), 2, kStepTimeoutMs);
  }

  void dataPageAndCliPrepareShareOneCache() {
    const t2i::data::DemoDataset photos = smallCaptionsDataset(folder_.filePath(QStringLiteral("shared-cache")), 24);
    const QString annotations = QString::fromStdString(photos.source.annotations);
    const QString images = QString::fromStdString(photos.source.images_dir);

    DataPage page;
    page.setPresetName(QStringLiteral("demo"));
    child<QRadioButton>(&page, "dataCoco")->setChecked(true);
    child<QLineEdit>(&page, "annotations")->setText(annotations);
    child<QLineEdit>(&page, "imagesFolder")->setText(images);
    const int size = t2i::model::find_preset("demo").unet.image_size;
    const auto cacheFile = [&]() -> QString {
      const std::string folder = t2i::data::prepared_folder(page.dataSpec(size).cache_dir);
      return QString::fromStdString(folder) + QStringLiteral("/images.t2icache");
    };
    const auto prepareWithCli = [&](int n) -> QString {
      QProcess cli;
      cli.start(t2i::test::cliPath(), {QStringLiteral("data"), QStringLiteral("prepare"), QStringLiteral("--annotations"),
                                       annotations, QStringLiteral("--images"), images, QStringLiteral("--n"),
                                       QString::number(n), QStringLiteral("--size"), QString::number(size),
                                       QStringLiteral("--cache-root"), settings::cacheRoot()});
      if (!cli.waitForFinished(kStepTimeoutMs) || cli.exitCode() != 0)
        return QStringLiteral("failed: ") + QString::fromUtf8(cli.readAllStandardError());
      return QString::fromUtf8(cli.readAllStandardOutput());
    };
    const auto buildOnPage = [&] {
      QSignalSpy ready(&page, &DataPage::cachesReady);
      page.buildCaches();
      return ready.wait(kStepTimeoutMs) || ready.count() == 1;
    };

    // Built by the CLI, then opened on the page: the page names that cache and leaves it as it is.
    child<QSpinBox>(&page, "maxImages")->setValue(20);
    const QString built = prepareWithCli(20);
    QVERIFY2(!built.startsWith(QStringLiteral("failed")), qPrintable(built));
    QVERIFY2(!built.contains(QStringLiteral("(reused)")), qPrintable(built));
    QVERIFY2(QFileInfo::exists(cacheFile()), qPrintable(cacheFile()));
    const QDateTime marked(QDate(2001, 1, 1), QTime(0, 0), Qt::UTC);
    {
      QFile file(cacheFile());
      QVERIFY(file.open(QIODevice::ReadWrite));
      QVERIFY(file.setFileTime(marked, QFileDevice::FileModificationTime));
    }
    QVERIFY(buildOnPage());
    QCOMPARE(QFileInfo(cacheFile()).lastModified().toUTC(), marked);

    // Built on the page, then prepared by the CLI: the CLI finds it complete.
    child<QSpinBox>(&page, "maxImages")->setValue(16);
    QVERIFY(!QFileInfo::exists(cacheFile()));
    QVERIFY(buildOnPage());
    QVERIFY(QFileInfo::exists(cacheFile()));
    const QString reused = prepareWithCli(16);
    QVERIFY2(reused.contains(QStringLiteral("(reused)")), qPrintable(reused));
    QVERIFY2(!reused.contains(QStringLiteral("decoded")), qPrintable(reused));
  }

  // Inspect brings N down to the images the captions file lists, and the cache is named after them.
  void dataPageInspectBringsNDownToTheImagesListed() {
    const t2i::data::DemoDataset photos = smallCaptionsDataset(folder_.filePath(QStringLiteral("inspect-n")), 30);
    DataPage page;
    child<QRadioButton>(&page, "dataCoco")->setChecked(true);
    child<QLineEdit>(&page, "annotations")->setText(QString::fromStdString(photos.source.annotations));
    child<QLineEdit>(&page, "imagesFolder")->setText(QString::fromStdString(photos.source.images_dir));
    auto* n = child<QSpinBox>(&page, "maxImages");
    n->setValue(20000);
    QSignalSpy changed(&page, &DataPage::datasetChanged);
    page.inspect();
    QTRY_VERIFY_WITH_TIMEOUT(page.report().has_value() && !page.hasRunningJob(), kStepTimeoutMs);
    QCOMPARE(n->value(), 30);
    QVERIFY(changed.count() >= 1);
    QVERIFY2(QString::fromStdString(page.dataSpec(16).cache_dir).contains(QStringLiteral("-n30/")),
             qPrintable(QString::fromStdString(page.dataSpec(16).cache_dir)));
  }

  void dataPageEnablesItsButtonsAsPathsAreTyped() {
    DataPage page;
    child<QRadioButton>(&page, "dataCoco")->setChecked(true);
    auto* annotations = child<QLineEdit>(&page, "annotations");
    auto* images = child<QLineEdit>(&page, "imagesFolder");
    annotations->clear();
    images->clear();
    QVERIFY(!child<QPushButton>(&page, "buildCaches")->isEnabled());
    QTest::keyClicks(annotations, QStringLiteral("captions.json"));
    QTest::keyClicks(images, QStringLiteral("images"));
    QVERIFY(child<QPushButton>(&page, "buildCaches")->isEnabled());
    QVERIFY(child<QPushButton>(&page, "inspect")->isEnabled());
  }

  void dataPageAdoptsACacheNamedByVersion010() {
    // Studio 0.1.0's name for a COCO cache: a SHA-1 of the two absolute source paths.
    const QString annotations = folder_.filePath(QStringLiteral("old/captions.json"));
    const QString images = folder_.filePath(QStringLiteral("old/images"));
    const QByteArray identity = (annotations + QLatin1Char('\n') + images).toUtf8();
    const QString old = settings::cacheRoot() + QStringLiteral("/coco-%1-n%2/s32")
                                                    .arg(QString::fromLatin1(QCryptographicHash::hash(identity, QCryptographicHash::Sha1).toHex().left(12)))
                                                    .arg(12);
    QVERIFY(QDir().mkpath(old + QStringLiteral("/prepared")));
    QFile marker(old + QStringLiteral("/prepared/marker"));
    QVERIFY(marker.open(QIODevice::WriteOnly));
    marker.close();

    DataPage page;
    child<QRadioButton>(&page, "dataCoco")->setChecked(true);
    child<QLineEdit>(&page, "annotations")->setText(annotations);
    child<QLineEdit>(&page, "imagesFolder")->setText(images);
    child<QSpinBox>(&page, "maxImages")->setValue(12);
    const QString current = QString::fromStdString(page.dataSpec(32).cache_dir);
    QVERIFY(current != old);
    QVERIFY2(QFileInfo::exists(current + QStringLiteral("/prepared/marker")), qPrintable(current));
    QVERIFY(!QFileInfo::exists(old));
  }

  // "Compare with…" draws a second run's curves over the shown one's, read from its folder off
  // the GUI thread, with both runs named in the legends; clearing removes them.
  void trainPageOverlaysAComparedRunsCurves() {
    const QString shown = writeScriptedRun(QStringLiteral("run-a"), R"({"event":"step","step":1,"train_loss":0.9}
{"event":"step","step":2,"train_loss":0.7}
{"event":"eval","step":2,"val_p2":0.5,"fid":80.0,"improved":true,"steps_without_improvement":0,"early_stop_in":-1,"fid_status":""}
{"event":"step","step":3,"train_loss":0.6}
{"event":"step","step":4,"train_loss":0.5}
{"event":"eval","step":4,"val_p2":0.4,"fid":70.0,"improved":true,"steps_without_improvement":0,"early_stop_in":-1,"fid_status":""}
)");
    const QString other = writeScriptedRun(QStringLiteral("run-b"), R"({"event":"step","step":1,"train_loss":1.2}
{"event":"step","step":2,"train_loss":1.0}
{"event":"eval","step":2,"val_p2":0.8,"fid":95.0,"improved":true,"steps_without_improvement":0,"early_stop_in":-1,"fid_status":""}
{"event":"step","step":3,"train_loss":0.95}
{"event":"step","step":4,"train_loss":0.9}
{"event":"eval","step":4,"val_p2":0.7,"improved":true,"steps_without_improvement":0,"early_stop_in":-1,"fid_status":""}
{"event":"step","step":5,"train_loss":0.85}
{"event":"step","step":6,"train_loss":0.8}
{"event":"eval","step":6,"val_p2":0.65,"fid":85.0,"improved":true,"steps_without_improvement":0,"early_stop_in":-1,"fid_status":""}
)");
    TrainPage page;
    page.resize(1280, 860);
    QSignalSpy opened(&page, &TrainPage::runOpened);
    page.openRun(shown);
    QTRY_COMPARE_WITH_TIMEOUT(opened.count(), 1, kStepTimeoutMs);
    TrainingCurves* curves = page.curves();
    QCOMPARE(curves->valPlot()->seriesCount(), 1);
    QVERIFY(!child<QPushButton>(&page, "clearComparison")->isEnabled());

    QSignalSpy compared(&page, &TrainPage::comparisonShown);
    page.compareWith(other);
    QTRY_COMPARE_WITH_TIMEOUT(compared.count(), 1, kStepTimeoutMs);
    QVERIFY(curves->hasComparison());
    QCOMPARE(curves->valPlot()->seriesCount(), 2);
    QCOMPARE(curves->lossPlot()->seriesCount(), 3);
    QCOMPARE(curves->fidPlot()->seriesCount(), 3);
    // The second run's values, as its metrics.jsonl above has them; the shown run's are untouched.
    QCOMPARE(curves->valPlot()->points(TrainingCurves::kComparedValP2),
             (QVector<QPointF>{{2, 0.8}, {4, 0.7}, {6, 0.65}}));
    QCOMPARE(curves->fidPlot()->points(TrainingCurves::kComparedFid), (QVector<QPointF>{{2, 95.0}, {6, 85.0}}));
    QCOMPARE(curves->valPlot()->points(0), (QVector<QPointF>{{2, 0.5}, {4, 0.4}}));
    // The smoothed loss, by the bias-corrected EMA: its first point is the first loss itself.
    const QVector<QPointF> loss = curves->lossPlot()->points(TrainingCurves::kComparedLoss);
    QCOMPARE(loss.size(), 6);
    QCOMPARE(loss.first(), QPointF(1, 1.2));
    const double w = TrainingCurves::kSmoothing;
    QVERIFY(qFuzzyCompare(loss[1].y(), (w * (1 - w) * 1.2 + (1 - w) * 1.0) / (1 - w * w)));
    QCOMPARE(curves->valPlot()->seriesName(0), QStringLiteral("run-a: val P2"));
    QCOMPARE(curves->valPlot()->seriesName(TrainingCurves::kComparedValP2), QStringLiteral("run-b: val P2"));
    QVERIFY(child<QPushButton>(&page, "clearComparison")->isEnabled());
    curves->drawNow();
    page.show();
    saveShot(&page, QStringLiteral("studio-train-compare.png"));

    child<QPushButton>(&page, "clearComparison")->click();
    QVERIFY(!curves->hasComparison());
    QCOMPARE(curves->valPlot()->seriesCount(), 1);
    QCOMPARE(curves->lossPlot()->seriesCount(), 2);
    QCOMPARE(curves->fidPlot()->seriesCount(), 2);
    QCOMPARE(curves->valPlot()->seriesName(0), QStringLiteral("val P2"));
    QCOMPARE(curves->valPlot()->points(0), (QVector<QPointF>{{2, 0.5}, {4, 0.4}}));
    QVERIFY(!child<QPushButton>(&page, "clearComparison")->isEnabled());
  }

private:
  /// `images` demo scenes of 16 px written as a captions file and an images folder under `root`.
  static t2i::data::DemoDataset smallCaptionsDataset(const QString& root, int images) {
    t2i::data::DemoOptions shapes;
    shapes.images = static_cast<std::size_t>(images);
    shapes.image_size = 16;
    return t2i::data::make_demo_dataset(QString(root + QStringLiteral("/photos")).toStdString(), shapes);
  }

  /// A run folder with an empty checkpoints folder and the given metrics.jsonl.
  QString writeScriptedRun(const QString& name, const char* metricsLines) {
    const QString run = folder_.filePath(name);
    QDir().mkpath(run + QStringLiteral("/checkpoints"));
    QFile metrics(run + QStringLiteral("/metrics.jsonl"));
    if (!metrics.open(QIODevice::WriteOnly) || metrics.write(metricsLines) < 0) qFatal("cannot write %s", qPrintable(metrics.fileName()));
    return run;
  }

  QTemporaryDir folder_;
  std::unique_ptr<MainWindow> window_;
  QString run_;
};

QTEST_MAIN(TestStudioTrain)
#include "test_studio_train.moc"
