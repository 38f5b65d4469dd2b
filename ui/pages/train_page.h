// The Train page: choose and edit a preset (every Table 1 field, with its parameter count and
// peak-memory estimate), the device, text encoder and Inception weights; start, pause, resume
// and stop a run; watch the training loss, validation P2 loss and FID live with throughput,
// ETA, best checkpoint, early-stopping countdown and the latest preview grid; open a finished
// run to see its curves and previews, and continue it from its last checkpoint; draw another
// run's curves over the shown run's to compare them.
#pragma once

#include "pages/job_page.h"
#include "training/best_evaluation.h"
#include "training/train_form.h"

#include "t2i/runs.h"
#include "t2i/train.h"

#include <QImage>
#include <QVector>

#include <optional>

class QCheckBox;
class QPlainTextEdit;
class QComboBox;
class QFormLayout;
class QLabel;
class QLineEdit;
class QProgressBar;
class QPushButton;
class QRadioButton;
class QSpinBox;
class QTabWidget;
class QTimer;

namespace t2i::ui {

class DataPage;
class JobRunner;
class LossByNoiseView;
class ProbeGalleryView;
class PresetEditor;
class TrainingCurves;
class TrainingSession;
struct PreviewFrame;
struct ProgressFrame;

/// A sample grid of a run: made while the page watched (image set) or read from its file.
struct PreviewEntry {
  std::int64_t step = 0;
  QImage image;
  QString path;
  QStringList prompts;
};

class TrainPage : public JobPage {
  Q_OBJECT
public:
  explicit TrainPage(QWidget* parent = nullptr);
  ~TrainPage() override;

  /// The page whose dataset choice training uses.
  void setDataPage(DataPage* page);

  TrainingCurves* curves() const { return curves_; }
  LossByNoiseView* lossByNoise() const { return lossByNoise_; }
  ProbeGalleryView* probeGallery() const { return probeGallery_; }
  PresetEditor* presetEditor() const { return editor_; }
  TrainingSession* session() const { return session_; }

  QString presetName() const;
  void setPresetName(const QString& name);

  /// The run folder being trained, or opened from the history; empty when none.
  QString runFolder() const { return runFolder_; }
  /// The options Start would use now, naming the preset (Start passes the edited preset as the
  /// run folder's preset.json instead).
  train::TrainOptions startOptions() const;
  /// The latest resource estimate for the edited preset, once it has arrived.
  const std::optional<train::ResourceEstimate>& resourceEstimate() const { return estimate_; }
  /// The preview image shown (the latest grid, or the one chosen from a run's history).
  QImage previewImage() const { return preview_; }

