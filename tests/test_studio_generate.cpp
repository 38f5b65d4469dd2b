// The studio's sampling side as a user drives it: Generate (prompt, guidance slider, every
// denoising step, cancel, PNG round trip), Compare (5 against 8, determinism) and Schedules
// (curves against the core's values, x_t under both schedules). References are independent of
// the pages: the sampling facade called directly, the diffusion facade's curves and the P2 closed
// form.
#include "layout_check.h"
#include "stall_meter.h"
#include "test_support.h"
#include "tiny_cascade.h"

#include "main_window.h"
#include "pages/compare_page.h"
#include "pages/generate_page.h"
#include "pages/schedules_page.h"
#include "sampling/checkpoints.h"
#include "sampling/comparison.h"
#include "sampling/generation_settings.h"
#include "sampling/image_conversion.h"
#include "sampling/inside_renderer.h"
#include "settings.h"
#include "widgets/cascade_controls.h"
#include "widgets/checkpoint_picker.h"
#include "widgets/curve_plot.h"
#include "widgets/filmstrip.h"
#include "widgets/generation_history.h"
#include "widgets/guidance_slider.h"
#include "widgets/inside_panels.h"
#include "widgets/labelled_image_grid.h"
#include "widgets/neighbour_panel.h"
#include "widgets/pixel_image_view.h"

#include "t2i/data.h"
#include "t2i/diffusion.h"
#include "t2i/neighbours.h"
#include "t2i/runtime.h"
#include "t2i/sample.h"
#include "t2i/train.h"

#include <QCheckBox>
#include <QClipboard>
#include <QAbstractButton>
#include <QComboBox>
#include <QDoubleSpinBox>
#include <QDir>
#include <QElapsedTimer>
#include <QLabel>
#include <QLineEdit>
#include <QMimeData>
#include <QProcess>
#include <QScopeGuard>
#include <QTabWidget>
#include <QProgressBar>
#include <QPushButton>
#include <QSet>
#include <QSettings>
#include <QSignalSpy>
#include <QSlider>
#include <QSpinBox>
#include <QStackedWidget>
#include <QTemporaryDir>
#include <QtTest/QtTest>

#include <algorithm>
#include <clocale>
#include <cmath>
#include <cstring>
#include <exception>
#include <functional>
#include <memory>
#include <variant>

using t2i::diffusion::ScheduleKind;
using t2i::ui::ComparePage;
using t2i::ui::GeneratePage;
using t2i::ui::InsideView;
using t2i::ui::SchedulesPage;

namespace {

const QString kPrompt = QStringLiteral("a red circle above a blue square");
constexpr int kGenerateTimeoutMs = 180000;

template <typename T>
T* child(QObject* parent, const char* name) {
  T* found = parent->findChild<T*>(QString::fromLatin1(name));
  if (found == nullptr) qFatal("no child %s", name);
  return found;
}

void setLineEdit(QLineEdit* edit, const QString& text) {
  edit->selectAll();
  QTest::keyClick(edit, Qt::Key_Backspace);
  QTest::keyClicks(edit, text);
}

void selectData(QComboBox* combo, const QString& value) {
  const int index = combo->findData(value);
  QVERIFY2(index >= 0, qPrintable(value));
  combo->setCurrentIndex(index);
}

bool samePixels(const QImage& a, const QImage& b) {
  return !a.isNull() && a.convertToFormat(QImage::Format_RGB888) == b.convertToFormat(QImage::Format_RGB888);
}

/// Mean absolute difference per channel value, 0–255.
double meanDifference(const QImage& a, const QImage& b) {
  const QImage x = a.convertToFormat(QImage::Format_RGB888);
  const QImage y = b.convertToFormat(QImage::Format_RGB888);
  double sum = 0;
  for (int row = 0; row < x.height(); ++row)
    for (int i = 0; i < x.width() * 3; ++i) sum += std::abs(x.constScanLine(row)[i] - y.constScanLine(row)[i]);
  return sum / (x.width() * x.height() * 3);
}

/// Where `image`, magnified `scale` times by repeating pixels, appears in `canvas` (top-left
/// corners, row by row): finds grid tiles in an export or a screenshot without knowing its layout.
QList<QPoint> placesOf(const QImage& canvas, const QImage& image, int scale) {
  const QImage c = canvas.convertToFormat(QImage::Format_RGB888);
  const QImage t = image.convertToFormat(QImage::Format_RGB888);
  const int w = t.width() * scale;
  const int h = t.height() * scale;
  QList<QPoint> found;
  for (int y = 0; y + h <= c.height(); ++y)
    for (int x = 0; x + w <= c.width(); ++x) {
      bool match = true;
      for (int ty = 0; ty < h && match; ++ty) {
        const uchar* row = c.constScanLine(y + ty) + 3 * x;
        const uchar* source = t.constScanLine(ty / scale);
        for (int tx = 0; tx < w && match; ++tx) match = std::memcmp(row + 3 * tx, source + 3 * (tx / scale), 3) == 0;
      }
      if (match) found << QPoint(x, y);
    }
  return found;
}

/// The magnification at which every one of `images` appears in `canvas`; 0 when none does.
int scaleShowing(const QImage& canvas, const QList<QImage>& images) {
  for (int scale = 1; scale <= 8; ++scale) {
    bool all = true;
    for (const QImage& image : images) all = all && !placesOf(canvas, image, scale).isEmpty();
    if (all) return scale;
  }
  return 0;
}

/// Distinct colours in an image: a blank or single-colour capture has one or two.
int colourCount(const QImage& image) {
  const QImage rgb = image.convertToFormat(QImage::Format_RGB32);
  QSet<QRgb> colours;
  for (int y = 0; y < rgb.height(); ++y)
    for (int x = 0; x < rgb.width(); ++x) colours.insert(rgb.pixel(x, y));
  return static_cast<int>(colours.size());
}

/// A PNG's text chunks as any PNG reader sees them (Qt's reader, not the core's).
QMap<QString, QString> pngText(const QString& path) {
  const QImage image(path, "PNG");
  QMap<QString, QString> text;
  for (const QString& key : image.textKeys()) text.insert(key, image.text(key));
  return text;
}

/// `actual` holds every key of `expected` with its value (a checkpoint path may be spelled
/// differently for the same file).
void expectKeysOf(const QMap<QString, QString>& actual, const QMap<QString, QString>& expected) {
  for (auto it = expected.begin(); it != expected.end(); ++it) {
    QVERIFY2(actual.contains(it.key()), qPrintable(it.key()));
    if (it.key() == QStringLiteral("checkpoint"))
      QCOMPARE(QFileInfo(actual.value(it.key())).canonicalFilePath(), QFileInfo(it.value()).canonicalFilePath());
    else
      QCOMPARE(actual.value(it.key()), it.value());
  }
}

/// The grid's images in an exported PNG or a screenshot: each row's tiles side by side at one
/// height, rows top to bottom, columns at the same positions in every row. Identical tiles (a
/// repeated scale) are told apart by position alone. Callers check QTest::currentTestFailed().
void expectGridTiles(const QImage& exported, const t2i::ui::LabelledImageGrid& grid, int scale) {
  QList<int> columnsX;
  int previousY = -1;
  for (int row = 0; row < grid.rowCount(); ++row) {
    QList<QPoint> places;
    for (int column = 0; column < grid.columnCount(); ++column) {
      const QList<QPoint> found = placesOf(exported, grid.image(row, column), scale);
      QVERIFY2(!found.isEmpty(), qPrintable(QStringLiteral("tile %1,%2 is not in the export").arg(row).arg(column)));
      for (const QPoint& p : found)
        if (!places.contains(p)) places << p;
    }
    QCOMPARE(static_cast<int>(places.size()), grid.columnCount());  // no tile twice, none elsewhere
    std::sort(places.begin(), places.end(), [](const QPoint& a, const QPoint& b) { return a.x() < b.x(); });
    QList<int> xs;
    for (const QPoint& p : places) {
      QCOMPARE(p.y(), places.first().y());
      xs << p.x();
    }
    QVERIFY(places.first().y() > previousY);
    previousY = places.first().y();
    if (row == 0) columnsX = xs;
    QCOMPARE(xs, columnsX);
    for (int column = 0; column < grid.columnCount(); ++column) {
      const QPoint at(xs[column], previousY);
      QVERIFY(placesOf(exported, grid.image(row, column), scale).contains(at));
    }
  }
}

} // namespace

class TestStudioGenerate : public QObject {
  Q_OBJECT
private:
  QTemporaryDir runs_;
  QString checkpoint_;
  bool shipped_ = false;
  std::unique_ptr<t2i::sample::Generator> reference_;

  void requireCheckpoint() {
    if (checkpoint_.isEmpty()) QSKIP("no checkpoint: neither the shipped demo model nor a tiny trained one is available");
  }

  /// Sets the Generate page's controls as a user would.
  void fill(GeneratePage& page, const QString& prompt, const QString& seed, double guidance, int steps,
            const QString& sampler, const QString& thresholding = QStringLiteral("dynamic")) {
    auto* promptBox = child<QComboBox>(&page, "promptBox");
    setLineEdit(promptBox->lineEdit(), prompt);
    child<QCheckBox>(&page, "randomSeed")->setChecked(false);
    setLineEdit(child<QLineEdit>(&page, "seedEdit"), seed);
    // The slider by keyboard: Home is w = 1, each Right adds 0.5.
    QSlider* slider = page.guidanceSlider()->slider();
    QTest::keyClick(slider, Qt::Key_Home);
    for (double w = 1.0; w < guidance; w += 0.5) QTest::keyClick(slider, Qt::Key_Right);
    child<QSpinBox>(&page, "stepsSpin")->setValue(steps);
    selectData(child<QComboBox>(&page, "samplerCombo"), sampler);
    selectData(child<QComboBox>(&page, "thresholdingCombo"), thresholding);
    child<QSpinBox>(&page, "imagesSpin")->setValue(1);
  }

  /// A Generate page showing the test checkpoint, model loaded.
  void openGeneratePage(GeneratePage& page) {
    page.resize(1200, 800);
    page.checkpointPicker()->setPath(checkpoint_);
    page.show();
    QVERIFY(QTest::qWaitForWindowExposed(&page));
    QTRY_VERIFY_WITH_TIMEOUT(!child<QLabel>(&page, "modelInfo")->text().isEmpty(), 60000);
  }

  /// A Compare page on the test checkpoint in `mode`: the test prompt, `seed`, 10 steps of the
  /// default sampler with dynamic thresholding.
  void openComparePage(ComparePage& page, t2i::ui::CompareMode mode, const QString& seed) {
    page.resize(1200, 800);
    page.checkpointA()->setPath(checkpoint_);
    page.show();
    QVERIFY(QTest::qWaitForWindowExposed(&page));
    selectData(child<QComboBox>(&page, "compareSampler"),
               QString::fromStdString(t2i::diffusion::to_string(t2i::diffusion::kDefaultSampler)));
    selectData(child<QComboBox>(&page, "compareThresholding"), QStringLiteral("dynamic"));
    auto* modes = child<QComboBox>(&page, "compareMode");
    modes->setCurrentIndex(modes->findData(static_cast<int>(mode)));
    setLineEdit(child<QLineEdit>(&page, "comparePrompt"), kPrompt);
    setLineEdit(child<QLineEdit>(&page, "seedsEdit"), seed);
    child<QSpinBox>(&page, "compareSteps")->setValue(10);
  }

  /// The Compare form as the other tests expect it (the page saves it when it closes).
  static void restoreCompareDefaults(ComparePage& page) {
    auto* modes = child<QComboBox>(&page, "compareMode");
    modes->setCurrentIndex(modes->findData(static_cast<int>(t2i::ui::CompareMode::ScalesBySeeds)));
    setLineEdit(child<QLineEdit>(&page, "scalesEdit"), QStringLiteral("5, 8"));
    setLineEdit(child<QLineEdit>(&page, "seedsEdit"), QStringLiteral("0"));
  }

  bool generateAndWait(GeneratePage& page) {
    QSignalSpy finished(&page, &GeneratePage::generationFinished);
    QTest::mouseClick(child<QPushButton>(&page, "generateButton"), Qt::LeftButton);
    if (!finished.wait(kGenerateTimeoutMs) && finished.isEmpty()) return false;
    return finished.first().first().toBool();
  }

  t2i::sample::Request request(const QString& prompt, std::uint64_t seed, double guidance, int steps,
                               const QString& sampler, const QString& thresholding = QStringLiteral("dynamic")) {
    t2i::ui::GenerationSettings s;
    s.prompt = prompt;
    s.seed = seed;
    s.guidance = guidance;
    s.steps = steps;
    s.sampler = sampler;
    s.thresholding = thresholding;
    return s.request();
  }

  /// `window` at `size` showing its Generate page with the test checkpoint loaded; null when
  /// the window or the model does not come up.
  GeneratePage* generatePageIn(t2i::ui::MainWindow& window, QSize size) {
    window.resize(size);
    window.show();
    if (!QTest::qWaitForWindowExposed(&window)) return nullptr;
    window.showPage(t2i::ui::Page::Generate);
    auto* page = qobject_cast<GeneratePage*>(window.pageWidget(t2i::ui::Page::Generate));
    if (page == nullptr) return nullptr;
    page->checkpointPicker()->setPath(checkpoint_);
    const bool loaded = QTest::qWaitFor([page] { return !child<QLabel>(page, "modelInfo")->text().isEmpty(); }, 60000);
    return loaded ? page : nullptr;
  }

  /// The test checkpoint then an untrained 2× super-resolution stage (guidance 2, 4 steps, aug
  /// 0.25), written as `dir`/cascade.json.
  t2i::sample::Cascade tinyCascade(const QTemporaryDir& dir) {
    const int base_size = reference_->info().image_size;
    const std::string sr = t2i::test::write_untrained_checkpoint(
        t2i::test::tiny_sr_preset_json(base_size, 2 * base_size), dir.filePath(QStringLiteral("sr.safetensors")).toStdString(), 2);
    t2i::sample::Cascade cascade;
    cascade.stages.push_back({checkpoint_.toStdString(), {}, {}, {}, {}});
    cascade.stages.push_back({sr, 2.0, 4, {}, 0.25});
    t2i::sample::write_cascade(cascade, dir.filePath(QStringLiteral("cascade.json")).toStdString());
    return cascade;
  }

