// The Train page's probe gallery (issue 26) on a short demo run trained here: scrubbing the
// training and denoising steps, the x̂₀ / x_t toggle and the probe chooser show the core's tile of
// that choice; play steps through the evaluations at a fixed denoising step and stops at the
// last; a re-read index shows new evaluations (a running run) and follows the newest; the Train
// page shows it for an opened run. Screenshots in test-artifacts/.
#include "stall_meter.h"
#include "test_support.h"
#include "tiny_preset.h"

#include "pages/train_page.h"
#include "sampling/image_conversion.h"
#include "training/probe_gallery_view.h"
#include "widgets/labelled_image_grid.h"
#include "widgets/neighbour_panel.h"

#include "t2i/probe_gallery.h"
#include "t2i/runtime.h"
#include "t2i/train.h"

#include "studio_support.h"

#include <QDialog>
#include <QLabel>
#include <QPushButton>
#include <QRadioButton>
#include <QSignalSpy>
#include <QSlider>
#include <QStandardPaths>
#include <QTabWidget>
#include <QTemporaryDir>
#include <QtTest/QtTest>

#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>

using namespace t2i::ui;
namespace train = t2i::train;

class TestProbeGalleryView : public QObject {
  Q_OBJECT

  /// The tile the core reads for a choice: what the view must show.
  QImage expected(int evaluation, int probe, int recorded, train::ProbeImage kind) const {
    const auto gallery = train::read_probe_gallery(run_.toStdString());
    const t2i::Image sheet = train::read_probe_sheet(*gallery, static_cast<std::size_t>(evaluation));
    return toQImage(train::probe_tile(*gallery, sheet, probe, static_cast<std::size_t>(recorded), kind));
  }

  static bool shows(const ProbeGalleryView& view, const QImage& image) {
    return view.shownTile().convertToFormat(QImage::Format_RGB888) == image.convertToFormat(QImage::Format_RGB888);
  }

private Q_SLOTS:
  void initTestCase() {
    QStandardPaths::setTestModeEnabled(true);
    t2i::runtime::initialize(1);
    QVERIFY(folder_.isValid());
    train::TrainOptions options = t2i::test::tiny_demo_run(t2i::test::write_preset(folder_, t2i::test::tiny_preset_json()),
                                                           run_.toStdString(), folder_.filePath(QStringLiteral("cache")).toStdString());
    options.max_steps = 12;  // evaluations at steps 0, 5, 10 and 12
    options.probe_gallery = true;
    train::Observer quiet;
    train::run(options, quiet);
  }

  void scrubbingBothAxesAndTheToggleShowTheCoresTile() {
    ProbeGalleryView view;
    view.resize(900, 600);
    view.show();
    QVERIFY(QTest::qWaitForWindowExposed(&view));
    view.setRunFolder(run_);
    QTRY_VERIFY(view.gallery().has_value());
    const train::ProbeGallery& gallery = *view.gallery();
    QCOMPARE(gallery.evaluations.size(), std::size_t{4});
    const int last = static_cast<int>(gallery.recorded_steps.size()) - 1;
    // First shown: the newest evaluation's final image of probe 0.
    QCOMPARE(view.evaluation(), 3);
    QCOMPARE(view.recorded(), last);
    QTRY_VERIFY(shows(view, expected(3, 0, last, train::ProbeImage::Estimate)));
    t2i::test::saveShot(&view, QStringLiteral("probes-final.png"));

    // Scrub training back to step 0 with the slider, then denoising to its middle.
    auto* training = t2i::test::child<QSlider>(&view, "probeTrainingStep");
    auto* denoising = t2i::test::child<QSlider>(&view, "probeDenoisingStep");
    training->setValue(0);
    QTRY_VERIFY(shows(view, expected(0, 0, last, train::ProbeImage::Estimate)));
    t2i::test::saveShot(&view, QStringLiteral("probes-step0.png"));
    training->setValue(2);
    denoising->setValue(4);
    QTRY_VERIFY(shows(view, expected(2, 0, 4, train::ProbeImage::Estimate)));
    QVERIFY2(view.caption().contains(QStringLiteral("training step 10")), qPrintable(view.caption()));

    // x_t at the same place, then another probe.
    QTest::mouseClick(t2i::test::child<QRadioButton>(&view, "probeNoisy"), Qt::LeftButton);
    QCOMPARE(view.kind(), train::ProbeImage::Noisy);
    QTRY_VERIFY(shows(view, expected(2, 0, 4, train::ProbeImage::Noisy)));
    t2i::test::saveShot(&view, QStringLiteral("probes-xt.png"));
    view.setProbe(gallery.probe_count() - 1);
    QTRY_VERIFY(shows(view, expected(2, gallery.probe_count() - 1, 4, train::ProbeImage::Noisy)));
    QVERIFY(!(expected(2, 0, 4, train::ProbeImage::Noisy) == expected(2, gallery.probe_count() - 1, 4, train::ProbeImage::Noisy)));
  }

