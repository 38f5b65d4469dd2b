// The Data page: choose the built-in demo dataset or a COCO captions file with its images
// folder, read the dataset report (found / usable / skipped by reason, captions per image,
// caption lengths, split sizes), browse the usable images with their captions, and build the
// caches training reads (images, split, text embeddings) with a progress bar and Cancel.
#pragma once

#include "data/data_form.h"
#include "pages/job_page.h"

#include "t2i/data.h"
#include "t2i/train.h"

#include <optional>

class QComboBox;
class QLabel;
class QLayout;
class QLineEdit;
class QListView;
class QProgressBar;
class QPushButton;
class QRadioButton;
class QSpinBox;
class QTimer;
class QTreeWidget;

namespace t2i::ui {

class DatasetJob;
class ThumbnailModel;
struct ProgressFrame;

class DataPage : public JobPage {
  Q_OBJECT
public:
  explicit DataPage(QWidget* parent = nullptr);

  /// The dataset as training should read it: the same source and cache folder the caches were
  /// (or will be) built in, for images of `imageSize` pixels.
  train::DataSpec dataSpec(int imageSize) const;
  /// One line naming the chosen dataset, for the Train page.
  QString datasetDescription() const;
  bool isDemo() const;

  /// The preset the caches are built for (its image size and text length).
  QString presetName() const;
  void setPresetName(const QString& name);

  /// The report shown, if any (from Inspect or from building the caches).
  const std::optional<data::DatasetReport>& report() const { return report_; }
  ThumbnailModel* thumbnails() const { return thumbnails_; }

  bool hasRunningJob() const override;
  QString runningJobDescription() const override;
  void stopJobs() override;

public Q_SLOTS:
  void inspect();
  void buildCaches();
  void cancel();

Q_SIGNALS:
  /// The dataset choice changed (source, subset size or preset).
  void datasetChanged();
  void presetNameChanged(const QString& name);
  /// Caches were built (or found complete) for the current choice.
  void cachesReady();

private:
  /// The dataset choice as plain values.
  DataForm form() const;
  void nameWidgets();
  QWidget* createSettingsColumn();
  QWidget* createSourceGroup();
  QLayout* createActions();
  void setUpReportView();
  QWidget* createThumbnails();
  void restoreSettings();
  void connectControls();
  void connectJob();
  void showPrepared(const train::PreparedData& prepared);
  void browseAnnotations();
  void browseImages();
  void sourceChanged();
  void updateEnabled();
  void showProgress(const ProgressFrame& frame);
  void showReport(const data::DatasetReport& report);
  /// Inspect's report; N follows it down to the images the captions file lists.
  void showInspection(const data::DatasetReport& report);
  /// Shows again the report and gallery of a choice whose caches were built before.
  void showBuiltCaches();
  void jobEnded(bool cancelled);
  train::TrainOptions prepareOptions() const;
  int presetImageSize() const;
  void saveSettings() const;

  QRadioButton* demo_;
  QRadioButton* coco_;
  QSpinBox* demoImages_;
  QLineEdit* annotations_;
  QLineEdit* images_;
  QPushButton* browseAnnotations_;
  QPushButton* browseImages_;
  QSpinBox* maxImages_;
  QComboBox* preset_;
  QPushButton* inspect_;
  QPushButton* build_;
  QPushButton* cancel_;
  QProgressBar* progress_;
  QLabel* status_;
  QTreeWidget* reportView_;
  QListView* grid_;
  QLabel* gridNote_;
  ThumbnailModel* thumbnails_;
  DatasetJob* job_;
  QTimer* reload_;
  std::optional<data::DatasetReport> report_;
};

} // namespace t2i::ui