  bool isTraining() const;
  bool hasRunningJob() const override;
  QString runningJobDescription() const override;
  void stopJobs() override;

public Q_SLOTS:
  void start();
  void setPaused(bool paused);
  void stop();
  /// Reads a run folder's history (curves, previews, checkpoints) in the background.
  void openRun(const QString& folder);
  /// Continues the current or opened run from its latest checkpoint.
  void continueRun();
  /// Reads another run folder's history in the background and draws its curves over the shown run's.
  void compareWith(const QString& folder);
  /// Removes the compared run's curves.
  void clearComparison();

Q_SIGNALS:
  void presetNameChanged(const QString& name);
  /// A run folder's history has been read and shown.
  void runOpened(const QString& folder);
  /// A run ended (stopped, finished, or failed).
  void runEnded();
  /// Another run's curves are drawn over the shown run's.
  void comparisonShown(const QString& folder);

private:
  QWidget* createSettingsColumn();
  QWidget* createModelGroup(QWidget* column);
  QWidget* createComputeGroup(QWidget* column);
  void addTextEncoderRows(QFormLayout* fields, QWidget* group);
  void addInceptionRow(QFormLayout* fields, QWidget* group);
  QWidget* createRunGroup(QWidget* column);
  void createRunButtons(QWidget* group);
  void restoreSettings();
  void connectSettings();
  /// The settings column's choices as plain values.
  TrainForm form() const;
  QWidget* createRunView();
  QFormLayout* createFacts(QWidget* view);
  QWidget* createSamples();
  void loadPreset(const QString& name);
  void scheduleEstimate();
  /// The text Max steps shows for 0 follows the edited preset's early stopping.
  void updateMaxStepsText();
  void runEstimate();
  void showEstimate(const train::ResourceEstimate& estimate);
  void showEstimateError(const QString& message);
  bool launch(train::TrainOptions options);
  void onSteps(const std::vector<train::StepMetrics>& steps);
  void onEval(const train::EvalMetrics& eval);
  void onPreview(const PreviewFrame& frame);
  void onCheckpoint(const QString& path, bool best);
  void onProgress(const ProgressFrame& frame);
  void onEnded(const train::Summary& summary);
  void onFailed(const QString& message);
  void showHistory(const train::History& history);
  /// "val P2 … at step …" (with its FID when it had one) of best_; empty when there is none.
  /// bestText() and a separator, or nothing before the first best.
  QString bestPrefix() const;
  QString bestText() const;
  /// Shows grid `index` of previews_ (read from its file when it came from one).
  void showPreview(int index);
  /// Adds a grid to previews_ and the step list; shows it when the latest one was shown.
  void addPreview(PreviewEntry entry);
  void clearPreviews();
  void setPreviewImage(const QImage& image, std::int64_t step, const QStringList& prompts);
  /// The shown grid, enlarged in a window of its own.
  void showEnlargedPreview();
  bool eventFilter(QObject* watched, QEvent* event) override;
  void updateFidHint();
  void updateEnabled();
  void saveSettings() const;
  void browseOpenRun();
  void browseCompareRun();
  /// The runs folder as the field shows it (saved or not), or its default when empty.
  QString runsRoot() const;
  QString deviceName() const;

  DataPage* dataPage_ = nullptr;
  TrainingSession* session_;
  JobRunner* estimator_;
  JobRunner* historyReader_;
  JobRunner* comparisonReader_;
  QTimer* estimateDelay_;
  bool estimateStale_ = false;

  // Settings column.
  QComboBox* preset_;
  QPushButton* revertPreset_;
  PresetEditor* editor_;
  QLabel* estimateLabel_;
  QComboBox* device_;
  QSpinBox* threads_;
  QSpinBox* processes_;
  QCheckBox* checkpointing_;
  QRadioButton* learnedText_;
  QRadioButton* t5Text_;
  QLineEdit* t5Folder_;
  QPushButton* browseT5_;
  QLineEdit* inception_;
  QPushButton* browseInception_;
  QComboBox* selection_;
  QLineEdit* runsFolder_;
  QPushButton* browseRuns_;
  QSpinBox* maxSteps_;
  QCheckBox* keepProbes_;  ///< whether a new run keeps a probe gallery
  QPlainTextEdit* probePrompts_;  ///< the user's probe prompts, one per line
  QPushButton* start_;
  QPushButton* pause_;
  QPushButton* stop_;
  QPushButton* openRun_;
  QPushButton* continueRun_;
  QPushButton* compareRun_;
  QPushButton* clearComparison_;

  // Run view.
  QTabWidget* runTabs_;
  int samplesTab_ = -1;
  QLabel* datasetLabel_;
  QLabel* runLabel_;
  QProgressBar* progress_;
  QLabel* stepLabel_;
  QLabel* throughputLabel_;
  QLabel* etaLabel_;
  QLabel* bestLabel_;
  QLabel* earlyStopLabel_;
  QLabel* statusLabel_;
  TrainingCurves* curves_;
  LossByNoiseView* lossByNoise_;
  ProbeGalleryView* probeGallery_;
  QLabel* previewView_;
  QComboBox* previewStep_;
  QLabel* previewPrompts_;

  bool presetLoaded_ = false;
  QString runFolder_;
  QString latestCheckpoint_;
  std::int64_t lastStep_ = 0;
  std::optional<train::ResourceEstimate> estimate_;
  BestEvaluation best_;
  QImage preview_;
  QStringList previewCaptions_;  ///< the shown grid's prompts
  std::int64_t previewStepShown_ = 0;
  QVector<PreviewEntry> previews_;  ///< every grid of the run shown, by step
};

} // namespace t2i::ui
