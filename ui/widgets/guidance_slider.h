// The classifier-free guidance scale w (paper §5.4): a slider from 1 (guidance off) to 15 in
// steps of 0.5, its value beside it, and a mark for the model preset's own scale.
#pragma once

#include <QWidget>

class QLabel;
class QSlider;

namespace t2i::ui {

class GuidanceSlider : public QWidget {
  Q_OBJECT
public:
  static constexpr double kMinimum = 1.0;
  static constexpr double kMaximum = 15.0;
  static constexpr double kStep = 0.5;

  explicit GuidanceSlider(QWidget* parent = nullptr);

  double value() const;
  /// Rounds to the nearest 0.5 inside [1, 15].
  void setValue(double w);
  /// The preset's cond scale, shown beside the value.
  void setPresetValue(double w);
  double presetValue() const { return presetValue_; }

  QSlider* slider() const { return slider_; }

Q_SIGNALS:
  void valueChanged(double w);

private:
  void updateLabel();

  QSlider* slider_;
  QLabel* label_;
  double presetValue_ = 0;
};

} // namespace t2i::ui
