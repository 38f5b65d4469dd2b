#include "sampler_choices.h"

#include <QComboBox>

namespace t2i::ui {

QComboBox* createSamplerCombo(QWidget* parent) {
  auto* combo = new QComboBox(parent);
  combo->addItem(QComboBox::tr("DDIM"), QStringLiteral("ddim"));
  combo->addItem(QComboBox::tr("DPM-Solver++ (2M)"), QStringLiteral("dpmpp"));
  combo->addItem(QComboBox::tr("DDPM (ancestral, the paper's)"), QStringLiteral("ddpm"));
  combo->setToolTip(QComboBox::tr("DDIM and DPM-Solver++ need few steps (50 and 20); DDPM wants hundreds"));
  return combo;
}

QComboBox* createThresholdingCombo(QWidget* parent) {
  auto* combo = new QComboBox(parent);
  combo->addItem(QComboBox::tr("dynamic (Imagen)"), QStringLiteral("dynamic"));
  combo->addItem(QComboBox::tr("static [−1, 1]"), QStringLiteral("static"));
  combo->addItem(QComboBox::tr("none"), QStringLiteral("none"));
  combo->setToolTip(QComboBox::tr("What happens to the predicted x₀ at every step; dynamic thresholding keeps "
                                  "high guidance scales from saturating the colours"));
  return combo;
}

void selectComboData(QComboBox* combo, const QString& value) {
  const int index = combo->findData(value);
  if (index >= 0) combo->setCurrentIndex(index);
}

} // namespace t2i::ui