  /// Waits until the page's Inside panels show a view that satisfies `wanted`.
  bool waitForInside(GeneratePage& page, const std::function<bool(const InsideView&)>& wanted) {
    QElapsedTimer clock;
    clock.start();
    while (clock.elapsed() < 60000) {
      if (!page.insidePanels()->renderer()->isBusy() && wanted(page.insidePanels()->shownView())) return true;
      QTest::qWait(20);
    }
    return false;
  }

  /// The screenshot directory of this helper's Inside panels.
  static QString shotPath(const QString& name) {
    const QString dir = t2i::test::artifactsDir() + QStringLiteral("/inside");
    QDir().mkpath(dir);
    return dir + QLatin1Char('/') + name;
  }

  QImage referenceImage(const t2i::sample::Request& request) {
    const auto images = reference_->generate(request);
    return images.empty() ? QImage() : t2i::ui::toQImage(images.front());
  }

private Q_SLOTS:
  void initTestCase() {
    t2i::test::useOwnSettings();
    t2i::runtime::initialize();
    QSettings().clear();
    QVERIFY(runs_.isValid());
    t2i::ui::settings::runsFolder.setValue(runs_.path());

    checkpoint_ = t2i::ui::demoCheckpointPath();
    shipped_ = !checkpoint_.isEmpty();
    if (!shipped_) {
      // No shipped model: train a tiny one through the trainer facade, as the Train page would.
      t2i::train::TrainOptions options;
      options.preset = "demo";
      options.data.demo = true;
      options.data.demo_images = 64;
      options.run_dir = QString(runs_.path() + QStringLiteral("/tiny")).toStdString();
      options.max_steps = 3;
      options.seed = 1;
      options.probe_gallery = false;  // only the checkpoint is used
      t2i::train::Observer observer;
      try {
        const t2i::train::Summary summary = t2i::train::run(options, observer);
        checkpoint_ = QString::fromStdString(summary.best_checkpoint.empty() ? summary.last_checkpoint : summary.best_checkpoint);
      } catch (const std::exception& e) {
        qWarning("cannot train a tiny checkpoint: %s", e.what());
      }
    }
    if (!checkpoint_.isEmpty()) reference_ = std::make_unique<t2i::sample::Generator>(checkpoint_.toStdString());
    qInfo("checkpoint: %s (%s)", qPrintable(checkpoint_), shipped_ ? "shipped demo model" : "tiny, trained here");
  }

  // Every test starts with the toggles the page remembers at their defaults, whatever the one
  // before left.
  void init() {
    t2i::ui::settings::generateLookInside.reset();
    t2i::ui::settings::generateFreezeNoise.reset();
    t2i::ui::settings::generateCascade.reset();
  }

  void filmstripSpacesStepsEvenly() {
    using t2i::ui::Filmstrip;
    const QList<int> fifty = Filmstrip::evenlySpacedSteps(50);
    QCOMPARE(fifty.size(), Filmstrip::kMaxFrames);
    QCOMPARE(fifty.first(), 1);
    QCOMPARE(fifty.last(), 50);
    for (int i = 1; i < fifty.size(); ++i) {
      const int gap = fifty[i] - fifty[i - 1];
      QVERIFY(gap == 5 || gap == 6);
    }
    QCOMPARE(Filmstrip::evenlySpacedSteps(4), (QList<int>{1, 2, 3, 4}));
    QCOMPARE(Filmstrip::evenlySpacedSteps(1000, 3), (QList<int>{1, 501, 1000}));
    // A cascade's stages share the columns by their steps; each stage's first and last step (its
    // image) has one.
    QCOMPARE(Filmstrip::stagedPositions({50}), fifty);
    QCOMPARE(Filmstrip::stagedPositions({6, 5}), (QList<int>{1, 2, 4, 5, 6, 7, 8, 9, 10, 11}));
    const QList<int> staged = Filmstrip::stagedPositions({50, 25});
    QCOMPARE(staged, (QList<int>{1, 9, 17, 26, 34, 42, 50, 51, 63, 75}));
    QCOMPARE(Filmstrip::stagedPositions({2, 3}), (QList<int>{1, 2, 3, 4, 5}));
    QCOMPARE(Filmstrip::stagedPositions({1000, 1}).size(), Filmstrip::kMaxFrames);
    QCOMPARE(Filmstrip::stagedPositions({1000, 1}).last(), 1001);
  }

  void pixelsScaleByWholeFactors() {
    QCOMPARE(t2i::ui::pixelFitRect(QSize(64, 64), QRect(0, 0, 300, 200)), QRect(54, 4, 192, 192));
    QCOMPARE(t2i::ui::pixelFitRect(QSize(32, 32), QRect(0, 0, 300, 300)), QRect(6, 6, 288, 288));
    QCOMPARE(t2i::ui::pixelFitRect(QSize(64, 64), QRect(0, 0, 40, 40)).size(), QSize(40, 40));
  }

  void latestRunIsPreselected() {
    requireCheckpoint();
    // With a trained run in the runs folder it comes first; with none, the shipped demo model.
    GeneratePage page;
    QCOMPARE(QFileInfo(page.checkpointPicker()->path()).canonicalFilePath(), QFileInfo(checkpoint_).canonicalFilePath());
  }

  void generateShowsEveryStepAndTheSeed() {
    requireCheckpoint();
    GeneratePage page;
    openGeneratePage(page);
    // A newly loaded model starts at its preset's guidance scale.
    QCOMPARE(page.guidanceSlider()->value(), reference_->info().default_guidance);

    fill(page, kPrompt, QStringLiteral("1234"), 6.0, 50, QStringLiteral("ddim"));
    QCOMPARE(page.guidanceSlider()->value(), 6.0);
    t2i::test::StallMeter stall;
    stall.start();
    QElapsedTimer clock;
    clock.start();
    QVERIFY(generateAndWait(page));
    const double seconds = static_cast<double>(clock.nsecsElapsed()) / 1e9;
    const qint64 stallMs = stall.stop();
    qInfo("Generate → final %dx%d image, 50 DDIM steps, w = 6: %.2f s; longest GUI stall %lld ms",
          page.result(0).width(), page.result(0).height(), seconds, static_cast<long long>(stallMs));
    QVERIFY2(stallMs <= t2i::test::kGuiStallBoundMs, qPrintable(QString::number(stallMs)));

    // Every step was seen: the filmstrip has its 10 evenly spaced columns, all filled.
    QCOMPARE(page.filmstrip()->frameCount(), 10);
    QCOMPARE(page.filmstrip()->filledCount(), 10);
    QCOMPARE(page.filmstrip()->steps().last(), 50);
    QCOMPARE(child<QProgressBar>(&page, "progress")->value(), 50);
    // The seed used is shown.
    QCOMPARE(child<QLineEdit>(&page, "seedEdit")->text(), QStringLiteral("1234"));
    QCOMPARE(child<t2i::ui::PixelImageView>(&page, "result0")->caption(), QStringLiteral("seed 1234"));

    // The final image is the sampling facade's image for the same request.
    QCOMPARE(page.resultCount(), 1);
    const QImage final = page.result(0);
    QCOMPARE(final.width(), reference_->info().image_size);
    QVERIFY(samePixels(final, referenceImage(request(kPrompt, 1234, 6.0, 50, QStringLiteral("ddim")))));
    if (shipped_) {
      // The shipped model draws the caption's colours in 93% of held-out samples but every shape
      // and relation in far fewer (README, "The demo model"): the colours are what one image must show.
      const t2i::Image rgb = t2i::ui::fromQImage(final);
      const t2i::data::DemoCheck check = t2i::data::check_demo_image(rgb.rgb.data(), rgb.width, rgb.height, kPrompt.toStdString());
      QVERIFY2(check.parsed && check.colour_ok, check.detail.c_str());
    }

    // The scrubber replays any step: the last shows the final image, the first a filmstrip frame.
    QSlider* scrubber = page.scrubber();
    QVERIFY(scrubber->isEnabled());
    QCOMPARE(scrubber->maximum(), 50);
    QCOMPARE(scrubber->value(), 50);
    QVERIFY(samePixels(page.predictedView()->image(), final));
    scrubber->setValue(1);
    QVERIFY(samePixels(page.noisyView()->image(), page.filmstrip()->frame(0, 0)));
    QVERIFY(samePixels(page.predictedView()->image(), page.filmstrip()->frame(0, 1)));
    QVERIFY(page.noisyView()->caption().contains(QStringLiteral("step 1 of 50")));
    QVERIFY(!samePixels(page.noisyView()->image(), final));
    // Clicking a filmstrip column shows that step.
    const int column = 5;
    Q_EMIT page.filmstrip()->stepClicked(page.filmstrip()->steps().at(column));
    QCOMPARE(scrubber->value(), page.filmstrip()->steps().at(column));
    QVERIFY(samePixels(page.noisyView()->image(), page.filmstrip()->frame(column, 0)));

    // The prompt went into the history; the image can be copied.
    QCOMPARE(child<QComboBox>(&page, "promptBox")->itemText(0), kPrompt);
    page.copyToClipboard();
    QVERIFY(samePixels(QGuiApplication::clipboard()->image(), final));
  }

  void insideShowsAttentionAndGuidance() {
    requireCheckpoint();
    using t2i::sample::AttentionNormalisation;
    GeneratePage page;
    openGeneratePage(page);
    QVector<bool> onGuiThread;
    connect(page.insidePanels()->renderer(), &t2i::ui::InsideRenderer::rendered, this,
            [&](const InsideView& view) { onGuiThread << view.renderedOnGuiThread; });
    constexpr int kSteps = 10;
    const std::uint64_t seed = 3;
    fill(page, kPrompt, QString::number(seed), 5.0, kSteps, QStringLiteral("ddim"));

    // Off by default: nothing is recorded, the tabs say how to turn it on.
    auto* toggle = child<QCheckBox>(&page, "insideToggle");
    QVERIFY(!toggle->isChecked());
    QVERIFY(generateAndWait(page));
    QVERIFY(page.findChild<QAbstractButton*>(QStringLiteral("chip0")) == nullptr);
    QVERIFY(page.insidePanels()->shownView().overlays.isEmpty());

    toggle->click();
    child<QTabWidget>(&page, "stepsAndHistory")->setCurrentWidget(page.insidePanels()->attentionTab());
    QVERIFY(generateAndWait(page));
    const QImage final = page.result(0);
    // The same generation through the facade, recording its own maps and anatomy: the reference.
    t2i::sample::AttentionMaps maps;
    t2i::sample::GuidanceAnatomy anatomy;
    const auto images = reference_->generate(request(kPrompt, seed, 5.0, kSteps, QStringLiteral("ddim")), {}, {},
                                             t2i::sample::Probes{&maps, &anatomy});
    QVERIFY(samePixels(final, t2i::ui::toQImage(images.front())));
    const std::vector<t2i::sample::AttentionWord> words = maps.words(0);
    // The GUI-thread gap is measured while the page renders; the test's own reference maps are
    // computed on this thread too and are not the page's stall.
    t2i::test::StallMeter stall;
    const auto expectedOverlay = [&](t2i::sample::AttentionSelection selection, int word, double opacity) {
      QImage expected;
      stall.exclude([&] {
        const t2i::sample::Heatmap map = maps.map(selection, words[static_cast<std::size_t>(word)].pieces, AttentionNormalisation::Global);
        expected = t2i::ui::toQImage(t2i::sample::heat_overlay(t2i::ui::fromQImage(final), map, opacity, map.max));
      });
      return expected;
    };

    // The prompt's words are chips; </s> is not one.
    int red = -1;
    for (int i = 0; i < static_cast<int>(words.size()); ++i) {
      auto* chip = child<QAbstractButton>(&page, qPrintable(QStringLiteral("chip%1").arg(i)));
      QCOMPARE(chip->text(), QString::fromStdString(words[static_cast<std::size_t>(i)].text));
      if (chip->text() == QStringLiteral("red")) red = i;
    }
    QVERIFY(red >= 0);
    QVERIFY(page.findChild<QAbstractButton*>(QStringLiteral("chip%1").arg(words.size())) == nullptr);

    stall.start();
    auto* overlay = child<t2i::ui::PixelImageView>(&page, "attentionOverlay");
    QTest::mouseClick(child<QAbstractButton>(&page, qPrintable(QStringLiteral("chip%1").arg(red))), Qt::LeftButton);
    QVERIFY(waitForInside(page, [&](const InsideView& v) { return v.query.word == red && !v.overlays.isEmpty(); }));
    t2i::sample::AttentionSelection atLast;
    atLast.step = kSteps;
    QVERIFY(!samePixels(overlay->image(), final));
    QVERIFY(samePixels(overlay->image(), expectedOverlay(atLast, red, 0.6)));
    // The legend's top is the map's largest value.
    const float top = maps.map(atLast, words[static_cast<std::size_t>(red)].pieces).max;
    QCOMPARE(page.insidePanels()->shownView().legendMax, top);
    QVERIFY(child<QLabel>(&page, "attentionLegend")->text().contains(QString::number(top, 'g', 3)));
    // </s>, the null key and padding are numbers, and every share is counted once.
    const t2i::sample::AttentionShares shares = page.insidePanels()->shownView().shares;
    QVERIFY(std::abs(shares.words + shares.end_token + shares.null_key + shares.padding - 1.0) < 1e-4);
    QVERIFY(child<QLabel>(&page, "attentionShares")->text().contains(QStringLiteral("</s>")));

    // Opacity: the whole map.
    auto* opacity = child<QSlider>(&page, "attentionOpacity");
    QTest::keyClick(opacity, Qt::Key_End);
    QVERIFY(waitForInside(page, [&](const InsideView& v) { return v.query.opacity == 1.0; }));
    QVERIFY(samePixels(overlay->image(), expectedOverlay(atLast, red, 1.0)));

    // The scrubber moves the map and the anatomy row to its step.
    auto* conditional = child<t2i::ui::PixelImageView>(&page, "anatomyConditional");
    const QImage conditionalAtLast = conditional->image();
    QVERIFY(samePixels(conditionalAtLast, t2i::ui::toQImage(anatomy.row(0, kSteps).conditional)));
    page.scrubber()->setValue(3);
    QVERIFY(waitForInside(page, [&](const InsideView& v) { return v.query.selection.step == 3; }));
    t2i::sample::AttentionSelection atThree;
    atThree.step = 3;
    QVERIFY(samePixels(overlay->image(), expectedOverlay(atThree, red, 1.0)));
    QVERIFY(!samePixels(overlay->image(), expectedOverlay(atLast, red, 1.0)));
    const t2i::sample::GuidanceRow rowThree = anatomy.row(0, 3);
    QVERIFY(samePixels(conditional->image(), t2i::ui::toQImage(rowThree.conditional)));
    QVERIFY(samePixels(child<t2i::ui::PixelImageView>(&page, "anatomyUnconditional")->image(), t2i::ui::toQImage(rowThree.unconditional)));
    QVERIFY(samePixels(child<t2i::ui::PixelImageView>(&page, "anatomyGuided")->image(), t2i::ui::toQImage(rowThree.guided)));
    QVERIFY(samePixels(child<t2i::ui::PixelImageView>(&page, "anatomyDelta")->image(), t2i::ui::toQImage(rowThree.delta)));
    QVERIFY(!samePixels(conditional->image(), conditionalAtLast));

    // The unconditional half.
    auto* half = child<QComboBox>(&page, "attentionHalf");
    QVERIFY(half->isEnabled());
    half->setCurrentIndex(1);
    QVERIFY(waitForInside(page, [&](const InsideView& v) { return !v.query.selection.conditional; }));
    t2i::sample::AttentionSelection unconditional = atThree;
    unconditional.conditional = false;
    QVERIFY(samePixels(overlay->image(), expectedOverlay(unconditional, red, 1.0)));
    half->setCurrentIndex(0);

    // A resolution filter.
    auto* resolution = child<QComboBox>(&page, "attentionResolution");
    QCOMPARE(resolution->count(), 1 + static_cast<int>(maps.resolutions().size()));
    resolution->setCurrentIndex(resolution->count() - 1);
    QVERIFY(waitForInside(page, [&](const InsideView& v) { return v.query.selection.resolution && v.query.selection.conditional; }));
    t2i::sample::AttentionSelection smallest = atThree;
    smallest.resolution = maps.resolutions().back();
    QVERIFY(samePixels(overlay->image(), expectedOverlay(smallest, red, 1.0)));
    resolution->setCurrentIndex(0);

    // The aggregate over every step (DAAM).
    child<QComboBox>(&page, "attentionStepMode")->setCurrentIndex(1);
    QVERIFY(waitForInside(page, [&](const InsideView& v) { return !v.query.selection.step && !v.query.selection.resolution; }));
    QVERIFY(samePixels(overlay->image(), expectedOverlay({}, red, 1.0)));

    // All words: small multiples, one per word, in one colour scale.
    QTest::mouseClick(child<QAbstractButton>(&page, "allWordsChip"), Qt::LeftButton);
    QVERIFY(waitForInside(page, [&](const InsideView& v) { return v.query.word == t2i::ui::InsideQuery::kAllWords; }));
    auto* grid = child<t2i::ui::LabelledImageGrid>(&page, "attentionGrid");
    QCOMPARE(grid->columnCount(), static_cast<int>(words.size()));
    QCOMPARE(grid->columnLabels().at(red), QStringLiteral("red"));
    QVERIFY(grid->isVisible());
    const qint64 stallMs = stall.stop();
    qInfo("Inside: longest GUI-thread gap while maps were computed: %lld ms", static_cast<long long>(stallMs));

    // The plots: one point per step, the anatomy's series.
    const auto series = anatomy.series(0);
    const QVector<QPointF> delta = child<t2i::ui::CurvePlot>(&page, "deltaPlot")->points(0);
    QCOMPARE(delta.size(), kSteps);
    QCOMPARE(child<t2i::ui::CurvePlot>(&page, "cosinePlot")->points(0).size(), kSteps);
    QCOMPARE(child<t2i::ui::CurvePlot>(&page, "clippedPlot")->points(0).size(), kSteps);
    for (const auto& step : series) {
      const auto found = std::find_if(delta.begin(), delta.end(), [&](const QPointF& p) { return p.x() == step.t; });
      QVERIFY(found != delta.end());
      QCOMPARE(found->y(), step.delta_rms);
    }
    // Every picture was made off the GUI thread.
    QVERIFY(!onGuiThread.isEmpty());
    QVERIFY(!onGuiThread.contains(true));

  }

