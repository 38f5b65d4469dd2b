// The Generate page: a prompt, a classifier-free guidance slider and the sampler's settings turn
// into images while every denoising step is shown live (x_t and the predicted x₀), with a
// filmstrip of evenly spaced steps (the paper's Figure 1, backward row) and a scrubber to replay
// any step afterwards. Saved PNGs carry their settings; opening or dropping one restores them.
#pragma once

#include "pages/job_page.h"
#include "sampling/generation_settings.h"
#include "sampling/sampling_job.h"

#include <QElapsedTimer>

#include <map>
#include <string>
#include <vector>

class QCheckBox;
class QComboBox;
class QDoubleSpinBox;
class QFormLayout;
class QLabel;
class QLayout;
class QLineEdit;
class QProgressBar;
class QPushButton;
class QSlider;
class QSpinBox;
class QTimer;
class QVBoxLayout;

namespace t2i::ui {

class CascadeControls;
class CheckpointPicker;
class Filmstrip;
class GenerationHistory;
class GuidanceSlider;
class InsidePanels;
class NeighbourPanel;
class PixelImageView;

class GeneratePage : public JobPage {
  Q_OBJECT
public:
  static constexpr int kMaxImages = 8;
  static constexpr int kPromptHistory = 20;

  explicit GeneratePage(QWidget* parent = nullptr);
  ~GeneratePage() override;

  /// The controls' current settings (the seed as shown, even when "random" is ticked).
  GenerationSettings settings() const;
  /// How Look inside shows the images now (saved into their PNGs' metadata).
  t2i::sample::ImageInspection inspection() const;
  /// Sets the controls (the seed becomes fixed) without starting a generation.
  void applySettings(const GenerationSettings& settings);

  /// Starts a generation with the controls' settings; false with the reason in statusText().
  bool generate();
  void cancel();
  /// A generation (not just a model load) is in progress.
  bool isGenerating() const;

  bool hasRunningJob() const override;
  QString runningJobDescription() const override;
  void stopJobs() override;

  /// Saves the selected result with its generation metadata; false with the reason in statusText().
  /// Saves the selected image with its generation settings, `scale` times enlarged.
  bool savePng(const QString& path, int scale = 1);
  GenerationHistory* history() const { return history_; }
  /// Shows a PNG and restores the settings in its metadata; false when it cannot be read.
  bool openPng(const QString& path);
  void copyToClipboard() const;

  int resultCount() const { return static_cast<int>(results_.size()); }
  QImage result(int index) const;
  int selectedResult() const { return selected_; }
  void selectResult(int index);
  /// Seconds from generate() to the last finished generation's images.
  double lastSeconds() const { return lastSeconds_; }
  QString statusText() const;