  // The memorisation line follows the training step shown, with the core's numbers.
  void memorisationLineFollowsTheTrainingStep() {
    ProbeGalleryView view;
    view.resize(900, 600);
    view.show();
    QVERIFY(QTest::qWaitForWindowExposed(&view));
    view.setRunFolder(run_);
    QTRY_VERIFY(view.memorisation().has_value());
    const auto curve = train::read_memorisation(run_.toStdString());
    QVERIFY(curve.has_value());
    QCOMPARE(curve->points.size(), std::size_t{4});
    for (int evaluation = 0; evaluation < 4; ++evaluation) {
      t2i::test::child<QSlider>(&view, "probeTrainingStep")->setValue(evaluation);
      const auto& point = curve->points[static_cast<std::size_t>(evaluation)];
      const QString line = view.memorisationLine();
      QVERIFY2(line.contains(QStringLiteral("step %1: %2 of %3").arg(point.step).arg(point.flagged).arg(point.probes)), qPrintable(line));
      QVERIFY2(line.contains(QStringLiteral("[%1%]").arg(std::lround(point.share * 100))), qPrintable(line));
    }
    t2i::test::saveShot(&view, QStringLiteral("probes-memorisation.png"));
  }

  void playStepsThroughTrainingAtAFixedDenoisingStep() {
    ProbeGalleryView view;
    view.resize(900, 600);
    view.show();
    view.setRunFolder(run_);
    QTRY_VERIFY(view.gallery().has_value());
    view.setRecorded(5);
    view.setProbe(3);
    // Play from the newest starts at the first, then shows one evaluation after another.
    std::vector<std::pair<int, QImage>> frames;
    connect(&view, &ProbeGalleryView::tileShown, this, [&] { frames.emplace_back(view.evaluation(), view.shownTile()); });
    t2i::test::StallMeter stall;  // sheets are read on a worker while playing
    stall.start();
    QTest::mouseClick(t2i::test::child<QPushButton>(&view, "probePlay"), Qt::LeftButton);
    QVERIFY(view.isPlaying());
    QCOMPARE(view.evaluation(), 0);
    QTRY_VERIFY(!frames.empty() && frames.back().first == 2);
    stall.exclude([&] { t2i::test::saveShot(&view, QStringLiteral("probes-playing.png")); });
    QTRY_VERIFY(!frames.empty() && frames.back().first == 3);
    const qint64 stallMs = stall.stop();
    qInfo("played four evaluations; longest GUI stall %lld ms", static_cast<long long>(stallMs));
    QVERIFY2(stallMs <= t2i::test::kGuiStallBoundMs, qPrintable(QString::number(stallMs)));
    QVERIFY(!view.isPlaying());  // stopped at the last
    QVERIFY(!t2i::test::child<QPushButton>(&view, "probePlay")->isChecked());
    QCOMPARE(view.recorded(), 5);
    std::vector<int> order;
    for (const auto& [evaluation, tile] : frames) {
      if (order.empty() || order.back() != evaluation) order.push_back(evaluation);
      QVERIFY(tile.convertToFormat(QImage::Format_RGB888) == expected(evaluation, 3, 5, train::ProbeImage::Estimate));
    }
    QCOMPARE(order, (std::vector<int>{0, 1, 2, 3}));
    QCOMPARE(view.evaluation(), 3);
  }

