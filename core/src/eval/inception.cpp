#include "eval/inception.h"

#include "io/hash.h"

#include <ATen/Context.h>

#include <cmath>
#include <map>
#include <sstream>

namespace t2i::eval {
namespace {

/// One BasicConv2d of the network: its name prefix in the state dict and its geometry.
struct ConvSpec {
  std::string name;
  std::int64_t in = 0, out = 0;
  std::int64_t kh = 1, kw = 1;
  std::int64_t stride = 1;
  std::int64_t ph = 0, pw = 0;
};

// BatchNorm eps of the TF-ported network (torchvision's BasicConv2d).
constexpr double kBatchNormEps = 0.001;

void add_a(std::vector<ConvSpec>& s, const std::string& n, std::int64_t in, std::int64_t pool_features) {
  s.push_back({n + ".branch1x1", in, 64});
  s.push_back({n + ".branch5x5_1", in, 48});
  s.push_back({n + ".branch5x5_2", 48, 64, 5, 5, 1, 2, 2});
  s.push_back({n + ".branch3x3dbl_1", in, 64});
  s.push_back({n + ".branch3x3dbl_2", 64, 96, 3, 3, 1, 1, 1});
  s.push_back({n + ".branch3x3dbl_3", 96, 96, 3, 3, 1, 1, 1});
  s.push_back({n + ".branch_pool", in, pool_features});
}

void add_b(std::vector<ConvSpec>& s, const std::string& n, std::int64_t in) {
  s.push_back({n + ".branch3x3", in, 384, 3, 3, 2});
  s.push_back({n + ".branch3x3dbl_1", in, 64});
  s.push_back({n + ".branch3x3dbl_2", 64, 96, 3, 3, 1, 1, 1});
  s.push_back({n + ".branch3x3dbl_3", 96, 96, 3, 3, 2});
}

void add_c(std::vector<ConvSpec>& s, const std::string& n, std::int64_t in, std::int64_t c7) {
  s.push_back({n + ".branch1x1", in, 192});
  s.push_back({n + ".branch7x7_1", in, c7});
  s.push_back({n + ".branch7x7_2", c7, c7, 1, 7, 1, 0, 3});
  s.push_back({n + ".branch7x7_3", c7, 192, 7, 1, 1, 3, 0});
  s.push_back({n + ".branch7x7dbl_1", in, c7});
  s.push_back({n + ".branch7x7dbl_2", c7, c7, 7, 1, 1, 3, 0});
  s.push_back({n + ".branch7x7dbl_3", c7, c7, 1, 7, 1, 0, 3});
  s.push_back({n + ".branch7x7dbl_4", c7, c7, 7, 1, 1, 3, 0});
  s.push_back({n + ".branch7x7dbl_5", c7, 192, 1, 7, 1, 0, 3});
  s.push_back({n + ".branch_pool", in, 192});
}

void add_d(std::vector<ConvSpec>& s, const std::string& n, std::int64_t in) {
  s.push_back({n + ".branch3x3_1", in, 192});
  s.push_back({n + ".branch3x3_2", 192, 320, 3, 3, 2});
  s.push_back({n + ".branch7x7x3_1", in, 192});
  s.push_back({n + ".branch7x7x3_2", 192, 192, 1, 7, 1, 0, 3});
  s.push_back({n + ".branch7x7x3_3", 192, 192, 7, 1, 1, 3, 0});
  s.push_back({n + ".branch7x7x3_4", 192, 192, 3, 3, 2});
}

void add_e(std::vector<ConvSpec>& s, const std::string& n, std::int64_t in) {
  s.push_back({n + ".branch1x1", in, 320});
  s.push_back({n + ".branch3x3_1", in, 384});
  s.push_back({n + ".branch3x3_2a", 384, 384, 1, 3, 1, 0, 1});
  s.push_back({n + ".branch3x3_2b", 384, 384, 3, 1, 1, 1, 0});
  s.push_back({n + ".branch3x3dbl_1", in, 448});
  s.push_back({n + ".branch3x3dbl_2", 448, 384, 3, 3, 1, 1, 1});
  s.push_back({n + ".branch3x3dbl_3a", 384, 384, 1, 3, 1, 0, 1});
  s.push_back({n + ".branch3x3dbl_3b", 384, 384, 3, 1, 1, 1, 0});
  s.push_back({n + ".branch_pool", in, 192});
}

/// Every BasicConv2d of torchvision's Inception3 up to Mixed_7c, in forward order.
const std::vector<ConvSpec>& conv_specs() {
  static const std::vector<ConvSpec> specs = [] {
    std::vector<ConvSpec> s;
    s.push_back({"Conv2d_1a_3x3", 3, 32, 3, 3, 2});
    s.push_back({"Conv2d_2a_3x3", 32, 32, 3, 3});
    s.push_back({"Conv2d_2b_3x3", 32, 64, 3, 3, 1, 1, 1});
    s.push_back({"Conv2d_3b_1x1", 64, 80});
    s.push_back({"Conv2d_4a_3x3", 80, 192, 3, 3});
    add_a(s, "Mixed_5b", 192, 32);
    add_a(s, "Mixed_5c", 256, 64);
    add_a(s, "Mixed_5d", 288, 64);
    add_b(s, "Mixed_6a", 288);
    add_c(s, "Mixed_6b", 768, 128);
    add_c(s, "Mixed_6c", 768, 160);
    add_c(s, "Mixed_6d", 768, 160);
    add_c(s, "Mixed_6e", 768, 192);
    add_d(s, "Mixed_7a", 768);
    add_e(s, "Mixed_7b", 1280);
    add_e(s, "Mixed_7c", 2048);
    return s;
  }();
  return specs;
}

// The 1008-class head of the standard file: not used for features, but part of its layout.
constexpr std::int64_t kClasses = 1008;

/// TF32 would cost FID its accuracy on CUDA; the flags are process-wide, so they are restored.
class ExactFp32Guard {
public:
  explicit ExactFp32Guard(bool cuda)
      : cuda_(cuda), cudnn_(at::globalContext().allowTF32CuDNN()), cublas_(at::globalContext().allowTF32CuBLAS()) {
    if (!cuda_) return;
    at::globalContext().setAllowTF32CuDNN(false);
    at::globalContext().setAllowTF32CuBLAS(false);
  }
  ~ExactFp32Guard() {
    if (!cuda_) return;
    at::globalContext().setAllowTF32CuDNN(cudnn_);
    at::globalContext().setAllowTF32CuBLAS(cublas_);
  }
  ExactFp32Guard(const ExactFp32Guard&) = delete;
  ExactFp32Guard& operator=(const ExactFp32Guard&) = delete;

private:
  bool cuda_, cudnn_, cublas_;
};

} // namespace

struct FidInception::BlockA {
  FoldedConv b1x1, b5x5_1, b5x5_2, dbl_1, dbl_2, dbl_3, pool;
};
struct FidInception::BlockB {
  FoldedConv b3x3, dbl_1, dbl_2, dbl_3;
};
struct FidInception::BlockC {
  FoldedConv b1x1, b7x7_1, b7x7_2, b7x7_3, dbl_1, dbl_2, dbl_3, dbl_4, dbl_5, pool;
};
struct FidInception::BlockD {
  FoldedConv b3x3_1, b3x3_2, b7x7x3_1, b7x7x3_2, b7x7x3_3, b7x7x3_4;
};
struct FidInception::BlockE {
  FoldedConv b1x1, b3x3_1, b3x3_2a, b3x3_2b, dbl_1, dbl_2, dbl_3a, dbl_3b, pool;
  PoolBranch pool_kind = PoolBranch::AverageExcludingPad;
};

FidInception::FidInception(const io::TensorMap& weights, const std::string& origin, torch::Device device)
    : device_(device) {
  torch::NoGradGuard no_grad;
  io::Hash64 hash(io::HashScheme::fnv1a_words);
  std::map<std::string, FoldedConv> convs;
  // Plain loops over ~24 M values: a few hundred tiny tensor ops would cost more in dispatch and
  // thread hand-offs than the arithmetic.
  for (const ConvSpec& spec : conv_specs()) {
    auto take = [&](const std::string& suffix, c10::IntArrayRef shape) {
      const std::string name = spec.name + suffix;
      const torch::Tensor t = io::require(weights, name, shape, origin).to(torch::kCPU, torch::kFloat32).contiguous();
      const float* p = t.data_ptr<float>();
      for (std::int64_t i = 0; i < t.numel(); ++i)
        if (!std::isfinite(p[i])) throw io::TensorFileError(origin, "tensor '" + name + "' holds non-finite values");
      hash.text(name);
      hash.bytes(p, static_cast<std::size_t>(t.numel()) * sizeof(float));
      return t;
    };
    const torch::Tensor w = take(".conv.weight", {spec.out, spec.in, spec.kh, spec.kw});
    const torch::Tensor gamma = take(".bn.weight", {spec.out});
    const torch::Tensor beta = take(".bn.bias", {spec.out});
    const torch::Tensor mean = take(".bn.running_mean", {spec.out});
    const torch::Tensor var = take(".bn.running_var", {spec.out});
    torch::Tensor weight = torch::empty_like(w);
    torch::Tensor bias = torch::empty({spec.out}, torch::kFloat32);
    const std::int64_t per_output = w.numel() / spec.out;
    for (std::int64_t o = 0; o < spec.out; ++o) {
      const double variance = var.data_ptr<float>()[o];
      if (variance < 0)
        throw io::TensorFileError(origin, "tensor '" + spec.name + ".bn.running_var' has negative variances");
      // BatchNorm in inference, γ (x − mean) / √(var + eps) + β, folded into the conv in float64.
      const double scale = gamma.data_ptr<float>()[o] / std::sqrt(variance + kBatchNormEps);
      const float* from = w.data_ptr<float>() + o * per_output;
      float* to = weight.data_ptr<float>() + o * per_output;
      for (std::int64_t k = 0; k < per_output; ++k) to[k] = static_cast<float>(from[k] * scale);
      bias.data_ptr<float>()[o] =
          static_cast<float>(beta.data_ptr<float>()[o] - mean.data_ptr<float>()[o] * scale);
    }
    FoldedConv conv;
    conv.weight = weight.to(device_);
    conv.bias = bias.to(device_);
    conv.stride = {spec.stride, spec.stride};
    conv.padding = {spec.ph, spec.pw};
    convs.emplace(spec.name, std::move(conv));
  }
  weights_hash_ = hash.hex();

  auto at = [&](const std::string& name) { return convs.at(name); };
  for (const char* name : {"Conv2d_1a_3x3", "Conv2d_2a_3x3", "Conv2d_2b_3x3", "Conv2d_3b_1x1", "Conv2d_4a_3x3"})
    stem_.push_back(at(name));
  for (const std::string n : {"Mixed_5b", "Mixed_5c", "Mixed_5d"})
    a_.push_back(std::make_shared<BlockA>(BlockA{at(n + ".branch1x1"), at(n + ".branch5x5_1"), at(n + ".branch5x5_2"),
                                                 at(n + ".branch3x3dbl_1"), at(n + ".branch3x3dbl_2"),
                                                 at(n + ".branch3x3dbl_3"), at(n + ".branch_pool")}));
  {
    const std::string n = "Mixed_6a";
    b_ = std::make_shared<BlockB>(BlockB{at(n + ".branch3x3"), at(n + ".branch3x3dbl_1"), at(n + ".branch3x3dbl_2"),
                                         at(n + ".branch3x3dbl_3")});
  }
  for (const std::string n : {"Mixed_6b", "Mixed_6c", "Mixed_6d", "Mixed_6e"})
    c_.push_back(std::make_shared<BlockC>(BlockC{
        at(n + ".branch1x1"), at(n + ".branch7x7_1"), at(n + ".branch7x7_2"), at(n + ".branch7x7_3"),
        at(n + ".branch7x7dbl_1"), at(n + ".branch7x7dbl_2"), at(n + ".branch7x7dbl_3"), at(n + ".branch7x7dbl_4"),
        at(n + ".branch7x7dbl_5"), at(n + ".branch_pool")}));
  {
    const std::string n = "Mixed_7a";
    d_ = std::make_shared<BlockD>(BlockD{at(n + ".branch3x3_1"), at(n + ".branch3x3_2"), at(n + ".branch7x7x3_1"),
                                         at(n + ".branch7x7x3_2"), at(n + ".branch7x7x3_3"), at(n + ".branch7x7x3_4")});
  }
  // The FID patch: Mixed_7b (E_1) averages without the padding, Mixed_7c (E_2) max-pools.
  for (const auto& [n, kind] : {std::pair<std::string, PoolBranch>{"Mixed_7b", PoolBranch::AverageExcludingPad},
                                std::pair<std::string, PoolBranch>{"Mixed_7c", PoolBranch::Max}})
    e_.push_back(std::make_shared<BlockE>(BlockE{
        at(n + ".branch1x1"), at(n + ".branch3x3_1"), at(n + ".branch3x3_2a"), at(n + ".branch3x3_2b"),
        at(n + ".branch3x3dbl_1"), at(n + ".branch3x3dbl_2"), at(n + ".branch3x3dbl_3a"), at(n + ".branch3x3dbl_3b"),
        at(n + ".branch_pool"), kind}));
}

FidInception FidInception::from_file(const std::string& path, torch::Device device) {
  return FidInception(io::load_tensors(path), path, device);
}

torch::Tensor resize_to_input(const torch::Tensor& images, torch::Device device) {
  if (!images.defined() || images.dim() != 4 || images.size(1) != 3 || images.size(2) < 1 || images.size(3) < 1) {
    std::ostringstream shape;
    if (images.defined()) shape << images.sizes();
    throw std::invalid_argument("FID Inception: images must be [N, 3, H, W], got " +
                                (images.defined() ? shape.str() : std::string("nothing")));
  }
  torch::NoGradGuard no_grad;
  torch::Tensor x = images.to(device);
  x = x.scalar_type() == torch::kUInt8 ? x.to(torch::kFloat32) / 255.0 : x.to(torch::kFloat32);
  // pytorch-fid: F.interpolate(x, size=(299, 299), mode='bilinear', align_corners=False).
  if (x.size(2) != kInceptionInputSize || x.size(3) != kInceptionInputSize)
    x = torch::upsample_bilinear2d(x, {kInceptionInputSize, kInceptionInputSize}, /*align_corners=*/false);
  return x;
}

torch::Tensor FidInception::preprocess(const torch::Tensor& images) const {
  torch::NoGradGuard no_grad;
  const torch::Tensor x = 2 * resize_to_input(images, device_) - 1;  // pytorch-fid's normalize_input
  return channels_last_ ? x.contiguous(torch::MemoryFormat::ChannelsLast) : x.contiguous();
}

torch::Tensor FidInception::features(const torch::Tensor& images) const { return forward(preprocess(images)); }

torch::Tensor FidInception::conv(const FoldedConv& layer, const torch::Tensor& x) const {
  return torch::conv2d(x, layer.weight, layer.bias, layer.stride, layer.padding).relu_();
}

torch::Tensor FidInception::pool_branch(PoolBranch kind, const torch::Tensor& x) const {
  if (kind == PoolBranch::Max) return torch::max_pool2d(x, {3, 3}, {1, 1}, {1, 1});
  return torch::avg_pool2d(x, {3, 3}, {1, 1}, {1, 1}, /*ceil_mode=*/false, /*count_include_pad=*/false);
}

torch::Tensor FidInception::block(const BlockA& b, const torch::Tensor& x) const {
  const auto b1 = conv(b.b1x1, x);
  const auto b5 = conv(b.b5x5_2, conv(b.b5x5_1, x));
  const auto b3 = conv(b.dbl_3, conv(b.dbl_2, conv(b.dbl_1, x)));
  const auto bp = conv(b.pool, pool_branch(PoolBranch::AverageExcludingPad, x));
  return torch::cat({b1, b5, b3, bp}, 1);
}

torch::Tensor FidInception::block(const BlockB& b, const torch::Tensor& x) const {
  const auto b3 = conv(b.b3x3, x);
  const auto bd = conv(b.dbl_3, conv(b.dbl_2, conv(b.dbl_1, x)));
  const auto bp = torch::max_pool2d(x, {3, 3}, {2, 2});
  return torch::cat({b3, bd, bp}, 1);
}

torch::Tensor FidInception::block(const BlockC& b, const torch::Tensor& x) const {
  const auto b1 = conv(b.b1x1, x);
  const auto b7 = conv(b.b7x7_3, conv(b.b7x7_2, conv(b.b7x7_1, x)));
  const auto bd = conv(b.dbl_5, conv(b.dbl_4, conv(b.dbl_3, conv(b.dbl_2, conv(b.dbl_1, x)))));
  const auto bp = conv(b.pool, pool_branch(PoolBranch::AverageExcludingPad, x));
  return torch::cat({b1, b7, bd, bp}, 1);
}

torch::Tensor FidInception::block(const BlockD& b, const torch::Tensor& x) const {
  const auto b3 = conv(b.b3x3_2, conv(b.b3x3_1, x));
  const auto b7 = conv(b.b7x7x3_4, conv(b.b7x7x3_3, conv(b.b7x7x3_2, conv(b.b7x7x3_1, x))));
  const auto bp = torch::max_pool2d(x, {3, 3}, {2, 2});
  return torch::cat({b3, b7, bp}, 1);
}

torch::Tensor FidInception::block(const BlockE& b, const torch::Tensor& x) const {
  const auto b1 = conv(b.b1x1, x);
  const auto b3_1 = conv(b.b3x3_1, x);
  const auto b3 = torch::cat({conv(b.b3x3_2a, b3_1), conv(b.b3x3_2b, b3_1)}, 1);
  const auto bd_2 = conv(b.dbl_2, conv(b.dbl_1, x));
  const auto bd = torch::cat({conv(b.dbl_3a, bd_2), conv(b.dbl_3b, bd_2)}, 1);
  const auto bp = conv(b.pool, pool_branch(b.pool_kind, x));
  return torch::cat({b1, b3, bd, bp}, 1);
}

torch::Tensor FidInception::forward(const torch::Tensor& input) const {
  torch::NoGradGuard no_grad;
  const ExactFp32Guard exact(device_.is_cuda());
  torch::Tensor x = input.to(device_, torch::kFloat32);
  x = channels_last_ ? x.contiguous(torch::MemoryFormat::ChannelsLast) : x.contiguous();
  x = conv(stem_[2], conv(stem_[1], conv(stem_[0], x)));
  x = torch::max_pool2d(x, {3, 3}, {2, 2});
  x = conv(stem_[4], conv(stem_[3], x));
  x = torch::max_pool2d(x, {3, 3}, {2, 2});
  for (const auto& a : a_) x = block(*a, x);
  x = block(*b_, x);
  for (const auto& c : c_) x = block(*c, x);
  x = block(*d_, x);
  for (const auto& e : e_) x = block(*e, x);
  return x.mean({2, 3}).to(torch::kCPU).contiguous();
}

io::TensorMap random_inception_weights(std::uint64_t seed) {
  auto gen = at::detail::createCPUGenerator(seed);
  const auto f32 = torch::TensorOptions().dtype(torch::kFloat32);
  io::TensorMap w;
  for (const ConvSpec& s : conv_specs()) {
    const double fan_in = static_cast<double>(s.in * s.kh * s.kw);
    w[s.name + ".conv.weight"] = torch::randn({s.out, s.in, s.kh, s.kw}, gen, f32) * std::sqrt(2.0 / fan_in);
    w[s.name + ".bn.weight"] = torch::rand({s.out}, gen, f32) + 0.5;
    w[s.name + ".bn.bias"] = torch::randn({s.out}, gen, f32) * 0.1;
    w[s.name + ".bn.running_mean"] = torch::randn({s.out}, gen, f32) * 0.1;
    w[s.name + ".bn.running_var"] = torch::rand({s.out}, gen, f32) + 0.5;
    w[s.name + ".bn.num_batches_tracked"] = torch::zeros({}, torch::kInt64);
  }
  w["fc.weight"] = torch::randn({kClasses, kInceptionFeatures}, gen, f32) * 0.01;
  w["fc.bias"] = torch::zeros({kClasses}, f32);
  return w;
}

} // namespace t2i::eval
