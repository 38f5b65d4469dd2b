#include "training/train_form.h"

#include <QDir>
#include <QFileInfo>
#include <QObject>

namespace t2i::ui {

train::TrainOptions trainOptions(const TrainForm& form, const std::optional<train::DataSpec>& data) {
  train::TrainOptions options;
  options.preset = form.preset.toStdString();
  if (data) options.data = *data;
  options.device = form.device.toStdString();
  if (form.t5) options.t5_dir = form.t5Folder.toStdString();
  options.inception_weights = form.inceptionWeights.toStdString();
  options.selection = form.selection;
  options.max_steps = form.maxSteps;
  options.activation_checkpointing = form.activationCheckpointing;
  options.probe_gallery = form.probeGallery;
  for (const QString& prompt : form.probePrompts) options.probe_prompts.push_back(prompt.toStdString());
  return options;
}

QStringList probePromptLines(const QString& text) {
  QStringList prompts;
  for (const QString& line : text.split(QLatin1Char('\n'))) {
    const QString prompt = line.trimmed();
    if (!prompt.isEmpty()) prompts << prompt;
  }
  return prompts;
}

QString unlimitedStepsText(const std::optional<int>& earlyStop) {
  return earlyStop ? QObject::tr("until early stopping") : QObject::tr("no limit: runs until stopped");
}

QString newRunFolder(const QString& root, const QString& preset, const QDateTime& now) {
  const QString name = QStringLiteral("%1-%2").arg(preset, now.toString(QStringLiteral("yyyyMMdd-HHmmss")));
  QString folder = QDir(root).filePath(name);
  for (int n = 2; QFileInfo::exists(folder); ++n) folder = QDir(root).filePath(QStringLiteral("%1-%2").arg(name).arg(n));
  return folder;
}

} // namespace t2i::ui