  // A saved PNG carries how Look inside showed it (issue 25, deliverable 5): opening it restores
  // the toggles and the controls at once, and the word and filters once a generation has
  // recordings again. The two toggles are also remembered between launches.
  void savedPngRestoresHowLookInsideShowedIt() {
    requireCheckpoint();
    QTemporaryDir dir;
    const QString saved = dir.filePath(QStringLiteral("inside.png"));
    const auto chipNamed = [](GeneratePage& page, const QString& word) -> QAbstractButton* {
      for (QAbstractButton* chip : page.findChildren<QAbstractButton*>())
        if (chip->objectName().startsWith(QStringLiteral("chip")) && chip->text() == word) return chip;
      return nullptr;
    };
    int head = -1;
    {
      GeneratePage page;
      openGeneratePage(page);
      fill(page, kPrompt, QStringLiteral("5"), 5.0, 6, QStringLiteral("ddim"));
      child<QCheckBox>(&page, "insideToggle")->setChecked(true);
      child<QCheckBox>(&page, "freezeNoise")->setChecked(true);
      QVERIFY(generateAndWait(page));
      QAbstractButton* red = chipNamed(page, QStringLiteral("red"));
      QVERIFY(red);
      QTest::mouseClick(red, Qt::LeftButton);
      child<QComboBox>(&page, "attentionNormalisation")->setCurrentIndex(1);
      child<QComboBox>(&page, "attentionHalf")->setCurrentIndex(1);
      child<QComboBox>(&page, "attentionStepMode")->setCurrentIndex(1);
      auto* heads = child<QComboBox>(&page, "attentionHead");
      QVERIFY(heads->count() > 2);
      heads->setCurrentIndex(heads->count() - 1);
      head = heads->currentData().toInt();
      child<QSlider>(&page, "attentionOpacity")->setValue(35);
      QVERIFY2(page.savePng(saved), qPrintable(page.statusText()));
    }

    // What any PNG reader sees (Qt's, not the core's reader).
    const QImage independent(saved, "PNG");
    const std::map<QString, QString> expected{
        {QStringLiteral("look_inside"), QStringLiteral("on")},
        {QStringLiteral("freeze_noise"), QStringLiteral("on")},
        {QStringLiteral("attention_words"), QStringLiteral("one")},
        {QStringLiteral("attention_word"), QStringLiteral("red")},
        {QStringLiteral("attention_step"), QStringLiteral("all")},
        {QStringLiteral("attention_resolution"), QStringLiteral("all")},
        {QStringLiteral("attention_head"), QString::number(head)},
        {QStringLiteral("attention_half"), QStringLiteral("unconditional")},
        {QStringLiteral("attention_normalisation"), QStringLiteral("per word")},
        {QStringLiteral("attention_opacity"), QStringLiteral("0.35")},
        {QStringLiteral("prompt"), kPrompt}};
    for (const auto& [key, value] : expected) QCOMPARE(independent.text(key), value);

    GeneratePage page;
    openGeneratePage(page);
    auto* inside = child<QCheckBox>(&page, "insideToggle");
    auto* freeze = child<QCheckBox>(&page, "freezeNoise");
    QVERIFY(inside->isChecked() && freeze->isChecked());  // remembered from the page before
    inside->setChecked(false);
    freeze->setChecked(false);
    child<QComboBox>(&page, "attentionNormalisation")->setCurrentIndex(0);
    QVERIFY(page.openPng(saved));
    QVERIFY(inside->isChecked() && freeze->isChecked());
    QCOMPARE(child<QComboBox>(&page, "attentionNormalisation")->currentIndex(), 1);
    QCOMPARE(child<QComboBox>(&page, "attentionHalf")->currentIndex(), 1);
    QCOMPARE(child<QComboBox>(&page, "attentionStepMode")->currentIndex(), 1);
    QCOMPARE(child<QSlider>(&page, "attentionOpacity")->value(), 35);
    // Not shown yet, and saved again as it was restored.
    QCOMPARE(page.inspection().word, std::string("red"));
    QCOMPARE(page.inspection().attention.head, std::optional<int>(head));

    QVERIFY(generateAndWait(page));
    QVERIFY(waitForInside(page, [&](const InsideView& v) {
      return v.query.word >= 0 && v.query.selection.head == head && !v.query.selection.conditional &&
             !v.query.selection.step && v.query.normalisation == t2i::sample::AttentionNormalisation::PerToken;
    }));
    QVERIFY(chipNamed(page, QStringLiteral("red"))->isChecked());
    QCOMPARE(child<QComboBox>(&page, "attentionHead")->currentData().toInt(), head);
  }

  void insideHalfToggleNeedsTheUnconditionalHalf() {
    requireCheckpoint();
    // Attention alone at guidance 1 runs only the conditional half: the toggle says why it is off.
    t2i::sample::AttentionMaps maps;
    reference_->generate(request(kPrompt, 2, 1.0, 4, QStringLiteral("ddim")), {}, {}, t2i::sample::Probes{&maps, nullptr});
    QVERIFY(!maps.has_unconditional());
    QWidget host;
    t2i::ui::InsidePanels panels(&host);
    auto* half = child<QComboBox>(&host, "attentionHalf");
    panels.setGeneration(maps, {}, {QImage(32, 32, QImage::Format_RGB888)}, 4);
    QVERIFY(!half->isEnabled());
    QVERIFY(half->toolTip().contains(QStringLiteral("Guidance was 1")));
    QCOMPARE(panels.query().selection.conditional, true);
    // With both halves recorded it is on.
    t2i::sample::AttentionMaps both;
    reference_->generate(request(kPrompt, 2, 3.0, 4, QStringLiteral("ddim")), {}, {}, t2i::sample::Probes{&both, nullptr});
    QVERIFY(both.has_unconditional());
    panels.setGeneration(both, {}, {QImage(32, 32, QImage::Format_RGB888)}, 4);
    QVERIFY(half->isEnabled());
  }

  void insideTabsLookRight() {
    requireCheckpoint();
    t2i::ui::MainWindow window;
    GeneratePage* page = generatePageIn(window, QSize(1200, 660));  // its default size on a screen large enough
    QVERIFY(page);
    fill(*page, kPrompt, QStringLiteral("7"), 5.0, 20, QStringLiteral("ddim"));
    child<QCheckBox>(page, "insideToggle")->setChecked(true);
    QVERIFY(generateAndWait(*page));
    auto* tabs = child<QTabWidget>(page, "stepsAndHistory");
    tabs->setCurrentWidget(page->insidePanels()->attentionTab());
    QTest::mouseClick(child<QAbstractButton>(page, "chip1"), Qt::LeftButton);
    page->scrubber()->setValue(12);
    QVERIFY(waitForInside(*page, [](const InsideView& v) { return v.query.word == 1 && v.query.selection.step == 12; }));
    QVERIFY(window.grab().save(shotPath(QStringLiteral("attention-word.png"))));
    QCOMPARE(t2i::test::layoutProblems(page), QStringList());
    QTest::mouseClick(child<QAbstractButton>(page, "allWordsChip"), Qt::LeftButton);
    QVERIFY(waitForInside(*page, [](const InsideView& v) { return v.query.word == t2i::ui::InsideQuery::kAllWords; }));
    QVERIFY(window.grab().save(shotPath(QStringLiteral("attention-all-words.png"))));
    QCOMPARE(t2i::test::layoutProblems(page), QStringList());
    tabs->setCurrentWidget(page->insidePanels()->anatomyTab());
    QCoreApplication::processEvents();
    QVERIFY(window.grab().save(shotPath(QStringLiteral("guidance-anatomy.png"))));
    QCOMPARE(t2i::test::layoutProblems(page), QStringList());
    // Nothing is squeezed below what it needs at the default size.
    QVERIFY2(page->minimumSizeHint().height() <= page->height(),
             qPrintable(QStringLiteral("needs %1 px, has %2").arg(page->minimumSizeHint().height()).arg(page->height())));
  }

