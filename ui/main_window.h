// The studio's main window: a page list on the left (the pages of pageRegistry()), the current
// page in the middle, the log dock below and the runtime status bar.
#pragma once

#include "pages/page_registry.h"

#include <QMainWindow>

class QListWidget;
class QStackedWidget;

namespace t2i::ui {

class JobPage;
class LogDock;
class StatusPanel;

class MainWindow : public QMainWindow {
  Q_OBJECT
public:
  explicit MainWindow(QWidget* parent = nullptr);

  /// Every page in navigation order.
  static QList<Page> pages();
  /// The object name of a page's widget, e.g. "page.train" (stable, for tests and settings).
  static QString pageObjectName(Page page);

  void showPage(Page page);
  Page currentPage() const;
  QWidget* pageWidget(Page page) const;

  LogDock* logDock() const { return logDock_; }
  StatusPanel* statusPanel() const { return statusPanel_; }

protected:
  void closeEvent(QCloseEvent* event) override;

private:
  void createPages();
  void addPage(const PageEntry& entry, QWidget* widget);
  void createMenus();
  void restoreLayout();
  /// Pages whose jobs are still running.
  QList<JobPage*> busyPages() const;
  /// After the user chose to stop and quit: closes once no page has a running job.
  void closeWhenIdle();

  QListWidget* pageList_;
  QStackedWidget* stack_;
  LogDock* logDock_;
  StatusPanel* statusPanel_;
  bool quitting_ = false;
};

} // namespace t2i::ui
