// The pages' rules that need no widget: the Data page's dataset choice → DataSpec, the Train
// page's form → trainer options and run folder names, the Schedules page's demo captions,
// centre crop and pixel range.
#include "test_support.h"

#include "data/data_form.h"
#include "data/schedule_image.h"
#include "data/thumbnail_model.h"
#include "getting_started.h"
#include "sampling/image_files.h"
#include "sampling/neighbour_search.h"
#include "widgets/curve_plot.h"
#include "plots/log_ticker.h"
#include "plots/training_curves.h"
#include "settings.h"
#include "training/probe_gallery_view.h"
#include "training/train_form.h"

#include <QDir>
#include <QFile>
#include <QLocale>
#include <QTemporaryDir>
#include <QtTest/QtTest>

using namespace t2i::ui;

class TestPageLogic : public QObject {
  Q_OBJECT
private Q_SLOTS:
  void initTestCase() { QLocale::setDefault(QLocale(QLocale::English, QLocale::UnitedStates)); }

  void trainOptionsCarryEveryChoice() {
    TrainForm form;
    form.preset = QStringLiteral("demo");
    form.device = QStringLiteral("cpu");
    form.t5 = true;
    form.t5Folder = QStringLiteral("/models/t5");
    form.inceptionWeights = QStringLiteral("/models/inception.pth");
    form.selection = t2i::train::Selection::ValP2AndFid;
    form.maxSteps = 1234;
    form.activationCheckpointing = true;
    form.probeGallery = false;
    form.probePrompts = QStringList{QStringLiteral("a red circle"), QStringLiteral("two green squares")};
    t2i::train::DataSpec data;
    data.demo = true;
    data.demo_images = 77;
    const t2i::train::TrainOptions options = trainOptions(form, data);
    QCOMPARE(options.preset, std::string("demo"));
    QCOMPARE(options.device, std::string("cpu"));
    QCOMPARE(options.t5_dir, std::string("/models/t5"));
    QCOMPARE(options.inception_weights, std::string("/models/inception.pth"));
    QVERIFY(options.selection == t2i::train::Selection::ValP2AndFid);
    QCOMPARE(options.max_steps, std::int64_t{1234});
    QVERIFY(options.activation_checkpointing);
    QVERIFY(!options.probe_gallery);
    QVERIFY(options.probe_prompts == (std::vector<std::string>{"a red circle", "two green squares"}));
    QVERIFY(options.data.demo);
    QCOMPARE(options.data.demo_images, 77);
  }

  void probePromptsAreTheNonEmptyLinesTrimmed() {
    QCOMPARE(probePromptLines(QStringLiteral("  a red circle \n\n\t\ntwo green squares\r\n")),
             (QStringList{QStringLiteral("a red circle"), QStringLiteral("two green squares")}));
    QVERIFY(probePromptLines(QString()).isEmpty());
    QVERIFY(trainOptions(TrainForm{}, std::nullopt).probe_prompts.empty());
  }

  // The verdict compares the nearest value with the threshold in the measure's own direction:
  // higher is closer for a similarity, lower for a distance.
  void memorisationVerdictFollowsTheMeasuresDirection() {
    NeighbourResult result;
    result.haveThreshold = true;
    result.threshold = 0.10;
    result.measure = t2i::evaluate::NeighbourMeasure::PixelL2;
    result.matches = {NeighbourMatch{QImage(), 7, QStringLiteral("a red circle"), 0.0}};
    QVERIFY(looksMemorised(result));
    QVERIFY(memorisationVerdict(result).contains(QStringLiteral("#7")));
    QVERIFY(memorisationVerdict(result).contains(QStringLiteral("may copy")));
    result.matches.front().value = 0.25;
    QVERIFY(!looksMemorised(result));
    QVERIFY(memorisationVerdict(result).startsWith(QStringLiteral("Not unusually close")));

    result.measure = t2i::evaluate::NeighbourMeasure::InceptionCosine;
    result.threshold = 0.9;
    result.matches.front().value = 0.95;
    QVERIFY(looksMemorised(result));
    result.matches.front().value = 0.5;
    QVERIFY(!looksMemorised(result));

    result.haveThreshold = false;
    QVERIFY(!looksMemorised(result));
    QVERIFY(memorisationVerdict(result).contains(QStringLiteral("one image")));
    result.matches.clear();
    QVERIFY(memorisationVerdict(result).isEmpty());
  }

