#include "sampling_job.h"

#include "comparison.h"
#include "image_conversion.h"

#include "settings.h"

#include <QFileInfo>

#include <algorithm>
#include <chrono>
#include <utility>

namespace t2i::ui {
namespace {
/// Models kept loaded at once, at least: the Compare page's two checkpoints, a two-stage cascade.
constexpr std::size_t kCachedModels = 2;

StepFrame toFrame(int task, const t2i::sample::StepView& view, int position) {
  StepFrame frame;
  frame.task = task;
  frame.step = view.step;
  frame.total = view.total;
  frame.stage = view.stage;
  frame.stages = view.stages;
  frame.position = position;
  frame.t = view.t;
  for (const auto& image : view.x_t) frame.xt << toQImage(image);
  for (const auto& image : view.x0_pred) frame.x0 << toQImage(image);
  return frame;
}
} // namespace

SamplingJob::SamplingJob(const QString& threadName, QObject* parent)
    : QObject(parent), threadName_(threadName), device_(settings::device.value().toStdString()),
      cacheCapacity_(kCachedModels), latest_(this, [this](StepFrame frame) { Q_EMIT stepReached(frame); }) {
  connect(&runner_, &JobRunner::finished, this, [this](bool cancelled) {
    if (running_) Q_EMIT finished(cancelled);
    Q_EMIT idle();
  });
  connect(&runner_, &JobRunner::failed, this, [this](const QString& message) {
    if (running_)
      Q_EMIT failed(message);
    else
      Q_EMIT loadFailed(message);
    Q_EMIT idle();
  });
}

SamplingJob::~SamplingJob() = default;

bool SamplingJob::isRunning() const { return runner_.isRunning(); }

void SamplingJob::cancel() { runner_.cancel(); }

void SamplingJob::postToGui(std::function<void()> call) {
  QMetaObject::invokeMethod(this, std::move(call), Qt::QueuedConnection);
}

std::shared_ptr<t2i::sample::Generator> SamplingJob::generator(const QString& checkpoint) {
  const QFileInfo file(checkpoint);
  const QString key = file.absoluteFilePath();
  const QDateTime modified = file.lastModified();
  {
    std::lock_guard<std::mutex> lock(mutex_);
    auto found = cache_.find(key);
    if (found != cache_.end() && found->second.modified == modified) {
      found->second.lastUse = ++useCounter_;
      return found->second.generator;
    }
  }
  postToGui([this, name = file.fileName()] { Q_EMIT status(tr("Loading %1…").arg(name)); });
  auto loaded = std::make_shared<t2i::sample::Generator>(key.toStdString(), device_);
  std::lock_guard<std::mutex> lock(mutex_);
  cache_.erase(key);
  while (cache_.size() >= cacheCapacity_) {
    auto oldest = cache_.begin();
    for (auto it = cache_.begin(); it != cache_.end(); ++it)
      if (it->second.lastUse < oldest->second.lastUse) oldest = it;
    cache_.erase(oldest);
  }
  cache_[key] = CachedGenerator{loaded, modified, ++useCounter_};
  return loaded;
}

bool SamplingJob::load(const QString& checkpoint) {
  if (runner_.isRunning()) return false;
  running_ = false;
  return runner_.start(threadName_, [this, checkpoint](const job::Context&) {
    const auto loaded = generator(checkpoint);
    const t2i::sample::ModelInfo info = loaded->info();
    postToGui([this, checkpoint, info] { Q_EMIT modelLoaded(checkpoint, info); });
  });
}

void SamplingJob::post(StepFrame frame, bool recordSteps) {
  if (recordSteps) {
    std::lock_guard<std::mutex> lock(mutex_);
    recording_.push_back(frame);
  }
  latest_.post(std::move(frame));
}

void SamplingJob::runCascade(int index, const SamplingTask& task, bool recordSteps, const job::Context& job,
                             TaskResult& result) {
  std::vector<std::shared_ptr<t2i::sample::Generator>> loaded;
  std::vector<t2i::sample::Generator*> stages;
  std::vector<t2i::sample::ModelInfo> models;
  for (const t2i::sample::CascadeStage& stage : task.cascade.stages) {
    if (job.cancelled()) return;
    loaded.push_back(generator(QString::fromStdString(stage.checkpoint)));
    stages.push_back(loaded.back().get());
    models.push_back(loaded.back()->info());
  }
  const std::string origin = task.cascadeFile.toStdString();
  // Where each stage's steps start among all of them.
  std::vector<int> offsets;
  QList<int> stageSteps;
  int positions = 0;
  for (std::size_t stage = 0; stage < models.size(); ++stage) {
    offsets.push_back(positions);
    stageSteps << t2i::sample::stage_request(task.request, task.cascade, stage, models[stage]).steps;
    positions += stageSteps.last();
  }
  postToGui([this, index, stageSteps] { Q_EMIT stepsPlanned(index, stageSteps); });
  const auto images = t2i::sample::generate_cascade(
      stages, task.cascade, origin, task.request, job, [&](const t2i::sample::StepView& view) {
        post(toFrame(index, view, offsets[static_cast<std::size_t>(view.stage)] + view.step), recordSteps);
      });
  if (job.cancelled() || images.empty()) return;
  for (std::size_t i = 0; i < images.back().size(); ++i) {
    result.images << toQImage(images.back()[i]);
    result.metadata.push_back(
        t2i::sample::to_png_text(t2i::sample::cascade_metadata(task.request, i, task.cascade, origin, models)));
  }
  result.model = models.back();
}

bool SamplingJob::run(const QVector<SamplingTask>& tasks, bool recordSteps) {
  if (runner_.isRunning()) return false;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    recording_.clear();
    // A cascade of more stages keeps them all loaded, so sampling it again loads nothing.
    cacheCapacity_ = kCachedModels;
    for (const SamplingTask& task : tasks) cacheCapacity_ = std::max(cacheCapacity_, task.cascade.stages.size());
  }
  running_ = true;
  return runner_.start(threadName_, [this, tasks, recordSteps](const job::Context& job) {
    for (int index = 0; index < tasks.size() && !job.cancelled(); ++index) {
      const SamplingTask& task = tasks.at(index);
      if (!task.cascade.stages.empty()) {
        {
          std::lock_guard<std::mutex> lock(mutex_);
          recording_.clear();
        }
        TaskResult result;
        result.task = index;
        result.checkpoint = task.cascadeFile;
        result.request = task.request;
        const auto start = std::chrono::steady_clock::now();
        runCascade(index, task, recordSteps, job, result);
        if (result.images.isEmpty()) return;
        result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        postToGui([this, result] { Q_EMIT taskFinished(result); });
        continue;
      }
      const auto model = generator(task.checkpoint);
      const t2i::sample::ModelInfo info = model->info();
      postToGui([this, checkpoint = task.checkpoint, info] { Q_EMIT modelLoaded(checkpoint, info); });
      if (job.cancelled()) return;
      std::vector<t2i::text::Tokenized> read;
      for (const std::string& prompt : task.request.prompts) read.push_back(model->tokenize(prompt));
      postToGui([this, index, read] { Q_EMIT promptsRead(index, read); });
      postToGui([this, index, steps = task.request.steps] { Q_EMIT stepsPlanned(index, {steps}); });
      {
        std::lock_guard<std::mutex> lock(mutex_);
        recording_.clear();
      }
      TaskResult result;
      t2i::sample::Probes probes;
      if (task.probes) probes = {&result.attention, &result.anatomy};
      const auto start = std::chrono::steady_clock::now();
      result.task = index;
      result.checkpoint = task.checkpoint;
      result.request = task.request;
      result.model = info;
      if (!task.swap.from.empty()) {
        const t2i::sample::WordSwapResult swapped = model->swap_word(task.request, task.swap, job);
        if (job.cancelled() || swapped.b.rgb.empty()) return;
        WordSwapRow row = wordSwapRow(swapped);
        result.images = std::move(row.images);
        result.mapTop = row.mapTop;
        t2i::sample::Request b = task.request;
        b.prompts = {swapped.prompt_b};
        result.metadata = {model->metadata(task.request, 0), model->metadata(b, 0)};
      } else {
        const auto images = model->generate(
            task.request, job,
            [&](const t2i::sample::StepView& view) { post(toFrame(index, view, view.step), recordSteps); },
            probes);
        if (job.cancelled() || images.empty()) return;
        for (std::size_t i = 0; i < images.size(); ++i) {
          result.images << toQImage(images[i]);
          result.metadata.push_back(model->metadata(task.request, i));
        }
      }
      result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      postToGui([this, result] { Q_EMIT taskFinished(result); });
    }
  });
}

int SamplingJob::recordedCount() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return static_cast<int>(recording_.size());
}

std::optional<StepFrame> SamplingJob::recordedStep(int position) const {
  std::lock_guard<std::mutex> lock(mutex_);
  // Steps arrive in order from 1, so position k is usually at index k − 1.
  const auto guess = static_cast<std::size_t>(position - 1);
  if (position >= 1 && guess < recording_.size() && recording_[guess].position == position) return recording_[guess];
  for (const StepFrame& frame : recording_)
    if (frame.position == position) return frame;
  return std::nullopt;
}

} // namespace t2i::ui
