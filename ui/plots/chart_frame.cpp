#include "plots/chart_frame.h"

#include <qcustomplot.h>

namespace t2i::ui {

void frameChart(QCustomPlot* plot, const QString& title, const QFont& font) {
  // Heading and legend share the top row: the axes keep every pixel of height a short chart has.
  auto* top = new QCPLayoutGrid;
  plot->plotLayout()->insertRow(0);
  plot->plotLayout()->addElement(0, 0, top);
  plot->plotLayout()->setRowSpacing(0);
  top->addElement(0, 0, new QCPTextElement(plot, title, QFont(font.family(), font.pointSize(), QFont::Bold)));
  plot->axisRect()->insetLayout()->take(plot->legend);
  top->addElement(0, 1, plot->legend);
  top->setColumnStretchFactor(1, 0.001);  // as wide as its entries, the rest for the heading
  plot->legend->setFont(font);
  plot->legend->setBorderPen(Qt::NoPen);
  plot->legend->setBrush(Qt::NoBrush);
  plot->legend->setFillOrder(QCPLayoutGrid::foColumnsFirst);
  plot->legend->setRowSpacing(0);
  plot->legend->setMargins(QMargins(4, 0, 4, 0));
}

} // namespace t2i::ui
