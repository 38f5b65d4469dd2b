#include "main_window.h"

#include "getting_started.h"
#include "log_dock.h"
#include "pages/job_page.h"
#include "settings.h"
#include "status_panel.h"

#include "t2i/version.h"

#include <QAction>
#include <QApplication>
#include <QCloseEvent>
#include <QHBoxLayout>
#include <QListWidget>
#include <QMenuBar>
#include <QMessageBox>
#include <QPushButton>
#include <QScreen>
#include <QStackedWidget>
#include <QStatusBar>

// Resources compiled into a static library must be registered by hand, outside any namespace.
static void initResources() { Q_INIT_RESOURCE(resources); }

namespace t2i::ui {
namespace {
constexpr QSize kDefaultSize(1200, 660);
constexpr int kLogDockHeight = 96;
constexpr int kPageListPadding = 24;
} // namespace

MainWindow::MainWindow(QWidget* parent)
    : QMainWindow(parent), pageList_(new QListWidget(this)), stack_(new QStackedWidget(this)),
      logDock_(new LogDock(this)), statusPanel_(new StatusPanel(this)) {
  initResources();
  setObjectName(QStringLiteral("mainWindow"));
  setWindowTitle(tr("t2i-studio"));
  setWindowIcon(QIcon(QStringLiteral(":/icons/t2i-studio.svg")));

  pageList_->setObjectName(QStringLiteral("pageList"));
  stack_->setObjectName(QStringLiteral("pages"));

  createPages();
  // As wide as the longest title (in the user's font), leaving the rest to the page.
  pageList_->setFixedWidth(pageList_->sizeHintForColumn(0) + 2 * pageList_->frameWidth() + kPageListPadding);

  auto* central = new QWidget(this);
  auto* layout = new QHBoxLayout(central);
  layout->addWidget(pageList_);
  layout->addWidget(stack_, 1);
  setCentralWidget(central);
  connect(pageList_, &QListWidget::currentRowChanged, stack_, &QStackedWidget::setCurrentIndex);

  addDockWidget(Qt::BottomDockWidgetArea, logDock_);
  // A few log lines by default, so the pages keep their height on a 720-pixel screen.
  resizeDocks({logDock_}, {kLogDockHeight}, Qt::Vertical);
  statusBar()->addPermanentWidget(statusPanel_);
  createMenus();
  // Fits a 1280×720 screen with the window frame; restoreLayout() then puts back the user's size.
  resize(kDefaultSize.boundedTo(screen()->availableSize()));
  restoreLayout();
}

QList<Page> MainWindow::pages() {
  QList<Page> ids;
  for (const PageEntry& entry : pageRegistry()) ids << entry.id;
  return ids;
}

QString MainWindow::pageObjectName(Page page) {
  for (const PageEntry& entry : pageRegistry())
    if (entry.id == page) return entry.objectName;
  return {};
}

void MainWindow::createPages() {
  const MadePages made = [this](Page page) { return pageWidget(page); };
  for (const PageEntry& entry : pageRegistry()) addPage(entry, entry.create(this, made));
}

void MainWindow::addPage(const PageEntry& entry, QWidget* widget) {
  widget->setObjectName(entry.objectName);
  stack_->addWidget(widget);
  if (auto* jobs = qobject_cast<JobPage*>(widget)) connect(jobs, &JobPage::jobsIdle, this, &MainWindow::closeWhenIdle);
  auto* item = new QListWidgetItem(entry.title, pageList_);
  item->setData(Qt::UserRole, entry.objectName);
}

void MainWindow::showPage(Page page) { pageList_->setCurrentRow(static_cast<int>(pages().indexOf(page))); }

Page MainWindow::currentPage() const { return pages().value(stack_->currentIndex(), Page::Data); }

QWidget* MainWindow::pageWidget(Page page) const { return stack_->widget(static_cast<int>(pages().indexOf(page))); }

void MainWindow::createMenus() {
  QMenu* file = menuBar()->addMenu(tr("&File"));
  QAction* quit = file->addAction(tr("&Quit"), this, &QWidget::close);
  quit->setShortcut(QKeySequence::Quit);

  QMenu* view = menuBar()->addMenu(tr("&View"));
  view->addAction(logDock_->toggleViewAction());
  for (Page page : pages()) {
    const int row = static_cast<int>(pages().indexOf(page));
    QAction* go = view->addAction(pageList_->item(row)->text(), this, [this, page] { showPage(page); });
    go->setShortcut(QKeySequence(Qt::CTRL | static_cast<Qt::Key>(Qt::Key_1 + row)));
  }

  QMenu* help = menuBar()->addMenu(tr("&Help"));
  help->addAction(tr("&Getting started"), this, [this] {
    auto* guide = new QMessageBox(QMessageBox::Information, tr("Getting started"),
                                  gettingStartedText(settings::runsRoot(), settings::cacheRoot()),
                                  QMessageBox::Close, this);
    guide->setAttribute(Qt::WA_DeleteOnClose);
    guide->setTextFormat(Qt::RichText);
    guide->open();
  });
  help->addAction(tr("&About t2i-studio"), this, [this] {
    QMessageBox::about(this, tr("About t2i-studio"),
                       tr("<b>t2i-studio %1</b><p>Train, watch and probe small Imagen-style text-to-image "
                          "diffusion models on one machine.</p>")
                           .arg(QString::fromUtf8(t2i::kVersion)));
  });
  help->addAction(tr("About &Qt"), qApp, &QApplication::aboutQt);
}

void MainWindow::restoreLayout() {
  restoreGeometry(settings::windowGeometry.value());
  restoreState(settings::windowState.value());
  const int row = settings::windowPage.value();
  pageList_->setCurrentRow(row >= 0 && row < pageList_->count() ? row : 0);
}

QList<JobPage*> MainWindow::busyPages() const {
  QList<JobPage*> busy;
  for (int i = 0; i < stack_->count(); ++i)
    if (auto* page = qobject_cast<JobPage*>(stack_->widget(i)); page != nullptr && page->hasRunningJob()) busy << page;
  return busy;
}

void MainWindow::closeEvent(QCloseEvent* event) {
  const QList<JobPage*> busy = busyPages();
  if (busy.isEmpty()) {
    settings::windowGeometry.setValue(saveGeometry());
    settings::windowState.setValue(saveState());
    settings::windowPage.setValue(pageList_->currentRow());
    event->accept();
    return;
  }
  // Never wait here: ask, stop the jobs, and close again when the last one reports it ended.
  event->ignore();
  if (quitting_ || findChild<QMessageBox*>(QStringLiteral("confirmQuit")) != nullptr) return;
  QStringList jobs;
  for (JobPage* page : busy) jobs << page->runningJobDescription();
  auto* box = new QMessageBox(QMessageBox::Question, tr("Quit t2i-studio"),
                              tr("%1 is still running. Stop it and quit? Training saves a checkpoint first, so the run "
                                 "can be continued later.")
                                  .arg(jobs.join(tr(" and "))),
                              QMessageBox::Yes | QMessageBox::Cancel, this);
  box->setObjectName(QStringLiteral("confirmQuit"));
  box->button(QMessageBox::Yes)->setText(tr("Stop and quit"));
  box->setDefaultButton(QMessageBox::Yes);
  box->setAttribute(Qt::WA_DeleteOnClose);
  connect(box, &QMessageBox::finished, this, [this](int result) {
    if (result != QMessageBox::Yes) return;
    quitting_ = true;
    statusBar()->showMessage(tr("Stopping running jobs before quitting…"));
    for (JobPage* page : busyPages()) page->stopJobs();
    closeWhenIdle();
  });
  box->open();
}

void MainWindow::closeWhenIdle() {
  if (quitting_ && busyPages().isEmpty()) close();
}

} // namespace t2i::ui
