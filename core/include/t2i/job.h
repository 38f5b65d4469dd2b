// The job protocol: how every long operation of the core (preparing data, building caches,
// training, sampling, evaluating) reports progress, is cancelled and fails. The CLI and the
// studio speak only this: one progress event, one cancel token, one error type.
//
// A cancelled job returns normally, soon after the token is set, with its result's `cancelled`
// set (or, for training, the summary's stop reason "cancelled"); what it finished is saved and
// running it again resumes. A job that cannot go on throws an exception whose message names the
// file and the problem; the readers that know the two apart (data, tensor files, FID
// statistics) throw a job::Error holding each.
#pragma once

#include "t2i/image.h"

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

namespace t2i::job {

/// A picture a job shows while it works (a training run's sample grid), with the caption of
/// each of its tiles in order.
struct Snapshot {
  Image image;
  std::vector<std::string> captions;
};

/// One progress event. A status line has a message and no count; a count has a stage.
struct Progress {
  std::string stage;                          ///< what is being counted, e.g. "decoding images"
  std::int64_t done = 0;
  std::int64_t total = 0;                     ///< 0 = not known
  std::string message;                        ///< a line for a status bar or a log; may be empty
  std::int64_t step = -1;                     ///< the training step the event belongs to (-1 = none)
  std::shared_ptr<const Snapshot> snapshot;   ///< the newest picture of the work, when there is one
};

/// Set by the caller (any thread), read by the job: stop at the next safe point.
class CancelToken {
public:
  void cancel() noexcept { requested_.store(true); }
  /// Makes the token usable for the next job.
  void reset() noexcept { requested_.store(false); }
  bool requested() const noexcept { return requested_.load(); }

private:
  std::atomic<bool> requested_{false};
};

/// True when `token` is set; a job without a token is never cancelled.
inline bool cancelled(const CancelToken* token) { return token != nullptr && token->requested(); }

/// What a long operation is handed: where its progress goes (called on the job's thread; a
/// listener hands events to its own thread) and what stops it. Both may be empty.
struct Context {
  std::function<void(const Progress&)> on_progress;
  const CancelToken* cancel = nullptr;

  bool cancelled() const { return job::cancelled(cancel); }
  void report(const Progress& progress) const;
  /// A count: `done` of `total` (0 = not known) of `stage`.
  void count(const std::string& stage, std::int64_t done, std::int64_t total) const;
  /// A status line.
  void status(const std::string& message) const;
};

/// What every job throws when it cannot go on: the file at fault (empty when the problem is not
/// one file's, e.g. an option out of range) and the problem. what() is "file: problem".
class Error : public std::runtime_error {
public:
  Error(const std::string& file, const std::string& problem);
  const std::string& file() const { return file_; }
  const std::string& problem() const { return problem_; }

private:
  std::string file_;
  std::string problem_;
};

} // namespace t2i::job
