#include "pages/page_registry.h"

#include "pages/compare_page.h"
#include "pages/data_page.h"
#include "pages/generate_page.h"
#include "pages/schedules_page.h"
#include "pages/train_page.h"

#include <QCoreApplication>

namespace t2i::ui {
namespace {

QString title(const char* text) { return QCoreApplication::translate("t2i::ui::MainWindow", text); }

template <typename P> QWidget* make(QWidget* parent, const MadePages&) { return new P(parent); }

/// Training reads the Data page's dataset, and both pages follow one preset choice.
QWidget* makeTrainPage(QWidget* parent, const MadePages& made) {
  auto* train = new TrainPage(parent);
  if (auto* data = qobject_cast<DataPage*>(made(Page::Data))) {
    train->setDataPage(data);
    QObject::connect(data, &DataPage::presetNameChanged, train, &TrainPage::setPresetName);
    QObject::connect(train, &TrainPage::presetNameChanged, data, &DataPage::setPresetName);
  }
  return train;
}

} // namespace

QList<PageEntry> pageRegistry() {
  return {
      {Page::Data, title(QT_TRANSLATE_NOOP("t2i::ui::MainWindow", "Data")), QStringLiteral("page.data"), make<DataPage>},
      {Page::Train, title(QT_TRANSLATE_NOOP("t2i::ui::MainWindow", "Train")), QStringLiteral("page.train"), makeTrainPage},
      {Page::Generate, title(QT_TRANSLATE_NOOP("t2i::ui::MainWindow", "Generate")), QStringLiteral("page.generate"), make<GeneratePage>},
      {Page::Compare, title(QT_TRANSLATE_NOOP("t2i::ui::MainWindow", "Compare")), QStringLiteral("page.compare"), make<ComparePage>},
      {Page::Schedules, title(QT_TRANSLATE_NOOP("t2i::ui::MainWindow", "Schedules")), QStringLiteral("page.schedules"), make<SchedulesPage>},
  };
}

} // namespace t2i::ui
