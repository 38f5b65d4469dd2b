// The sampler and thresholding choices as combo boxes, shared by the Generate and Compare pages:
// item data is the core's name ("ddim", "dynamic", …), the text is for people.
#pragma once

class QComboBox;
class QString;
class QWidget;

namespace t2i::ui {

QComboBox* createSamplerCombo(QWidget* parent);
QComboBox* createThresholdingCombo(QWidget* parent);
/// Selects the item whose data is `value`; leaves the selection when there is none.
void selectComboData(QComboBox* combo, const QString& value);

} // namespace t2i::ui
