// Sampling off the GUI thread: loads checkpoints (cached, so moving the guidance slider does not
// reload the model), runs one or more requests in order, hands the GUI the newest denoising step
// through a LatestFrame and, when asked, records every step for replay.
#pragma once

#include "jobs/job_runner.h"
#include "jobs/latest_frame.h"

#include "t2i/sample.h"

#include <QDateTime>
#include <QImage>
#include <QObject>
#include <QVector>

#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

namespace t2i::ui {

/// One request to one checkpoint.
struct SamplingTask {
  QString checkpoint;
  t2i::sample::Request request;
  /// Record what happens inside the model (attention maps, guidance anatomy); off costs nothing.
  bool probes = false;
  /// With `swap.from` set, a word swap of the request's one prompt instead of a plain generation
  /// (Generator::swap_word): the result's images are wordSwapRow's (comparison.h), its metadata
  /// A's and B's.
  t2i::sample::WordSwap swap;
  /// With stages, a cascade instead of `checkpoint` (generate_cascade): `request` is the base
  /// stage's; the result holds the last stage's images and every stage's metadata.
  t2i::sample::Cascade cascade;
  QString cascadeFile;
};

/// One denoising step of every image of a task, as Qt images.
struct StepFrame {
  int task = -1;
  int step = 0;  ///< 1-based, within its stage
  int total = 0;  ///< the stage's steps
  int stage = 0;  ///< a cascade's stage, 0 = the base model
  int stages = 1;
  int position = 0;  ///< 1-based over every stage's steps (= step for one model)
  double t = 0;
  QVector<QImage> xt;
  QVector<QImage> x0;
};

struct TaskResult {
  int task = -1;
  QString checkpoint;
  t2i::sample::Request request;
  t2i::sample::ModelInfo model;
  QVector<QImage> images;
  std::vector<std::map<std::string, std::string>> metadata;  ///< PNG text of each image
  double seconds = 0;  ///< sampling only, after the model was loaded
  float mapTop = 0;    ///< a word swap's maps: the share of attention their brightest colour stands for
  /// What the task's probes recorded (empty without SamplingTask::probes).
  t2i::sample::AttentionMaps attention;
  t2i::sample::GuidanceAnatomy anatomy;
};

class SamplingJob : public QObject {
  Q_OBJECT
public:
  /// `threadName` names the worker thread (e.g. "generate").
  explicit SamplingJob(const QString& threadName, QObject* parent = nullptr);
  ~SamplingJob() override;

  /// Loads a checkpoint in the background (modelLoaded follows), so the first Generate is quick.
  bool load(const QString& checkpoint);
  /// Runs `tasks` in order: stepReached with the newest step, taskFinished for each, then
  /// finished(). With `recordSteps`, every step of the task being run is kept for replay.
  /// Returns false (and starts nothing) while a job runs.
  bool run(const QVector<SamplingTask>& tasks, bool recordSteps);
  void cancel();
  /// A load or a run is in progress.
  bool isRunning() const;
  bool isLoading() const { return isRunning() && !running_; }

  /// The recorded steps of the task being run or last run, in order.
  int recordedCount() const;
  /// The recorded step at `position` (StepFrame::position).
  std::optional<StepFrame> recordedStep(int position) const;

Q_SIGNALS:
  void status(const QString& message);
  void modelLoaded(const QString& checkpoint, const t2i::sample::ModelInfo& info);
  void loadFailed(const QString& message);
  /// How the model reads each prompt of task `task`, before its first step.
  void promptsRead(int task, const std::vector<t2i::text::Tokenized>& prompts);
  /// The steps task `task` takes in each of its stages (one for a single model), before its first step.
  void stepsPlanned(int task, const QList<int>& stageSteps);
  void stepReached(const t2i::ui::StepFrame& frame);
  void taskFinished(const t2i::ui::TaskResult& result);
  /// A run ended (not a load): `cancelled` tells whether cancel() was called meanwhile.
  void finished(bool cancelled);
  /// A run failed.
  void failed(const QString& message);
  /// Nothing is running any more (after finished, failed, a load or loadFailed).
  void idle();

private:
  struct CachedGenerator {
    std::shared_ptr<t2i::sample::Generator> generator;
    QDateTime modified;
    std::uint64_t lastUse = 0;
  };
  /// Worker side: the cached generator of `checkpoint`, loading it when absent or changed on disk.
  std::shared_ptr<t2i::sample::Generator> generator(const QString& checkpoint);
  /// Worker side: runs a cascade task into `result` (empty images when cancelled).
  void runCascade(int index, const SamplingTask& task, bool recordSteps, const job::Context& job, TaskResult& result);
  /// Worker side: records `frame` when asked and hands it to the GUI.
  void post(StepFrame frame, bool recordSteps);
  void postToGui(std::function<void()> call);

  QString threadName_;
  std::string device_;  ///< the studio's compute device setting when the job was made
  mutable std::mutex mutex_;  ///< guards cache_, cacheCapacity_, useCounter_ and recording_
  std::map<QString, CachedGenerator> cache_;
  std::size_t cacheCapacity_;  ///< models kept loaded: two, or every stage of the last cascade run
  std::uint64_t useCounter_ = 0;
  std::vector<StepFrame> recording_;
  bool running_ = false;  ///< the current job is a run, not a load
  LatestFrame<StepFrame> latest_;
  JobRunner runner_;  ///< last: destroyed (cancelled and joined) before what its job touches
};

} // namespace t2i::ui
