#include "data/batch_loader.h"

#include "data/data_error.h"
#include "data/image_transform.h"
#include "data/stable_random.h"

#include <chrono>
#include <numeric>

namespace t2i::data {

namespace {

// Stream numbers that keep the permutation and the per-sample generators independent.
constexpr std::uint64_t kPermutationStream = 0x7065726d75746531ULL;
constexpr std::uint64_t kSampleStream = 0x73616d706c657331ULL;

} // namespace

BatchLoader::BatchLoader(std::shared_ptr<const PreparedDataset> data, Split split, const BatchOptions& options)
    : data_(std::move(data)), images_(data_->images(split)), options_(options),
      cache_(data_->cache(options.image_size > 0 ? options.image_size : data_->image_size())), next_index_(options.first_batch) {
  if (images_.empty()) throw DataError(std::string("the ") + to_string(split) + " split is empty");
  if (options_.batch_size < 1) throw DataError("batch size must be at least 1");
  if (options_.first_batch < 0) throw DataError("first batch must be non-negative");
  if (options_.prefetch > 0) worker_ = std::thread([this] { produce(); });
}

BatchLoader::~BatchLoader() { stop(); }

void BatchLoader::stop() {
  {
    const std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  changed_.notify_all();
  if (worker_.joinable()) worker_.join();
}

bool BatchLoader::cancelled() const { return job::cancelled(options_.cancel); }

std::int64_t BatchLoader::batches_per_epoch() const {
  const auto n = static_cast<std::int64_t>(images_.size());
  return (n + options_.batch_size - 1) / options_.batch_size;
}

std::size_t BatchLoader::sample_position(std::int64_t j, std::vector<std::size_t>& permutation,
                                         std::int64_t& permutation_epoch) const {
  const auto n = static_cast<std::int64_t>(images_.size());
  const std::int64_t epoch = j / n;
  const auto position = static_cast<std::size_t>(j % n);
  if (!options_.shuffle) return position;
  if (permutation_epoch != epoch) {
    permutation.resize(images_.size());
    std::iota(permutation.begin(), permutation.end(), std::size_t{0});
    StableRng rng(mix64(options_.seed ^ kPermutationStream, static_cast<std::uint64_t>(epoch)));
    for (std::size_t i = permutation.size() - 1; i > 0; --i) std::swap(permutation[i], permutation[rng.below(i + 1)]);
    permutation_epoch = epoch;
  }
  return permutation[position];
}

Batch BatchLoader::make_batch(std::int64_t index, std::vector<std::size_t>& permutation, std::int64_t& permutation_epoch) const {
  const int size = cache_.image_size();
  const std::int64_t b = options_.batch_size;
  Batch batch;
  batch.index = index;
  batch.epoch = index * b / static_cast<std::int64_t>(images_.size());
  batch.images = torch::empty({b, 3, size, size}, torch::kFloat32);
  batch.caption_index = torch::empty({b}, torch::kInt64);
  batch.image_index = torch::empty({b}, torch::kInt64);
  float* pixels = batch.images.data_ptr<float>();
  auto* captions = batch.caption_index.data_ptr<std::int64_t>();
  auto* positions = batch.image_index.data_ptr<std::int64_t>();
  const std::size_t plane_floats = 3 * static_cast<std::size_t>(size) * static_cast<std::size_t>(size);
  for (std::int64_t i = 0; i < b; ++i) {
    const std::int64_t j = index * b + i;
    const std::size_t position = sample_position(j, permutation, permutation_epoch);
    const ManifestImage& image = images_[position];
    StableRng rng(mix64(options_.seed ^ kSampleStream, static_cast<std::uint64_t>(j)));
    captions[i] = static_cast<std::int64_t>(image.captions[rng.below(image.captions.size())]);
    const bool flip = options_.horizontal_flip && (rng.next() & 1) != 0;
    positions[i] = static_cast<std::int64_t>(position);
    to_signed_unit_chw(cache_.pixels(image.slot), size, size, flip, pixels + static_cast<std::size_t>(i) * plane_floats);
  }
  return batch;
}

Batch BatchLoader::batch_at(std::int64_t index) const {
  std::vector<std::size_t> permutation;
  std::int64_t permutation_epoch = -1;
  return make_batch(index, permutation, permutation_epoch);
}

void BatchLoader::produce() {
  std::vector<std::size_t> permutation;
  std::int64_t permutation_epoch = -1;
  std::int64_t index = options_.first_batch;
  try {
    for (;;) {
      {
        std::unique_lock<std::mutex> lock(mutex_);
        // Waits with a timeout because the caller's cancel flag does not notify us.
        while (!stopping_ && !cancelled() && ready_.size() >= static_cast<std::size_t>(options_.prefetch))
          changed_.wait_for(lock, std::chrono::milliseconds(50));
        if (stopping_ || cancelled()) return;
      }
      Batch batch = make_batch(index++, permutation, permutation_epoch);
      {
        const std::lock_guard<std::mutex> lock(mutex_);
        ready_.push_back(std::move(batch));
      }
      changed_.notify_all();
    }
  } catch (...) {
    {
      const std::lock_guard<std::mutex> lock(mutex_);
      error_ = std::current_exception();
    }
    changed_.notify_all();
  }
}

std::optional<Batch> BatchLoader::next() {
  if (options_.prefetch <= 0) {
    if (stopping_ || cancelled()) return std::nullopt;
    return batch_at(next_index_++);
  }
  std::unique_lock<std::mutex> lock(mutex_);
  for (;;) {
    if (stopping_ || cancelled()) return std::nullopt;
    if (!ready_.empty()) {
      Batch batch = std::move(ready_.front());
      ready_.pop_front();
      ++next_index_;
      lock.unlock();
      changed_.notify_all();
      return batch;
    }
    if (error_) std::rethrow_exception(error_);
    changed_.wait_for(lock, std::chrono::milliseconds(50));
  }
}

} // namespace t2i::data
