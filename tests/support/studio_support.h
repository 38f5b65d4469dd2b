// What the studio's GUI tests share: finding a page's widgets by name and saving what a user sees.
#pragma once

#include "test_support.h"

#include <QCoreApplication>
#include <QObject>
#include <QString>
#include <QWidget>
#include <QtTest/QtTest>

namespace t2i::test {

/// The child of `parent` named `name`, or nullptr with a warning naming it.
template <typename T>
T* child(QObject* parent, const char* name) {
  T* found = parent->findChild<T*>(QString::fromLatin1(name));
  if (found == nullptr) qWarning("no child named %s", name);
  return found;
}

/// Saves `widget` as a user sees it into the test artifacts folder as `name`.
inline void saveShot(QWidget* widget, const QString& name) {
  QCoreApplication::processEvents();
  const QString path = artifactsDir() + QLatin1Char('/') + name;
  QVERIFY2(widget->grab().save(path), qPrintable(path));
  qInfo("screenshot: %s", qPrintable(path));
}

} // namespace t2i::test
