#include "test_support.h"

#include <QDir>

namespace t2i::test {

QString sharedData(const QString& relative) {
  return QDir(QStringLiteral(T2I_SHARED_DATA_DIR)).absoluteFilePath(relative);
}

QString artifactsDir() { return QStringLiteral(T2I_TEST_ARTIFACTS_DIR); }

QString cliPath() { return QStringLiteral(T2I_CLI_PATH); }

} // namespace t2i::test