  // Issue 26, deliverable 3 in the gallery: a probe's final image at a training step, searched
  // among the run's training images in a window of its own.
  void aProbesNearestTrainingImagesOpenFromTheGallery() {
    ProbeGalleryView view;
    view.resize(900, 600);
    view.show();
    auto* button = t2i::test::child<QPushButton>(&view, "probeNeighbours");
    QVERIFY(!button->isEnabled());
    view.setRunFolder(run_);
    QTRY_VERIFY(view.gallery().has_value());
    const int last = static_cast<int>(view.gallery()->evaluations.size()) - 1;
    const int finalStep = static_cast<int>(view.gallery()->recorded_steps.size()) - 1;
    view.setEvaluation(last);
    view.setRecorded(0);  // the search is of the final image, whatever step is shown
    view.setProbe(2);
    QTRY_VERIFY(button->isEnabled() && !view.finalImage().isNull());
    const QImage query = view.finalImage().convertToFormat(QImage::Format_RGB888);
    QVERIFY(query == expected(last, 2, finalStep, train::ProbeImage::Estimate));

    QTest::mouseClick(button, Qt::LeftButton);
    auto* window = view.findChild<QDialog*>(QStringLiteral("probeNeighboursWindow"));
    QVERIFY(window != nullptr && window->isVisible());
    auto* panel = window->findChild<t2i::ui::NeighbourPanel*>();
    QVERIFY(panel != nullptr);
    QSignalSpy searched(panel, &t2i::ui::NeighbourPanel::searched);
    QVERIFY2(panel->find(), qPrintable(panel->statusText()));
    QVERIFY(searched.wait(120000));
    QVERIFY2(searched.first().first().toBool(), qPrintable(panel->statusText()));
    QVERIFY(panel->grid()->columnCount() >= 2);
    QVERIFY(panel->grid()->image(0, 0).convertToFormat(QImage::Format_RGB888) == query);
    QVERIFY(!panel->verdictText().isEmpty());
    t2i::test::saveShot(window, QStringLiteral("probes-neighbours.png"));
  }

  void aRunningRunsNewEvaluationsAppear() {
    // The gallery as it was after its second evaluation: an index listing steps 0 and 5.
    QTemporaryDir copy;
    namespace fs = std::filesystem;
    fs::copy(run_.toStdString(), copy.path().toStdString(), fs::copy_options::recursive | fs::copy_options::overwrite_existing);
    const std::string index_path = copy.filePath(QStringLiteral("probes/index.json")).toStdString();
    nlohmann::json index = nlohmann::json::parse(std::ifstream(index_path));
    const nlohmann::json full = index;
    index["evaluations"].erase(2);
    index["evaluations"].erase(2);
    std::ofstream(index_path) << index.dump();

    ProbeGalleryView view;
    view.show();
    view.setRunFolder(copy.path());
    QTRY_VERIFY(view.gallery().has_value());
    QCOMPARE(view.gallery()->evaluations.size(), std::size_t{2});
    QCOMPARE(view.evaluation(), 1);
    // Two more evaluations are written; the page reads the index again after each.
    std::ofstream(index_path) << full.dump();
    view.reload();
    QTRY_COMPARE(view.gallery()->evaluations.size(), std::size_t{4});
    QCOMPARE(view.evaluation(), 3);  // it showed the newest, so it follows to the new newest
    QCOMPARE(t2i::test::child<QSlider>(&view, "probeTrainingStep")->maximum(), 3);
  }

  void theTrainPageShowsAnOpenedRunsProbes() {
    TrainPage page;
    page.resize(1280, 720);
    page.show();
    QVERIFY(QTest::qWaitForWindowExposed(&page));
    page.openRun(run_);
    QTRY_VERIFY(page.probeGallery()->gallery().has_value());
    auto* tabs = t2i::test::child<QTabWidget>(&page, "runTabs");
    tabs->setCurrentWidget(page.probeGallery());
    QTRY_VERIFY(!page.probeGallery()->shownTile().isNull());
    t2i::test::saveShot(&page, QStringLiteral("probes-train-page.png"));
  }

  void aRunWithoutAGallerySaysSo() {
    ProbeGalleryView view;
    view.show();
    int shown = 0;
    connect(&view, &ProbeGalleryView::galleryShown, this, [&shown] { ++shown; });
    view.setRunFolder(QStringLiteral(T2I_SOURCE_DIR "/tests/fixtures/0.1.0/run"));
    QTRY_COMPARE(shown, 1);
    QVERIFY(!view.gallery().has_value());
    QVERIFY(t2i::test::child<QLabel>(&view, "probeNote")->text().contains(QStringLiteral("No probe gallery")));
    QVERIFY(!t2i::test::child<QPushButton>(&view, "probePlay")->isEnabled());
  }

private:
  QTemporaryDir folder_;
  QString run_ = folder_.filePath(QStringLiteral("run"));
};

QTEST_MAIN(TestProbeGalleryView)
#include "test_probe_gallery_view.moc"
