#include "page_intro.h"

#include <QLabel>
#include <QVBoxLayout>

namespace t2i::ui {

PageIntro::PageIntro(const QString& title, const QString& summary, QWidget* parent) : QWidget(parent) {
  auto* layout = new QVBoxLayout(this);
  auto* heading = new QLabel(title, this);
  QFont font = heading->font();
  font.setPointSizeF(font.pointSizeF() * 1.6);
  font.setBold(true);
  heading->setFont(font);
  auto* text = new QLabel(summary, this);
  text->setWordWrap(true);
  text->setTextFormat(Qt::PlainText);
  layout->addWidget(heading);
  layout->addWidget(text);
  layout->addStretch(1);
}

} // namespace t2i::ui
