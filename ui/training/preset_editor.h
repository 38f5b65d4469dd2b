// Every Table 1 field of a preset, editable, each explained in the paper's terms in its
// tooltip, plus the U-Net sizes that decide the parameter count. Edits stay in the studio: a run
// started with them gets the edited preset as its own preset.json.
#pragma once

#include "t2i/preset.h"

#include <QWidget>

class QCheckBox;
class QDoubleSpinBox;
class QFormLayout;
class QLabel;
class QSpinBox;

namespace t2i::ui {

class PresetEditor : public QWidget {
  Q_OBJECT
public:
  explicit PresetEditor(QWidget* parent = nullptr);

  void setPreset(const model::Preset& preset);
  /// The loaded preset with the edits applied.
  model::Preset preset() const;
  /// Whether any field differs from the loaded preset.
  bool isModified() const;
  /// Puts back the loaded preset's values.
  void revert();

  /// The editors in tab order (for the page's tab chain).
  QList<QWidget*> editors() const;

Q_SIGNALS:
  void edited();

private:
  QSpinBox* addInt(QFormLayout* form, const char* name, const QString& label, int min, int max, const QString& tip);
  QDoubleSpinBox* addReal(QFormLayout* form, const char* name, const QString& label, double min, double max,
                          int decimals, const QString& tip);

  model::Preset loaded_;
  QSpinBox* batchSize_;
  QSpinBox* maxBatchSize_;
  QSpinBox* maxTextLength_;
  QSpinBox* diffusionSteps_;
  QSpinBox* dim_;
  QSpinBox* condDim_;
  QSpinBox* evalEvery_;
  QSpinBox* evalValSteps_;
  QDoubleSpinBox* condScale_;
  QCheckBox* earlyStopOn_;
  QSpinBox* earlyStop_;
  QSpinBox* imageSize_;
  QSpinBox* resBlocks_;
  QSpinBox* heads_;
  QSpinBox* headDim_;
  QDoubleSpinBox* learningRate_;
  QLabel* reported_;
  QList<QWidget*> editors_;
};

} // namespace t2i::ui
