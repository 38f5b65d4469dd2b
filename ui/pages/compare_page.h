// The Compare page: one prompt and the same seeds at several guidance scales side by side (the
// paper's 5 against 8 by default), optionally from two checkpoints, as a labelled grid that
// exports as a PNG.
#pragma once

#include "pages/job_page.h"
#include "sampling/sampling_job.h"

#include <optional>

class QCheckBox;
class QComboBox;
class QLabel;
class QLineEdit;
class QProgressBar;
class QPushButton;
class QSpinBox;

namespace t2i::ui {

class CheckpointPicker;
class LabelledImageGrid;

class ComparePage : public JobPage {
  Q_OBJECT
public:
  static constexpr int kMaxScales = 12;
  static constexpr int kMaxSeeds = 8;

  explicit ComparePage(QWidget* parent = nullptr);
  ~ComparePage() override;

  /// "5, 8" → {5, 8}; nullopt when a value is not a number in [0, 30] or the list is empty or too long.
  static std::optional<QList<double>> parseScales(const QString& text);
  /// "0, 1 2" → {0, 1, 2}; nullopt when a value is not a non-negative integer or the list is empty or too long.
  static std::optional<QList<std::uint64_t>> parseSeeds(const QString& text);

  /// Starts the comparison; false with the reason in statusText().
  bool compare();
  void cancel();
  bool isRunning() const;

  bool hasRunningJob() const override;
  QString runningJobDescription() const override;
  void stopJobs() override;
  /// Writes the labelled grid; false with the reason in statusText().
  bool exportPng(const QString& path);

  LabelledImageGrid* grid() const { return grid_; }
  CheckpointPicker* checkpointA() const { return checkpointA_; }
  CheckpointPicker* checkpointB() const { return checkpointB_; }
  QString statusText() const;

Q_SIGNALS:
  /// A comparison ended: `completed` is false when it was cancelled or failed.
  void comparisonFinished(bool completed);

private:
  void loadSettings();
  void saveSettings() const;
  void setBusy(bool busy);
  void setStatus(const QString& text, bool error = false);

  SamplingJob* job_;
  QLineEdit* prompt_;
  QLineEdit* scales_;
  QLineEdit* seeds_;
  QSpinBox* steps_;
  QComboBox* sampler_;
  QComboBox* thresholding_;
  CheckpointPicker* checkpointA_;
  QCheckBox* useB_;
  CheckpointPicker* checkpointB_;
  QPushButton* compare_;
  QPushButton* cancel_;
  QPushButton* export_;
  QProgressBar* progress_;
  QLabel* status_;
  LabelledImageGrid* grid_;
  int steps_per_task_ = 0;
  int rows_ = 0;
  bool failed_ = false;
};

} // namespace t2i::ui
