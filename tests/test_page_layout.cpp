// Every page of the main window at 1280×720 and 1920×1080: the window fits, no two visible widgets overlap and
// none is cut off by its parent. Each page's screenshot is kept in the test artifacts.
#include "test_support.h"

#include "layout_check.h"
#include "main_window.h"
#include "pages/schedules_page.h"
#include "plots/training_curves.h"

#include "t2i/runtime.h"

#include <QLabel>
#include <QPushButton>
#include <QScrollArea>
#include <QScrollBar>
#include <QStackedWidget>
#include <QTabWidget>
#include <QVBoxLayout>
#include <QtTest/QtTest>

#include <memory>

using t2i::test::PlacedWidget;
using t2i::ui::MainWindow;
using t2i::ui::Page;

namespace {
constexpr QSize kScreen(1280, 720);
constexpr QSize kLargeScreen(1920, 1080);
constexpr int kDemoTimeoutMs = 120'000;

bool fits(const QSize& size, const QSize& screen) { return size.width() <= screen.width() && size.height() <= screen.height(); }

QString text(const QSize& size) { return QStringLiteral("%1×%2").arg(size.width()).arg(size.height()); }

/// Text that arrived from a worker a moment ago (a model's description) has asked for a new
/// layout; each layout that runs may ask its parent for one in turn.
void settleLayouts() {
  for (int round = 0; round < 4; ++round) {
    QCoreApplication::sendPostedEvents(nullptr, QEvent::LayoutRequest);
    QCoreApplication::processEvents();
  }
}
} // namespace

class TestPageLayout : public QObject {
  Q_OBJECT
private Q_SLOTS:
  void initTestCase() {
    t2i::test::useOwnSettings();
    t2i::runtime::initialize();
  }

  void overlapsNamesEveryPairThatSharesAPixel() {
    const QList<PlacedWidget> placed{{QStringLiteral("a"), QRect(0, 0, 10, 10)},
                                     {QStringLiteral("b"), QRect(9, 9, 10, 10)},
                                     {QStringLiteral("c"), QRect(10, 0, 10, 9)},
                                     {QStringLiteral("d"), QRect(30, 30, 5, 5)}};
    const QStringList found = t2i::test::overlaps(placed);
    QCOMPARE(found.size(), 1);
    QVERIFY(found.first().startsWith(QStringLiteral("a ")));
    QVERIFY(found.first().contains(QStringLiteral("overlaps b ")));
  }

  void layoutProblemsFindsOverlappingAndCutOffWidgets() {
    QWidget window;
    window.resize(200, 100);
    auto* first = new QPushButton(QStringLiteral("first"), &window);
    auto* second = new QPushButton(QStringLiteral("second"), &window);
    auto* outside = new QLabel(QStringLiteral("outside"), &window);
    first->setGeometry(0, 0, 80, 30);
    second->setGeometry(60, 10, 80, 30);  // covers the right of the first
    outside->setGeometry(150, 80, 80, 30);  // sticks out of the window
    window.show();
    QVERIFY(QTest::qWaitForWindowExposed(&window));
    const QStringList problems = t2i::test::layoutProblems(&window);
    QCOMPARE(problems.size(), 2);
    QVERIFY2(problems.filter(QStringLiteral("\"outside\" is cut off")).size() == 1, qPrintable(problems.join(QLatin1Char('\n'))));
    QVERIFY2(problems.filter(QStringLiteral("\"first\" [0,0 80×30] overlaps QPushButton \"second\"")).size() == 1,
             qPrintable(problems.join(QLatin1Char('\n'))));
  }

  void layoutProblemsFindLabelsTooSmallForTheirText() {
    QWidget window;
    window.resize(400, 200);
    auto* line = new QLabel(QStringLiteral("a label much wider than its room"), &window);
    auto* wrapped = new QLabel(QStringLiteral("a wrapped label with more words than two short lines can hold"), &window);
    auto* fits = new QLabel(QStringLiteral("fits"), &window);
    wrapped->setWordWrap(true);
    line->setGeometry(0, 0, 40, 30);
    wrapped->setGeometry(0, 40, 120, wrapped->fontMetrics().lineSpacing() + 2);
    fits->setGeometry(0, 120, 200, 30);
    window.show();
    QVERIFY(QTest::qWaitForWindowExposed(&window));
    const QStringList problems = t2i::test::layoutProblems(&window);
    QCOMPARE(problems.size(), 2);
    QCOMPARE(problems.filter(QStringLiteral("\"a label much wider")).size(), 1);
    QCOMPARE(problems.filter(QStringLiteral("\"a wrapped label")).size(), 1);
  }

  void widgetsInAScrollAreaCountByTheirVisiblePart() {
    QWidget window;
    window.resize(200, 300);
    auto* scroll = new QScrollArea(&window);
    scroll->setGeometry(0, 0, 200, 100);
    auto* content = new QWidget;
    content->resize(180, 400);
    auto* hidden = new QPushButton(QStringLiteral("scrolled out"), content);
    hidden->setGeometry(0, 250, 100, 30);  // below the viewport, where `below` is in the window
    scroll->setWidget(content);
    auto* below = new QLabel(QStringLiteral("below"), &window);
    below->setGeometry(0, 250, 100, 30);
    window.show();
    QVERIFY(QTest::qWaitForWindowExposed(&window));
    QVERIFY2(t2i::test::layoutProblems(&window).isEmpty(), qPrintable(t2i::test::layoutProblems(&window).join(QLatin1Char('\n'))));
    scroll->verticalScrollBar()->setValue(200);  // now the button shows at the viewport's top
    const QList<PlacedWidget> leaves = t2i::test::visibleLeaves(&window, nullptr);
    const auto button = std::find_if(leaves.begin(), leaves.end(), [](const PlacedWidget& w) { return w.name.contains(QStringLiteral("scrolled out")); });
    QVERIFY(button != leaves.end());
    QVERIFY(scroll->geometry().contains(button->rect));
  }

