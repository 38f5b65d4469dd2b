#include "guidance_slider.h"

#include <QHBoxLayout>
#include <QLabel>
#include <QSlider>

#include <algorithm>
#include <cmath>

namespace t2i::ui {
namespace {
int toTicks(double w) { return static_cast<int>(std::lround(w / GuidanceSlider::kStep)); }
double fromTicks(int ticks) { return ticks * GuidanceSlider::kStep; }
} // namespace

GuidanceSlider::GuidanceSlider(QWidget* parent)
    : QWidget(parent), slider_(new QSlider(Qt::Horizontal, this)), label_(new QLabel(this)) {
  slider_->setObjectName(QStringLiteral("guidanceSlider"));
  slider_->setRange(toTicks(kMinimum), toTicks(kMaximum));
  slider_->setSingleStep(1);
  slider_->setPageStep(2);
  slider_->setTickPosition(QSlider::TicksBelow);
  slider_->setTickInterval(2);
  slider_->setToolTip(tr("Classifier-free guidance scale w: 1 turns guidance off; higher follows the prompt "
                         "more closely at the cost of variety (the paper compares 5 and 8)"));
  label_->setObjectName(QStringLiteral("guidanceValue"));
  label_->setMinimumWidth(label_->fontMetrics().horizontalAdvance(QStringLiteral("w = 15.0 (preset 15.0)")));
  auto* layout = new QHBoxLayout(this);
  layout->setContentsMargins(0, 0, 0, 0);
  layout->addWidget(slider_, 1);
  layout->addWidget(label_);
  connect(slider_, &QSlider::valueChanged, this, [this](int ticks) {
    updateLabel();
    Q_EMIT valueChanged(fromTicks(ticks));
  });
  updateLabel();
}

double GuidanceSlider::value() const { return fromTicks(slider_->value()); }

void GuidanceSlider::setValue(double w) { slider_->setValue(toTicks(std::clamp(w, kMinimum, kMaximum))); }

void GuidanceSlider::setPresetValue(double w) {
  presetValue_ = w;
  updateLabel();
}

void GuidanceSlider::updateLabel() {
  const QString value = tr("w = %1").arg(this->value(), 0, 'f', 1);
  label_->setText(presetValue_ > 0 ? tr("%1 (preset %2)").arg(value).arg(presetValue_, 0, 'f', 1) : value);
}

} // namespace t2i::ui