  void memorisationTextMarksTheStepAndKeepsTheLatestShares() {
    t2i::train::MemorisationCurve curve;
    curve.threshold = 0.0312;
    curve.images = 300;
    for (int i = 0; i < 15; ++i) curve.points.push_back({i * 100, i / 14.0, i, 14, 0.0});
    const QString line = memorisationText(curve, 1400);
    QVERIFY2(line.contains(QStringLiteral("step 1400: 14 of 14")), qPrintable(line));
    QVERIFY(line.contains(QStringLiteral("[100%]")));
    QVERIFY2(line.contains(QStringLiteral("evaluation: … · 21% · ")), qPrintable(line));  // the oldest three left out
    QVERIFY(line.contains(QStringLiteral("0.031")));
    QVERIFY(line.contains(QStringLiteral("300 images")));
    QVERIFY(memorisationText(curve, 150).isEmpty());           // no evaluation at that step
    // The baseline's histogram rides in the line: bars by share of the largest bin, empty bins blank.
    curve.baseline = {0.002, 0.132, {8, 4, 1, 0, 2}};
    QVERIFY2(memorisationText(curve, 1400).contains(QStringLiteral("from 0.002 |█▅▂ ▃| to 0.132")),
             qPrintable(memorisationText(curve, 1400)));
    QCOMPARE(sparkline({}), QString());
    QCOMPARE(sparkline({0, 0}), QStringLiteral("  "));
    QCOMPARE(sparkline({1, 100}), QStringLiteral("▂█"));  // one image still shows
  }

  void neighbourLabelsGiveIndexValueAndCaption() {
    const NeighbourMatch match{QImage(), 12, QStringLiteral("two blue squares"), 0.9126};
    const QStringList lines = neighbourLabel(match).split(QLatin1Char('\n'));
    QCOMPARE(lines.size(), 2);
    QVERIFY(lines.front().startsWith(QStringLiteral("#12")));
    QVERIFY(lines.front().contains(QLocale().toString(0.913, 'f', 3)));
    QCOMPARE(lines.back(), QStringLiteral("two blue squares"));
    NeighbourResult pixels;
    QVERIFY(describeMeasure(pixels).contains(QStringLiteral("pixel")));
    pixels.measureNote = QStringLiteral("no Inception weights given");
    QVERIFY(describeMeasure(pixels).endsWith(QStringLiteral("no Inception weights given")));
  }

  // A new run has an end by default; 0 says what ends it, which depends on the preset.
  void maxStepsHaveAnEndAndSayWhatZeroMeans() {
    QVERIFY(TrainForm{}.maxSteps > 0);
    QCOMPARE(trainOptions(TrainForm{}, std::nullopt).max_steps, std::int64_t{TrainForm{}.maxSteps});
    QVERIFY(unlimitedStepsText(10).contains(QStringLiteral("early stopping")));
    QVERIFY(unlimitedStepsText(std::nullopt).contains(QStringLiteral("until stopped")));
  }

  // As with `t2i train`: the gallery is on unless turned off.
  void newRunsKeepAProbeGalleryByDefault() {
    QVERIFY(trainOptions(TrainForm{}, std::nullopt).probe_gallery);
    QCOMPARE(trainOptions(TrainForm{}, std::nullopt).probe_gallery, t2i::train::TrainOptions{}.probe_gallery);
  }

  void learnedTextEncoderIgnoresTheT5Folder() {
    TrainForm form;
    form.t5 = false;
    form.t5Folder = QStringLiteral("/models/t5");
    const t2i::train::TrainOptions options = trainOptions(form, std::nullopt);
    QVERIFY(options.t5_dir.empty());
    QCOMPARE(options.data.demo, t2i::train::DataSpec{}.demo);
  }

  void newRunFoldersAreNamedByPresetAndTimeAndNeverReused() {
    QTemporaryDir root;
    const QDateTime now(QDate(2026, 3, 4), QTime(5, 6, 7));
    const QString first = newRunFolder(root.path(), QStringLiteral("demo"), now);
    QCOMPARE(first, root.filePath(QStringLiteral("demo-20260304-050607")));
    QVERIFY(QDir().mkpath(first));
    QCOMPARE(newRunFolder(root.path(), QStringLiteral("demo"), now), root.filePath(QStringLiteral("demo-20260304-050607-2")));
    QVERIFY(QDir().mkpath(root.filePath(QStringLiteral("demo-20260304-050607-2"))));
    QCOMPARE(newRunFolder(root.path(), QStringLiteral("demo"), now), root.filePath(QStringLiteral("demo-20260304-050607-3")));
  }

