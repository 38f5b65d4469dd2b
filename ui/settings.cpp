#include "settings.h"

#include <QStandardPaths>

namespace t2i::ui::settings {

const SettingKey<QByteArray> windowGeometry{"window/geometry", {}};
const SettingKey<QByteArray> windowState{"window/state", {}};
const SettingKey<int> windowPage{"window/page", 0};

const SettingKey<bool> dataDemo{"data/demo", true};
const SettingKey<QString> dataAnnotations{"data/annotations", {}};
const SettingKey<QString> dataImages{"data/images", {}};
const SettingKey<int> dataMaxImages{"data/maxImages", 20000};
const SettingKey<QString> cacheFolder{"data/cacheFolder", {}};

const SettingKey<QString> t5Folder{"paths/t5", {}};
const SettingKey<QString> inceptionWeights{"paths/inception", {}};

const SettingKey<QString> device{"compute/device", QStringLiteral("cpu")};
const SettingKey<int> threads{"compute/threads", 0};

const SettingKey<QString> preset{"train/preset", QStringLiteral("demo")};
const SettingKey<QString> runsFolder{"train/runsDir", {}};
const SettingKey<QString> lastRun{"train/lastRun", {}};

const SettingKey<QString> generatePrompt{"generate/prompt", QStringLiteral("a red circle above a blue square")};
const SettingKey<QStringList> generatePromptHistory{"generate/promptHistory", {}};
const SettingKey<int> generateSteps{"generate/steps", 50};
const SettingKey<QString> generateSampler{"generate/sampler", QStringLiteral("ddim")};
const SettingKey<QString> generateThresholding{"generate/thresholding", QStringLiteral("dynamic")};
const SettingKey<double> generatePercentile{"generate/percentile", 0.995};
const SettingKey<qulonglong> generateSeed{"generate/seed", 0};
const SettingKey<bool> generateRandomSeed{"generate/randomSeed", false};
const SettingKey<int> generateImages{"generate/images", 1};
const SettingKey<bool> generateAutoRegenerate{"generate/autoRegenerate", true};

const SettingKey<QString> comparePrompt{"compare/prompt", QStringLiteral("a red circle above a blue square")};
const SettingKey<QString> compareScales{"compare/scales", QStringLiteral("5, 8")};
const SettingKey<QString> compareSeeds{"compare/seeds", QStringLiteral("0")};
const SettingKey<int> compareSteps{"compare/steps", 50};
const SettingKey<QString> compareSampler{"compare/sampler", QStringLiteral("ddim")};
const SettingKey<QString> compareThresholding{"compare/thresholding", QStringLiteral("dynamic")};
const SettingKey<bool> compareUseSecondCheckpoint{"compare/useSecondCheckpoint", false};
const SettingKey<QString> compareSecondCheckpoint{"compare/secondCheckpoint", {}};

const SettingKey<int> schedulesSteps{"schedules/steps", 1000};
const SettingKey<double> schedulesP2K{"schedules/p2K", 1.0};
const SettingKey<double> schedulesP2Gamma{"schedules/p2Gamma", 0.5};
const SettingKey<int> schedulesDemoImage{"schedules/demoImage", 0};
const SettingKey<QString> schedulesImageFile{"schedules/imageFile", {}};

QString defaultRunsFolder() {
  return QStandardPaths::writableLocation(QStandardPaths::AppDataLocation) + QStringLiteral("/runs");
}

QString cacheRoot() {
  const QString chosen = cacheFolder.value();
  if (!chosen.isEmpty()) return chosen;
  return QStandardPaths::writableLocation(QStandardPaths::CacheLocation) + QStringLiteral("/datasets");
}

} // namespace t2i::ui::settings
