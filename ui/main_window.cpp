#include "main_window.h"

#include "log_dock.h"
#include "pages/page_intro.h"
#include "status_panel.h"

#include "t2i/version.h"

#include <QAction>
#include <QApplication>
#include <QCloseEvent>
#include <QHBoxLayout>
#include <QListWidget>
#include <QMenuBar>
#include <QMessageBox>
#include <QSettings>
#include <QStackedWidget>
#include <QStatusBar>

// Resources compiled into a static library must be registered by hand, outside any namespace.
static void initResources() { Q_INIT_RESOURCE(resources); }

namespace t2i::ui {
namespace {
const QString kGeometryKey = QStringLiteral("window/geometry");
const QString kStateKey = QStringLiteral("window/state");
const QString kPageKey = QStringLiteral("window/page");
} // namespace

MainWindow::MainWindow(QWidget* parent)
    : QMainWindow(parent), pageList_(new QListWidget(this)), stack_(new QStackedWidget(this)),
      logDock_(new LogDock(this)), statusPanel_(new StatusPanel(this)) {
  initResources();
  setObjectName(QStringLiteral("mainWindow"));
  setWindowTitle(tr("t2i-studio"));
  setWindowIcon(QIcon(QStringLiteral(":/icons/t2i-studio.svg")));

  pageList_->setObjectName(QStringLiteral("pageList"));
  pageList_->setFixedWidth(150);
  stack_->setObjectName(QStringLiteral("pages"));

  addPage(Page::Data, tr("Data"),
          new PageIntro(tr("Data"),
                        tr("Load COCO-style captioned images or the built-in demo dataset, read the dataset "
                           "report, split by image 75/15/10 and build the image and text-embedding caches.")));
  addPage(Page::Train, tr("Train"),
          new PageIntro(tr("Train"),
                        tr("Pick a model preset (small, base, large, full or demo), train with the P2-weighted "
                           "loss and watch the training loss, validation P2 loss and FID live.")));
  addPage(Page::Generate, tr("Generate"),
          new PageIntro(tr("Generate"),
                        tr("Type a prompt, set the classifier-free guidance scale and watch every denoising "
                           "step from noise to image.")));
  addPage(Page::Compare, tr("Compare"),
          new PageIntro(tr("Compare"),
                        tr("Compare guidance scales side by side (the paper's 5 against 8) with the same "
                           "prompt and seed.")));
  addPage(Page::Schedules, tr("Schedules"),
          new PageIntro(tr("Schedules"),
                        tr("See an image noised under the linear and the cosine schedule, and plot log-SNR, "
                           "alpha-bar and the P2 weight against t.")));

  auto* central = new QWidget(this);
  auto* layout = new QHBoxLayout(central);
  layout->addWidget(pageList_);
  layout->addWidget(stack_, 1);
  setCentralWidget(central);
  connect(pageList_, &QListWidget::currentRowChanged, stack_, &QStackedWidget::setCurrentIndex);

  addDockWidget(Qt::BottomDockWidgetArea, logDock_);
  statusBar()->addPermanentWidget(statusPanel_);
  createMenus();
  resize(1100, 750);
  restoreLayout();
}

QList<Page> MainWindow::pages() { return {Page::Data, Page::Train, Page::Generate, Page::Compare, Page::Schedules}; }

QString MainWindow::pageObjectName(Page page) {
  switch (page) {
  case Page::Data: return QStringLiteral("page.data");
  case Page::Train: return QStringLiteral("page.train");
  case Page::Generate: return QStringLiteral("page.generate");
  case Page::Compare: return QStringLiteral("page.compare");
  case Page::Schedules: return QStringLiteral("page.schedules");
  }
  return {};
}

void MainWindow::addPage(Page page, const QString& title, QWidget* widget) {
  widget->setObjectName(pageObjectName(page));
  stack_->addWidget(widget);
  auto* item = new QListWidgetItem(title, pageList_);
  item->setData(Qt::UserRole, pageObjectName(page));
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
  help->addAction(tr("&About t2i-studio"), this, [this] {
    QMessageBox::about(this, tr("About t2i-studio"),
                       tr("<b>t2i-studio %1</b><p>Train, watch and probe small Imagen-style text-to-image "
                          "diffusion models on one machine.</p>")
                           .arg(QString::fromUtf8(t2i::kVersion)));
  });
  help->addAction(tr("About &Qt"), qApp, &QApplication::aboutQt);
}

void MainWindow::restoreLayout() {
  QSettings settings;
  restoreGeometry(settings.value(kGeometryKey).toByteArray());
  restoreState(settings.value(kStateKey).toByteArray());
  const int row = settings.value(kPageKey, 0).toInt();
  pageList_->setCurrentRow(row >= 0 && row < pageList_->count() ? row : 0);
}

void MainWindow::closeEvent(QCloseEvent* event) {
  QSettings settings;
  settings.setValue(kGeometryKey, saveGeometry());
  settings.setValue(kStateKey, saveState());
  settings.setValue(kPageKey, pageList_->currentRow());
  event->accept();
}

} // namespace t2i::ui
