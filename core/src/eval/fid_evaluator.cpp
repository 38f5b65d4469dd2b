#include "eval/fid_evaluator.h"

#include "eval/inception.h"
#include "io/device.h"
#include "t2i/log.h"

#include <filesystem>
#include <iomanip>
#include <sstream>

namespace t2i::eval {

std::string Score::summary() const {
  std::ostringstream text;
  text << std::setprecision(4) << "FID " << fid.fid << " (" << fid.count_a << " vs " << fid.count_b << " images";
  if (fid.small_sample) text << "; biased below " << kInceptionFeatures << " samples";
  text << ")";
  if (kid)
    text << ", KID " << kid->mean << " ± " << kid->std << " (" << kid->subsets << " subsets of " << kid->subset_size
         << ")";
  return text.str();
}

FidEvaluator::FidEvaluator(const std::string& weights_path, const std::string& device, std::int64_t batch_size)
    : FidEvaluator(FidInception::from_file(weights_path, io::parse_device(device)), batch_size) {}

FidEvaluator::FidEvaluator(FidInception network, std::int64_t batch_size)
    : network_(std::move(network)), batch_size_(batch_size) {
  if (batch_size_ < 1) throw std::invalid_argument("FID: batch size must be at least 1");
}

torch::Tensor FidEvaluator::features(const torch::Tensor& images) const {
  if (!images.defined() || images.dim() != 4) return network_.features(images);  // its error names the shape
  return features(ImageSource{images.size(0), [&](std::int64_t begin, std::int64_t end) {
                                return images.slice(0, begin, end);
                              }});
}

torch::Tensor FidEvaluator::features(const ImageSource& source, const job::Context& job,
                                     const std::string& stage) const {
  if (source.count < 0 || (source.count > 0 && !source.images))
    throw std::invalid_argument("FID: an image source needs a count and a way to fetch images");
  torch::Tensor out = torch::empty({source.count, kInceptionFeatures}, torch::kFloat32);
  for (std::int64_t begin = 0; begin < source.count; begin += batch_size_) {
    if (job.cancelled()) throw FidCancelled();
    const std::int64_t end = std::min(source.count, begin + batch_size_);
    const torch::Tensor batch = source.images(begin, end);
    if (!batch.defined() || batch.dim() != 4 || batch.size(0) != end - begin)
      throw std::runtime_error("FID: the image source returned " +
                               (batch.defined() ? std::to_string(batch.dim() == 4 ? batch.size(0) : -1) : std::string("no")) +
                               " images for [" + std::to_string(begin) + ", " + std::to_string(end) + ")");
    out.slice(0, begin, end).copy_(network_.features(batch));
    job.count(stage, end, source.count);
  }
  return out;
}

ReferenceStats FidEvaluator::reference(const std::string& cache_path, const std::string& identity,
                                       const ImageSource& source, const job::Context& job) const {
  const StatsIdentity stored = peek_reference_stats(cache_path);
  if (stored.identity == identity && stored.weights_hash == weights_hash()) {
    ReferenceStats cached = load_reference_stats(cache_path);
    if (cached.statistics.count == source.count && cached.features.defined()) {
      log::core()->info("FID reference statistics reused from {}", cache_path);
      return cached;
    }
  }
  log::core()->info("FID reference statistics: extracting Inception features of {} images for {}", source.count,
                    cache_path);
  ReferenceStats r;
  r.features = features(source, job, kReferenceStage);
  r.statistics = compute_statistics(r.features);
  r.identity = identity;
  r.weights_hash = weights_hash();
  r.path = cache_path;
  save_reference_stats(cache_path, r);
  return r;
}

Score FidEvaluator::score(const torch::Tensor& features, const ReferenceStats& reference,
                          const std::optional<KidOptions>& kid_options) const {
  if (reference.weights_hash != weights_hash())
    throw std::invalid_argument(reference.path + ": FID statistics made with other Inception weights (hash " +
                                reference.weights_hash + ", these weights " + weights_hash() + ")");
  Score s;
  s.fid = fid(compute_statistics(features), reference.statistics);
  s.warning = small_sample_warning(s.fid, reference.statistics.dims());
  if (kid_options) {
    if (!reference.features.defined())
      throw std::invalid_argument(reference.path + ": KID needs the reference features, but the file holds only μ and Σ");
    s.kid = kid(features, reference.features, *kid_options);
  }
  return s;
}

std::unique_ptr<FidEvaluator> open_fid_evaluator(const std::string& weights_path, const std::string& device,
                                                 std::string& unavailable) {
  unavailable.clear();
  std::error_code error;
  if (weights_path.empty()) {
    unavailable = "FID unavailable: no Inception weights given. " + evaluate::inception_weights_hint();
  } else if (!std::filesystem::is_regular_file(weights_path, error)) {
    unavailable = "FID unavailable: " + weights_path + " not found. " + evaluate::inception_weights_hint();
  } else {
    try {
      return std::make_unique<FidEvaluator>(weights_path, device);
    } catch (const std::exception& e) {
      unavailable = std::string("FID unavailable: ") + e.what() + ". " + evaluate::inception_weights_hint();
    }
  }
  return nullptr;
}

} // namespace t2i::eval

// The facade's hint (t2i/evaluate.h), defined here because every "FID unavailable" message of
// this base area ends with it.
namespace t2i::evaluate {

std::string inception_weights_hint() {
  return std::string("FID needs the standard FID Inception weights ") + eval::kInceptionWeightsFile +
         ", published in the pytorch-fid project's releases (" + eval::kInceptionWeightsUrl + ")";
}

} // namespace t2i::evaluate