  void demoDataSpecUsesItsSceneCountAndNoCaptionsFile() {
    DataForm form;
    form.demo = true;
    form.demoImages = 300;
    form.annotations = QStringLiteral("/data/captions.json");
    form.maxImages = 5000;
    const t2i::train::DataSpec spec = dataSpec(form, 32, QStringLiteral("/caches"));
    QVERIFY(spec.demo);
    QCOMPARE(spec.demo_images, 300);
    QCOMPARE(spec.max_images, 300);
    QVERIFY(spec.annotations.empty());
    QVERIFY(QString::fromStdString(spec.cache_dir).startsWith(QStringLiteral("/caches/")));
    QCOMPARE(describe(form), QStringLiteral("Built-in demo dataset, 300 scenes"));
  }

  void captionsDataSpecIsCachedWhereTheCommandLinePutsIt() {
    QTemporaryDir root;
    DataForm form;
    form.demo = false;
    form.annotations = root.filePath(QStringLiteral("captions.json"));
    form.imagesFolder = root.filePath(QStringLiteral("images"));
    form.maxImages = 5000;
    const t2i::train::DataSpec spec = dataSpec(form, 64, root.filePath(QStringLiteral("caches")));
    QVERIFY(!spec.demo);
    QCOMPARE(QString::fromStdString(spec.annotations), form.annotations);
    QCOMPARE(QString::fromStdString(spec.images_dir), form.imagesFolder);
    QCOMPARE(spec.max_images, 5000);
    // `t2i data prepare --cache-root` names the same dataset's cache with data::cache_folder.
    t2i::data::SplitOptions split;
    split.max_images = 5000;
    QCOMPARE(spec.cache_dir, t2i::data::cache_folder(root.filePath(QStringLiteral("caches")).toStdString(),
                                                     {{spec.annotations, spec.images_dir}}, split, 64));
    QVERIFY(dataSpec(form, 32, root.filePath(QStringLiteral("caches"))).cache_dir != spec.cache_dir);
    QCOMPARE(describe(form), QStringLiteral("captions.json (up to 5,000 images)"));
    form.annotations.clear();
    QCOMPARE(describe(form), QStringLiteral("No captions file chosen (Data page)"));
    QVERIFY(!isComplete(form));
    QVERIFY(dataSpec(form, 64, root.filePath(QStringLiteral("caches"))).cache_dir.empty());
  }

  // The Data page's file dialog and tooltip list what the core reads, so a new caption format
  // shows up there without a UI edit.
  void captionFileDialogOffersEveryFormatTheCoreReads() {
    const QString filter = captionFileFilter();
    const QString text = captionFormatsText();
    for (const t2i::data::CaptionFormat& format : t2i::data::caption_formats()) {
      const QString extension = QString::fromStdString(format.extension);
      QVERIFY2(filter.contains(QLatin1Char('*') + extension + QLatin1Char(' ')) ||
                   filter.contains(QLatin1Char('*') + extension + QLatin1Char(')')),
               qPrintable(filter));
      QVERIFY2(text.contains(extension + QStringLiteral(": ")), qPrintable(text));
    }
    QVERIFY(filter.endsWith(QStringLiteral(";;All files (*)")));
  }

