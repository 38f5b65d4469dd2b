#include "layout_check.h"

#include <QAbstractButton>
#include <QAbstractSlider>
#include <QAbstractSpinBox>
#include <QComboBox>
#include <QLabel>
#include <QLineEdit>
#include <QProgressBar>
#include <QScrollArea>
#include <QTabBar>
#include <QWidget>

namespace t2i::test {
namespace {

/// A widget read or operated as one piece; its own children (a spin box's line edit, a view's
/// scroll bars) are its business.
bool isControl(const QWidget* w) {
  const bool scrollingView = qobject_cast<const QAbstractScrollArea*>(w) != nullptr && qobject_cast<const QScrollArea*>(w) == nullptr;
  return qobject_cast<const QAbstractButton*>(w) != nullptr || qobject_cast<const QComboBox*>(w) != nullptr ||
         qobject_cast<const QAbstractSpinBox*>(w) != nullptr || qobject_cast<const QLineEdit*>(w) != nullptr ||
         qobject_cast<const QLabel*>(w) != nullptr || qobject_cast<const QAbstractSlider*>(w) != nullptr ||
         qobject_cast<const QProgressBar*>(w) != nullptr || qobject_cast<const QTabBar*>(w) != nullptr ||
         scrollingView || w->inherits("QCustomPlot");
}

bool isScrollViewport(const QWidget* w) {
  const auto* area = qobject_cast<const QAbstractScrollArea*>(w->parentWidget());
  return area != nullptr && area->viewport() == w;
}

QString describe(const QWidget* w) {
  QString name = QString::fromLatin1(w->metaObject()->className());
  if (!w->objectName().isEmpty()) name += QLatin1Char('#') + w->objectName();
  if (const auto* label = qobject_cast<const QLabel*>(w); label != nullptr && !label->text().isEmpty())
    name += QStringLiteral(" \"%1\"").arg(label->text().left(30));
  if (const auto* button = qobject_cast<const QAbstractButton*>(w); button != nullptr && !button->text().isEmpty())
    name += QStringLiteral(" \"%1\"").arg(button->text());
  if (const QWidget* parent = w->parentWidget(); parent != nullptr && !parent->objectName().isEmpty())
    name += QStringLiteral(" in ") + parent->objectName();
  return name;
}

/// A label whose text needs more room than it has: wider than it when it does not wrap, taller
/// when it does.
bool textIsCut(const QWidget* w) {
  const auto* label = qobject_cast<const QLabel*>(w);
  if (label == nullptr || label->text().isEmpty()) return false;
  if (!label->wordWrap()) return label->sizeHint().width() > label->width();
  const int needed = label->heightForWidth(label->width());
  return needed > label->height();
}

struct Walk {
  QWidget* root;
  QList<PlacedWidget> leaves;
  QStringList* cutOff;

  /// `clip`: the part of root's coordinates the enclosing scroll viewports let through.
  void visit(QWidget* widget, const QRect& clip) {
    QList<QWidget*> shown;
    for (QObject* object : widget->children())
      if (auto* child = qobject_cast<QWidget*>(object); child != nullptr && !child->isWindow() && child->isVisible())
        shown << child;
    const QRect visible = QRect(widget->mapTo(root, QPoint(0, 0)), widget->size()) & clip;
    if (widget != root && (isControl(widget) || shown.isEmpty())) {
      if (!visible.isEmpty()) leaves << PlacedWidget{describe(widget), visible};
      if (!visible.isEmpty() && cutOff != nullptr && textIsCut(widget))
        *cutOff << QStringLiteral("%1 cuts its text (%2×%3)").arg(describe(widget)).arg(widget->width()).arg(widget->height());
      return;
    }
    const bool viewport = isScrollViewport(widget);
    for (QWidget* child : shown) {
      if (!viewport && !child->geometry().isEmpty() && !widget->rect().contains(child->geometry()) && cutOff != nullptr)
        *cutOff << QStringLiteral("%1 is cut off by %2").arg(describe(child), describe(widget));
      visit(child, viewport ? visible : clip);
    }
  }
};

} // namespace

QStringList overlaps(const QList<PlacedWidget>& widgets) {
  QStringList found;
  for (qsizetype i = 0; i < widgets.size(); ++i)
    for (qsizetype j = i + 1; j < widgets.size(); ++j)
      if (widgets[i].rect.intersects(widgets[j].rect))
        found << QStringLiteral("%1 [%2,%3 %4×%5] overlaps %6 [%7,%8 %9×%10]")
                     .arg(widgets[i].name)
                     .arg(widgets[i].rect.x())
                     .arg(widgets[i].rect.y())
                     .arg(widgets[i].rect.width())
                     .arg(widgets[i].rect.height())
                     .arg(widgets[j].name)
                     .arg(widgets[j].rect.x())
                     .arg(widgets[j].rect.y())
                     .arg(widgets[j].rect.width())
                     .arg(widgets[j].rect.height());
  return found;
}

QList<PlacedWidget> visibleLeaves(QWidget* root, QStringList* cutOff) {
  Walk walk{root, {}, cutOff};
  walk.visit(root, root->rect());
  return walk.leaves;
}

QStringList layoutProblems(QWidget* root) {
  QStringList problems;
  const QList<PlacedWidget> leaves = visibleLeaves(root, &problems);
  problems << overlaps(leaves);
  return problems;
}

} // namespace t2i::test