  // The Training neighbours tab follows the selected result; a sample that copies training
  // image j finds j first, at distance 0, and is flagged.
  void neighbourPanelFindsTheTrainingImageASampleCopies() {
    requireCheckpoint();
    // A small prepared demo dataset stands in for the training data (the shipped model's own, 4000
    // scenes written again, would make this test slow).
    QTemporaryDir dir;
    t2i::train::TrainOptions data;
    data.preset = "demo";
    data.data.demo = true;
    data.data.demo_images = 40;
    data.data.cache_dir = dir.filePath(QStringLiteral("cache")).toStdString();
    data.run_dir = dir.filePath(QStringLiteral("run")).toStdString();
    const t2i::train::PreparedData prepared = t2i::train::prepare_data(data);

    t2i::ui::MainWindow window;
    GeneratePage* page = generatePageIn(window, QSize(1200, 660));
    QVERIFY(page);
    t2i::ui::NeighbourPanel* panel = page->neighbourPanel();
    auto* find = child<QPushButton>(panel, "findNeighbours");
    QVERIFY(!find->isEnabled());  // nothing generated yet
    fill(*page, kPrompt, QStringLiteral("7"), 5.0, 10, QStringLiteral("ddim"));
    QVERIFY(generateAndWait(*page));
    QVERIFY(find->isEnabled());
    child<QTabWidget>(page, "stepsAndHistory")->setCurrentWidget(panel);
    panel->setDataFolder(QString::fromStdString(prepared.cache_dir));
    QSignalSpy searched(panel, &t2i::ui::NeighbourPanel::searched);
    t2i::test::StallMeter stall;  // the index is built and searched on the worker
    stall.start();
    QTest::mouseClick(find, Qt::LeftButton);
    QVERIFY(searched.wait(120000));
    const qint64 stallMs = stall.stop();
    qInfo("neighbour index built and searched; longest GUI stall %lld ms", static_cast<long long>(stallMs));
    QVERIFY2(stallMs <= t2i::test::kGuiStallBoundMs, qPrintable(QString::number(stallMs)));
    QVERIFY2(searched.first().first().toBool(), qPrintable(panel->statusText()));
    QCOMPARE(panel->grid()->columnCount(), t2i::ui::NeighbourPanel::kDefaultCount + 1);
    QCOMPARE(panel->grid()->image(0, 0), page->result(0));
    QVERIFY(panel->grid()->isComplete());
    QVERIFY2(panel->statusText().contains(QStringLiteral("pixel")), qPrintable(panel->statusText()));
    QVERIFY(!panel->verdictText().isEmpty());
    QTest::qWait(100);  // the labels' new heights are laid out by posted events, as a user would see them
    QVERIFY(window.grab().save(shotPath(QStringLiteral("training-neighbours.png"))));
    QCOMPARE(t2i::test::layoutProblems(page).join(QLatin1Char('\n')), QString());

    const auto index = t2i::evaluate::open_neighbour_index(prepared.cache_dir);
    const std::int64_t j = index->size() / 2;
    const QImage copy = t2i::ui::toQImage(index->training_image(j));
    panel->setQuery(checkpoint_, copy);
    QVERIFY(panel->grid()->columnCount() == 0 && panel->verdictText().isEmpty());  // the old result is gone
    searched.clear();
    QVERIFY(panel->find());
    QVERIFY(searched.wait(60000));
    QVERIFY2(searched.first().first().toBool(), qPrintable(panel->statusText()));
    const QString nearest = panel->grid()->columnLabels().at(1);
    QVERIFY2(nearest.startsWith(QStringLiteral("#%1 · %2").arg(j).arg(QLocale().toString(0.0, 'f', 3))), qPrintable(nearest));
    QCOMPARE(panel->grid()->image(0, 1), copy);
    QVERIFY2(panel->verdictText().contains(QStringLiteral("may copy")), qPrintable(panel->verdictText()));
    QTest::qWait(100);
    QVERIFY(window.grab().save(shotPath(QStringLiteral("training-neighbours-copy.png"))));
    QCOMPARE(t2i::test::layoutProblems(page).join(QLatin1Char('\n')), QString());

    // Selecting another result, or a new generation, hands the panel the new image.
    QVERIFY(generateAndWait(*page));
    QCOMPARE(panel->grid()->columnCount(), 0);
    QVERIFY(find->isEnabled());
  }

  void freezeNoiseKeepsTheSeedAtAnotherScale() {
    requireCheckpoint();
    GeneratePage page;
    openGeneratePage(page);
    fill(page, kPrompt, QStringLiteral("0"), 5.0, 10, QStringLiteral("ddpm"));
    child<QCheckBox>(&page, "randomSeed")->setChecked(true);
    child<QCheckBox>(&page, "freezeNoise")->setChecked(true);
    QVERIFY(generateAndWait(page));
    const std::uint64_t seed = child<QLineEdit>(&page, "seedEdit")->text().toULongLong();
    QVERIFY(samePixels(page.result(0), referenceImage(request(kPrompt, seed, 5.0, 10, QStringLiteral("ddpm")))));

    // A new seed each time, yet the slider re-renders the same noise at the new scale.
    QSignalSpy finished(&page, &GeneratePage::generationFinished);
    QTest::keyClick(page.guidanceSlider()->slider(), Qt::Key_Right);
    QTRY_COMPARE_WITH_TIMEOUT(finished.size(), 1, kGenerateTimeoutMs);
    QVERIFY(finished.first().first().toBool());
    QCOMPARE(child<QLineEdit>(&page, "seedEdit")->text().toULongLong(), seed);
    QVERIFY(samePixels(page.result(0), referenceImage(request(kPrompt, seed, 5.5, 10, QStringLiteral("ddpm")))));

    // Generate itself still draws a new seed.
    QVERIFY(generateAndWait(page));
    QVERIFY(child<QLineEdit>(&page, "seedEdit")->text().toULongLong() != seed);
  }

  void aCutPromptIsSaidBesideIt() {
    requireCheckpoint();
    GeneratePage page;
    openGeneratePage(page);
    QStringList many;
    for (int i = 0; i < 40; ++i) many << (i % 2 == 0 ? QStringLiteral("red") : QStringLiteral("circle"));
    const QString longPrompt = many.join(QLatin1Char(' '));
    const t2i::text::Tokenized read = reference_->tokenize(longPrompt.toStdString());
    QVERIFY(read.truncated);
    auto* note = child<QLabel>(&page, "promptNote");
    fill(page, longPrompt, QStringLiteral("1"), 5.0, 2, QStringLiteral("ddim"));
    QVERIFY(generateAndWait(page));
    QVERIFY(note->isVisible());
    QVERIFY2(note->text().contains(QStringLiteral("reads %1 tokens").arg(read.ids.size())), qPrintable(note->text()));
    QVERIFY(page.grab().save(shotPath(QStringLiteral("prompt-cut.png"))));

    fill(page, kPrompt, QStringLiteral("1"), 5.0, 2, QStringLiteral("ddim"));
    QVERIFY(!reference_->tokenize(kPrompt.toStdString()).truncated);
    QVERIFY(generateAndWait(page));
    QVERIFY(!note->isVisible());
  }

  void cancelStopsMidway() {
    requireCheckpoint();
    GeneratePage page;
    openGeneratePage(page);
    fill(page, kPrompt, QStringLiteral("5"), 5.0, 1000, QStringLiteral("ddpm"));
    QSignalSpy finished(&page, &GeneratePage::generationFinished);
    QTest::mouseClick(child<QPushButton>(&page, "generateButton"), Qt::LeftButton);
    auto* progress = child<QProgressBar>(&page, "progress");
    QTRY_VERIFY_WITH_TIMEOUT(progress->value() >= 3, 60000);
    QVERIFY(!child<QPushButton>(&page, "generateButton")->isEnabled());
    QTest::mouseClick(child<QPushButton>(&page, "cancelButton"), Qt::LeftButton);
    QTRY_COMPARE_WITH_TIMEOUT(finished.size(), 1, 30000);
    QCOMPARE(finished.first().first().toBool(), false);
    QVERIFY2(page.statusText().startsWith(QStringLiteral("Cancelled")), qPrintable(page.statusText()));
    QVERIFY(progress->value() < 1000);
    QCOMPARE(page.resultCount(), 0);
    QVERIFY(child<QPushButton>(&page, "generateButton")->isEnabled());
    // The steps done before cancelling can be replayed, and the page generates again.
    QVERIFY(page.scrubber()->maximum() >= 3 && page.scrubber()->maximum() < 1000);
    fill(page, kPrompt, QStringLiteral("5"), 5.0, 8, QStringLiteral("ddim"));
    QVERIFY(generateAndWait(page));
    QCOMPARE(page.resultCount(), 1);
  }

  void movingTheSliderRegeneratesWithAFixedSeed() {
    requireCheckpoint();
    GeneratePage page;
    openGeneratePage(page);
    fill(page, kPrompt, QStringLiteral("21"), 5.0, 10, QStringLiteral("ddim"));
    QVERIFY(generateAndWait(page));
    const QImage atFive = page.result(0);

    QSignalSpy finished(&page, &GeneratePage::generationFinished);
    QSlider* slider = page.guidanceSlider()->slider();
    for (int i = 0; i < 6; ++i) QTest::keyClick(slider, Qt::Key_Right);  // quick moves: one debounced run
    QCOMPARE(page.guidanceSlider()->value(), 8.0);
    QTRY_COMPARE_WITH_TIMEOUT(finished.size(), 1, kGenerateTimeoutMs);
    QVERIFY(finished.first().first().toBool());
    QTest::qWait(600);
    QCOMPARE(finished.size(), 1);
    QVERIFY(samePixels(page.result(0), referenceImage(request(kPrompt, 21, 8.0, 10, QStringLiteral("ddim")))));
    QVERIFY(!samePixels(page.result(0), atFive));

    // With a new seed each time the slider only sets the scale.
    child<QCheckBox>(&page, "randomSeed")->setChecked(true);
    QTest::keyClick(slider, Qt::Key_Left);
    QTest::qWait(800);
    QVERIFY(!page.isGenerating());
    QCOMPARE(finished.size(), 1);
  }

  // Issue 27, deliverable 4: a cascade chosen on the Generate page samples base → super-resolution,
  // the scrubber covering both stages; the saved PNG brings the cascade back. The reference is the
  // sampling facade's cascade for the same settings.
  void cascadeSamplesOnTheGeneratePage() {
    requireCheckpoint();
    QTemporaryDir dir;
    const int base_size = reference_->info().image_size;
    const t2i::sample::Cascade cascade = tinyCascade(dir);
    const std::string sr = cascade.stages.back().checkpoint;
    const QString file = dir.filePath(QStringLiteral("cascade.json"));

    GeneratePage page;
    openGeneratePage(page);
    QVERIFY(child<QCheckBox>(&page, "insideToggle")->isEnabled());
    QVERIFY(page.cascadeControls()->open(file));
    // Look inside records one model's generation: off for a cascade, and said so.
    QVERIFY(!child<QCheckBox>(&page, "insideToggle")->isEnabled());
    QVERIFY(child<QCheckBox>(&page, "insideToggle")->toolTip().contains(QStringLiteral("cascade")));
    QCOMPARE(QFileInfo(page.checkpointPicker()->path()).canonicalFilePath(), QFileInfo(checkpoint_).canonicalFilePath());
    // The stage's row shows the file's settings; one is changed as a user would.
    QCOMPARE(child<QDoubleSpinBox>(&page, "stageGuidance1")->value(), 2.0);
    QCOMPARE(child<QSpinBox>(&page, "stageSteps1")->value(), 4);
    QCOMPARE(child<QDoubleSpinBox>(&page, "stageAug1")->value(), 0.25);
    child<QSpinBox>(&page, "stageSteps1")->setValue(5);
    fill(page, kPrompt, QStringLiteral("77"), 4.0, 6, QStringLiteral("ddim"));
    QVERIFY(generateAndWait(page));

    QCOMPARE(page.resultCount(), 1);
    QCOMPARE(page.result(0).width(), 2 * base_size);
    t2i::sample::Generator stage(sr);
    t2i::sample::Cascade used = cascade;
    used.stages[1].steps = 5;
    const auto expected = t2i::sample::generate_cascade({reference_.get(), &stage}, used, file.toStdString(),
                                                        request(kPrompt, 77, 4.0, 6, QStringLiteral("ddim")));
    QCOMPARE(expected.size(), std::size_t{2});
    QVERIFY(samePixels(page.result(0), t2i::ui::toQImage(expected[1][0])));

    // The scrubber and the progress cover both stages: 6 base steps, then 5.
    QSlider* scrubber = page.scrubber();
    QVERIFY(scrubber->isEnabled());
    QCOMPARE(scrubber->maximum(), 11);
    QCOMPARE(scrubber->value(), 11);
    QCOMPARE(child<QProgressBar>(&page, "progress")->value(), 11);
    QCOMPARE(page.filmstrip()->steps().last(), 11);
    QCOMPARE(page.filmstrip()->filledCount(), page.filmstrip()->frameCount());
    // Its columns count steps within their stage, under each stage's heading.
    QCOMPARE(page.filmstrip()->headings(), (QStringList{QStringLiteral("stage 1 of 2"), QStringLiteral("stage 2 of 2")}));
    const int srFirst = static_cast<int>(page.filmstrip()->steps().indexOf(7));
    QVERIFY(srFirst > 0);
    QCOMPARE(page.filmstrip()->caption(srFirst - 1), QStringLiteral("step 6"));
    QCOMPARE(page.filmstrip()->caption(srFirst), QStringLiteral("step 1"));
    QCOMPARE(page.filmstrip()->caption(page.filmstrip()->frameCount() - 1), QStringLiteral("step 5"));
    QVERIFY(samePixels(page.predictedView()->image(), page.result(0)));
    const QString shot = t2i::test::artifactsDir() + QStringLiteral("/cascade");
    QDir().mkpath(shot);
    QVERIFY(page.grab().save(shot + QStringLiteral("/generate-cascade-final.png")));
    scrubber->setValue(6);
    QVERIFY2(page.noisyView()->caption().startsWith(QStringLiteral("stage 1 of 2 · x_t · step 6 of 6")),
             qPrintable(page.noisyView()->caption()));
    QVERIFY(samePixels(page.predictedView()->image(), t2i::ui::toQImage(expected[0][0])));
    scrubber->setValue(7);
    QVERIFY2(page.noisyView()->caption().startsWith(QStringLiteral("stage 2 of 2 · x_t · step 1 of 5")),
             qPrintable(page.noisyView()->caption()));
    QCOMPARE(page.noisyView()->image().width(), 2 * base_size);
    QVERIFY(page.grab().save(shot + QStringLiteral("/generate-cascade-stage2-step1.png")));

    // The saved PNG records both stages; opening it on another page brings the cascade back.
    const QString saved = dir.filePath(QStringLiteral("cascade.png"));
    QVERIFY2(page.savePng(saved), qPrintable(page.statusText()));
    const QImage independent(saved, "PNG");
    QCOMPARE(independent.width(), 2 * base_size);
    QCOMPARE(independent.text(QStringLiteral("cascade_stages")), QStringLiteral("2"));
    QCOMPARE(independent.text(QStringLiteral("stage1_steps")), QStringLiteral("5"));
    QCOMPARE(independent.text(QStringLiteral("stage1_aug")), QStringLiteral("0.25"));
    t2i::ui::settings::generateCascade.reset();  // a page that remembers no cascade: the PNG brings it
    GeneratePage other;
    openGeneratePage(other);
    QVERIFY(!other.cascadeControls()->active());
    QVERIFY(other.openPng(saved));
    QCOMPARE(QFileInfo(other.cascadeControls()->file()).canonicalFilePath(), QFileInfo(file).canonicalFilePath());
    QCOMPARE(child<QSpinBox>(&other, "stageSteps1")->value(), 5);
    QCOMPARE(child<QDoubleSpinBox>(&other, "stageGuidance1")->value(), 2.0);
    QCOMPARE(other.settings().steps, 6);
    // Choosing another checkpoint leaves the cascade.
    QTemporaryDir elsewhere;
    const QString copy = elsewhere.filePath(QStringLiteral("other.safetensors"));
    QVERIFY(QFile::copy(checkpoint_, copy));
    other.checkpointPicker()->setPath(copy);
    QVERIFY(!other.cascadeControls()->active());
    QVERIFY(child<QCheckBox>(&other, "insideToggle")->isEnabled());
  }

