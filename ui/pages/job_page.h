// A workspace page that runs core jobs. The main window asks every such page before quitting:
// if one is busy it asks the user, calls stopJobs() and closes when the last page reports idle,
// so the GUI thread never blocks waiting for a worker.
#pragma once

#include <QWidget>

namespace t2i::ui {

class JobPage : public QWidget {
  Q_OBJECT
public:
  using QWidget::QWidget;

  virtual bool hasRunningJob() const = 0;
  /// What is running, in a few words for the quit question (e.g. "Training (step 120)").
  virtual QString runningJobDescription() const = 0;
  /// Asks every running job of the page to stop cleanly (training saves a checkpoint first).
  virtual void stopJobs() = 0;

Q_SIGNALS:
  /// The page's last running job has ended.
  void jobsIdle();
};

} // namespace t2i::ui
