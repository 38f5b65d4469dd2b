#include "sampler_choices.h"

#include <QComboBox>

namespace t2i::ui {

QComboBox* createSamplerCombo(QWidget* parent) {
  auto* combo = new QComboBox(parent);
  combo->addItem(QComboBox::tr("DDPM (ancestral, the paper's)"), QStringLiteral("ddpm"));
  combo->addItem(QComboBox::tr("DDIM (deterministic)"), QStringLiteral("ddim"));
  combo->addItem(QComboBox::tr("DPM-Solver++ (2M, deterministic)"), QStringLiteral("dpmpp"));
  combo->setToolTip(QComboBox::tr("DDPM draws fresh noise at every step, which corrects the model's errors: the "
                                  "cleanest images. DDIM and DPM-Solver++ map a seed to an image deterministically "
                                  "(smooth interpolation, 20 steps for DPM-Solver++) but keep the model's errors as grain"));
  return combo;
}

QComboBox* createThresholdingCombo(QWidget* parent) {
  auto* combo = new QComboBox(parent);
  combo->addItem(QComboBox::tr("dynamic (Imagen)"), QStringLiteral("dynamic"));
  combo->addItem(QComboBox::tr("static [−1, 1]"), QStringLiteral("static"));
  combo->addItem(QComboBox::tr("none"), QStringLiteral("none"));
  combo->setToolTip(QComboBox::tr("What happens to the predicted x₀ at every step; dynamic thresholding keeps "
                                  "high guidance scales from saturating the colours. \"none\" needs the DDPM sampler: "
                                  "the deterministic ones carry the first steps' errors into the image"));
  return combo;
}

void selectComboData(QComboBox* combo, const QString& value) {
  const int index = combo->findData(value);
  if (index >= 0) combo->setCurrentIndex(index);
}

} // namespace t2i::ui
