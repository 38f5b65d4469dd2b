#include "train/fid_hook.h"

#include <cstring>
#include <filesystem>

namespace t2i::train {
namespace {

// Scores generated validation samples against the validation split's cached Inception statistics.
class InceptionFidHook final : public FidHook {
public:
  InceptionFidHook(std::unique_ptr<eval::FidEvaluator> evaluator, std::int64_t samples,
                   const data::PreparedDataset& dataset, int image_size, const std::string& cache_dir, const job::Context& job)
      : evaluator_(std::move(evaluator)), samples_(samples),
        reference_(split_reference(*evaluator_, dataset, data::Split::Val, cache_dir, image_size, job)) {}

  std::int64_t samples() const override { return samples_; }

  FidScores score(const SampleBatch& generate, const EvaluationShare& share) override {
    const auto [own_first, own_last] = share.range(samples_);
    std::vector<torch::Tensor> features;
    const std::int64_t batch = evaluator_->batch_size();
    for (std::int64_t first = own_first; first < own_last; first += batch) {
      const torch::Tensor images = generate(first, std::min(batch, own_last - first));
      // Generated images are in [−1, 1]; the Inception network takes [0, 1].
      features.push_back(evaluator_->features(((images.to(torch::kFloat32) + 1) / 2).clamp(0, 1)));
    }
    // Every sample's row, this rank's filled and the others' zero: the sum over ranks gathers all
    // rows, adding only zeros to each (KID needs the features themselves, not their moments).
    torch::Tensor pooled = torch::zeros({samples_, eval::kInceptionFeatures}, torch::kFloat32);
    if (!features.empty()) pooled.slice(0, own_first, own_last).copy_(torch::cat(features));
    share.sum(pooled);
    if (!share.lead()) return {};
    eval::KidOptions kid;
    kid.subset_size = std::min<std::int64_t>(kid.subset_size, samples_);
    const eval::Score score = evaluator_->score(pooled, reference_, kid);
    FidScores result;
    result.fid = score.fid.fid;
    if (score.kid) result.kid = score.kid->mean;
    result.note = score.summary();
    return result;
  }

private:
  std::unique_ptr<eval::FidEvaluator> evaluator_;
  std::int64_t samples_;
  eval::ReferenceStats reference_;
};

} // namespace

eval::ReferenceStats split_reference(const eval::FidEvaluator& evaluator, const data::PreparedDataset& dataset,
                                     data::Split split, const std::string& folder, int image_size, const job::Context& job) {
  const auto& images = dataset.images(split);
  const auto& cache = image_size == 0 ? dataset.cache() : dataset.cache(image_size);
  const std::int64_t size = cache.image_size();
  eval::ImageSource source;
  source.count = static_cast<std::int64_t>(images.size());
  source.images = [&images, &cache, size](std::int64_t begin, std::int64_t end) {
    torch::Tensor batch = torch::empty({end - begin, size, size, 3}, torch::kUInt8);
    for (std::int64_t i = begin; i < end; ++i)
      std::memcpy(batch[i - begin].data_ptr(), cache.pixels(images[static_cast<size_t>(i)].slot), cache.bytes_per_image());
    return batch.permute({0, 3, 1, 2}).contiguous();
  };
  // A further size is a set of images of its own; S keeps the names it always had.
  const std::string name = data::to_string(split) + (size == dataset.image_size() ? "" : "_s" + std::to_string(size));
  // The identity changes whenever the split's images do: the manifest's hash names them.
  return evaluator.reference((std::filesystem::path(folder) / ("fid_" + name + "_stats.safetensors")).string(),
                             name + ":" + dataset.manifest_hash(), source, job);
}

std::unique_ptr<FidHook> make_fid_hook(const std::string& inception_weights, const std::string& device,
                                       std::int64_t samples, const data::PreparedDataset& dataset, int image_size,
                                       const std::string& cache_dir, std::string& status,
                                       const job::Context& job) {
  auto evaluator = eval::open_fid_evaluator(inception_weights, device, status);
  if (!evaluator) return nullptr;
  if (samples < 2) {
    status = "FID off: fewer than 2 samples per evaluation requested";
    return nullptr;
  }
  if (dataset.images(data::Split::Val).size() < 2) {
    status = "FID unavailable: the validation split has fewer than 2 images";
    return nullptr;
  }
  auto hook = std::make_unique<InceptionFidHook>(std::move(evaluator), samples, dataset, image_size, cache_dir, job);
  status = "FID on " + std::to_string(samples) + " validation samples per evaluation";
  return hook;
}

} // namespace t2i::train
