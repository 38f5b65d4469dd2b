#include "getting_started.h"

#include <QDir>
#include <QObject>

namespace t2i::ui {

QString gettingStartedText(const QString& runsFolder, const QString& cacheFolder) {
  return QObject::tr(
             "<h3>Getting started</h3>"
             "<ol>"
             "<li><b>Data</b>: keep <i>Built-in demo dataset</i> and press <i>Build</i>. Coloured shapes with "
             "captions are drawn and cached in a few seconds.</li>"
             "<li><b>Train</b>: choose the <i>demo</i> preset and press <i>Start</i>. The loss curve moves at "
             "once; the first validation point and sample grid come at step 25, within a minute. Press "
             "<i>Stop</i> whenever you like: a checkpoint is saved and <i>Continue run</i> resumes exactly.</li>"
             "<li><b>Generate</b>: pick your run's checkpoint (or the shipped demo model), type a caption such "
             "as <i>a red circle above a blue square</i> and watch every denoising step.</li>"
             "<li><b>Compare</b>: put guidance 5 and 8 side by side on the same seeds to see what "
             "classifier-free guidance does.</li>"
             "<li><b>Schedules</b>: see how the noise schedule and the P2 weighting treat each timestep.</li>"
             "</ol>"
             "<p>Runs (configuration, metrics, previews, checkpoints) go to <tt>%1</tt>; dataset caches to "
             "<tt>%2</tt>. Both can be changed on the Train and Data pages.</p>")
      .arg(QDir::toNativeSeparators(runsFolder).toHtmlEscaped(), QDir::toNativeSeparators(cacheFolder).toHtmlEscaped());
}

QString firstRunHint() {
  return QObject::tr("New here? <b>Help ▸ Getting started</b> walks through it: the demo dataset, a minute of "
                     "training, generating, and guidance 5 against 8.");
}

} // namespace t2i::ui
