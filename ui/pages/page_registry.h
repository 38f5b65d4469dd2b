// The studio's pages in navigation order, one entry each: a new page is its own files plus one
// entry in pageRegistry() (and a name in Page, which tests and the command line use to pick it).
#pragma once

#include <QList>
#include <QString>

#include <functional>

class QWidget;

namespace t2i::ui {

enum class Page { Data, Train, Generate, Compare, Schedules };

/// The pages made before the one being made, so a factory can wire its page to an earlier one.
using MadePages = std::function<QWidget*(Page)>;

struct PageEntry {
  Page id;
  QString title;       ///< shown in the page list and the View menu
  QString objectName;  ///< the page widget's object name, e.g. "page.train" (stable, for tests and settings)
  std::function<QWidget*(QWidget* parent, const MadePages& made)> create;
};

/// Every page, in navigation order.
QList<PageEntry> pageRegistry();

} // namespace t2i::ui
