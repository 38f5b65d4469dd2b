#include "training/preset_editor.h"

#include "t2i/model.h"

#include <QCheckBox>
#include <QComboBox>
#include <QDoubleSpinBox>
#include <QFormLayout>
#include <QGroupBox>
#include <QHBoxLayout>
#include <QLabel>
#include <QLineEdit>
#include <QLocale>
#include <QSpinBox>
#include <QVBoxLayout>

#include <algorithm>
#include <climits>
#include <cmath>

namespace t2i::ui {
namespace {

using model::FieldType;
using model::PresetField;
using model::PresetValue;

QString optionalText(const std::optional<int>& value) {
  return value ? QLocale().toString(*value) : QStringLiteral("–");
}

QString tooltip(const PresetField& field) {
  QString tip = QString::fromStdString(field.help);
  if (!field.table1.empty()) tip += QStringLiteral(" (Table 1 \u201c%1\u201d.)").arg(QString::fromStdString(field.table1));
  tip += PresetEditor::tr(" Allowed: %1").arg(QString::fromStdString(field.allowed()));
  if (!field.unit.empty()) tip += QStringLiteral(" ") + QString::fromStdString(field.unit);
  if (field.nullable) tip += PresetEditor::tr("; unchecked: none");
  return tip + QLatin1Char('.');
}

int clampToInt(double value) { return static_cast<int>(std::clamp(value, double{INT_MIN}, double{INT_MAX})); }

/// The widget of a field's value, with the schema's range: an exclusive lower bound becomes the
/// smallest value the widget can show above it.
QWidget* makeValueWidget(const PresetField& field, QWidget* parent) {
  switch (field.type) {
    case FieldType::Integer: {
      auto* box = new QSpinBox(parent);
      box->setRange(clampToInt(field.min_exclusive ? field.min + 1 : field.min), clampToInt(field.max));
      box->setGroupSeparatorShown(true);
      if (!field.unit.empty()) box->setSuffix(QStringLiteral(" ") + QString::fromStdString(field.unit));
      return box;
    }
    case FieldType::Number: {
      auto* box = new QDoubleSpinBox(parent);
      box->setDecimals(field.decimals);
      const double resolution = std::pow(10.0, -field.decimals);
      box->setRange(field.min_exclusive ? field.min + resolution : field.min, field.max);
      box->setSingleStep(field.max - field.min >= 10 ? 0.5 : resolution * 10);
      return box;
    }
    case FieldType::Boolean: return new QCheckBox(parent);
    case FieldType::Choice: {
      auto* box = new QComboBox(parent);
      for (const auto& choice : field.choices) box->addItem(QString::fromStdString(choice));
      return box;
    }
    case FieldType::Text:
    case FieldType::IntegerList:
    case FieldType::BooleanList: break;
  }
  return new QLineEdit(parent);
}

void showValue(QWidget* widget, const PresetValue& value) {
  if (auto* box = qobject_cast<QSpinBox*>(widget)) {
    if (const auto* v = std::get_if<std::int64_t>(&value)) box->setValue(static_cast<int>(*v));
  } else if (auto* real = qobject_cast<QDoubleSpinBox*>(widget)) {
    if (const auto* v = std::get_if<double>(&value)) real->setValue(*v);
  } else if (auto* check = qobject_cast<QCheckBox*>(widget)) {
    if (const auto* v = std::get_if<bool>(&value)) check->setChecked(*v);
  } else if (auto* combo = qobject_cast<QComboBox*>(widget)) {
    if (const auto* v = std::get_if<std::string>(&value)) combo->setCurrentText(QString::fromStdString(*v));
  } else if (auto* line = qobject_cast<QLineEdit*>(widget)) {
    if (const auto* v = std::get_if<std::string>(&value)) line->setText(QString::fromStdString(*v));
  }
}

PresetValue readValue(const QWidget* widget) {
  if (const auto* box = qobject_cast<const QSpinBox*>(widget)) return std::int64_t{box->value()};
  if (const auto* real = qobject_cast<const QDoubleSpinBox*>(widget)) return real->value();
  if (const auto* check = qobject_cast<const QCheckBox*>(widget)) return check->isChecked();
  if (const auto* combo = qobject_cast<const QComboBox*>(widget)) return combo->currentText().toStdString();
  return qobject_cast<const QLineEdit*>(widget)->text().toStdString();
}

void connectEdited(QWidget* widget, PresetEditor* editor) {
  if (auto* box = qobject_cast<QSpinBox*>(widget)) QObject::connect(box, &QSpinBox::valueChanged, editor, &PresetEditor::edited);
  if (auto* real = qobject_cast<QDoubleSpinBox*>(widget))
    QObject::connect(real, &QDoubleSpinBox::valueChanged, editor, &PresetEditor::edited);
  if (auto* check = qobject_cast<QCheckBox*>(widget)) QObject::connect(check, &QCheckBox::toggled, editor, &PresetEditor::edited);
  if (auto* combo = qobject_cast<QComboBox*>(widget))
    QObject::connect(combo, &QComboBox::currentIndexChanged, editor, &PresetEditor::edited);
  if (auto* line = qobject_cast<QLineEdit*>(widget)) QObject::connect(line, &QLineEdit::textEdited, editor, &PresetEditor::edited);
}

} // namespace

PresetEditor::PresetEditor(QWidget* parent) : QWidget(parent), reported_(new QLabel(this)) {
  auto* table = new QGroupBox(tr("Table 1 of the paper"), this);
  auto* tableColumn = new QVBoxLayout(table);
  auto* tableForm = new QFormLayout;
  tableColumn->addLayout(tableForm);
  auto* architecture = new QGroupBox(tr("U-Net and optimiser"), this);
  auto* archForm = new QFormLayout(architecture);

  for (const PresetField& field : model::preset_schema()) {
    if (!field.editable) continue;
    QFormLayout* form = field.table1.empty() ? archForm : tableForm;
    const QString key = QString::fromStdString(field.key);
    const QString label = QString::fromStdString(field.label);
    const QString tip = tooltip(field);
    QWidget* value = makeValueWidget(field, this);
    value->setObjectName(key);
    value->setToolTip(tip);
    value->setAccessibleName(label);
    value->setAccessibleDescription(tip);
    connectEdited(value, this);
    auto* text = new QLabel(label, this);
    text->setToolTip(tip);
    text->setBuddy(value);
    QCheckBox* enabled = nullptr;
    if (field.nullable) {
      enabled = new QCheckBox(this);
      enabled->setObjectName(key + QStringLiteral("_enabled"));
      enabled->setAccessibleName(tr("%1 on").arg(label));
      enabled->setToolTip(tip);
      connect(enabled, &QCheckBox::toggled, value, &QWidget::setEnabled);
      connect(enabled, &QCheckBox::toggled, this, &PresetEditor::edited);
      auto* row = new QHBoxLayout;
      row->addWidget(enabled);
      row->addWidget(value, 1);
      form->addRow(text, row);
      editors_ << enabled;
    } else {
      form->addRow(text, value);
    }
    editors_ << value;
    fields_.push_back({&field, value, enabled});
  }

  reported_->setObjectName(QStringLiteral("presetReported"));
  reported_->setWordWrap(true);
  reported_->setTextFormat(Qt::PlainText);
  reported_->setToolTip(tr("What the paper's Table 1 reports for this preset, for comparison."));
  // Below the form rather than a row of it: a form row gave the wrapped text one line.
  tableColumn->addWidget(reported_);

  auto* layout = new QVBoxLayout(this);
  layout->setContentsMargins(0, 0, 0, 0);
  layout->addWidget(table);
  layout->addWidget(architecture);

  // The core refuses a micro-batch larger than the batch: keep the editor from offering one.
  auto* batch = qobject_cast<QSpinBox*>(find("batch_size")->value);
  auto* micro = qobject_cast<QSpinBox*>(find("max_batch_size")->value);
  connect(batch, &QSpinBox::valueChanged, micro, &QSpinBox::setMaximum);
}

PresetEditor::FieldEditor* PresetEditor::find(const char* key) {
  for (auto& editor : fields_)
    if (editor.field->key == key) return &editor;
  return nullptr;
}

QList<QWidget*> PresetEditor::editors() const { return editors_; }

void PresetEditor::setPreset(const model::Preset& preset) {
  loaded_ = preset;
  revert();
}

void PresetEditor::revert() {
  const model::Preset& p = loaded_;
  {
    std::vector<QSignalBlocker> blockers;
    for (QWidget* editor : editors_) blockers.emplace_back(editor);
    for (const FieldEditor& editor : fields_) {
      if (editor.field->key == "max_batch_size") qobject_cast<QSpinBox*>(editor.value)->setMaximum(p.batch_size);
      const PresetValue value = editor.field->get(p);
      const bool present = !std::holds_alternative<std::monostate>(value);
      if (editor.enabled != nullptr) {
        editor.enabled->setChecked(present);
        editor.value->setEnabled(present);
      }
      // A field that is off keeps the value its widget last showed, to start from when turned on.
      showValue(editor.value, value);
    }
  }
  QStringList reported;
  if (p.unet_emb_dim || p.unet_hidden_size)
    reported << tr("unet emb dim %1, hidden size %2").arg(optionalText(p.unet_emb_dim), optionalText(p.unet_hidden_size));
  if (p.paper_parameters)
    reported << tr("%1 M parameters").arg(QLocale().toString(*p.paper_parameters / 1e6, 'f', 2));
  reported_->setText(reported.isEmpty() ? QString::fromStdString(p.description)
                                        : tr("Paper: %1.").arg(reported.join(QStringLiteral(", "))));
  reported_->setVisible(!reported_->text().isEmpty());
  Q_EMIT edited();
}

model::Preset PresetEditor::preset() const {
  model::Preset p = loaded_;
  for (const FieldEditor& editor : fields_) {
    const bool present = editor.enabled == nullptr || editor.enabled->isChecked();
    editor.field->set(p, present ? readValue(editor.value) : editor.field->fallback);
  }
  return p;
}

bool PresetEditor::isModified() const {
  const model::Preset p = preset();
  return std::any_of(fields_.begin(), fields_.end(), [&](const FieldEditor& editor) {
    return model::preset_value_text(editor.field->get(p)) != model::preset_value_text(editor.field->get(loaded_));
  });
}

} // namespace t2i::ui