  void firstCaptionsFollowTheImagesOrder() {
    QTemporaryDir dir;
    QFile file(dir.filePath(QStringLiteral("captions.json")));
    QVERIFY(file.open(QIODevice::WriteOnly));
    file.write(R"({"images": [{"id": 7, "file_name": "b.png"}, {"id": 3, "file_name": "a.png"}, {"id": 9, "file_name": "c.png"}],
                  "annotations": [{"image_id": 3, "caption": "first of a"}, {"image_id": 7, "caption": "first of b"},
                                  {"image_id": 3, "caption": "second of a"}]})");
    file.close();
    const CaptionedFiles listed = readFirstCaptions(file.fileName(), QStringLiteral("/images"));
    QCOMPARE(listed.files, (QStringList{QStringLiteral("/images/b.png"), QStringLiteral("/images/a.png"), QStringLiteral("/images/c.png")}));
    QCOMPARE(listed.captions, (QStringList{QStringLiteral("first of b"), QStringLiteral("first of a"), QString()}));
  }

  void captionsFileWithoutImagesIsAnErrorNamingIt() {
    QTemporaryDir dir;
    QFile file(dir.filePath(QStringLiteral("empty.json")));
    QVERIFY(file.open(QIODevice::WriteOnly));
    file.write(R"({"images": [], "annotations": []})");
    file.close();
    try {
      readFirstCaptions(file.fileName(), dir.path());
      QFAIL("no exception");
    } catch (const std::runtime_error& e) {
      QVERIFY(QString::fromUtf8(e.what()).contains(QStringLiteral("empty.json")));
    }
  }

  // The core's status names the reason once ("FID unavailable: …"); the note adds only how to turn
  // FID on in the studio, never a second "unavailable".
  void fidNoteSaysUnavailableOnce() {
    const QString status = QStringLiteral("FID unavailable: no Inception weights given. FID needs the standard weights");
    const QString note = TrainingCurves::fidUnavailableNote(status);
    QVERIFY2(note.startsWith(status), qPrintable(note));
    QCOMPARE(note.count(QStringLiteral("unavailable"), Qt::CaseInsensitive), 1);
    QVERIFY2(note.contains(QStringLiteral("under Evaluation")), qPrintable(note));
    QVERIFY(!TrainingCurves::fidUnavailableNote({}).contains(QStringLiteral("unavailable:")));
  }

  // The guide walks the first hour in order and says where files go, escaped as rich text.
  void gettingStartedWalksTheFirstHourAndNamesTheFolders() {
    const QString text = gettingStartedText(QStringLiteral("/home/a&b/runs"), QStringLiteral("/tmp/caches"));
    QStringList order{QStringLiteral("Data"), QStringLiteral("Train"), QStringLiteral("Generate"), QStringLiteral("Compare")};
    qsizetype at = 0;
    for (const QString& page : order) {
      const qsizetype found = text.indexOf(QStringLiteral("<b>%1</b>").arg(page), at);
      QVERIFY2(found >= at, qPrintable(page));
      at = found;
    }
    QVERIFY(text.contains(QStringLiteral("/home/a&amp;b/runs")));
    QVERIFY(text.contains(QStringLiteral("/tmp/caches")));
    QVERIFY(firstRunHint().contains(QStringLiteral("Getting started")));
  }

  // New installs keep runs and caches under <generic>/<application>/, not Qt's
  // <organisation>/<application> that repeats the name; a folder 0.1.0 left there stays in use.
  void studioFoldersNameTheApplicationOnceAndKeepOldOnes() {
    QTemporaryDir home;
    const QString generic = home.filePath(QStringLiteral("share"));
    const QString perApplication = generic + QStringLiteral("/org/") + QCoreApplication::applicationName();
    QCOMPARE(settings::applicationFolder(generic, perApplication, QStringLiteral("runs")),
             generic + QLatin1Char('/') + QCoreApplication::applicationName() + QStringLiteral("/runs"));
    QVERIFY(QDir().mkpath(perApplication + QStringLiteral("/runs")));
    QCOMPARE(settings::applicationFolder(generic, perApplication, QStringLiteral("runs")),
             perApplication + QStringLiteral("/runs"));
    QCOMPARE(settings::applicationFolder(generic, perApplication, QStringLiteral("datasets")),
             generic + QLatin1Char('/') + QCoreApplication::applicationName() + QStringLiteral("/datasets"));
  }

  // A log axis labels what a loss curve spans: several ticks below 0.1 as above, never crowded.
  void logAxisTicksSpreadOverTheRange() {
    QCOMPARE(logTicks(0.03, 0.5, 6), (QVector<double>{0.05, 0.1, 0.2, 0.5}));
    QCOMPARE(logTicks(0.3, 0.5, 6), (QVector<double>{0.3, 0.4, 0.5}));
    QCOMPARE(logTicks(0.002, 0.9, 6), (QVector<double>{0.003, 0.01, 0.03, 0.1, 0.3}));
    QCOMPARE(logTicks(1e-6, 10, 6), (QVector<double>{1e-6, 1e-4, 1e-2, 1}));
    QVERIFY(logTicks(0.41, 0.43, 6).isEmpty());  // inside one step: linear ticks instead
    for (double upper : {0.2, 1.0, 7.0, 300.0, 1e9}) {
      const QVector<double> ticks = logTicks(0.011, upper, 6);
      QVERIFY2(ticks.size() >= 2 && ticks.size() <= 6, qPrintable(QString::number(upper)));
      QVERIFY(ticks.front() >= 0.011 && ticks.back() <= upper);
    }
  }

  // Every thumbnail has one size, so a portrait image cannot reach into the caption under it.
  void portraitThumbnailsAreCentredOnASquare() {
    QImage portrait(20, 60, QImage::Format_RGB32);
    portrait.fill(QColor(10, 200, 30));
    const QImage square = ThumbnailModel::centredOnSquare(portrait);
    const int side = ThumbnailModel::kThumbnailSide;
    QCOMPARE(square.size(), QSize(side, side));
    QCOMPARE(qAlpha(square.pixel(0, side / 2)), 0);
    QCOMPARE(QColor(square.pixel(side / 2, side / 2)), QColor(10, 200, 30));
    QCOMPARE(QColor(square.pixel((side - 20) / 2, (side - 60) / 2)), QColor(10, 200, 30));
    QCOMPARE(qAlpha(square.pixel((side - 20) / 2 - 1, side / 2)), 0);
  }

  // Names a user can read and sort: the prompt's words, then what varies between images.
  void savedImagesGetNamesFromTheirSettings() {
    QCOMPARE(proposedImageName(QStringLiteral("A red Circle, above a blue square."), 77, 7.5),
             QStringLiteral("a-red-circle-above-a-blue-square_seed77_cfg7.5.png"));
    QCOMPARE(proposedImageName(QStringLiteral("🙂 ¿?"), 3, 5), QStringLiteral("image_seed3_cfg5.png"));
    QCOMPARE(proposedImageName(QStringLiteral("Café"), 0, 8), QStringLiteral("cafe_seed0_cfg8.png"));
    QCOMPARE(proposedGridName(QStringLiteral("a cat"), QStringLiteral("0, 1"), QStringLiteral("5, 8")),
             QStringLiteral("grid_a-cat_seeds0-1_cfg5-8.png"));
    QVERIFY(proposedImageName(QString(200, QLatin1Char('x')), 1, 1).length() < 70);
  }

  // ×4 repeats each pixel in a 4×4 block: nearest neighbour, no blending.
  void enlargedImagesRepeatPixels() {
    QImage image(2, 1, QImage::Format_RGB888);
    image.setPixel(0, 0, qRgb(255, 0, 0));
    image.setPixel(1, 0, qRgb(0, 0, 255));
    const QImage big = enlarged(image, 4);
    QCOMPARE(big.size(), QSize(8, 4));
    for (int y = 0; y < 4; ++y)
      for (int x = 0; x < 8; ++x) QCOMPARE(big.pixel(x, y), x < 4 ? qRgb(255, 0, 0) : qRgb(0, 0, 255));
    QCOMPARE(enlarged(image, 1), image);
  }

  // A flat curve gets an axis around its value, not a span of nothing where every tick reads the same.
  void flatCurvesGetAnAxisAroundTheirValue() {
    QCOMPARE(CurvePlot::paddedRange(0, 10), std::make_pair(-0.5, 10.5));
    const auto [lower, upper] = CurvePlot::paddedRange(1, 1);
    QVERIFY(qFuzzyCompare(lower, 0.9) && qFuzzyCompare(upper, 1.1));
    const auto [zeroLower, zeroUpper] = CurvePlot::paddedRange(0, 0);
    QVERIFY(zeroLower < 0 && zeroUpper > 0);
  }

  void squareImageKeepsTheMiddleOfTheLongerSide() {
    // 6×4: columns 0 and 5 red, the middle four green; the centre 4×4 square is all green.
    QImage wide(6, 4, QImage::Format_RGB888);
    wide.fill(Qt::green);
    for (int y = 0; y < 4; ++y) {
      wide.setPixelColor(0, y, Qt::red);
      wide.setPixelColor(5, y, Qt::red);
    }
    QTemporaryDir dir;
    const QString path = dir.filePath(QStringLiteral("wide.png"));
    QVERIFY(wide.save(path));
    const QImage square = loadSquareImage(path, 4);
    QCOMPARE(square.size(), QSize(4, 4));
    QCOMPARE(square.format(), QImage::Format_RGB888);
    for (int y = 0; y < 4; ++y)
      for (int x = 0; x < 4; ++x) QCOMPARE(square.pixelColor(x, y), QColor(Qt::green));
  }

  void pixelsMapTo_MinusOneToOneAndBack() {
    QImage image(2, 1, QImage::Format_RGB888);
    image.setPixelColor(0, 0, QColor(0, 255, 51));
    image.setPixelColor(1, 0, QColor(255, 0, 204));
    const std::vector<float> pixels = toSignedPixels(image);
    QCOMPARE(pixels.size(), std::size_t{6});
    QCOMPARE(pixels[0], -1.0f);
    QCOMPARE(pixels[1], 1.0f);
    QVERIFY(std::abs(pixels[2] - (51 / 127.5f - 1.0f)) < 1e-6f);
    QCOMPARE(fromSignedPixels(pixels, 2, 1), image);
    const QImage clamped = fromSignedPixels({-3.0f, 2.0f, 0.0f}, 1, 1);
    QCOMPARE(clamped.pixelColor(0, 0), QColor(0, 255, 128));
  }
};

QTEST_GUILESS_MAIN(TestPageLogic)
#include "test_page_logic.moc"
