// The Train page's loss by noise level (issue 26) on a short demo run trained here: the heatmap
// shows every evaluation (step 0 first) by level, relative to step 0 on request, with the numbers
// under the mouse; the P2 weight curve, the chosen levels and the divergence are drawn; the page
// reads it from an opened run folder without stalling the GUI thread. Screenshot in test-artifacts/.
#include "test_support.h"
#include "tiny_preset.h"

#include "pages/train_page.h"
#include "plots/loss_by_noise_view.h"
#include "plots/metric_plot.h"

#include "t2i/loss_by_noise.h"
#include "t2i/runtime.h"
#include "t2i/train.h"

#include "stall_meter.h"

#include <QCheckBox>
#include <QStandardPaths>
#include <QTemporaryDir>
#include <QtTest/QtTest>

#include <cmath>

using namespace t2i::ui;

class TestLossByNoiseView : public QObject {
  Q_OBJECT
private Q_SLOTS:
  void initTestCase() {
    QStandardPaths::setTestModeEnabled(true);
    t2i::runtime::initialize(1);
    QVERIFY(folder_.isValid());
    t2i::train::TrainOptions options;
    options.preset = t2i::test::write_preset(folder_, t2i::test::tiny_preset_json());
    options.data.demo = true;
    options.data.demo_images = 48;
    options.data.cache_dir = folder_.filePath(QStringLiteral("cache")).toStdString();
    options.run_dir = run_.toStdString();
    options.max_steps = 12;  // evaluations at steps 0, 5, 10 and 12
    options.probe_gallery = false;  // not looked at here
    t2i::train::Observer quiet;
    t2i::train::run(options, quiet);
  }

  void heatmapShowsEveryEvaluationWithTheNumbersUnderTheMouse() {
    LossByNoiseView view;
    view.resize(900, 560);
    view.show();
    QVERIFY(QTest::qWaitForWindowExposed(&view));
    view.setRunFolder(run_);
    QTRY_VERIFY(!view.events().empty());
    const t2i::train::LossGrid& grid = view.grid();
    QVERIFY(grid.steps == (std::vector<std::int64_t>{0, 5, 10, 12}));
    QCOMPARE(grid.log_snr.size(), std::size_t{t2i::train::kValidationNoiseLevels});

    // Hovering a cell names its step, level and value.
    const QPointF cell = view.pixelOf(2, 3);
    QCOMPARE(view.cellAt(cell), std::make_pair(2, 3));
    QTest::mouseMove(view.heatmapWidget(), cell.toPoint());
    const QString expected = QStringLiteral("step 10 · log-SNR %1: %2")
                                 .arg(QString::number(grid.log_snr[3], 'g', 4), QString::number(grid.values[2][3], 'g', 4));
    QTRY_VERIFY2(view.hoverText().startsWith(expected), qPrintable(view.hoverText() + QStringLiteral(" / ") + expected));
    QVERIFY(view.cellText(-1, 0).isEmpty());

    // The chosen levels and the divergence have a point per evaluation they can show.
    QCOMPARE(view.levelsPlot()->seriesCount(), 3);
    QCOMPARE(view.levelsPlot()->points(0).size(), 4);
    // Step 0 has no training to compare with, nor has a level whose bin drew no training sample.
    int comparable = 0;
    for (const auto& e : view.events()) comparable += std::isfinite(t2i::train::divergence(e)[0]) ? 1 : 0;
    QCOMPARE(view.divergencePlot()->points(0).size(), comparable);
    QVERIFY(comparable < 4);
    QTest::qWait(400);  // the line charts redraw at most every 150 ms
    QVERIFY(view.grab().save(t2i::test::artifactsDir() + QStringLiteral("/studio-loss-by-noise.png")));

    // Relative to step 0: the first row is all ones.
    view.setRelative(true);
    for (const double v : view.grid().values.front()) QCOMPARE(v, 1.0);
    QVERIFY(view.findChild<QCheckBox*>(QStringLiteral("lossByNoiseRelative"))->isChecked());
    QVERIFY(view.grab().save(t2i::test::artifactsDir() + QStringLiteral("/studio-loss-by-noise-relative.png")));

    // The training bins: a column per bin, nothing at step 0.
    view.setRelative(false);
    view.setSource(t2i::train::LossGridSource::TrainingP2);
    QCOMPARE(view.grid().log_snr.size(), std::size_t{t2i::train::kTrainingLossBins});
    for (const double v : view.grid().values.front()) QVERIFY(std::isnan(v));
    QVERIFY(view.grab().save(t2i::test::artifactsDir() + QStringLiteral("/studio-loss-by-noise-training.png")));
  }

  void trainPageReadsItFromAnOpenedRun() {
    TrainPage page;
    page.resize(1280, 720);
    page.show();
    QVERIFY(QTest::qWaitForWindowExposed(&page));
    t2i::test::StallMeter stall;
    stall.start();
    page.openRun(run_);
    QTRY_COMPARE(page.lossByNoise()->events().size(), std::size_t{4});
    const qint64 longest = stall.stop();
    qInfo("opened a run's loss by noise; longest GUI stall %lld ms", static_cast<long long>(longest));
    QVERIFY2(longest <= t2i::test::kGuiStallBoundMs, qPrintable(QString::number(longest)));
  }

private:
  QTemporaryDir folder_;
  QString run_ = folder_.filePath(QStringLiteral("run"));
};

QTEST_MAIN(TestLossByNoiseView)
#include "test_loss_by_noise_view.moc"
