// The FID Inception-v3 (design.md §6): torchvision's Inception3 (1008 classes, no aux head) with
// the TF-compatible patches of pytorch-fid / the TTUR code, so features — and therefore FID — are
// comparable with published numbers. Inference only: every BatchNorm is folded into its conv at
// load time.
#pragma once

#include "io/tensor_file.h"

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace t2i::eval {

/// The standard weights file, as pytorch-fid downloads it.
inline constexpr const char* kInceptionWeightsFile = "pt_inception-2015-12-05-6726825d.pth";
inline constexpr const char* kInceptionWeightsUrl =
    "https://github.com/mseitzer/pytorch-fid/releases/download/fid_weights/pt_inception-2015-12-05-6726825d.pth";

/// Width of the pool3 features.
inline constexpr std::int64_t kInceptionFeatures = 2048;
/// The network's input side; every image is resized to it bilinearly.
inline constexpr std::int64_t kInceptionInputSize = 299;

/// A conv (no bias) + BatchNorm(eps 0.001) + ReLU, with the BatchNorm folded into weight and bias.
struct FoldedConv {
  torch::Tensor weight;  // [out, in, kh, kw]
  torch::Tensor bias;    // [out]
  std::vector<std::int64_t> stride;
  std::vector<std::int64_t> padding;
};

/// Images [N, 3, H, W] of any size, uint8 (0–255) or floating point in [0, 1], on any device →
/// float32 [N, 3, 299, 299] in [0, 1] on `device`, resized bilinearly (align_corners = false) as
/// pytorch-fid does; images already 299×299 are only converted.
torch::Tensor resize_to_input(const torch::Tensor& images, torch::Device device);

/// Which pool branch a block of Mixed_5b…Mixed_7c ends with.
enum class PoolBranch { AverageExcludingPad, Max };

class FidInception {
public:
  /// Takes the network's tensors from `weights` (torchvision names, e.g. "Mixed_5b.branch1x1.conv.weight");
  /// a missing or mis-shaped tensor is a TensorFileError naming `origin` and the tensor.
  FidInception(const io::TensorMap& weights, const std::string& origin, torch::Device device = torch::kCPU);

  /// Loads a weights file: the torch.save state dict users download, or a safetensors copy.
  static FidInception from_file(const std::string& path, torch::Device device = torch::kCPU);

  /// Images [N, 3, H, W] of any size, uint8 (0–255) or floating point in [0, 1], on any device →
  /// the network's input [N, 3, 299, 299] float32 in [−1, 1] on the network's device.
  torch::Tensor preprocess(const torch::Tensor& images) const;

  /// pool3 features [N, 2048] (float32, CPU) of images as preprocess() takes them; one forward
  /// pass, no autograd.
  torch::Tensor features(const torch::Tensor& images) const;

  /// The same features from an already preprocessed input.
  torch::Tensor forward(const torch::Tensor& input) const;

  /// Content hash of the weights the network uses (16 hex digits): identifies the network in
  /// cached statistics whatever the file's format or name.
  const std::string& weights_hash() const { return weights_hash_; }
  torch::Device device() const { return device_; }

  /// Channels-last activations (oneDNN's faster fp32 layout); on by default.
  void set_channels_last(bool on) { channels_last_ = on; }
  bool channels_last() const { return channels_last_; }

private:
  struct BlockA;
  struct BlockB;
  struct BlockC;
  struct BlockD;
  struct BlockE;

  torch::Tensor conv(const FoldedConv& layer, const torch::Tensor& x) const;
  torch::Tensor block(const BlockA& b, const torch::Tensor& x) const;
  torch::Tensor block(const BlockB& b, const torch::Tensor& x) const;
  torch::Tensor block(const BlockC& b, const torch::Tensor& x) const;
  torch::Tensor block(const BlockD& b, const torch::Tensor& x) const;
  torch::Tensor block(const BlockE& b, const torch::Tensor& x) const;
  torch::Tensor pool_branch(PoolBranch kind, const torch::Tensor& x) const;

  torch::Device device_;
  bool channels_last_ = true;
  std::string weights_hash_;
  std::vector<FoldedConv> stem_;  // Conv2d_1a_3x3 … Conv2d_4a_3x3
  std::vector<std::shared_ptr<const BlockA>> a_;
  std::shared_ptr<const BlockB> b_;
  std::vector<std::shared_ptr<const BlockC>> c_;
  std::shared_ptr<const BlockD> d_;
  std::vector<std::shared_ptr<const BlockE>> e_;
};

/// Random weights in exactly the standard file's layout and shapes (benchmarks and tests): He-scaled
/// convs and non-trivial BatchNorm statistics, deterministic in `seed`.
io::TensorMap random_inception_weights(std::uint64_t seed);

} // namespace t2i::eval
