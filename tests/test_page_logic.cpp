// The pages' rules that need no widget: the Data page's dataset choice → DataSpec, the Train
// page's form → trainer options and run folder names, the Schedules page's demo captions,
// centre crop and pixel range.
#include "test_support.h"

#include "data/data_form.h"
#include "data/schedule_image.h"
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
    QVERIFY(options.data.demo);
    QCOMPARE(options.data.demo_images, 77);
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
