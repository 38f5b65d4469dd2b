// The Train page's preset editor, generated from the core's preset schema: every editable field
// has a widget with exactly the core's range and the schema's meaning as its tooltip; and the
// 0.1.0 fixture's metrics still plot on the Train page.
#include "test_support.h"

#include "pages/train_page.h"
#include "plots/metric_plot.h"
#include "plots/training_curves.h"
#include "training/preset_editor.h"

#include "t2i/model.h"
#include "t2i/runtime.h"

#include <QCheckBox>
#include <QComboBox>
#include <QDir>
#include <QDoubleSpinBox>
#include <QLabel>
#include <QSignalSpy>
#include <QSpinBox>
#include <QTemporaryDir>
#include <QtTest/QtTest>

#include <cmath>
#include <fstream>

#include <nlohmann/json.hpp>

using namespace t2i;

class TestPresetEditor : public QObject {
  Q_OBJECT
private Q_SLOTS:
  void initTestCase() {
    t2i::test::useOwnSettings();
    runtime::initialize();
  }

  void everyEditableFieldHasTheCoresRange() {
    ui::PresetEditor editor;
    editor.setPreset(model::find_preset("small"));
    int fields = 0;
    for (const model::PresetField& field : model::preset_schema()) {
      if (!field.editable) continue;
      ++fields;
      const QString key = QString::fromStdString(field.key);
      auto* widget = editor.findChild<QWidget*>(key);
      QVERIFY2(widget, field.key.c_str());
      QVERIFY2(widget->toolTip().contains(QString::fromStdString(field.allowed())), qPrintable(widget->toolTip()));
      QVERIFY2(widget->toolTip().contains(QString::fromStdString(field.help.substr(0, 20))), field.key.c_str());
      if (field.nullable) QVERIFY2(editor.findChild<QCheckBox*>(key + QStringLiteral("_enabled")), field.key.c_str());
      if (auto* box = qobject_cast<QSpinBox*>(widget)) {
        QCOMPARE(field.type, model::FieldType::Integer);
        QCOMPARE(box->minimum(), static_cast<int>(field.min_exclusive ? field.min + 1 : field.min));
        // The micro-batch's maximum follows the batch size (the core's max_batch_size <= batch_size).
        const int max = field.key == "max_batch_size" ? editor.preset().batch_size : static_cast<int>(field.max);
        QCOMPARE(box->maximum(), max);
      } else if (auto* real = qobject_cast<QDoubleSpinBox*>(widget)) {
        QCOMPARE(field.type, model::FieldType::Number);
        const double resolution = std::pow(10.0, -field.decimals);
        QCOMPARE(real->minimum(), field.min_exclusive ? field.min + resolution : field.min);
        QCOMPARE(real->maximum(), field.max);
      } else {
        QFAIL(qPrintable(QStringLiteral("no editor type for %1").arg(key)));
      }
    }
    QVERIFY(fields >= 15);
  }

  void editsReachThePresetAndRevert() {
    ui::PresetEditor editor;
    const model::Preset small = model::find_preset("small");
    editor.setPreset(small);
    QVERIFY(!editor.isModified());
    QCOMPARE(model::preset_to_json(editor.preset()), model::preset_to_json(small));
    editor.findChild<QSpinBox*>(QStringLiteral("unet.dim"))->setValue(1);  // the core's minimum, 8 before
    editor.findChild<QDoubleSpinBox*>(QStringLiteral("cond_scale"))->setValue(0.0);
    editor.findChild<QCheckBox*>(QStringLiteral("early_stop_enabled"))->setChecked(true);
    editor.findChild<QSpinBox*>(QStringLiteral("early_stop"))->setValue(700);
    QVERIFY(editor.isModified());
    const model::Preset edited = editor.preset();
    QCOMPARE(edited.unet.dim, 1);
    QCOMPARE(edited.cond_scale, 0.0);
    QCOMPARE(edited.early_stop.value_or(0), 700);
    // What the editor produces, the core reads back unchanged.
    QCOMPARE(model::preset_to_json(model::parse_preset(model::preset_to_json(edited), "edited")),
             model::preset_to_json(edited));
    editor.revert();
    QVERIFY(!editor.isModified());
  }

  void badPresetShowsTheCoresMessage() {
    // The CLI prints this same message for the same file (test_compat badPresetIsRejectedWithTheCoresMessage).
    QTemporaryDir dir;
    auto preset = nlohmann::json::parse(std::ifstream(model::find_preset("demo").path));
    preset["name"] = "bad";
    preset["unet"]["heads"] = 0;
    const std::string file = dir.filePath(QStringLiteral("bad.json")).toStdString();
    std::ofstream(file) << preset.dump(2);
    std::string message;
    try {
      model::load_preset(file);
    } catch (const std::exception& e) {
      message = e.what();
    }
    QVERIFY(message.find("[1, 128]") != std::string::npos);
    qputenv("T2I_PRESETS_DIR", dir.path().toUtf8());
    ui::TrainPage page;
    page.setPresetName(QStringLiteral("bad"));
    qunsetenv("T2I_PRESETS_DIR");
    QCOMPARE(page.presetName(), QStringLiteral("bad"));
    const QString shown = page.findChild<QLabel*>(QStringLiteral("resourceEstimate"))->text();
    QVERIFY2(shown.contains(QString::fromStdString(message).toHtmlEscaped()), qPrintable(shown));
  }

  void fixtureRunFromRelease010PlotsOnTheTrainPage() {
    QTemporaryDir dir;
    const QString run = dir.filePath(QStringLiteral("moved-run"));
    const QString source = QStringLiteral(T2I_SOURCE_DIR "/tests/fixtures/0.1.0/run");
    QVERIFY(QDir().mkpath(run));
    for (const QString& sub : {QStringLiteral("."), QStringLiteral("previews"), QStringLiteral("checkpoints")}) {
      QVERIFY(QDir(run).mkpath(sub));
      for (const QString& name : QDir(QDir(source).filePath(sub)).entryList(QDir::Files))
        QVERIFY(QFile::copy(QDir(source).filePath(sub + QLatin1Char('/') + name), QDir(run).filePath(sub + QLatin1Char('/') + name)));
    }
    ui::TrainPage page;
    QSignalSpy opened(&page, &ui::TrainPage::runOpened);
    page.openRun(run);
    QTRY_COMPARE_WITH_TIMEOUT(opened.count(), 1, 60000);
    QCOMPARE(page.curves()->lossPlot()->points(ui::TrainingCurves::RawLoss).size(), 30);
    QVERIFY(!page.curves()->valPlot()->points(0).isEmpty());
    QVERIFY(!page.previewImage().isNull());  // found in the moved folder, not at 0.1.0's absolute path
  }
};

QTEST_MAIN(TestPresetEditor)
#include "test_preset_editor.moc"
