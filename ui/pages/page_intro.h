// The heading every workspace page starts with: its title and, in the paper's terms, what the
// page is for. Pages whose tools are still to come show only this.
#pragma once

#include <QWidget>

namespace t2i::ui {

class PageIntro : public QWidget {
  Q_OBJECT
public:
  PageIntro(const QString& title, const QString& summary, QWidget* parent = nullptr);
};

} // namespace t2i::ui
