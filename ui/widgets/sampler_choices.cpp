#include "sampler_choices.h"

#include "t2i/diffusion.h"

#include <QComboBox>
#include <QStringList>

namespace t2i::ui {

QComboBox* createSamplerCombo(QWidget* parent) {
  auto* combo = new QComboBox(parent);
  QStringList tips;
  for (const t2i::diffusion::SamplerInfo& sampler : t2i::diffusion::sampler_infos()) {
    const QString label = QString::fromStdString(sampler.label);
    const QString summary = QString::fromStdString(sampler.summary);
    combo->addItem(label, QString::fromStdString(sampler.name));
    combo->setItemData(combo->count() - 1, summary, Qt::ToolTipRole);
    tips << label + QStringLiteral(": ") + summary;
  }
  combo->setToolTip(tips.join(QStringLiteral("\n")));
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
