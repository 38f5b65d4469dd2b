// Chooses a cascade file for the Generate page (a base checkpoint, then super-resolution stages)
// and holds each super-resolution stage's guidance, steps and noise-augmentation level. The base
// stage's settings stay with the page's own controls.
#pragma once

#include "t2i/sample.h"

#include <QWidget>

#include <optional>
#include <vector>

class QDoubleSpinBox;
class QGridLayout;
class QLabel;
class QSpinBox;
class QToolButton;

namespace t2i::ui {

class CascadeControls : public QWidget {
  Q_OBJECT
public:
  explicit CascadeControls(QWidget* parent = nullptr);

  /// Reads a cascade file and shows a row per super-resolution stage with the file's settings;
  /// false (the choice kept, failed() emitted) when it cannot be read.
  bool open(const QString& file);
  /// The cascade a PNG recorded: `file` opened when it and its checkpoints exist, each
  /// super-resolution stage set as `recorded` has it; otherwise no cascade. False when none.
  bool restore(const QString& file, const t2i::sample::Cascade& recorded);
  void clear();

  bool active() const { return !file_.isEmpty(); }
  QString file() const { return file_; }
  QString baseCheckpoint() const;
  /// The file's own settings of the base stage (the page shows them in its controls).
  t2i::sample::CascadeStage fileBase() const;
  /// The cascade to sample: the base stage's checkpoint alone (the page's controls set the rest),
  /// each super-resolution stage with its row's settings (unset where a row says "preset").
  t2i::sample::Cascade cascade() const;

Q_SIGNALS:
  /// A cascade file was opened (by the user or by restore()).
  void chosen(const QString& file);
  /// No cascade any more (the user's clear button, clear(), or a restore() that found none).
  void cleared();
  void failed(const QString& message);

private:
  struct Row {
    QDoubleSpinBox* guidance;
    QSpinBox* steps;
    QDoubleSpinBox* aug;
  };
  void browse();
  void showStages();

  QLabel* label_;
  QToolButton* browse_;
  QToolButton* clear_;
  QWidget* stagesBox_;
  QGridLayout* stagesGrid_;
  std::vector<Row> rows_;
  QString file_;
  t2i::sample::Cascade cascade_;
};

} // namespace t2i::ui
