// Dataset work off the GUI thread, on a worker named "data": inspecting a caption file and its
// images (the dataset report) and preparing a dataset for training (demo generation, image
// cache, split, text-embedding cache). Progress and status come from the job runner; Cancel
// stops the core within one image batch, and preparing again resumes.
#pragma once

#include "jobs/job_runner.h"

#include "t2i/data.h"
#include "t2i/train.h"

#include <QObject>

#include <mutex>

namespace t2i::ui {

class DatasetJob : public QObject {
  Q_OBJECT
public:
  explicit DatasetJob(QObject* parent = nullptr);

  /// Reads the caption file and decodes every captioned image once; inspected() follows.
  bool inspect(const data::Source& source, const data::SplitOptions& split);
  /// Builds what training with `options` reads; prepared() follows.
  bool prepare(const train::TrainOptions& options);
  bool isRunning() const { return runner_.isRunning(); }
  void cancel() { runner_.cancel(); }

Q_SIGNALS:
  void status(const QString& message);
  void progress(const t2i::ui::ProgressFrame& frame);
  void inspected(const t2i::data::DatasetReport& report);
  void prepared(const t2i::train::PreparedData& data);
  /// The job ended (after inspected()/prepared() or failed()); `cancelled` when Cancel was pressed.
  void finished(bool cancelled);
  void failed(const QString& message);

private:
  enum class Kind { Inspect, Prepare };

  Kind kind_ = Kind::Inspect;
  std::mutex resultMutex_;
  data::DatasetReport report_;
  train::PreparedData prepared_;
  JobRunner runner_;  ///< last: destroyed (cancelled and joined) before the results its job writes
};

} // namespace t2i::ui