  // The cascade last sampled comes back at the next launch, with its base checkpoint; one whose
  // file is gone does not.
  // The demo model's own cascade (resources/demo/demo-cascade.json) turns its 32×32 images into
  // 64×64 ones on the Generate page; the result is the facade's cascade, pixel for pixel.
  void theDemoCascadeMakesSixtyFourPixelImages() {
    requireCheckpoint();
    if (!shipped_) QSKIP("the demo cascade needs the shipped demo model");
    const QString file = QStringLiteral(T2I_SOURCE_DIR "/resources/demo/demo-cascade.json");
    GeneratePage page;
    openGeneratePage(page);
    QVERIFY(page.cascadeControls()->open(file));
    fill(page, kPrompt, QStringLiteral("5"), 5.0, 20, QStringLiteral("ddpm"));
    QVERIFY(generateAndWait(page));
    QCOMPARE(page.result(0).width(), 64);
    const t2i::sample::Cascade cascade = t2i::sample::read_cascade(file.toStdString());
    t2i::sample::Generator sr(cascade.stages[1].checkpoint);
    const auto expected = t2i::sample::generate_cascade({reference_.get(), &sr}, cascade, file.toStdString(),
                                                        request(kPrompt, 5, 5.0, 20, QStringLiteral("ddpm")));
    QVERIFY(samePixels(page.result(0), t2i::ui::toQImage(expected[1][0])));
    const QString shot = t2i::test::artifactsDir() + QStringLiteral("/cascade");
    QDir().mkpath(shot);
    QVERIFY(page.grab().save(shot + QStringLiteral("/generate-demo-cascade.png")));
  }

  void aThreeStageCascadeStaysLoadedBetweenRuns() {
    requireCheckpoint();
    QTemporaryDir dir;
    const int base_size = reference_->info().image_size;
    t2i::sample::Cascade cascade = tinyCascade(dir);
    cascade.stages[1].steps = 2;
    cascade.stages.push_back({t2i::test::write_untrained_checkpoint(t2i::test::tiny_sr_preset_json(2 * base_size, 4 * base_size),
                                                                    dir.filePath(QStringLiteral("sr2.safetensors")).toStdString(), 3),
                              1.0, 2, {}, 0.0});
    t2i::ui::SamplingTask task;
    task.cascade = cascade;
    task.cascadeFile = dir.filePath(QStringLiteral("cascade.json"));
    task.request = request(kPrompt, 1, 3.0, 2, QStringLiteral("ddim"));
    t2i::ui::SamplingJob job(QStringLiteral("test-cascade"));
    QSignalSpy status(&job, &t2i::ui::SamplingJob::status);
    QSignalSpy finished(&job, &t2i::ui::SamplingJob::finished);
    const auto loads = [&status] {
      int count = 0;
      for (const QList<QVariant>& message : status) count += message.first().toString().startsWith(QStringLiteral("Loading")) ? 1 : 0;
      return count;
    };
    QVERIFY(job.run({task}, false));
    QTRY_COMPARE_WITH_TIMEOUT(finished.size(), 1, kGenerateTimeoutMs);
    QCOMPARE(loads(), 3);
    status.clear();
    QVERIFY(job.run({task}, false));
    QTRY_COMPARE_WITH_TIMEOUT(finished.size(), 2, kGenerateTimeoutMs);
    QCOMPARE(loads(), 0);  // every stage was still loaded
  }

  void theCascadeIsRememberedBetweenLaunches() {
    requireCheckpoint();
    QTemporaryDir dir;
    tinyCascade(dir);
    const QString file = dir.filePath(QStringLiteral("cascade.json"));
    {
      GeneratePage first;
      openGeneratePage(first);
      QVERIFY(first.cascadeControls()->open(file));
      child<QSpinBox>(&first, "stepsSpin")->setValue(7);
    }
    {
      GeneratePage next;
      QCOMPARE(QFileInfo(next.cascadeControls()->file()).canonicalFilePath(), QFileInfo(file).canonicalFilePath());
      QCOMPARE(QFileInfo(next.checkpointPicker()->path()).canonicalFilePath(), QFileInfo(checkpoint_).canonicalFilePath());
      QCOMPARE(next.settings().steps, 7);  // the settings last used, not the file's base stage
      QVERIFY(!child<QCheckBox>(&next, "insideToggle")->isEnabled());
    }
    QVERIFY(QFile::remove(file));
    GeneratePage afterwards;
    QVERIFY(!afterwards.cascadeControls()->active());
    QVERIFY(child<QCheckBox>(&afterwards, "insideToggle")->isEnabled());
  }

  void savedPngRestoresTheControls() {
    requireCheckpoint();
    QTemporaryDir dir;
    GeneratePage page;
    openGeneratePage(page);
    const QString prompt = QStringLiteral("a small green triangle on the left");
    fill(page, prompt, QStringLiteral("77"), 7.5, 12, QStringLiteral("dpmpp"), QStringLiteral("static"));
    QVERIFY(generateAndWait(page));
    const QString saved = dir.filePath(QStringLiteral("generated.png"));
    QVERIFY2(page.savePng(saved), qPrintable(page.statusText()));
    // The settings as any PNG reader sees them (Qt's, not the core's reader the page uses).
    const QImage independent(saved, "PNG");
    QVERIFY(samePixels(independent, page.result(0)));
    QCOMPARE(independent.text(QStringLiteral("prompt")), prompt);
    QCOMPARE(independent.text(QStringLiteral("seed")), QStringLiteral("77"));
    QCOMPARE(independent.text(QStringLiteral("cfg")), QStringLiteral("7.5"));
    QCOMPARE(independent.text(QStringLiteral("steps")), QStringLiteral("12"));
    QCOMPARE(independent.text(QStringLiteral("sampler")), QStringLiteral("dpmpp"));
    QCOMPARE(independent.text(QStringLiteral("thresholding")), QStringLiteral("static"));
    QCOMPARE(QFileInfo(independent.text(QStringLiteral("checkpoint"))).canonicalFilePath(),
             QFileInfo(checkpoint_).canonicalFilePath());
    QCOMPARE(independent.text(QStringLiteral("checkpoint_step")), QString::number(reference_->info().step));

    // Change everything, then open the PNG.
    fill(page, QStringLiteral("something else"), QStringLiteral("3"), 2.0, 30, QStringLiteral("ddim"));
    QVERIFY(page.openPng(saved));
    const t2i::ui::GenerationSettings restored = page.settings();
    QCOMPARE(restored.prompt, prompt);
    QCOMPARE(restored.seed, std::uint64_t{77});
    QCOMPARE(restored.guidance, 7.5);
    QCOMPARE(restored.steps, 12);
    QCOMPARE(restored.sampler, QStringLiteral("dpmpp"));
    QCOMPARE(restored.thresholding, QStringLiteral("static"));
    QCOMPARE(QFileInfo(restored.checkpoint).canonicalFilePath(), QFileInfo(checkpoint_).canonicalFilePath());
    QVERIFY(!child<QCheckBox>(&page, "randomSeed")->isChecked());
    QVERIFY(samePixels(page.result(0), QImage(saved)));
    // An opened image has no denoising steps: the bar says so rather than the last generation's count.
    QCOMPARE(child<QProgressBar>(&page, "progress")->text(), QStringLiteral("ready"));

    // Dropping the file does the same.
    fill(page, QStringLiteral("something else"), QStringLiteral("3"), 2.0, 30, QStringLiteral("ddim"));
    QMimeData mime;
    mime.setUrls({QUrl::fromLocalFile(saved)});
    QDragEnterEvent enter(QPoint(10, 10), Qt::CopyAction, &mime, Qt::LeftButton, Qt::NoModifier);
    QCoreApplication::sendEvent(&page, &enter);
    QVERIFY(enter.isAccepted());
    QDropEvent drop(QPointF(10, 10), Qt::CopyAction, &mime, Qt::LeftButton, Qt::NoModifier);
    QCoreApplication::sendEvent(&page, &drop);
    QCOMPARE(page.settings().prompt, prompt);
    QCOMPARE(page.settings().seed, std::uint64_t{77});
    QCOMPARE(page.guidanceSlider()->value(), 7.5);

    // Regenerating the restored settings remakes the saved image.
    QVERIFY(generateAndWait(page));
    QVERIFY(samePixels(page.result(0), QImage(saved)));

    // A PNG without settings shows the image and keeps the controls; a broken file is refused.
    const QString plain = dir.filePath(QStringLiteral("plain.png"));
    QImage(8, 8, QImage::Format_RGB888).save(plain);
    QVERIFY(page.openPng(plain));
    QCOMPARE(page.settings().prompt, prompt);
    QVERIFY(page.statusText().contains(QStringLiteral("no generation settings")));
    const QString broken = dir.filePath(QStringLiteral("broken.png"));
    QFile file(broken);
    QVERIFY(file.open(QIODevice::WriteOnly));
    file.write("\x89PNG\r\n\x1a\nnot really");
    file.close();
    QVERIFY(!page.openPng(broken));
    QVERIFY(page.statusText().startsWith(QStringLiteral("Cannot open")));
  }

  void pngsOfOtherVersionsOpen() {
    // t2i-studio 0.1.0's PNG (no version keys) restores its settings.
    GeneratePage page;
    const QString old = QStringLiteral(T2I_SOURCE_DIR "/tests/fixtures/0.1.0/sample.png");
    QVERIFY2(page.openPng(old), qPrintable(page.statusText()));
    QCOMPARE(page.settings().prompt, QStringLiteral("a red circle above a blue square"));
    QCOMPARE(page.settings().seed, std::uint64_t{3});
    QCOMPARE(page.settings().steps, 8);

    // Settings a newer major version wrote are not misread: the image shows, the controls stay,
    // and the status names both versions.
    QTemporaryDir dir;
    const QString future = dir.filePath(QStringLiteral("future.png"));
    std::map<std::string, std::string> text;
    t2i::Image image = t2i::sample::read_png(old.toStdString(), &text);
    text["prompt"] = "a prompt whose key means something else now";
    text["format_version"] = "2.0";
    text["written_by"] = "t2i-studio 9.1.0";
    t2i::sample::write_png(future.toStdString(), image, text);
    QVERIFY(page.openPng(future));
    QCOMPARE(page.settings().prompt, QStringLiteral("a red circle above a blue square"));
    QVERIFY(samePixels(page.result(0), QImage(future)));
    const QString status = page.statusText();
    QVERIFY2(status.contains(QStringLiteral("written by t2i-studio 9.1.0 (image metadata format 2.0)")) &&
                 status.contains(QStringLiteral("only the image is shown")),
             qPrintable(status));
  }

  void imageMetadataReadsBackWhatItWrites() {
    // Every field, and a grid of two checkpoints, through the core's PNG text and back.
    t2i::sample::ImageMetadata m;
    m.prompt = "a red circle; above, a blue square";
    m.seed = 18446744073709551615ull;
    m.guidance = 7.5;
    m.steps = 12;
    m.sampler = t2i::diffusion::SamplerKind::DpmSolverPP;
    m.eta = 0.25;
    m.thresholding = t2i::diffusion::ThresholdKind::Static;
    m.threshold_percentile = 0.99;
    m.checkpoint = "/runs/a/best.safetensors";
    m.checkpoint_hash = "0123abcd";
    m.checkpoint_step = 400;
    m.preset = "demo";
    m.grid_seeds = {3, 4};
    m.grid_guidance = {5, 8.25, 5, 8.25};
    m.grid_checkpoints = {"/runs/a/best.safetensors", "/runs/a/best.safetensors", "/b.safetensors", "/b.safetensors"};
    const auto expectWritten = [&](const std::map<std::string, std::string>& text) {
      // The values as 0.1.0's `t2i sample` and Compare spelled them (printf's %g and %f).
      const std::map<std::string, std::string> expected{
          {"prompt", m.prompt}, {"seed", "18446744073709551615"}, {"cfg", "7.5"}, {"steps", "12"},
          {"sampler", "dpmpp"}, {"eta", "0.250000"}, {"thresholding", "static"}, {"threshold_percentile", "0.990000"},
          {"checkpoint", m.checkpoint}, {"checkpoint_hash", "0123abcd"}, {"checkpoint_step", "400"}, {"preset", "demo"},
          {"software", "t2i-studio"}, {"seeds", "3, 4"}, {"guidance scales", "w = 5; w = 8.25; w = 5; w = 8.25"},
          {"checkpoints", "/runs/a/best.safetensors\n/runs/a/best.safetensors\n/b.safetensors\n/b.safetensors"}};
      for (const auto& [key, value] : expected) QCOMPARE(QString::fromStdString(text.at(key)), QString::fromStdString(value));
      QCOMPARE(text.size(), expected.size() + 2);  // and "format_version", "written_by"
    };
    const auto expectRead = [&](const std::optional<t2i::sample::ImageMetadata>& read) {
      QVERIFY(read);
      QCOMPARE(read->prompt, m.prompt);
      QCOMPARE(read->seed, m.seed);
      QCOMPARE(read->guidance, 7.5);
      QCOMPARE(read->steps, 12);
      QVERIFY(read->sampler == m.sampler);
      QCOMPARE(read->eta, 0.25);
      QVERIFY(read->thresholding == m.thresholding);
      QCOMPARE(read->threshold_percentile, 0.99);
      QCOMPARE(read->checkpoint, m.checkpoint);
      QCOMPARE(read->checkpoint_hash, m.checkpoint_hash);
      QCOMPARE(read->checkpoint_step, std::int64_t{400});
      QCOMPARE(read->preset, m.preset);
      QVERIFY(read->grid_seeds == m.grid_seeds);
      QVERIFY(read->grid_guidance == m.grid_guidance);
      QVERIFY(read->grid_checkpoints == m.grid_checkpoints);
    };
    std::map<std::string, std::string> text = t2i::sample::to_png_text(m);
    expectWritten(text);
    expectRead(t2i::sample::read_image_metadata(text, "grid.png"));

    // A locale with a decimal comma (Qt applications take the user's) changes neither direction.
    if (std::setlocale(LC_NUMERIC, "de_DE.UTF-8") != nullptr) {
      expectWritten(t2i::sample::to_png_text(m));
      expectRead(t2i::sample::read_image_metadata(text, "grid.png"));
      std::setlocale(LC_NUMERIC, "C");
    }

    // Absent or unreadable fields keep the defaults; a grid list with a bad item is left out.
    t2i::sample::ImageMetadata defaults;
    defaults.steps = 33;
    defaults.guidance = 2.5;
    text.erase("steps");
    text["cfg"] = "-1";
    text["seeds"] = "3, x";
    const auto partial = t2i::sample::read_image_metadata(text, "partial.png", defaults);
    QVERIFY(partial);
    QCOMPARE(partial->steps, 33);
    QCOMPARE(partial->guidance, 2.5);
    QVERIFY(partial->grid_seeds.empty());
    QCOMPARE(partial->prompt, m.prompt);
    // No seed, or a seed that is not a whole number: not generation settings.
    text["seed"] = "-4";
    QVERIFY(!t2i::sample::read_image_metadata(text, "bad.png"));
    text.erase("seed");
    QVERIFY(!t2i::sample::read_image_metadata(text, "none.png"));
  }