  Filmstrip* filmstrip() const { return filmstrip_; }
  GuidanceSlider* guidanceSlider() const { return guidance_; }
  QSlider* scrubber() const { return scrubber_; }
  PixelImageView* noisyView() const { return noisyView_; }
  PixelImageView* predictedView() const { return predictedView_; }
  CheckpointPicker* checkpointPicker() const { return checkpoint_; }
  CascadeControls* cascadeControls() const { return cascade_; }
  InsidePanels* insidePanels() const { return insidePanels_; }
  NeighbourPanel* neighbourPanel() const { return neighbours_; }

Q_SIGNALS:
  /// A generation ended: `completed` is false when it was cancelled or failed.
  void generationFinished(bool completed);

protected:
  void dragEnterEvent(QDragEnterEvent* event) override;
  void dropEvent(QDropEvent* event) override;
  void showEvent(QShowEvent* event) override;

private:
  QWidget* createControls();
  void addModelRows(QFormLayout* form, QWidget* panel);
  void addPromptRows(QFormLayout* form, QWidget* panel);
  void addSamplerRows(QFormLayout* form, QWidget* panel);
  void addSeedRows(QFormLayout* form, QWidget* panel);
  QLayout* createRunControls(QWidget* panel);
  QLayout* createFileButtons(QWidget* panel);
  QWidget* createViews();
  QWidget* createResultsColumn(QWidget* area);
  QWidget* createFilmstripBox(QWidget* area);
  void loadSettings();
  void saveSettings() const;
  void rememberPrompt(const QString& prompt);
  void setBusy(bool busy);
  void setStatus(const QString& text, bool error = false);
  void onModelLoaded(const QString& checkpoint, const t2i::sample::ModelInfo& info);
  void onStep(const StepFrame& frame);
  void onPromptsRead(const std::vector<t2i::text::Tokenized>& prompts);
  void onTaskFinished(const TaskResult& result);
  /// The steps the generation takes over all its stages: the step views' range.
  void onStepsPlanned(const QList<int>& stageSteps);
  /// A cascade file was chosen: its base checkpoint and base settings go into the controls.
  void onCascadeChosen();
  void onJobFinished(bool cancelled);
  void onJobFailed(const QString& message);
  void onLoadFailed(const QString& message);
  void onGuidanceMoved();
  /// Starts a generation; `keepSeed` keeps the seed shown even when "new each time" is ticked
  /// (Freeze noise: the slider re-renders the same trajectory at another scale).
  bool startGeneration(bool keepSeed);
  /// The slider's re-run at the new scale.
  void regenerate();
  void showStep(int step);
  void showStepFrame(const StepFrame& frame);
  void fillFilmstrip(int upToStep);
  void showResults();
  /// The progress bar between generations: no step count that belongs to no generation.
  void showReady();
  /// Brings back a generation of the history: its settings in the controls, its image shown.
  void restoreFromHistory(const QImage& image, const GenerationSettings& settings);
  void updateThresholdControls();
  /// Look inside records one model's generation: off for a cascade, and said so.
  void updateInsideToggle();
  /// The Training neighbours tab follows the selected result and the checkpoint that made it.
  void updateNeighbourQuery();

  SamplingJob* job_;
  CheckpointPicker* checkpoint_;
  CascadeControls* cascade_;
  QLabel* modelInfo_;
  QComboBox* prompt_;
  GuidanceSlider* guidance_;
  QSpinBox* steps_;
  QComboBox* sampler_;
  QComboBox* thresholding_;
  QDoubleSpinBox* percentile_;
  QLineEdit* seed_;
  QCheckBox* randomSeed_;
  QSpinBox* images_;
  QCheckBox* autoRegenerate_;
  QCheckBox* freezeNoise_;
  QCheckBox* inside_;
  QLabel* promptNote_;
  QPushButton* generate_;
  QPushButton* cancel_;
  QProgressBar* progress_;
  QLabel* status_;
  QPushButton* save_;
  QPushButton* copy_;
  QPushButton* open_;

  PixelImageView* noisyView_;
  PixelImageView* predictedView_;
  QVBoxLayout* resultsColumn_;
  QList<PixelImageView*> resultViews_;
  QSlider* scrubber_;
  QLabel* scrubberLabel_;
  Filmstrip* filmstrip_;
  GenerationHistory* history_;
  InsidePanels* insidePanels_;
  NeighbourPanel* neighbours_;
  QTimer* regenerateTimer_;

  QString loadedCheckpoint_;         ///< the checkpoint whose preset set the guidance default
  QString loadedInfo_;               ///< modelInfo_'s line for loadedCheckpoint_
  GenerationSettings running_;       ///< what the current or last generation used
  GenerationSettings shown_;         ///< what made the results shown (a generation, a PNG, the history)
  bool autoRun_ = false;             ///< the current generation was started by the slider
  bool regeneratePending_ = false;
  bool generatePending_ = false;     ///< Generate was pressed while the model was loading
  bool haveRecording_ = false;       ///< the sampler's recording belongs to the images shown
  int filmstripFilled_ = 0;          ///< filmstrip columns already filled during this run
  int lastStep_ = 0;                 ///< StepFrame::position of the newest step
  int plannedSteps_ = 0;             ///< the current or last generation's steps over all its stages
  QElapsedTimer clock_;
  double lastSeconds_ = 0;
  QVector<QImage> results_;
  std::vector<std::map<std::string, std::string>> metadata_;
  QList<std::uint64_t> seeds_;
  int selected_ = 0;
};

} // namespace t2i::ui
