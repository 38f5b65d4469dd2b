// Training batches from a prepared dataset: images from the memory-mapped cache as [B, 3, S, S]
// floats in [−1, 1], one of each image's captions chosen at random every time, and the caption's
// index so the trainer can fetch its cached text embedding. Batches are prepared ahead on a
// background thread.
//
// Determinism: batch k is a pure function of (seed, k). The sample stream is the concatenation of
// per-epoch permutations (epoch e shuffled with a generator seeded by (seed, e)); sample j's caption
// and flip come from a generator seeded by (seed, j). So the same seed gives the same batches
// whatever the prefetch depth or thread timing, and a run resumed at batch k continues exactly.
#pragma once

#include "t2i/job.h"

#include "data/prepared_dataset.h"

#include <torch/torch.h>

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <exception>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>

namespace t2i::data {

struct BatchOptions {
  int batch_size = 32;
  /// Which of the dataset's caches the images come from (PreparedDataset::image_sizes); 0 = S. A
  /// super-resolution stage reads its output size and box_downsample()s the input (image_pairs.h).
  int image_size = 0;
  std::uint64_t seed = 0;
  bool shuffle = true;            ///< reshuffle every epoch; false walks the split in manifest order
  bool horizontal_flip = false;   ///< random mirror; off by default since captions say "left"/"right"
  int prefetch = 2;               ///< batches prepared ahead on the background thread (0 = in next())
  std::int64_t first_batch = 0;   ///< index of the first batch next() returns (resuming a run)
  const job::CancelToken* cancel = nullptr;  ///< next() returns nothing once this reads true
};

struct Batch {
  torch::Tensor images;           ///< [B, 3, S, S] float32 in [−1, 1] (S: BatchOptions::image_size)
  torch::Tensor caption_index;    ///< [B] int64: indices into PreparedDataset::captions()
  torch::Tensor image_index;      ///< [B] int64: positions in the split
  std::int64_t index = 0;         ///< the batch's position in the stream
  std::int64_t epoch = 0;         ///< epoch of the batch's first sample
};

class BatchLoader {
public:
  /// Throws DataError when the split is empty, batch_size < 1 or no cache has options.image_size.
  BatchLoader(std::shared_ptr<const PreparedDataset> data, Split split, const BatchOptions& options);
  /// Stops the background thread and waits for it (at most one batch's work).
  ~BatchLoader();
  BatchLoader(const BatchLoader&) = delete;
  BatchLoader& operator=(const BatchLoader&) = delete;

  /// The next batch of the stream; nothing once stopped or cancelled. Rethrows the background
  /// thread's error, if any.
  std::optional<Batch> next();

  /// Stops prefetching; next() returns nothing afterwards. Idempotent.
  void stop();

  /// Batch `index` of the stream, computed on the calling thread.
  Batch batch_at(std::int64_t index) const;

  std::int64_t batches_per_epoch() const;
  std::size_t split_size() const { return images_.size(); }

private:
  void produce();
  bool cancelled() const;
  // The split position of stream sample j; `permutation`/`permutation_epoch` cache one epoch.
  std::size_t sample_position(std::int64_t j, std::vector<std::size_t>& permutation, std::int64_t& permutation_epoch) const;
  Batch make_batch(std::int64_t index, std::vector<std::size_t>& permutation, std::int64_t& permutation_epoch) const;

  std::shared_ptr<const PreparedDataset> data_;
  const std::vector<ManifestImage>& images_;
  BatchOptions options_;
  const ImageCache& cache_;  ///< the cache at options_.image_size

  std::int64_t next_index_;
  std::mutex mutex_;
  std::condition_variable changed_;
  std::deque<Batch> ready_;
  std::exception_ptr error_;
  bool stopping_ = false;
  std::thread worker_;
};

} // namespace t2i::data