  // A run folder as the trainer leaves it, with best.safetensors and a later step checkpoint:
  // Generate and Compare list both, the best first, newer runs above older ones.
  void trainedRunsAreListedWithTheirBestAndLatestCheckpoints() {
    requireCheckpoint();
    const QString run = runs_.path() + QStringLiteral("/listed-run");
    QVERIFY(QDir().mkpath(run + QStringLiteral("/checkpoints")));
    QFile config(run + QStringLiteral("/config.json"));
    QVERIFY(config.open(QIODevice::WriteOnly) && config.write("{}") == 2);
    config.close();
    const QString best = run + QStringLiteral("/checkpoints/best.safetensors");
    const QString latest = run + QStringLiteral("/checkpoints/step_%1.safetensors")
                                     .arg(reference_->info().step + 100, 9, 10, QLatin1Char('0'));
    QVERIFY(QFile::copy(checkpoint_, best));
    QVERIFY(QFile::copy(checkpoint_, latest));
    const auto cleanup = qScopeGuard([&] { QDir(run).removeRecursively(); });

    GeneratePage generate;
    ComparePage compare;
    QList<QComboBox*> combos = compare.findChildren<QComboBox*>(QStringLiteral("checkpointCombo"));
    combos << child<QComboBox>(&generate, "checkpointCombo");
    QCOMPARE(combos.size(), 3);  // Compare's two models and Generate's
    for (QComboBox* combo : combos) {
      QStringList paths;
      for (int i = 0; i < combo->count(); ++i) paths << QFileInfo(combo->itemData(i).toString()).canonicalFilePath();
      const qsizetype bestAt = paths.indexOf(QFileInfo(best).canonicalFilePath());
      const qsizetype latestAt = paths.indexOf(QFileInfo(latest).canonicalFilePath());
      QVERIFY2(bestAt >= 0 && latestAt == bestAt + 1, qPrintable(paths.join(QLatin1Char('\n'))));
    }
  }

  // Each generation joins the history, newest first; clicking an older one brings back its
  // settings and image while the newer one stays listed.
  void historyKeepsEveryGenerationAndRestoresIt() {
    requireCheckpoint();
    GeneratePage page;
    openGeneratePage(page);
    fill(page, QStringLiteral("a red circle"), QStringLiteral("11"), 3.0, 4, QStringLiteral("ddim"));
    QVERIFY(generateAndWait(page));
    const QImage first = page.result(0);
    fill(page, QStringLiteral("a blue square"), QStringLiteral("12"), 6.0, 5, QStringLiteral("ddim"));
    QVERIFY(generateAndWait(page));
    t2i::ui::GenerationHistory* history = page.history();
    QCOMPARE(history->count(), 2);
    QVERIFY(history->item(0)->toolTip().contains(QStringLiteral("a blue square")));
    QVERIFY(history->item(1)->toolTip().contains(QStringLiteral("seed 11")));

    child<QTabWidget>(&page, "stepsAndHistory")->setCurrentWidget(history);
    QTRY_VERIFY(history->isVisible() && history->visualItemRect(history->item(1)).isValid());
    const QRect older = history->visualItemRect(history->item(1));
    QTest::mouseClick(history->viewport(), Qt::LeftButton, {}, older.center());
    const t2i::ui::GenerationSettings restored = page.settings();
    QCOMPARE(restored.prompt, QStringLiteral("a red circle"));
    QCOMPARE(restored.seed, std::uint64_t{11});
    QCOMPARE(restored.guidance, 3.0);
    QCOMPARE(restored.steps, 4);
    QVERIFY(samePixels(page.result(0), first));
    QCOMPARE(history->count(), 2);
  }

  void comparisonPlansTheGridAndRestoresItsForm() {
    using t2i::ui::Comparison;
    using t2i::ui::ComparisonForm;
    ComparisonForm form;
    form.prompt = QStringLiteral("  a blue square ");
    form.scales = QStringLiteral("5, 8");
    form.seeds = QStringLiteral("3 4");
    form.steps = 6;
    form.sampler = QStringLiteral("ddim");
    form.samplerLabel = QStringLiteral("DDIM");
    form.thresholding = QStringLiteral("static");
    form.checkpoints = {QStringLiteral("/runs/a/best.safetensors"), QStringLiteral("/b.safetensors")};
    const auto planned = Comparison::plan(form);
    QVERIFY(std::holds_alternative<Comparison>(planned));
    const Comparison& plan = std::get<Comparison>(planned);
    // Columns: each checkpoint's scales in turn; rows: the seeds, the same in every column.
    QCOMPARE(plan.tasks().size(), qsizetype{4});
    const QList<double> guidance{5, 8, 5, 8};
    for (int c = 0; c < 4; ++c) {
      const t2i::sample::Request& request = plan.tasks()[c].request;
      QCOMPARE(plan.tasks()[c].checkpoint, form.checkpoints.at(c / 2));
      QCOMPARE(request.guidance, guidance[c]);
      QVERIFY(request.seeds == (std::vector<std::uint64_t>{3, 4}));
      QVERIFY(request.prompts == (std::vector<std::string>{"a blue square", "a blue square"}));
      QCOMPARE(request.steps, 6);
      QVERIFY(request.sampler == t2i::diffusion::SamplerKind::Ddim);
      QVERIFY(request.thresholding == t2i::diffusion::ThresholdKind::Static);
    }
    QCOMPARE(plan.rows(), 2);
    QCOMPARE(plan.rowLabels(), (QStringList{QStringLiteral("seed 3"), QStringLiteral("seed 4")}));
    QCOMPARE(plan.columnLabels().at(2), QStringLiteral("w = 5\n") + t2i::ui::checkpointLabel(form.checkpoints.at(1)));
    QCOMPARE(plan.title(), QStringLiteral("\"a blue square\" · DDIM, 6 steps"));

    // The export's metadata: the top-left image's settings and model, then the grid.
    t2i::sample::ModelInfo model;
    model.checkpoint = form.checkpoints.first().toStdString();
    model.hash = "feed";
    model.step = 7;
    model.preset = "demo";
    const t2i::sample::ImageMetadata grid = plan.gridMetadata(model);
    QCOMPARE(grid.prompt, std::string("a blue square"));
    QCOMPARE(grid.seed, std::uint64_t{3});
    QCOMPARE(grid.guidance, 5.0);
    QCOMPARE(grid.checkpoint, model.checkpoint);
    QCOMPARE(grid.checkpoint_hash, std::string("feed"));
    QCOMPARE(grid.checkpoint_step, std::int64_t{7});
    QVERIFY(grid.grid_seeds == (std::vector<std::uint64_t>{3, 4}));
    QVERIFY(grid.grid_guidance == (std::vector<double>{5, 8, 5, 8}));
    QCOMPARE(grid.grid_checkpoints.size(), std::size_t{4});

    // Read back, the metadata fills in the same form.
    const auto restored = t2i::ui::formFromMetadata(*t2i::sample::read_image_metadata(t2i::sample::to_png_text(grid), "g.png"), {});
    QCOMPARE(restored.prompt, QStringLiteral("a blue square"));
    QCOMPARE(restored.scales, QStringLiteral("5, 8"));
    QCOMPARE(restored.seeds, QStringLiteral("3, 4"));
    QCOMPARE(restored.steps, 6);
    QCOMPARE(restored.sampler, QStringLiteral("ddim"));
    QCOMPARE(restored.thresholding, QStringLiteral("static"));
    QCOMPARE(restored.checkpoints, form.checkpoints);
    // One image (the CLI's, Generate's) is a one-cell grid.
    t2i::sample::ImageMetadata one;
    one.seed = 9;
    one.guidance = 7.5;
    one.checkpoint = "/c.safetensors";
    const auto single = t2i::ui::formFromMetadata(one, form);
    QCOMPARE(single.scales, QStringLiteral("7.5"));
    QCOMPARE(single.seeds, QStringLiteral("9"));
    QCOMPARE(single.checkpoints, QStringList{QStringLiteral("/c.safetensors")});

    // What cannot run says why.
    const auto reason = [&](const ComparisonForm& f) {
      const auto p = Comparison::plan(f);
      return std::holds_alternative<QString>(p) ? std::get<QString>(p) : QString();
    };
    ComparisonForm bad = form;
    bad.prompt = QStringLiteral(" ");
    QVERIFY(reason(bad).startsWith(QStringLiteral("Type a prompt")));
    bad = form;
    bad.scales = QStringLiteral("5, 31");
    QVERIFY(reason(bad).startsWith(QStringLiteral("Guidance scales")));
    bad = form;
    bad.seeds = QStringLiteral("0 1 2 3 4 5 6 7 8");
    QVERIFY(reason(bad).startsWith(QStringLiteral("Seeds")));
    bad = form;
    bad.checkpoints << QString();
    QVERIFY(reason(bad).startsWith(QStringLiteral("Choose a checkpoint")));
  }

  void pngsTravelBetweenCliGenerateAndCompare() {
    requireCheckpoint();
    // The Compare form this test fills is saved when the page closes; later tests expect the
    // defaults. Declared before the pages, so it runs after they saved.
    const auto compareDefaults = qScopeGuard([] {
      for (const auto* key : {&t2i::ui::settings::comparePrompt, &t2i::ui::settings::compareScales,
                              &t2i::ui::settings::compareSeeds, &t2i::ui::settings::compareSampler,
                              &t2i::ui::settings::compareThresholding})
        key->reset();
      t2i::ui::settings::compareSteps.reset();
    });
    QTemporaryDir dir;
    // `t2i sample`'s PNG, the reference for every key.
    QProcess cli;
    cli.start(t2i::test::cliPath(),
              {QStringLiteral("--threads"), QStringLiteral("1"), QStringLiteral("sample"), QStringLiteral("--checkpoint"),
               checkpoint_, QStringLiteral("--prompt"), kPrompt, QStringLiteral("--cfg"), QStringLiteral("7.5"),
               QStringLiteral("--steps"), QStringLiteral("6"), QStringLiteral("--seed"), QStringLiteral("5"),
               QStringLiteral("--sampler"), QStringLiteral("ddim"), QStringLiteral("--threshold"), QStringLiteral("static"),
               QStringLiteral("--out"), dir.filePath(QStringLiteral("cli"))});
    QVERIFY(cli.waitForFinished(kGenerateTimeoutMs));
    QVERIFY2(cli.exitCode() == 0, cli.readAllStandardError().constData());
    const QString cliPng = dir.filePath(QStringLiteral("cli/image_0_seed5.png"));
    const QMap<QString, QString> cliText = pngText(cliPng);
    QCOMPARE(cliText.value(QStringLiteral("cfg")), QStringLiteral("7.5"));
    QVERIFY(cliText.size() >= 15);

    // Generate opens it, remakes it and saves: every key with the same value.
    GeneratePage generate;
    openGeneratePage(generate);
    QVERIFY2(generate.openPng(cliPng), qPrintable(generate.statusText()));
    QCOMPARE(generate.settings().seed, std::uint64_t{5});
    QCOMPARE(generate.settings().guidance, 7.5);
    QCOMPARE(generate.settings().thresholding, QStringLiteral("static"));
    QVERIFY(generateAndWait(generate));
    const QString generated = dir.filePath(QStringLiteral("generated.png"));
    QVERIFY(generate.savePng(generated));
    QCOMPARE(pngText(generated).keys(), cliText.keys());
    expectKeysOf(pngText(generated), cliText);
    if (QTest::currentTestFailed()) return;

    // Compare opens it as a one-cell grid; grown to two scales and two seeds, its export holds
    // every key the CLI writes with the values of its top-left cell (the CLI's image), plus the grid.
    ComparePage compare;
    compare.resize(1200, 800);
    compare.show();
    QVERIFY(QTest::qWaitForWindowExposed(&compare));
    QVERIFY2(compare.openPng(cliPng), qPrintable(compare.statusText()));
    QCOMPARE(child<QLineEdit>(&compare, "scalesEdit")->text(), QStringLiteral("7.5"));
    QCOMPARE(child<QLineEdit>(&compare, "seedsEdit")->text(), QStringLiteral("5"));
    QCOMPARE(child<QLineEdit>(&compare, "comparePrompt")->text(), kPrompt);
    QCOMPARE(child<QSpinBox>(&compare, "compareSteps")->value(), 6);
    QCOMPARE(QFileInfo(compare.checkpointA()->path()).canonicalFilePath(), QFileInfo(checkpoint_).canonicalFilePath());
    setLineEdit(child<QLineEdit>(&compare, "scalesEdit"), QStringLiteral("7.5, 3"));
    setLineEdit(child<QLineEdit>(&compare, "seedsEdit"), QStringLiteral("5, 6"));
    QSignalSpy finished(&compare, &ComparePage::comparisonFinished);
    QVERIFY(compare.compare());
    QTRY_COMPARE_WITH_TIMEOUT(finished.size(), 1, kGenerateTimeoutMs);
    QVERIFY(finished.first().first().toBool());
    const QString grid = dir.filePath(QStringLiteral("grid.png"));
    QVERIFY2(compare.exportPng(grid), qPrintable(compare.statusText()));
    const QMap<QString, QString> gridText = pngText(grid);
    expectKeysOf(gridText, cliText);
    if (QTest::currentTestFailed()) return;
    QCOMPARE(gridText.value(QStringLiteral("seeds")), QStringLiteral("5, 6"));
    QCOMPARE(gridText.value(QStringLiteral("guidance scales")), QStringLiteral("w = 7.5; w = 3"));

    // Generate opens the export: the settings of its top-left image.
    QVERIFY(generate.openPng(grid));
    QCOMPARE(generate.settings().prompt, kPrompt);
    QCOMPARE(generate.settings().seed, std::uint64_t{5});
    QCOMPARE(generate.settings().guidance, 7.5);
    QCOMPARE(generate.settings().steps, 6);
    QCOMPARE(generate.settings().sampler, QStringLiteral("ddim"));
    QVERIFY(generate.statusText().startsWith(QStringLiteral("Restored")));

    // Compare opens Generate's PNG (one cell) and its own export (the whole grid).
    setLineEdit(child<QLineEdit>(&compare, "scalesEdit"), QStringLiteral("1"));
    QVERIFY(compare.openPng(generated));
    QCOMPARE(child<QLineEdit>(&compare, "scalesEdit")->text(), QStringLiteral("7.5"));
    QCOMPARE(child<QLineEdit>(&compare, "seedsEdit")->text(), QStringLiteral("5"));
    QVERIFY(compare.openPng(grid));
    QCOMPARE(child<QLineEdit>(&compare, "scalesEdit")->text(), QStringLiteral("7.5, 3"));
    QCOMPARE(child<QLineEdit>(&compare, "seedsEdit")->text(), QStringLiteral("5, 6"));
    QVERIFY(!child<QCheckBox>(&compare, "useSecondCheckpoint")->isChecked());
  }

