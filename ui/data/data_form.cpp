#include "data/data_form.h"

#include <QCoreApplication>
#include <QFileInfo>
#include <QLocale>
#include <QStringList>

namespace t2i::ui {
namespace {
QString tr(const char* text) { return QCoreApplication::translate("t2i::ui::DataPage", text); }
QString count(int n) { return QLocale().toString(n); }
} // namespace

bool isComplete(const DataForm& form) {
  return form.demo || (!form.annotations.isEmpty() && !form.imagesFolder.isEmpty());
}

train::DataSpec dataSpec(const DataForm& form, int imageSize, const QString& cacheRoot) {
  train::DataSpec spec;
  spec.demo = form.demo;
  spec.demo_images = form.demoImages;
  spec.max_images = form.demo ? form.demoImages : form.maxImages;
  if (!form.demo) {
    spec.annotations = form.annotations.toStdString();
    spec.images_dir = form.imagesFolder.toStdString();
  }
  // Until both paths are given there is no dataset to name a cache after.
  if (isComplete(form)) spec.cache_dir = train::cache_folder(cacheRoot.toStdString(), spec, imageSize);
  return spec;
}

QString describe(const DataForm& form) {
  if (form.demo) return tr("Built-in demo dataset, %1 scenes").arg(count(form.demoImages));
  if (form.annotations.isEmpty()) return tr("No captions file chosen (Data page)");
  return tr("%1 (up to %2 images)").arg(QFileInfo(form.annotations).fileName(), count(form.maxImages));
}

QString captionFormatsText() {
  QStringList lines;
  for (const data::CaptionFormat& format : data::caption_formats())
    lines << QStringLiteral("%1: %2").arg(QString::fromStdString(format.extension), QString::fromStdString(format.description));
  return lines.join(QLatin1Char('\n'));
}

QString captionFileFilter() {
  QStringList patterns;
  for (const data::CaptionFormat& format : data::caption_formats())
    patterns << QLatin1Char('*') + QString::fromStdString(format.extension);
  return QCoreApplication::translate("DataPage", "Captions (%1);;All files (*)").arg(patterns.join(QLatin1Char(' ')));
}

} // namespace t2i::ui
