// The studio's persistent settings: every key typed, named once and given its default here,
// so no page spells a QSettings key or guesses a default on its own.
#pragma once

#include <QByteArray>
#include <QString>
#include <QStringList>
#include <QVariant>

namespace t2i::ui {

namespace settings::store {
// The GUI thread's access to the settings file. QSettings writes the whole file, through an
// fsync, whenever a temporary QSettings goes away: a page saving ten keys waited on the disk ten
// times, hundreds of milliseconds on a busy machine. Here values change in memory at once (every
// QSettings in the process sees them) and the file is written on a worker thread shortly after.
QVariant read(const QString& name);
void write(const QString& name, const QVariant& value);
void remove(const QString& name);
/// The settings file's path (the file itself may lag the values by a moment).
QString fileName();
} // namespace settings::store

template <typename T>
class SettingKey {
public:
  SettingKey(const char* name, T fallback) : name_(QString::fromLatin1(name)), fallback_(std::move(fallback)) {}

  const QString& name() const { return name_; }
  const T& fallback() const { return fallback_; }

  /// The stored value, or the default when the key is absent or holds another type.
  T value() const {
    QVariant stored = settings::store::read(name_);
    // convert() rather than canConvert(): a settings file stores numbers as text, and text that
    // is not a number must read as the default, not as 0.
    if (!stored.isValid() || !stored.convert(QMetaType::fromType<T>())) return fallback_;
    return stored.value<T>();
  }
  void setValue(const T& value) const { settings::store::write(name_, QVariant::fromValue(value)); }
  void reset() const { settings::store::remove(name_); }

private:
  QString name_;
  T fallback_;
};

namespace settings {

// Window layout.
extern const SettingKey<QByteArray> windowGeometry;
extern const SettingKey<QByteArray> windowState;
extern const SettingKey<int> windowPage;

// The dataset last chosen on the Data page.
extern const SettingKey<bool> dataDemo;             ///< the built-in demo dataset rather than COCO files
extern const SettingKey<QString> dataAnnotations;   ///< COCO captions JSON
extern const SettingKey<QString> dataImages;        ///< its images folder
extern const SettingKey<int> dataMaxImages;         ///< subset size before the 75/15/10 split
extern const SettingKey<QString> cacheFolder;       ///< where dataset caches go; empty = <cache location>/datasets

// Models and weights the user supplies.
extern const SettingKey<QString> t5Folder;          ///< Hugging Face T5 folder; empty = learned text encoder
extern const SettingKey<QString> inceptionWeights;  ///< pt_inception-2015-12-05 weights; empty = no FID

// Compute.
extern const SettingKey<QString> device;            ///< "cpu" or "cuda:N"
extern const SettingKey<int> threads;               ///< intra-op threads; 0 = every available core

// Training.
extern const SettingKey<QString> preset;            ///< preset name last chosen
extern const SettingKey<QString> runsFolder;        ///< where new run folders go; empty = defaultRunsFolder()
extern const SettingKey<QString> lastRun;           ///< the run folder last trained or opened
extern const SettingKey<QString> imagesFolder;      ///< where PNGs were last saved to or opened from

// Generate page (the checkpoint is not kept: the latest run's is preselected).
extern const SettingKey<QString> generatePrompt;
extern const SettingKey<QStringList> generatePromptHistory;  ///< newest first
extern const SettingKey<int> generateSteps;
extern const SettingKey<QString> generateSampler;            ///< a name of diffusion::sampler_kind_names()
extern const SettingKey<QString> generateThresholding;       ///< "dynamic" | "static" | "none"
extern const SettingKey<double> generatePercentile;
extern const SettingKey<qulonglong> generateSeed;
extern const SettingKey<bool> generateRandomSeed;
extern const SettingKey<int> generateImages;
extern const SettingKey<bool> generateAutoRegenerate;        ///< re-run when the guidance slider moves
extern const SettingKey<bool> generateFreezeNoise;           ///< the slider re-renders the same trajectory
extern const SettingKey<bool> generateLookInside;            ///< record attention maps and guidance anatomy
extern const SettingKey<QString> generateCascade;            ///< the cascade file last sampled; empty = one model

// Compare page.
extern const SettingKey<QString> comparePrompt;
extern const SettingKey<QString> compareScales;              ///< e.g. "5, 8"
extern const SettingKey<QString> compareSeeds;               ///< e.g. "0, 1"
extern const SettingKey<int> compareSteps;
extern const SettingKey<QString> compareSampler;
extern const SettingKey<QString> compareThresholding;
extern const SettingKey<bool> compareUseSecondCheckpoint;
extern const SettingKey<QString> compareSecondCheckpoint;

// Schedules page.
extern const SettingKey<int> schedulesSteps;                 ///< T of the discrete schedules; 0 = continuous time
extern const SettingKey<double> schedulesP2K;
extern const SettingKey<double> schedulesP2Gamma;
extern const SettingKey<int> schedulesDemoImage;             ///< index into the demo dataset
extern const SettingKey<QString> schedulesImageFile;         ///< an image file instead of the demo image; empty = demo

/// The folder `leaf` of the application under a standard location: <generic>/<application>/<leaf>,
/// or <perApplication>/<leaf> where that folder exists. Qt's per-application location is
/// <generic>/<organisation>/<application>, which repeats the studio's name
/// (…/t2i-studio/t2i-studio/…); version 0.1.0 kept its runs and caches there, and they stay in use.
QString applicationFolder(const QString& generic, const QString& perApplication, const QString& leaf);
/// <application data>/runs (computed on use: the application's name must be set first).
QString defaultRunsFolder();
/// Folder new runs go to: runsFolder or its default.
QString runsRoot();
/// Folder under which the studio keeps dataset caches, one sub-folder per dataset (cacheFolder
/// or its default).
QString cacheRoot();

} // namespace settings
} // namespace t2i::ui