  void compareFiveAgainstEight() {
    requireCheckpoint();
    ComparePage page;
    page.resize(1200, 800);
    page.checkpointA()->setPath(checkpoint_);
    page.show();
    QVERIFY(QTest::qWaitForWindowExposed(&page));
    // The defaults are the paper's pair with one seed.
    QCOMPARE(child<QLineEdit>(&page, "scalesEdit")->text(), QStringLiteral("5, 8"));
    QCOMPARE(child<QLineEdit>(&page, "seedsEdit")->text(), QStringLiteral("0"));
    child<QSpinBox>(&page, "compareSteps")->setValue(20);
    QSignalSpy finished(&page, &ComparePage::comparisonFinished);
    QTest::mouseClick(child<QPushButton>(&page, "compareButton"), Qt::LeftButton);
    QTRY_COMPARE_WITH_TIMEOUT(finished.size(), 1, kGenerateTimeoutMs);
    QVERIFY(finished.first().first().toBool());

    t2i::ui::LabelledImageGrid* grid = page.grid();
    QCOMPARE(grid->columnLabels(), (QStringList{QStringLiteral("w = 5"), QStringLiteral("w = 8")}));
    QCOMPARE(grid->rowLabels(), QStringList{QStringLiteral("seed 0")});
    const QImage five = grid->image(0, 0);
    const QImage eight = grid->image(0, 1);
    QVERIFY(!samePixels(five, eight));
    const QString defaultSampler = QString::fromStdString(t2i::diffusion::to_string(t2i::diffusion::kDefaultSampler));
    QVERIFY(samePixels(eight, referenceImage(request(kPrompt, 0, 8.0, 20, defaultSampler))));

    // The export holds the grid's tiles, pixel for pixel, and says what they are to any PNG reader.
    QTemporaryDir dir;
    const QString pair = dir.filePath(QStringLiteral("pair.png"));
    QVERIFY(page.exportPng(pair));
    const QImage pairRead(pair, "PNG");
    const int cellScale = 192 / five.width();
    expectGridTiles(pairRead, *grid, cellScale);
    if (QTest::currentTestFailed()) return;
    const QList<QPoint> fiveAt = placesOf(pairRead, five, cellScale);
    const QList<QPoint> eightAt = placesOf(pairRead, eight, cellScale);
    QVERIFY(fiveAt.size() == 1 && eightAt.size() == 1 && fiveAt.first().x() < eightAt.first().x());
    QCOMPARE(pairRead.text(QStringLiteral("prompt")), kPrompt);
    QCOMPARE(pairRead.text(QStringLiteral("guidance scales")), QStringLiteral("w = 5; w = 8"));
    QCOMPARE(pairRead.text(QStringLiteral("seeds")), QStringLiteral("0"));

    // The same seed and scale again gives the same images.
    QTest::mouseClick(child<QPushButton>(&page, "compareButton"), Qt::LeftButton);
    QTRY_COMPARE_WITH_TIMEOUT(finished.size(), 2, kGenerateTimeoutMs);
    QVERIFY(samePixels(grid->image(0, 0), five));
    QVERIFY(samePixels(grid->image(0, 1), eight));

    // A grid: repeated scales are identical columns, different seeds different rows; a second
    // checkpoint adds labelled columns.
    setLineEdit(child<QLineEdit>(&page, "scalesEdit"), QStringLiteral("5 5"));
    setLineEdit(child<QLineEdit>(&page, "seedsEdit"), QStringLiteral("3, 4"));
    child<QCheckBox>(&page, "useSecondCheckpoint")->setChecked(true);
    page.checkpointB()->setPath(checkpoint_);
    QTest::mouseClick(child<QPushButton>(&page, "compareButton"), Qt::LeftButton);
    QTRY_COMPARE_WITH_TIMEOUT(finished.size(), 3, kGenerateTimeoutMs);
    QVERIFY(finished.last().first().toBool());
    QCOMPARE(grid->rowCount(), 2);
    QCOMPARE(grid->columnCount(), 4);
    QVERIFY(grid->columnLabels().at(3).contains(QLatin1Char('\n')));
    for (int row = 0; row < 2; ++row)
      for (int column = 1; column < 4; ++column) QVERIFY(samePixels(grid->image(row, column), grid->image(row, 0)));
    QVERIFY(!samePixels(grid->image(0, 0), grid->image(1, 0)));

    // Invalid lists are refused with a reason.
    setLineEdit(child<QLineEdit>(&page, "scalesEdit"), QStringLiteral("5, eight"));
    QVERIFY(!page.compare());
    QVERIFY(page.statusText().startsWith(QStringLiteral("Guidance scales")));

    const QString exported = dir.filePath(QStringLiteral("grid.png"));
    QVERIFY(page.exportPng(exported));
    const QImage read(exported, "PNG");
    QCOMPARE(read.size(), grid->render().size());
    expectGridTiles(read, *grid, cellScale);
    if (QTest::currentTestFailed()) return;
    QCOMPARE(read.text(QStringLiteral("seeds")), QStringLiteral("3, 4"));
    QCOMPARE(read.text(QStringLiteral("guidance scales")).count(QStringLiteral("w = 5")), 4);
    QCOMPARE(read.text(QStringLiteral("prompt")), kPrompt);
    QVERIFY(grid->render().save(t2i::test::artifactsDir() + QStringLiteral("/studio-compare-grid.png")));
  }

  // One frozen trajectory: the scales (rows) sampled as one batch, x̂₀ at the chosen steps
  // (columns); each cell is the x̂₀ a generation at that scale alone shows at that step.
  void compareOneTrajectoryScaleByStep() {
    requireCheckpoint();
    ComparePage page;
    openComparePage(page, t2i::ui::CompareMode::Trajectory, QStringLiteral("4"));
    if (QTest::currentTestFailed()) return;
    const auto restore = qScopeGuard([&page] { restoreCompareDefaults(page); });
    QCOMPARE(child<QLineEdit>(&page, "scalesEdit")->text(), QStringLiteral("1, 3, 5, 8"));  // the paper's scales
    QVERIFY(child<QLineEdit>(&page, "gridStepsEdit")->isEnabled());
    QVERIFY(!child<QLineEdit>(&page, "swapEdit")->isEnabled());
    const QString defaultSampler = QString::fromStdString(t2i::diffusion::to_string(t2i::diffusion::kDefaultSampler));
    setLineEdit(child<QLineEdit>(&page, "gridStepsEdit"), QStringLiteral("2, 5, 10"));
    QSignalSpy finished(&page, &ComparePage::comparisonFinished);
    QTest::mouseClick(child<QPushButton>(&page, "compareButton"), Qt::LeftButton);
    QTRY_COMPARE_WITH_TIMEOUT(finished.size(), 1, kGenerateTimeoutMs);
    QVERIFY(finished.first().first().toBool());

    t2i::ui::LabelledImageGrid* grid = page.grid();
    QCOMPARE(grid->rowLabels(), (QStringList{QStringLiteral("w = 1"), QStringLiteral("w = 3"), QStringLiteral("w = 5"),
                                             QStringLiteral("w = 8")}));
    QCOMPARE(grid->columnCount(), 3);
    QVERIFY(grid->columnLabels().at(1).contains(QStringLiteral("step 5")));
    const std::vector<double> scales{1, 3, 5, 8};
    // Row w = 1 is left out: alone it runs a network pass of one image, which rounds differently
    // (test_inspect's scaleStepGridCellsAreSeparateGenerations bounds that difference).
    for (int row = 1; row < 4; ++row) {
      QVector<QImage> x0(3);
      reference_->generate(request(kPrompt, 4, scales[static_cast<std::size_t>(row)], 10, defaultSampler), {},
                           [&](const t2i::sample::StepView& view) {
                             const int column = view.step == 2 ? 0 : view.step == 5 ? 1 : view.step == 10 ? 2 : -1;
                             if (column >= 0) x0[column] = t2i::ui::toQImage(view.x0_pred.front());
                           });
      for (int column = 0; column < 3; ++column) QVERIFY(samePixels(grid->image(row, column), x0[column]));
    }
    QVERIFY(!samePixels(grid->image(2, 2), grid->image(3, 2)));  // 5 against 8, the same trajectory otherwise

    QTemporaryDir dir;
    const QString exported = dir.filePath(QStringLiteral("trajectory.png"));
    QVERIFY(page.exportPng(exported));
    const QImage read(exported, "PNG");
    QCOMPARE(read.text(QStringLiteral("guidance scales")), QStringLiteral("w = 1; w = 3; w = 5; w = 8"));
    QCOMPARE(read.text(QStringLiteral("seeds")), QStringLiteral("4"));
    QCOMPARE(read.text(QStringLiteral("steps shown")), QStringLiteral("2, 5, 10"));
    QVERIFY(page.grab().save(t2i::test::artifactsDir() + QStringLiteral("/compare-trajectory.png")));
    // Opening the export brings its mode and steps back, whatever the form shows.
    restoreCompareDefaults(page);
    setLineEdit(child<QLineEdit>(&page, "gridStepsEdit"), QString());
    QVERIFY(page.openPng(exported));
    QVERIFY(page.form().mode == t2i::ui::CompareMode::Trajectory);
    QCOMPARE(child<QLineEdit>(&page, "gridStepsEdit")->text(), QStringLiteral("2, 5, 10"));
    QCOMPARE(child<QLineEdit>(&page, "scalesEdit")->text(), QStringLiteral("1, 3, 5, 8"));

    setLineEdit(child<QLineEdit>(&page, "gridStepsEdit"), QStringLiteral("2, 11"));
    QVERIFY(!page.compare());
    QVERIFY(page.statusText().startsWith(QStringLiteral("Steps shown")));
  }

