// Where the studio finds checkpoints to sample from: the shipped demo model and the training
// runs' checkpoints, newest first. One place decides the default the pages preselect.
#pragma once

#include <QDateTime>
#include <QList>
#include <QString>
#include <QStringList>

#include <optional>

namespace t2i::ui {

struct CheckpointEntry {
  QString path;
  QString label;  ///< short, for a combo box: "run-name · best" or "demo model"
  QDateTime modified;
};

/// The demo checkpoint shipped with the application, or empty when it is not installed.
QString demoCheckpointPath();

/// The training runs the studio knows: every run in the runs folder, and the run last trained
/// or opened wherever it is.
QStringList runFolders();

/// Every run's checkpoints to sample from: its best and, when it holds a later step, its latest
/// step checkpoint; the most recently written run first, each run's best before its latest.
QList<CheckpointEntry> runCheckpoints(const QStringList& runs = runFolders());

/// The checkpoint one run folder offers: its best.safetensors, else its highest step.
std::optional<CheckpointEntry> runCheckpoint(const QString& run);

/// What the Generate and Compare pages preselect: the latest run's checkpoint, else the demo
/// model, else empty.
QString defaultCheckpoint();

/// A short name for any checkpoint path.
QString checkpointLabel(const QString& path);

} // namespace t2i::ui
