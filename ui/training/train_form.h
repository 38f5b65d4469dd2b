// The Train page's choices as plain values, and the rules that turn them into a run: the options
// Start passes to the trainer and the folder a new run gets. No widgets, so tests read them
// directly.
#pragma once

#include "t2i/train.h"

#include <QDateTime>
#include <QString>
#include <QStringList>

#include <optional>

namespace t2i::ui {

/// A finite first run: about half an hour of the demo preset on two cores, and a bar with an end
/// even when the preset has no early stopping.
inline constexpr int kDefaultMaxSteps = 2000;

struct TrainForm {
  QString preset;                 ///< a preset name or preset file
  QString device;                 ///< "cpu", "cuda:0", …
  bool t5 = false;                ///< frozen T5 encoder (else the learned one)
  QString t5Folder;
  QString inceptionWeights;       ///< empty: FID stays off
  train::Selection selection = train::Selection::ValP2;
  int maxSteps = kDefaultMaxSteps;  ///< 0: until early stopping (or, without it, until stopped)
  bool activationCheckpointing = false;
  bool probeGallery = true;       ///< the probe gallery (t2i train --no-probes turns it off)
  QStringList probePrompts;       ///< the user's probe prompts, besides the validation captions
};

/// The probe prompts typed one per line: each line trimmed, empty lines dropped.
QStringList probePromptLines(const QString& text);

/// The trainer's options for the form; `data` is the Data page's dataset when there is one.
train::TrainOptions trainOptions(const TrainForm& form, const std::optional<train::DataSpec>& data);

/// What a Max steps of 0 means with this preset's early stopping (`earlyStop`: steps without
/// improvement before stopping, none = off): the spin box's text for 0.
QString unlimitedStepsText(const std::optional<int>& earlyStop);

/// A new run's folder under `root`: "<preset>-<yyyyMMdd-HHmmss>", with "-2", "-3", … appended
/// while that folder exists.
QString newRunFolder(const QString& root, const QString& preset, const QDateTime& now);

} // namespace t2i::ui