  // Word swap: A, B (the same seed), |A − B| and both words' maps; no injection gives exactly the
  // plain B, and swapping a word for itself with the slider at 100% gives exactly A.
  void compareWordSwapWithInjection() {
    requireCheckpoint();
    ComparePage page;
    openComparePage(page, t2i::ui::CompareMode::WordSwap, QStringLiteral("2"));
    if (QTest::currentTestFailed()) return;
    const auto restore = qScopeGuard([&page] { restoreCompareDefaults(page); });
    QVERIFY(child<QLineEdit>(&page, "swapEdit")->isEnabled());
    QVERIFY(!child<QLineEdit>(&page, "gridStepsEdit")->isEnabled());
    setLineEdit(child<QLineEdit>(&page, "scalesEdit"), QStringLiteral("5"));
    const QString defaultSampler = QString::fromStdString(t2i::diffusion::to_string(t2i::diffusion::kDefaultSampler));
    setLineEdit(child<QLineEdit>(&page, "swapEdit"), QStringLiteral("red=green"));
    auto* slider = child<QSlider>(&page, "injectSlider");
    QTest::keyClick(slider, Qt::Key_Home);
    QSignalSpy finished(&page, &ComparePage::comparisonFinished);
    QTest::mouseClick(child<QPushButton>(&page, "compareButton"), Qt::LeftButton);
    QTRY_COMPARE_WITH_TIMEOUT(finished.size(), 1, kGenerateTimeoutMs);
    QVERIFY2(finished.first().first().toBool(), qPrintable(page.statusText()));

    t2i::ui::LabelledImageGrid* grid = page.grid();
    QCOMPARE(grid->columnCount(), 5);
    QVERIFY(grid->isComplete());
    const QImage a = referenceImage(request(kPrompt, 2, 5.0, 10, defaultSampler));
    QVERIFY(samePixels(grid->image(0, 0), a));
    QVERIFY(samePixels(grid->image(0, 1),
                       referenceImage(request(QStringLiteral("a green circle above a blue square"), 2, 5.0, 10, defaultSampler))));
    QVERIFY(!samePixels(grid->image(0, 1), a));
    QVERIFY(!samePixels(grid->image(0, 3), a));  // the word's map laid over A
    // The maps' one colour scale is named in the title, which the export draws too.
    QVERIFY2(grid->title().contains(QStringLiteral("maps: share of the attention, 0 (dark) to 0.")), qPrintable(grid->title()));
    QVERIFY(page.grab().save(t2i::test::artifactsDir() + QStringLiteral("/compare-word-swap.png")));

    // Full injection: B's layers attend as A's did; with the word swapped for itself, B is A.
    QTest::keyClick(slider, Qt::Key_End);
    QVERIFY(child<QLabel>(&page, "injectLabel")->text().contains(QStringLiteral("100%")));
    QTest::mouseClick(child<QPushButton>(&page, "compareButton"), Qt::LeftButton);
    QTRY_COMPARE_WITH_TIMEOUT(finished.size(), 2, kGenerateTimeoutMs);
    QVERIFY(finished.last().first().toBool());
    const QImage injected = grid->image(0, 1);
    QVERIFY(!samePixels(injected, grid->image(0, 0)));
    QVERIFY(page.grab().save(t2i::test::artifactsDir() + QStringLiteral("/compare-word-swap-injected.png")));
    setLineEdit(child<QLineEdit>(&page, "swapEdit"), QStringLiteral("red=red"));
    QTest::mouseClick(child<QPushButton>(&page, "compareButton"), Qt::LeftButton);
    QTRY_COMPARE_WITH_TIMEOUT(finished.size(), 3, kGenerateTimeoutMs);
    QVERIFY(samePixels(grid->image(0, 1), grid->image(0, 0)));

    // The export records the swap and its injection; opening it restores them.
    QTemporaryDir dir;
    const QString exported = dir.filePath(QStringLiteral("swap.png"));
    QVERIFY(page.exportPng(exported));
    const QImage read(exported, "PNG");
    QCOMPARE(read.text(QStringLiteral("swap_from")), QStringLiteral("red"));
    QCOMPARE(read.text(QStringLiteral("swap_to")), QStringLiteral("red"));
    QCOMPARE(read.text(QStringLiteral("inject_attention")), QStringLiteral("1"));
    restoreCompareDefaults(page);
    setLineEdit(child<QLineEdit>(&page, "swapEdit"), QString());
    QTest::keyClick(slider, Qt::Key_Home);
    QVERIFY(page.openPng(exported));
    QVERIFY(page.form().mode == t2i::ui::CompareMode::WordSwap);
    QCOMPARE(child<QLineEdit>(&page, "swapEdit")->text(), QStringLiteral("red=red"));
    QCOMPARE(slider->value(), slider->maximum());

    // A word the prompt lacks is named.
    setLineEdit(child<QLineEdit>(&page, "swapEdit"), QStringLiteral("purple=green"));
    QTest::mouseClick(child<QPushButton>(&page, "compareButton"), Qt::LeftButton);
    QTRY_COMPARE_WITH_TIMEOUT(finished.size(), 4, kGenerateTimeoutMs);
    QVERIFY(!finished.last().first().toBool());
    QVERIFY2(page.statusText().contains(QStringLiteral("purple")), qPrintable(page.statusText()));
  }

  void schedulesShowTheCoreCurvesAndNoisedImages() {
    SchedulesPage page;
    page.resize(1200, 800);
    QSignalSpy ready(&page, &SchedulesPage::demoImagesReady);
    page.show();
    QVERIFY(QTest::qWaitForWindowExposed(&page));
    QTRY_COMPARE_WITH_TIMEOUT(ready.size(), 1, 60000);
    QVERIFY2(ready.first().first().toInt() > 0, "the demo images could not be made");
    QVERIFY(!page.sourceImage().isNull());
    QCOMPARE(page.sourceImage().size(), QSize(64, 64));

    // The plotted curves are the diffusion facade's values, point for point.
    const auto expectCurves = [&] {
      for (ScheduleKind kind : {ScheduleKind::Linear, ScheduleKind::Cosine}) {
        const auto curves = t2i::diffusion::schedule_curves(page.spec(kind), page.p2K(), page.p2Gamma());
        const QVector<QPointF> alphaBar = page.plotted(SchedulesPage::Quantity::AlphaBar, kind);
        const QVector<QPointF> p2 = page.plotted(SchedulesPage::Quantity::P2Weight, kind);
        QCOMPARE(static_cast<std::size_t>(alphaBar.size()), curves.t.size());
        QCOMPARE(static_cast<std::size_t>(p2.size()), curves.t.size());
        for (std::size_t i = 0; i < curves.t.size(); ++i) {
          QCOMPARE(alphaBar[static_cast<int>(i)].x(), curves.t[i]);
          QCOMPARE(alphaBar[static_cast<int>(i)].y(), curves.alpha_bar[i]);
          QCOMPARE(p2[static_cast<int>(i)].y(), curves.p2_weight[i]);
        }
        int finite = 0;
        for (double v : curves.log_snr) finite += std::isfinite(v) ? 1 : 0;
        const QVector<QPointF> logSnr = page.plotted(SchedulesPage::Quantity::LogSnr, kind);
        QCOMPARE(logSnr.size(), finite);
        // P2 weight against its closed form 1 / (k + e^λ)^γ (Choi 2022), from the plotted log-SNR.
        for (const QPointF& point : logSnr) {
          const auto at = std::find_if(p2.begin(), p2.end(), [&](const QPointF& q) { return q.x() == point.x(); });
          QVERIFY(at != p2.end());
          const double expected = std::pow(page.p2K() + std::exp(point.y()), -page.p2Gamma());
          QVERIFY2(std::abs(at->y() - expected) <= 1e-6 * std::max(1.0, expected),
                   qPrintable(QStringLiteral("t = %1: %2 vs %3").arg(point.x()).arg(at->y()).arg(expected)));
        }
      }
    };
    expectCurves();
    // The sliders for k and γ re-plot the weight.
    QTest::keyClick(child<QSlider>(&page, "p2KSlider"), Qt::Key_Right);
    QTest::keyClick(child<QSlider>(&page, "p2GammaSlider"), Qt::Key_PageUp);
    QCOMPARE(page.p2K(), 1.1);
    QVERIFY(page.p2Gamma() > 0.5);
    expectCurves();
    // So does the number of steps (continuous time).
    auto* steps = child<QComboBox>(&page, "scheduleSteps");
    selectData(steps, QString::number(0));
    QCOMPARE(page.spec(ScheduleKind::Cosine).steps, 0);
    expectCurves();
    selectData(steps, QString::number(1000));

    // The t slider changes both images; at t = 0.5 the linear schedule has destroyed more of the
    // image than the cosine one (the paper's Figure 2).
    page.setT(0.5);
    const QImage linearHalf = page.view(ScheduleKind::Linear)->image();
    const QImage cosineHalf = page.view(ScheduleKind::Cosine)->image();
    QVERIFY(meanDifference(linearHalf, page.sourceImage()) > meanDifference(cosineHalf, page.sourceImage()));
    QTest::keyClick(page.timeSlider(), Qt::Key_PageUp);
    QVERIFY(page.t() > 0.5);
    QVERIFY(!samePixels(page.view(ScheduleKind::Linear)->image(), linearHalf));
    QVERIFY(!samePixels(page.view(ScheduleKind::Cosine)->image(), cosineHalf));
    QVERIFY(page.strip()->isComplete());
    QCOMPARE(page.strip()->columnCount(), SchedulesPage::stripTimes().size());
  }

  void pagesFitA1280x720Screen() {
    requireCheckpoint();
    // The page area a 1280×720 main window leaves beside the page list and between the menu and
    // the log dock (measured: 174 px across, 154 px down). A layout whose minimum is larger is
    // squeezed there: widgets overlap or are cut off. Filled to the most each page shows.
    const QSize area(1100, 560);
    const auto expectFits = [&](QWidget* page, const QString& name) {
      QCoreApplication::processEvents();
      const QSize minimum = page->minimumSizeHint();
      QVERIFY2(minimum.width() <= area.width() && minimum.height() <= area.height(),
               qPrintable(QStringLiteral("%1 needs %2×%3").arg(name).arg(minimum.width()).arg(minimum.height())));
      QCOMPARE(page->size(), area);
      QVERIFY(page->grab().toImage().save(t2i::test::artifactsDir() + QStringLiteral("/studio-%1-720p.png").arg(name)));
    };
    GeneratePage generate;
    generate.resize(area);
    generate.checkpointPicker()->setPath(checkpoint_);
    generate.show();
    QVERIFY(QTest::qWaitForWindowExposed(&generate));
    QTRY_VERIFY_WITH_TIMEOUT(!child<QLabel>(&generate, "modelInfo")->text().isEmpty(), 60000);
    fill(generate, kPrompt, QStringLiteral("7"), 5.0, 10, QStringLiteral("ddim"));
    child<QSpinBox>(&generate, "imagesSpin")->setValue(GeneratePage::kMaxImages);
    QVERIFY(generateAndWait(generate));
    expectFits(&generate, QStringLiteral("generate"));

    const auto compareDefaults = qScopeGuard([] {
      t2i::ui::settings::compareScales.reset();
      t2i::ui::settings::compareSeeds.reset();
      t2i::ui::settings::compareSteps.reset();
      t2i::ui::settings::compareUseSecondCheckpoint.reset();
      t2i::ui::settings::compareSecondCheckpoint.reset();
    });
    ComparePage compare;
    compare.resize(area);
    compare.checkpointA()->setPath(checkpoint_);
    compare.show();
    QVERIFY(QTest::qWaitForWindowExposed(&compare));
    setLineEdit(child<QLineEdit>(&compare, "scalesEdit"), QStringLiteral("1, 2, 3, 4, 5, 6"));
    setLineEdit(child<QLineEdit>(&compare, "seedsEdit"), QStringLiteral("0, 1, 2"));
    child<QSpinBox>(&compare, "compareSteps")->setValue(5);
    child<QCheckBox>(&compare, "useSecondCheckpoint")->setChecked(true);
    compare.checkpointB()->setPath(checkpoint_);
    QSignalSpy compared(&compare, &ComparePage::comparisonFinished);
    QVERIFY(compare.compare());
    QTRY_COMPARE_WITH_TIMEOUT(compared.size(), 1, kGenerateTimeoutMs);
    expectFits(&compare, QStringLiteral("compare"));
  }

  void screenshotsOfEachPage() {
    requireCheckpoint();
    t2i::ui::MainWindow window;
    GeneratePage* generate = generatePageIn(window, QSize(1280, 860));
    QVERIFY(generate);
    fill(*generate, kPrompt, QStringLiteral("7"), 5.0, 50, QStringLiteral("ddim"));
    QVERIFY(generateAndWait(*generate));
    generate->scrubber()->setValue(20);
    QTest::qWait(100);  // the new result views are laid out by posted events, as a user would see them
    const QImage generateShot = window.grab().toImage();
    QVERIFY(generateShot.save(t2i::test::artifactsDir() + QStringLiteral("/studio-generate.png")));
    // Not blank: the final image is on screen, magnified by a whole factor.
    QVERIFY(colourCount(generateShot) > 50);
    QVERIFY2(scaleShowing(generateShot, {generate->result(0)}) > 0, "the generated image is not in the screenshot");

    window.showPage(t2i::ui::Page::Compare);
    auto* compare = qobject_cast<ComparePage*>(window.pageWidget(t2i::ui::Page::Compare));
    QVERIFY(compare);
    compare->checkpointA()->setPath(checkpoint_);
    setLineEdit(child<QLineEdit>(compare, "scalesEdit"), QStringLiteral("1, 3, 5, 8"));
    setLineEdit(child<QLineEdit>(compare, "seedsEdit"), QStringLiteral("0, 1"));
    child<QSpinBox>(compare, "compareSteps")->setValue(25);
    child<QCheckBox>(compare, "useSecondCheckpoint")->setChecked(false);
    QSignalSpy compared(compare, &ComparePage::comparisonFinished);
    QVERIFY(compare->compare());
    QTRY_COMPARE_WITH_TIMEOUT(compared.size(), 1, kGenerateTimeoutMs);
    QCoreApplication::processEvents();
    const QImage compareShot = window.grab().toImage();
    QVERIFY(compareShot.save(t2i::test::artifactsDir() + QStringLiteral("/studio-compare.png")));
    // The 2 × 4 grid on screen: eight different images, each once, in their rows and columns.
    QList<QImage> tiles;
    for (int row = 0; row < 2; ++row)
      for (int column = 0; column < 4; ++column) tiles << compare->grid()->image(row, column);
    const int shown = scaleShowing(compareShot, tiles);
    QVERIFY2(shown > 0, "the comparison grid is not in the screenshot");
    expectGridTiles(compareShot, *compare->grid(), shown);
    if (QTest::currentTestFailed()) return;

    window.showPage(t2i::ui::Page::Schedules);
    auto* schedules = qobject_cast<SchedulesPage*>(window.pageWidget(t2i::ui::Page::Schedules));
    QVERIFY(schedules);
    QTRY_VERIFY_WITH_TIMEOUT(!schedules->sourceImage().isNull(), 60000);
    schedules->setT(0.4);
    QCoreApplication::processEvents();
    const QImage schedulesShot = window.grab().toImage();
    QVERIFY(schedulesShot.save(t2i::test::artifactsDir() + QStringLiteral("/studio-schedules.png")));
    QVERIFY(colourCount(schedulesShot) > 50);
    QVERIFY2(scaleShowing(schedulesShot, {schedules->view(ScheduleKind::Linear)->image(),
                                          schedules->view(ScheduleKind::Cosine)->image()}) > 0,
             "the noised images are not in the screenshot");
  }
};

QTEST_MAIN(TestStudioGenerate)
#include "test_studio_generate.moc"
