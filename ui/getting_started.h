// "Getting started": the studio's first hour in five steps (demo dataset, a minute of training,
// generate, compare guidance 5 and 8), with where the files go. Shown from Help and pointed to
// by the Data page until the first run.
#pragma once

#include <QString>

namespace t2i::ui {

/// The guide as rich text, naming `runsFolder` and `cacheFolder` where runs and dataset caches go.
QString gettingStartedText(const QString& runsFolder, const QString& cacheFolder);

/// The Data page's one-line pointer to the guide, shown until a first run exists.
QString firstRunHint();

} // namespace t2i::ui
