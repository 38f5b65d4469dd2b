// The Compare page: one prompt and the same seeds at several guidance scales side by side (the
// paper's 5 against 8 by default), optionally from two checkpoints, as a labelled grid that
// exports as a PNG with the same metadata `t2i sample` writes (plus the grid's rows and columns).
// Opening a PNG (an export, or any image the studio or `t2i sample` generated) restores the form.
// Two more modes look at one frozen trajectory: its scale × step grid (rows: scales sampled as
// one batch; columns: x̂₀ at chosen steps), and a word swap (A, B, |A − B| and both words' maps,
// with an injection slider for A's cross-attention).
#pragma once

#include "pages/job_page.h"
#include "sampling/comparison.h"
#include "sampling/sampling_job.h"

#include <optional>

class QCheckBox;
class QComboBox;
class QGridLayout;
class QLabel;
class QLayout;
class QLineEdit;
class QProgressBar;
class QPushButton;
class QSlider;
class QSpinBox;

namespace t2i::ui {

class CheckpointPicker;
class LabelledImageGrid;

class ComparePage : public JobPage {
  Q_OBJECT
public:
  explicit ComparePage(QWidget* parent = nullptr);
  ~ComparePage() override;

  /// Starts the comparison; false with the reason in statusText().
  bool compare();
  void cancel();
  bool isRunning() const;

  bool hasRunningJob() const override;
  QString runningJobDescription() const override;
  void stopJobs() override;
  /// Writes the labelled grid with its metadata; false with the reason in statusText().
  /// Writes the grid with the comparison's metadata, `scale` times enlarged.
  bool exportPng(const QString& path, int scale = 1);
  /// Restores the form from a PNG's generation metadata; false with the reason in statusText().
  bool openPng(const QString& path);

  /// The controls' current values.
  ComparisonForm form() const;
  void applyForm(const ComparisonForm& form);

  LabelledImageGrid* grid() const { return grid_; }
  CheckpointPicker* checkpointA() const { return checkpointA_; }
  CheckpointPicker* checkpointB() const { return checkpointB_; }
  QString statusText() const;

Q_SIGNALS:
  /// A comparison ended: `completed` is false when it was cancelled or failed.
  void comparisonFinished(bool completed);

private:
  QGridLayout* createForm();
  QLayout* createButtons();
  void connectJob();
  /// Runs `tasks` (recording every step when asked) with a progress bar of `progressSteps`.
  bool start(const QVector<SamplingTask>& tasks, bool recordSteps, int progressSteps, const QString& status);
  void onTaskFinished(const TaskResult& result);
  void showTrajectory();
  void onModeChanged();
  QString doneText() const;
  void loadSettings();
  void saveSettings() const;
  void setBusy(bool busy);
  void setStatus(const QString& text, bool error = false);

  SamplingJob* job_;
  QComboBox* mode_;
  QLineEdit* prompt_;
  QLineEdit* scales_;
  QLineEdit* seeds_;
  QSpinBox* steps_;
  QComboBox* sampler_;
  QComboBox* thresholding_;
  CheckpointPicker* checkpointA_;
  QCheckBox* useB_;
  CheckpointPicker* checkpointB_;
  QLineEdit* gridSteps_;
  QLineEdit* swap_;
  QSlider* inject_;
  QLabel* injectLabel_;
  QPushButton* compare_;
  QPushButton* cancel_;
  QPushButton* export_;
  QPushButton* open_;
  QProgressBar* progress_;
  QLabel* status_;
  LabelledImageGrid* grid_;
  std::optional<Comparison> running_;            ///< the comparison shown (or being run), guidance × seeds
  std::optional<SingleTaskComparison> single_;   ///< or the trajectory or word swap shown (or being run)
  std::optional<QString> scalesOutsideTrajectory_;  ///< in Trajectory mode, the scales the other modes had
  std::optional<t2i::sample::ModelInfo> topLeftModel_;  ///< the model of the grid's first column
};

} // namespace t2i::ui
