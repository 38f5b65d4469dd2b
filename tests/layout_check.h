// Layout checks behind the page screenshot tests: which visible widgets overlap, and which are
// cut off by their parent. Leaves are the widgets a user reads or operates (buttons, inputs,
// labels, sliders, plots, item views); containers are looked into, leaves are not.
#pragma once

#include <QList>
#include <QRect>
#include <QString>
#include <QStringList>

class QWidget;

namespace t2i::test {

struct PlacedWidget {
  QString name;  ///< for messages: class and object names
  QRect rect;    ///< what of it can be seen, in the window's coordinates
};

/// "a overlaps b" for every pair of rectangles that share a pixel.
QStringList overlaps(const QList<PlacedWidget>& widgets);

/// The visible leaves under `root` with their visible rects: a widget inside a scroll area's
/// viewport counts by the part the viewport shows; one scrolled out of sight is left out.
/// Widgets that stick out of their parent (outside a scroll area's viewport) and labels too
/// small for their text are named in `cutOff`.
QList<PlacedWidget> visibleLeaves(QWidget* root, QStringList* cutOff);

/// Every overlap and every widget cut off by its parent under `root`; empty when the layout is sound.
QStringList layoutProblems(QWidget* root);

} // namespace t2i::test