  void fidNoteLeavesRoomForTheChartsButtons() {
    // The Train page's charts at the size a 1280×720 window gives them, with the FID hint shown.
    t2i::ui::TrainingCurves curves;
    curves.setFidHint(QStringLiteral("FID is off: no Inception weights are chosen. To enable it, choose the file "
                                     "pt_inception-2015-12-05-6726825d.pth under \"Compute, text and evaluation\" "
                                     "before starting (or continuing) the run."));
    curves.resize(curves.minimumSizeHint().expandedTo(QSize(560, 0)));
    curves.show();
    QVERIFY(QTest::qWaitForWindowExposed(&curves));
    const QStringList problems = t2i::test::layoutProblems(&curves);
    QVERIFY2(problems.isEmpty(), qPrintable(problems.join(QLatin1Char('\n'))));
  }

  // The run's facts above the charts change as training goes (status, best, run folder); the
  // charts stay where they are.
  void trainFactsKeepTheirHeightAsTheyChange() {
    MainWindow window;
    window.resize(kScreen);
    window.show();
    QVERIFY(QTest::qWaitForWindowExposed(&window));
    window.showPage(Page::Train);
    QCoreApplication::processEvents();
    QWidget* page = window.pageWidget(Page::Train);
    auto* loss = page->findChild<QWidget*>(QStringLiteral("lossPlot"));
    QVERIFY(loss);
    const int before = loss->mapTo(page, QPoint(0, 0)).y();
    for (const char* name : {"trainStatus", "bestLabel", "runLabel"}) {
      auto* label = page->findChild<QLabel*>(QString::fromLatin1(name));
      QVERIFY(label);
      QString text;
      while (label->fontMetrics().horizontalAdvance(text) < label->width() * 3 / 2) text += QStringLiteral("words and ");
      label->setText(text);
    }
    for (const char* name : {"stepLabel", "etaLabel", "earlyStopLabel", "datasetLabel"})
      page->findChild<QLabel*>(QString::fromLatin1(name))->setText(QStringLiteral("12,345"));
    QCoreApplication::processEvents();
    QCOMPARE(loss->mapTo(page, QPoint(0, 0)).y(), before);
  }

  void defaultWindowFitsTheScreenWithItsFrame() {
    MainWindow window;
    window.show();
    QVERIFY(QTest::qWaitForWindowExposed(&window));
    // Room left for a title bar and frame of up to 40 pixels.
    QVERIFY2(fits(window.size(), kScreen - QSize(0, 40)), qPrintable(text(window.size())));
  }

  void everyPageFitsEachScreen_data() {
    QTest::addColumn<Page>("page");
    QTest::addColumn<QSize>("screen");
    for (const QSize screen : {kScreen, kLargeScreen})
      for (Page page : MainWindow::pages())
        QTest::newRow(qPrintable(MainWindow::pageObjectName(page).mid(5) + QLatin1Char('-') + text(screen))) << page << screen;
  }

  void everyPageFitsEachScreen() {
    QFETCH(Page, page);
    QFETCH(QSize, screen);
    MainWindow window;
    window.resize(screen);
    window.show();
    QVERIFY(QTest::qWaitForWindowExposed(&window));
    auto* schedules = qobject_cast<t2i::ui::SchedulesPage*>(window.pageWidget(page));
    // The Schedules page draws its demo images when first shown: the screenshot waits for them.
    std::unique_ptr<QSignalSpy> demoReady;
    if (schedules != nullptr) demoReady = std::make_unique<QSignalSpy>(schedules, &t2i::ui::SchedulesPage::demoImagesReady);
    window.showPage(page);
    if (demoReady) QVERIFY(!demoReady->isEmpty() || demoReady->wait(kDemoTimeoutMs));
    settleLayouts();
    QWidget* shown = window.pageWidget(page);
    const QString path = t2i::test::artifactsDir() + QStringLiteral("/page-") + MainWindow::pageObjectName(page).mid(5) +
                         QStringLiteral("-%1x%2.png").arg(screen.width()).arg(screen.height());
    QVERIFY(window.grab().save(path));

    QVERIFY2(fits(window.minimumSizeHint(), screen), qPrintable(text(window.minimumSizeHint())));
    QVERIFY2(fits(window.size(), screen), qPrintable(text(window.size())));
    QVERIFY2(fits(shown->minimumSizeHint(), shown->size()),
             qPrintable(text(shown->minimumSizeHint()) + QStringLiteral(" in ") + text(shown->size())));
    QStringList problems = t2i::test::layoutProblems(&window);
    // Every tab of the page's tab widgets lays out too, not only the one shown first.
    for (QTabWidget* tabs : shown->findChildren<QTabWidget*>())
      for (int tab = 1; tab < tabs->count(); ++tab) {
        tabs->setCurrentIndex(tab);
        settleLayouts();
        QVERIFY(window.grab().save(QString(path).replace(QStringLiteral(".png"), QStringLiteral("-%1-tab%2.png").arg(tabs->objectName()).arg(tab + 1))));
        problems << t2i::test::layoutProblems(&window);
      }
    QVERIFY2(problems.isEmpty(), qPrintable(problems.join(QLatin1Char('\n'))));
  }
};

QTEST_MAIN(TestPageLayout)
#include "test_page_layout.moc"
