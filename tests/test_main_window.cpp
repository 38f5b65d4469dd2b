// The main window as a user first sees it: every page reachable, status bar and log filled.
#include "test_support.h"

#include "log_dock.h"
#include "main_window.h"
#include "status_panel.h"

#include "t2i/log.h"
#include "t2i/runtime.h"

#include <QListWidget>
#include <QSet>
#include <QStackedWidget>
#include <QtTest/QtTest>

#include <thread>

using t2i::ui::MainWindow;
using t2i::ui::Page;

namespace {

/// Distinct colours in an image: a blank or single-colour grab has one or two.
int distinctColours(const QImage& image) {
  QSet<QRgb> colours;
  for (int y = 0; y < image.height(); y += 2)
    for (int x = 0; x < image.width(); x += 2) colours.insert(image.pixel(x, y));
  return static_cast<int>(colours.size());
}

} // namespace

class TestMainWindow : public QObject {
  Q_OBJECT
private Q_SLOTS:
  void initTestCase() {
    t2i::test::useOwnSettings();
    t2i::runtime::initialize();
  }

  void everyPageIsReachableByClicking() {
    MainWindow window;
    window.show();
    QVERIFY(QTest::qWaitForWindowExposed(&window));
    auto* list = window.findChild<QListWidget*>(QStringLiteral("pageList"));
    auto* stack = window.findChild<QStackedWidget*>(QStringLiteral("pages"));
    QVERIFY(list && stack);
    QCOMPARE(list->count(), MainWindow::pages().size());
    for (int row = 0; row < list->count(); ++row) {
      const QRect rect = list->visualItemRect(list->item(row));
      QTest::mouseClick(list->viewport(), Qt::LeftButton, {}, rect.center());
      const Page page = MainWindow::pages().at(row);
      QCOMPARE(window.currentPage(), page);
      QCOMPARE(stack->currentWidget()->objectName(), MainWindow::pageObjectName(page));
      QVERIFY(window.findChild<QWidget*>(MainWindow::pageObjectName(page)));
    }
  }

  void windowIconIsBundled() {
    MainWindow window;
    QVERIFY(!window.windowIcon().pixmap(64).isNull());
  }

  void statusBarShowsRuntime() {
    MainWindow window;
    const t2i::runtime::Report report = t2i::runtime::report();
    QVERIFY(window.statusPanel()->deviceText().contains(QStringLiteral("cpu")));
    QVERIFY(window.statusPanel()->threadsText().contains(QString::number(report.intra_op_threads)));
    QVERIFY(window.statusPanel()->memoryText().contains(QStringLiteral("GiB")));
  }

  void logDockReceivesCoreLinesFromWorkerThreads() {
    MainWindow window;
    const int before = window.logDock()->lineCount();
    std::thread worker([] { t2i::log::core()->info("line from a worker thread"); });
    worker.join();
    QTRY_COMPARE(window.logDock()->lineCount(), before + 1);
  }

  void screenshotIsNotBlank() {
    MainWindow window;
    window.resize(1100, 750);
    window.show();
    QVERIFY(QTest::qWaitForWindowExposed(&window));
    for (Page page : MainWindow::pages()) {
      window.showPage(page);
      QCoreApplication::processEvents();
      const QImage shot = window.grab().toImage();
      QVERIFY(!shot.isNull());
      const QString path = t2i::test::artifactsDir() + QStringLiteral("/main-window-") +
                           MainWindow::pageObjectName(page).mid(5) + QStringLiteral(".png");
      QVERIFY(shot.save(path));
      QVERIFY2(distinctColours(shot) > 8, qPrintable(path));
    }
  }
};

QTEST_MAIN(TestMainWindow)
#include "test_main_window.moc"
