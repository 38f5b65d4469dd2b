#include "sampling/image_files.h"

#include "settings.h"

#include <QFileDialog>
#include <QFileInfo>
#include <QLocale>
#include <QRegularExpression>
#include <QStringList>

namespace t2i::ui {
namespace {

constexpr int kMaxNameWords = 40;  ///< characters of the prompt in a proposed name
constexpr int kScales[] = {1, 4, 8};

QString filterFor(int scale) {
  return scale == 1 ? QObject::tr("PNG image, as generated (*.png)")
                    : QObject::tr("PNG image, enlarged ×%1 (*.png)").arg(scale);
}

QString startPath(const QString& name) {
  const QString folder = settings::imagesFolder.value();
  if (folder.isEmpty() || !QFileInfo(folder).isDir()) return name;
  return folder + QLatin1Char('/') + name;
}

void rememberFolderOf(const QString& path) { settings::imagesFolder.setValue(QFileInfo(path).absolutePath()); }

/// Lowercase ASCII letters and digits of `text`, runs of anything else as one '-', at most
/// `length` characters, no '-' at either end.
QString fileNameWords(const QString& text, int length) {
  QString words = text.toLower().normalized(QString::NormalizationForm_KD);
  words.replace(QRegularExpression(QStringLiteral("[^a-z0-9.]+")), QStringLiteral("-"));
  words = words.left(length);
  while (words.startsWith(QLatin1Char('-'))) words.remove(0, 1);
  while (words.endsWith(QLatin1Char('-'))) words.chop(1);
  return words;
}

QString promptWords(const QString& prompt) {
  const QString words = fileNameWords(QString(prompt).remove(QLatin1Char('.')), kMaxNameWords);
  return words.isEmpty() ? QStringLiteral("image") : words;
}

} // namespace

QString proposedImageName(const QString& prompt, std::uint64_t seed, double guidance) {
  return QStringLiteral("%1_seed%2_cfg%3.png").arg(promptWords(prompt)).arg(seed).arg(QLocale::c().toString(guidance, 'g', 4));
}

QString proposedGridName(const QString& prompt, const QString& seeds, const QString& scales) {
  return QStringLiteral("grid_%1_seeds%2_cfg%3.png")
      .arg(promptWords(prompt), fileNameWords(seeds, kMaxNameWords), fileNameWords(scales, kMaxNameWords));
}

QImage enlarged(const QImage& image, int factor) {
  if (factor <= 1 || image.isNull()) return image;
  return image.scaled(image.width() * factor, image.height() * factor, Qt::IgnoreAspectRatio, Qt::FastTransformation);
}

SaveTarget askSavePng(QWidget* parent, const QString& title, const QString& name) {
  QStringList filters;
  for (int scale : kScales) filters << filterFor(scale);
  QString chosenFilter = filters.first();
  QString path = QFileDialog::getSaveFileName(parent, title, startPath(name), filters.join(QStringLiteral(";;")), &chosenFilter);
  if (path.isEmpty()) return {};
  if (!path.endsWith(QStringLiteral(".png"), Qt::CaseInsensitive)) path += QStringLiteral(".png");
  rememberFolderOf(path);
  SaveTarget target{path, 1};
  for (int scale : kScales)
    if (chosenFilter == filterFor(scale)) target.scale = scale;
  return target;
}

QString askOpenPng(QWidget* parent, const QString& title) {
  const QString path = QFileDialog::getOpenFileName(parent, title, startPath({}), QObject::tr("PNG images (*.png)"));
  if (!path.isEmpty()) rememberFolderOf(path);
  return path;
}

} // namespace t2i::ui
