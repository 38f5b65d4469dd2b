// Keyboard order of a page's controls in one call (QWidget::setTabOrder takes a list only
// from Qt 6.6 on).
#pragma once

#include <QList>
#include <QWidget>

namespace t2i::ui {

inline void setTabChain(const QList<QWidget*>& widgets) {
  for (qsizetype i = 1; i < widgets.size(); ++i) QWidget::setTabOrder(widgets[i - 1], widgets[i]);
}

} // namespace t2i::ui
