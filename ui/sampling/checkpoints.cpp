#include "checkpoints.h"

#include "settings.h"

#include "t2i/runs.h"

#include <QCoreApplication>
#include <QDir>
#include <QFileInfo>

#include <algorithm>

namespace t2i::ui {
namespace {
/// The demo model's place under the resources folder, in the source tree and installed alike.
const QString kDemoCheckpoint = QStringLiteral("demo/demo.safetensors");
} // namespace

QString demoCheckpointPath() {
  const QStringList candidates = {
      QCoreApplication::applicationDirPath() + QStringLiteral("/../share/t2i-studio/") + kDemoCheckpoint,
      QStringLiteral(T2I_RESOURCES_DIR "/") + kDemoCheckpoint,
  };
  for (const QString& candidate : candidates)
    if (QFileInfo(candidate).isFile()) return QFileInfo(candidate).canonicalFilePath();
  return {};
}

QStringList runFolders() {
  const QString root = settings::runsRoot();
  QStringList runs;
  for (const std::string& run : train::list_runs(root.toStdString())) runs << QFileInfo(QString::fromStdString(run)).absoluteFilePath();
  const QString last = settings::lastRun.value();
  if (!last.isEmpty() && QFileInfo(last).isDir()) runs << QFileInfo(last).absoluteFilePath();
  runs.removeDuplicates();
  return runs;
}

std::optional<CheckpointEntry> runCheckpoint(const QString& run) {
  const auto offered = train::offered_checkpoint(run.toStdString());
  if (!offered) return std::nullopt;
  const QFileInfo chosen(QString::fromStdString(offered->path));
  return CheckpointEntry{chosen.absoluteFilePath(), checkpointLabel(chosen.absoluteFilePath()), chosen.lastModified()};
}

QList<CheckpointEntry> runCheckpoints(const QStringList& runs) {
  QList<QList<CheckpointEntry>> byRun;
  for (const QString& run : runs) {
    QList<CheckpointEntry> own;
    if (const auto entry = runCheckpoint(run)) own << *entry;
    const auto best = train::best_checkpoint(run.toStdString());
    const auto steps = train::step_checkpoints(run.toStdString());
    if (!steps.empty() && (!best || steps.back().step > best->step)) {
      const QFileInfo latest(QString::fromStdString(steps.back().path));
      if (own.isEmpty() || own.first().path != latest.absoluteFilePath())
        own << CheckpointEntry{latest.absoluteFilePath(), checkpointLabel(latest.absoluteFilePath()), latest.lastModified()};
    }
    if (!own.isEmpty()) byRun << own;
  }
  const auto newest = [](const QList<CheckpointEntry>& run) {
    QDateTime last;
    for (const CheckpointEntry& entry : run) last = std::max(last, entry.modified);
    return last;
  };
  std::stable_sort(byRun.begin(), byRun.end(),
                   [&](const QList<CheckpointEntry>& a, const QList<CheckpointEntry>& b) { return newest(a) > newest(b); });
  QList<CheckpointEntry> entries;
  for (const QList<CheckpointEntry>& run : byRun) entries << run;
  return entries;
}

QString defaultCheckpoint() {
  const QList<CheckpointEntry> runs = runCheckpoints();
  if (!runs.isEmpty()) return runs.first().path;
  return demoCheckpointPath();
}

QString checkpointLabel(const QString& path) {
  if (path.isEmpty()) return {};
  if (path == demoCheckpointPath()) return QObject::tr("demo model");
  const QFileInfo file(path);
  const QDir folder = file.dir();
  if (folder.dirName() == QStringLiteral("checkpoints")) {
    QDir run = folder;
    run.cdUp();
    return run.dirName() + QStringLiteral(" · ") + file.completeBaseName().replace(QLatin1Char('_'), QLatin1Char(' '));
  }
  return file.fileName();
}

} // namespace t2i::ui
