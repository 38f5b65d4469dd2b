// The preset's editable fields, generated from the core's preset schema: one widget per field
// with the schema's range, unit and meaning (in the paper's terms) as its tooltip, so the editor
// accepts exactly what the core accepts. Edits stay in the studio: a run started with them gets
// the edited preset as its own preset.json.
#pragma once

#include "t2i/model.h"

#include <QWidget>

#include <vector>

class QCheckBox;
class QLabel;

namespace t2i::model {
struct PresetField;
}

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
  /// The widget of one schema field (named after its key), and for a field that may be null
  /// ("none") the check box that turns it on (named KEY_enabled).
  struct FieldEditor {
    const model::PresetField* field;
    QWidget* value;
    QCheckBox* enabled;
  };

  FieldEditor* find(const char* key);

  model::Preset loaded_;
  std::vector<FieldEditor> fields_;
  QLabel* reported_;
  QList<QWidget*> editors_;
};

} // namespace t2i::ui
