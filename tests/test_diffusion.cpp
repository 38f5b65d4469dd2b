// The diffusion engine against closed forms: schedule identities and hand-computed values, the
// forward process by Monte Carlo, the posterior's two algebraic forms, samplers driven by the exactly
// optimal denoiser for Gaussian data, guidance identities, loss weights and thresholding.
#include "diffusion/forward_process.h"
#include "diffusion/gaussian_denoiser.h"
#include "diffusion/guidance.h"
#include "diffusion/noise_augmentation.h"
#include "diffusion/loss.h"
#include "diffusion/parameterization.h"
#include "diffusion/per_sample.h"
#include "diffusion/sampler.h"
#include "diffusion/ddim_sampler.h"
#include "diffusion/schedule.h"
#include "diffusion/seeded_noise.h"
#include "diffusion/thresholding.h"
#include "t2i/diffusion.h"
#include "t2i/runtime.h"

#include <ATen/CPUGeneratorImpl.h>
#include <QtTest/QtTest>

#include <algorithm>
#include <cmath>
#include <set>

using namespace t2i::diffusion;
using t2i::Denoiser;
using t2i::TextCondition;

namespace {

// Every registered sampler, so a new one is held to the shared invariants without a test edit.
std::vector<SamplerKind> every_sampler() {
  std::vector<SamplerKind> kinds;
  for (const SamplerInfo& info : sampler_infos()) kinds.push_back(info.kind);
  return kinds;
}

NoiseSchedule discrete(ScheduleKind kind, int steps) { return NoiseSchedule(ScheduleSpec{kind, steps}); }
NoiseSchedule continuous(ScheduleKind kind) { return NoiseSchedule(ScheduleSpec{kind, 0}); }

torch::Generator generator(std::uint64_t seed) { return at::make_generator<at::CPUGeneratorImpl>(seed); }

double value_at(const torch::Tensor& values, int64_t i) { return values[i].item<double>(); }

QByteArray describe(const char* what, double actual, double expected) {
  return QByteArray(what) + ": got " + QByteArray::number(actual, 'g', 12) + ", expected " +
         QByteArray::number(expected, 'g', 12);
}

#define VERIFY_NEAR(actual, expected, tolerance, what)                                                    \
  do {                                                                                                   \
    const double actual_ = (actual);                                                                     \
    const double expected_ = (expected);                                                                 \
    QVERIFY2(std::abs(actual_ - expected_) <= (tolerance), describe(what, actual_, expected_).constData()); \
  } while (false)

/// Times at which a schedule is checked: every step of a discrete one, a fine grid otherwise.
torch::Tensor check_times(const NoiseSchedule& schedule) {
  const int64_t count = schedule.is_discrete() ? schedule.steps() : 1000;
  return torch::arange(1, count + 1, torch::kFloat64) / static_cast<double>(count);
}

SampleRequest request_for(std::vector<std::uint64_t> seeds, std::vector<int64_t> image_shape) {
  SampleRequest request;
  request.text = TextCondition::none(static_cast<int64_t>(seeds.size()));
  request.seeds = std::move(seeds);
  request.image_shape = std::move(image_shape);
  return request;
}

SamplerOptions sampler_options(SamplerKind kind, int64_t steps, Prediction prediction = Prediction::Epsilon,
                               double eta = 0.0) {
  SamplerOptions options;
  options.kind = kind;
  options.steps = steps;
  options.prediction = prediction;
  options.eta = eta;
  options.thresholding.kind = ThresholdKind::None;
  return options;
}

/// A text-sensitive stand-in network: distinct elementwise outputs for kept and dropped text.
struct TwoFacedModel {
  int calls = 0;
  std::vector<int64_t> batches;
  Denoiser denoiser() {
    return [this](const torch::Tensor& x, const torch::Tensor& t, const TextCondition& text) {
      ++calls;
      batches.push_back(x.size(0));
      const torch::Tensor conditional = 2.0 * x + per_sample(t, x);
      const torch::Tensor unconditional = 0.3 * x - 1.0;
      return torch::where(text.drop.view({-1, 1, 1, 1}), unconditional, conditional);
    };
  }
};

/// A text-sensitive optimal denoiser: data N(0.3, 0.4²) for kept text, N(−0.2, 0.5²) for dropped text.
Denoiser two_data_denoiser(const NoiseSchedule& schedule) {
  const Denoiser conditional = gaussian_data_denoiser(schedule, 0.3, 0.4, Prediction::Epsilon);
  const Denoiser unconditional = gaussian_data_denoiser(schedule, -0.2, 0.5, Prediction::Epsilon);
  return [=](const torch::Tensor& x, const torch::Tensor& t, const TextCondition& text) {
    return torch::where(text.drop.view({-1, 1, 1, 1}), unconditional(x, t, text), conditional(x, t, text));
  };
}

/// A request whose texts are kept (not dropped), so guidance has two different halves.
SampleRequest kept_text_request(std::vector<std::uint64_t> seeds) {
  SampleRequest request = request_for(std::move(seeds), {3, 8, 8});
  request.text.drop = torch::zeros({static_cast<int64_t>(request.seeds.size())}, torch::kBool);
  return request;
}

/// Every noise draw of a sampling run, with its step (−1 = x_T).
struct NoiseLog {
  std::vector<int64_t> steps;
  std::vector<torch::Tensor> draws;
  void watch(SampleRequest& request) {
    request.noise_observer = [this](int64_t step, const torch::Tensor& draw) {
      steps.push_back(step);
      draws.push_back(draw.clone());
    };
  }
};

} // namespace

class TestDiffusion : public QObject {
  Q_OBJECT
private Q_SLOTS:
  void initTestCase() { t2i::runtime::initialize(); }

  void namesParseRoundTripAndRejectUnknownWords() {
    for (const auto& name : schedule_kind_names()) QCOMPARE(to_string(parse_schedule_kind(name)), name);
    for (const auto& name : prediction_names()) QCOMPARE(to_string(parse_prediction(name)), name);
    for (const auto& name : weighting_names()) QCOMPARE(to_string(parse_weighting(name)), name);
    for (const auto& name : sampler_kind_names()) QCOMPARE(to_string(parse_sampler_kind(name)), name);
    for (const auto& name : threshold_kind_names()) QCOMPARE(to_string(parse_threshold_kind(name)), name);
    QVERIFY(parse_sampler_kind("dpmpp") == SamplerKind::DpmSolverPP);
    QVERIFY(parse_weighting("min-snr") == Weighting::MinSnr);
    try {
      parse_sampler_kind("euler");
      QFAIL("an unknown sampler was accepted");
    } catch (const std::runtime_error& e) {
      const std::string message = e.what();
      QVERIFY2(message.find("euler") != std::string::npos && message.find("ddpm|ddim|dpmpp") != std::string::npos,
               e.what());
    }
    QVERIFY_THROWS_EXCEPTION(std::runtime_error, parse_schedule_kind("Cosine"));
    QVERIFY_THROWS_EXCEPTION(std::runtime_error, parse_weighting("p3"));
  }

  // The registry is what the CLI and the studio list: every sampler once, the default first, each
  // built as the kind it names.
  void samplerRegistryListsEachSamplerOnceAndBuildsIt() {
    const std::vector<SamplerInfo> infos = sampler_infos();
    QCOMPARE(infos.size(), sampler_kind_names().size());
    QVERIFY(infos.front().kind == kDefaultSampler);
    std::set<std::string> names;
    const NoiseSchedule schedule = discrete(ScheduleKind::Cosine, 100);
    for (const SamplerInfo& info : infos) {
      QVERIFY2(names.insert(info.name).second, info.name.c_str());
      QCOMPARE(info.name, to_string(info.kind));
      QVERIFY2(!info.label.empty() && !info.summary.empty(), info.name.c_str());
      QVERIFY(make_sampler(schedule, sampler_options(info.kind, 10))->options().kind == info.kind);
    }
  }

  void scheduleIdentities_data() {
    QTest::addColumn<int>("kind");
    QTest::addColumn<int>("steps");
    QTest::newRow("discrete linear T=1000") << int(ScheduleKind::Linear) << 1000;
    QTest::newRow("discrete cosine T=500") << int(ScheduleKind::Cosine) << 500;
    QTest::newRow("continuous cosine") << int(ScheduleKind::Cosine) << 0;
    QTest::newRow("continuous linear") << int(ScheduleKind::Linear) << 0;
  }

  void scheduleIdentities() {
    QFETCH(int, kind);
    QFETCH(int, steps);
    const NoiseSchedule schedule(ScheduleSpec{static_cast<ScheduleKind>(kind), steps});
    const torch::Tensor t = check_times(schedule);
    const torch::Tensor alpha_bar = schedule.alpha_bar(t);
    const torch::Tensor alpha = schedule.alpha(t);
    const torch::Tensor sigma = schedule.sigma(t);
    const torch::Tensor snr = schedule.snr(t);
    const torch::Tensor log_snr = schedule.log_snr(t);
    // ᾱ decreasing, α² + σ² = 1, SNR decreasing, log-SNR = log SNR, ᾱ = α²
    QVERIFY((alpha_bar.slice(0, 1) < alpha_bar.slice(0, 0, -1)).all().item<bool>());
    QVERIFY((alpha.pow(2) + sigma.pow(2) - 1.0).abs().max().item<double>() < 1e-12);
    QVERIFY((alpha.pow(2) - alpha_bar).abs().max().item<double>() < 1e-15);
    QVERIFY((snr.slice(0, 1) < snr.slice(0, 0, -1)).all().item<bool>());
    QVERIFY(((log_snr - snr.log()).abs() / log_snr.abs().clamp_min(1.0)).max().item<double>() < 1e-9);
    QVERIFY((alpha_bar > 0).all().item<bool>() && (alpha_bar < 1).all().item<bool>());
    // Scalar levels agree with the tensor queries.
    for (const int64_t i : {int64_t{0}, t.size(0) / 2, t.size(0) - 1}) {
      const NoiseLevel level = schedule.level(value_at(t, i));
      VERIFY_NEAR(level.alpha, value_at(alpha, i), 1e-15, "level α");
      VERIFY_NEAR(level.sigma, value_at(sigma, i), 1e-15, "level σ");
      VERIFY_NEAR(level.log_snr(), value_at(log_snr, i), 1e-9 * std::max(1.0, std::abs(value_at(log_snr, i))), "level log-SNR");
    }
    if (!schedule.is_discrete()) return;
    // ᾱ_t = Π(1 − β_s), multiplied out step by step; β in (0, 0.999]
    const torch::Tensor betas = schedule.betas();
    QVERIFY((betas > 0).all().item<bool>() && (betas <= 0.999).all().item<bool>());
    QVERIFY(((torch::cumprod(1.0 - betas, 0) - alpha_bar).abs() / alpha_bar).max().item<double>() < 1e-12);
    for (int64_t i = 0; i < schedule.steps(); ++i) QCOMPARE(schedule.step_of_time(schedule.time_of_step(i)), i);
    QCOMPARE(schedule.step_of_time(0.0), int64_t{-1});
    QVERIFY(schedule.level(0.0).is_clean());
    VERIFY_NEAR(schedule.level(0.0).alpha, 1.0, 0.0, "α at the clean data");
  }

  void discreteSchedulesMatchHandComputedValues() {
    // Values from f(t) = cos²((t/T + s)/(1 + s)·π/2), s = 0.008, computed with Python's math module.
    const NoiseSchedule cosine = discrete(ScheduleKind::Cosine, 1000);
    const torch::Tensor& alpha_bar = cosine.alphas_cumprod();
    VERIFY_NEAR(value_at(alpha_bar, 0), 0.999958715775178, 1e-13, "cosine ᾱ at step 0");
    VERIFY_NEAR(value_at(alpha_bar, 249), 0.8470121613269047, 1e-13, "cosine ᾱ at t = 0.25");
    VERIFY_NEAR(value_at(alpha_bar, 499), 0.49384359044063775, 1e-13, "cosine ᾱ at t = 0.5");
    VERIFY_NEAR(value_at(alpha_bar, 749), 0.1442721023857358, 1e-13, "cosine ᾱ at t = 0.75");
    VERIFY_NEAR(value_at(alpha_bar, 998), 2.428766907034851e-06, 1e-17, "cosine ᾱ at step 998");
    VERIFY_NEAR(value_at(cosine.betas(), 0), 4.128422482196914e-05, 1e-15, "cosine β at step 0");
    // The last step's β = 1 − f(1)/f(1 − 1/T) ≈ 1 is clipped to 0.999.
    VERIFY_NEAR(value_at(cosine.betas(), 999), 0.999, 0.0, "cosine β at the last step");
    VERIFY_NEAR(value_at(alpha_bar, 999), 2.4287669070348567e-09, 1e-20, "cosine ᾱ at the last step");
    VERIFY_NEAR(discrete(ScheduleKind::Cosine, 500).level(0.5).alpha_bar(), 0.49384359044063775, 1e-13,
                "cosine T=500 ᾱ at t = 0.5");

    const NoiseSchedule linear = discrete(ScheduleKind::Linear, 1000);
    VERIFY_NEAR(value_at(linear.betas(), 0), 1e-4, 1e-18, "linear β_1");
    VERIFY_NEAR(value_at(linear.betas(), 999), 0.02, 1e-15, "linear β_T");
    VERIFY_NEAR(value_at(linear.alphas_cumprod(), 499), 0.07858724288177821, 1e-13, "linear ᾱ at t = 0.5");
    VERIFY_NEAR(value_at(linear.alphas_cumprod(), 999), 4.0358297653756754e-05, 1e-16, "linear ᾱ_T");
    // Scaled by 1000/T for other T.
    const NoiseSchedule linear500 = discrete(ScheduleKind::Linear, 500);
    VERIFY_NEAR(value_at(linear500.betas(), 0), 2e-4, 1e-18, "linear T=500 β_1");
    VERIFY_NEAR(value_at(linear500.betas(), 499), 0.04, 1e-15, "linear T=500 β_T");
  }

  void continuousSchedulesMatchTheirFormulas() {
    const torch::Tensor t = torch::tensor({0.0, 0.25, 0.5, 0.75}, torch::kFloat64);
    // λ = −log(cos((t + s)/(1 + s)·π/2)^−2 − 1) and −log(expm1(1e-4 + 10 t²)), by Python's math module
    const torch::Tensor cosine = continuous(ScheduleKind::Cosine).log_snr(t);
    VERIFY_NEAR(value_at(cosine, 0), 8.769294788200295, 1e-9, "cosine λ(0)");
    VERIFY_NEAR(value_at(cosine, 1), 1.7103411522616514, 1e-12, "cosine λ(0.25)");
    VERIFY_NEAR(value_at(cosine, 2), -0.024933920896264044, 1e-12, "cosine λ(0.5)");
    VERIFY_NEAR(value_at(cosine, 3), -1.7804329545938142, 1e-12, "cosine λ(0.75)");
    const torch::Tensor linear = continuous(ScheduleKind::Linear).log_snr(torch::tensor({0.0, 0.5, 1.0}, torch::kFloat64));
    VERIFY_NEAR(value_at(linear, 0), 9.210290371559516, 1e-9, "linear λ(0)");
    VERIFY_NEAR(value_at(linear, 1), -2.4144584583198525, 1e-12, "linear λ(0.5)");
    VERIFY_NEAR(value_at(linear, 2), -10.000054603579601, 1e-12, "linear λ(1)");
    // At t = 1 the cosine form's α reaches 0; the floor keeps it at λ = −20.
    VERIFY_NEAR(continuous(ScheduleKind::Cosine).level(1.0).log_snr(), -20.0, 1e-9, "cosine λ(1)");
  }

  void continuousAndDiscreteFormsAgree() {
    // Cosine: the continuous ᾱ(t) is f(t) itself, the discrete one f(t)/f(0) with f(0) = 0.99985,
    // and β clipping only touches the last step, so the two agree to 2e-4 at every step.
    const NoiseSchedule discrete_cosine = discrete(ScheduleKind::Cosine, 1000);
    const NoiseSchedule continuous_cosine = continuous(ScheduleKind::Cosine);
    const torch::Tensor t = check_times(discrete_cosine);
    const double alpha_bar_gap =
        (discrete_cosine.alpha_bar(t) - continuous_cosine.alpha_bar(t)).abs().max().item<double>();
    QVERIFY2(alpha_bar_gap < 2e-4, QByteArray::number(alpha_bar_gap).constData());
    const torch::Tensor middle = t.slice(0, 99, 950);  // t ∈ [0.1, 0.95]
    const double log_snr_gap =
        (discrete_cosine.log_snr(middle) - continuous_cosine.log_snr(middle)).abs().max().item<double>();
    QVERIFY2(log_snr_gap < 0.01, QByteArray::number(log_snr_gap).constData());
    // Linear: design.md's continuous form (Kingma et al.'s 1e-4 + 10 t²) approximates the discrete
    // schedule's −log ᾱ = 0.1 t + 9.95 t² (T = 1000), so they agree more loosely: 0.0113 at worst.
    const NoiseSchedule discrete_linear = discrete(ScheduleKind::Linear, 1000);
    const double linear_gap =
        (discrete_linear.alpha_bar(t) - continuous(ScheduleKind::Linear).alpha_bar(t)).abs().max().item<double>();
    QVERIFY2(linear_gap < 0.015, QByteArray::number(linear_gap).constData());
  }

  void samplingTimesAreIndependentOfT() {
    const NoiseSchedule schedule = discrete(ScheduleKind::Cosine, 1000);
    // Sampling starts at the latest step whose log-SNR is still ≥ the bound: the cosine schedule's
    // last steps (β clipped at 0.999, α ≈ 5e-5 at t = 1) lie below it.
    const double start = schedule.sampling_start();
    const int64_t top = schedule.step_of_time(start);
    QVERIFY(schedule.log_snr(torch::full({}, start, torch::kFloat64)).item<double>() >= kMinSamplingLogSnr);
    QVERIFY(schedule.log_snr(torch::full({}, schedule.time_of_step(top + 1), torch::kFloat64)).item<double>() < kMinSamplingLogSnr);
    QVERIFY2(top >= 990 && top < 999, QByteArray::number(static_cast<qlonglong>(top)).constData());
    const std::vector<double> fifty = schedule.sampling_times(50);
    QCOMPARE(fifty.size(), std::size_t{50});
    VERIFY_NEAR(fifty.front(), start, 0.0, "first sampling time");
    VERIFY_NEAR(fifty.back(), static_cast<double>(std::llround((top + 1) / 50.0)) / 1000.0, 1e-15, "last sampling time");
    for (std::size_t k = 1; k < fifty.size(); ++k) QVERIFY(fifty[k] < fifty[k - 1]);
    const std::vector<double> all = schedule.sampling_times(top + 1);
    for (std::size_t k = 0; k < all.size(); ++k)
      QCOMPARE(schedule.step_of_time(all[k]), static_cast<int64_t>(top - static_cast<int64_t>(k)));
    const std::vector<double> odd = discrete(ScheduleKind::Cosine, 7).sampling_times(3);  // N does not divide T
    QCOMPARE(odd.size(), std::size_t{3});
    QVERIFY(odd[0] > odd[1] && odd[1] > odd[2] && odd[2] > 0.0);
    const NoiseSchedule cosine = continuous(ScheduleKind::Cosine);
    const double continuous_start = cosine.sampling_start();
    VERIFY_NEAR(cosine.log_snr(torch::full({}, continuous_start, torch::kFloat64)).item<double>(), kMinSamplingLogSnr, 1e-9,
                "continuous start's log-SNR");
    const std::vector<double> four = cosine.sampling_times(4);
    for (std::size_t k = 0; k < 4; ++k) VERIFY_NEAR(four[k], continuous_start * (4.0 - static_cast<double>(k)) / 4.0, 1e-15, "t_k");
    QVERIFY_THROWS_EXCEPTION(std::runtime_error, schedule.sampling_times(top + 2));
    QVERIFY_THROWS_EXCEPTION(std::runtime_error, schedule.sampling_times(0));
    QVERIFY_THROWS_EXCEPTION(std::runtime_error, make_sampler(schedule, sampler_options(SamplerKind::Ddim, top + 2)));
  }

  void malformedSchedulesAreRejected() {
    QVERIFY_THROWS_EXCEPTION(std::runtime_error, discrete(ScheduleKind::Linear, 20));  // β_T would be 1
    QVERIFY_THROWS_EXCEPTION(std::runtime_error, discrete(ScheduleKind::Cosine, -1));
    QVERIFY_THROWS_EXCEPTION(std::runtime_error, continuous(ScheduleKind::Cosine).betas());
    QVERIFY_THROWS_EXCEPTION(std::runtime_error, discrete(ScheduleKind::Cosine, 10).level(1.5));
  }

  void forwardProcessMatchesTheMarkovChain() {
    // Run q(x_t | x_{t−1}) = N(√(1 − β_t) x_{t−1}, β_t I) step by step and compare its moments with
    // the closed form q(x_t | x₀) = N(α_t x₀, σ_t² I), and with q_sample.
    const NoiseSchedule schedule = discrete(ScheduleKind::Cosine, 200);
    const int64_t n = 30000;
    const double x_0 = 0.7;
    torch::Generator gen = generator(11);
    torch::Tensor x = torch::full({n}, x_0, torch::kFloat64);
    const torch::Tensor& betas = schedule.betas();
    for (int64_t i = 0; i < schedule.steps(); ++i) {
      const double beta = value_at(betas, i);
      x = std::sqrt(1.0 - beta) * x + std::sqrt(beta) * torch::randn({n}, gen, torch::kFloat64);
      if (i != 0 && i != 49 && i != 149 && i != 199) continue;
      const NoiseLevel level = schedule.level(schedule.time_of_step(i));
      const double se_mean = level.sigma / std::sqrt(double(n));
      const double se_var = level.sigma * level.sigma * std::sqrt(2.0 / double(n));
      VERIFY_NEAR(x.mean().item<double>(), level.alpha * x_0, 5 * se_mean, "chain mean vs α_t x₀");
      VERIFY_NEAR(x.var().item<double>(), level.sigma * level.sigma, 5 * se_var, "chain variance vs σ_t²");
    }
    // q_sample with a different time per sample.
    const torch::Tensor t = torch::tensor({0.1f, 0.5f, 0.9f});
    const torch::Tensor x0 = torch::full({3, n}, x_0);
    const torch::Tensor x_t = q_sample(schedule, x0, t, torch::randn({3, n}, gen));
    for (int64_t b = 0; b < 3; ++b) {
      const NoiseLevel level = schedule.level(value_at(t, b));
      const double se_mean = level.sigma / std::sqrt(double(n));
      VERIFY_NEAR(x_t[b].mean().item<double>(), level.alpha * x_0, 5 * se_mean, "q_sample mean");
      VERIFY_NEAR(x_t[b].var().item<double>(), level.sigma * level.sigma,
                  5 * level.sigma * level.sigma * std::sqrt(2.0 / double(n)), "q_sample variance");
    }
  }

  void upsampleLowResIsBicubicAtPixelCentres() {
    // The reference: Keys' cubic convolution (a = −0.75, as image resizers use), written out. With
    // align_corners = false, output pixel i samples the input at x = (i + ½)/2 − ½; taps beyond
    // the border repeat the edge pixel.
    const auto keys = [](double s) {
      const double a = -0.75;
      s = std::abs(s);
      return s <= 1 ? (a + 2) * s * s * s - (a + 3) * s * s + 1 : s < 2 ? a * (s * s * s - 5 * s * s + 8 * s - 4) : 0.0;
    };
    const int64_t low = 8;
    const auto ramp = [](int64_t j) { return 0.1 * static_cast<double>(j) - 0.35 + (j == 3 ? 0.2 : 0.0); };
    auto row = torch::empty({low}, torch::kFloat64);
    for (int64_t j = 0; j < low; ++j) row[j] = ramp(j);
    const auto image = row.view({1, 1, 1, low}).expand({1, 3, low, low}).to(torch::kFloat32);
    const auto up = upsample_low_res(image, 2 * low).to(torch::kFloat64);
    QCOMPARE(up.sizes().vec(), (std::vector<int64_t>{1, 3, 16, 16}));
    for (int64_t i = 0; i < 2 * low; ++i) {
      const double x = (static_cast<double>(i) + 0.5) / 2.0 - 0.5;
      const double left = std::floor(x);
      double expected = 0;
      for (int k = -1; k <= 2; ++k)
        expected += keys(x - left - k) * ramp(std::clamp<int64_t>(static_cast<int64_t>(left) + k, 0, low - 1));
      QVERIFY2(std::abs(up[0][1][5][i].item<double>() - expected) < 1e-6, qPrintable(QString::number(i)));
    }
    // Bicubic's overshoot at a hard edge is clamped to the data range.
    const auto edge = torch::cat({-torch::ones({1, 1, low, low / 2}), torch::ones({1, 1, low, low / 2})}, 3);
    const auto enlarged = upsample_low_res(edge, 4 * low);
    QCOMPARE(enlarged.max().item<double>(), 1.0);
    QCOMPARE(enlarged.min().item<double>(), -1.0);
  }

  void noiseAugmentationAtZeroIsTheCleanUpsampledImage() {
    // The conditioning at aug = 0 is the upsampled image bit for bit, on both kinds of schedule.
    auto gen = generator(3);
    const torch::Tensor low = torch::rand({2, 3, 8, 8}, gen) * 2 - 1;
    const torch::Tensor up = upsample_low_res(low, 16);
    QCOMPARE(up.sizes(), (torch::IntArrayRef{2, 3, 16, 16}));
    QVERIFY(up.min().item<double>() >= -1.0 && up.max().item<double>() <= 1.0);
    for (const NoiseSchedule& schedule : {discrete(ScheduleKind::Cosine, 1000), continuous(ScheduleKind::Cosine)}) {
      SeededNoise noise({1, 2});
      QVERIFY(torch::equal(augment_low_res(schedule, up, fixed_aug_levels(2, 0.0, torch::kCPU), noise), up));
    }
    // A constant image stays constant through the resize (bicubic weights sum to one).
    QVERIFY(torch::allclose(upsample_low_res(torch::full({1, 3, 4, 4}, 0.25), 12), torch::full({1, 3, 12, 12}, 0.25), 0, 1e-6));
  }

  void noiseAugmentationHasTheForwardProcessMoments() {
    // z = α_a x + σ_a ε over 20,000 draws (200 seeds × 100 pixels) of a constant image x = 0.6 at
    // aug a = 0.3: the sample mean is within 5 standard errors of α_a x (σ_a/√n), the sample
    // variance within 5 standard errors of σ_a² (σ_a² √(2/n)), α_a and σ_a from the schedule.
    const NoiseSchedule schedule = discrete(ScheduleKind::Cosine, 1000);
    const double aug = 0.3, x = 0.6;
    constexpr int64_t seeds = 200, pixels = 100;
    std::vector<std::uint64_t> seed_list;
    for (std::uint64_t s = 0; s < static_cast<std::uint64_t>(seeds); ++s) seed_list.push_back(1000 + s);
    SeededNoise noise(seed_list);
    const torch::Tensor up = torch::full({seeds, 1, 10, 10}, x);
    const torch::Tensor z = augment_low_res(schedule, up, fixed_aug_levels(seeds, aug, torch::kCPU), noise).to(torch::kFloat64);
    const NoiseLevel level = schedule.level(aug);
    const double n = static_cast<double>(seeds * pixels);
    VERIFY_NEAR(z.mean().item<double>(), level.alpha * x, 5 * level.sigma / std::sqrt(n), "augmented mean");
    VERIFY_NEAR(z.var().item<double>(), level.sigma * level.sigma, 5 * level.sigma * level.sigma * std::sqrt(2.0 / n),
                "augmented variance");

    // The same seeds give the same conditioning; another seed another one.
    SeededNoise again(seed_list);
    QVERIFY(torch::equal(augment_low_res(schedule, up, fixed_aug_levels(seeds, aug, torch::kCPU), again).to(torch::kFloat64), z));
    SeededNoise first({1000}), other({1001});
    const torch::Tensor one = up.narrow(0, 0, 1);
    const torch::Tensor levels = fixed_aug_levels(1, aug, torch::kCPU);
    QVERIFY(torch::equal(augment_low_res(schedule, one, levels, first), z.narrow(0, 0, 1).to(torch::kFloat32)));
    QVERIFY(!torch::equal(augment_low_res(schedule, one, levels, other), z.narrow(0, 0, 1).to(torch::kFloat32)));
  }

  void trainingAugLevelsCoverTheirRangeAndNoMore() {
    auto gen = generator(11);
    const double aug_max = 0.4;
    const torch::Tensor drawn = sample_aug_levels(20000, aug_max, gen);
    QCOMPARE(drawn.scalar_type(), torch::kFloat32);
    const torch::Tensor levels = drawn.to(torch::kFloat64);
    QVERIFY(levels.min().item<double>() >= 0.0);
    QVERIFY(levels.max().item<double>() <= aug_max);
    // Uniform on [0, aug_max]: each tenth of the range holds 2,000 ± 5·√(2000·0.9) draws.
    const torch::Tensor counts = torch::histc(levels, 10, 0.0, aug_max);
    for (int64_t k = 0; k < 10; ++k) VERIFY_NEAR(value_at(counts, k), 2000.0, 5 * std::sqrt(2000.0 * 0.9), "draws per tenth");
    QVERIFY(torch::equal(sample_aug_levels(4, 0.0, gen), torch::zeros({4})));
    QVERIFY_THROWS_EXCEPTION(std::invalid_argument, sample_aug_levels(4, 1.5, gen));
    QVERIFY_THROWS_EXCEPTION(std::invalid_argument, fixed_aug_levels(4, -0.1, torch::kCPU));
  }

  void posteriorMatchesClosedForm() {
    // The paper's §2.2 first forms: β̃_t = 1/(α_t/β_t + 1/(1 − ᾱ_{t−1})) and
    // μ̃_t = (√α_t/β_t x_t + √ᾱ_{t−1}/(1 − ᾱ_{t−1}) x₀)·β̃_t, with β_t and ᾱ_t from the tables.
    const NoiseSchedule schedule = discrete(ScheduleKind::Linear, 1000);
    torch::Generator gen = generator(3);
    const torch::Tensor x_t = torch::randn({2, 3, 4, 4}, gen, torch::kFloat64);
    const torch::Tensor x_0 = torch::randn({2, 3, 4, 4}, gen, torch::kFloat64);
    for (const int64_t i : {1, 10, 500, 999}) {
      const double beta = value_at(schedule.betas(), i);
      const double alpha_t = 1.0 - beta;
      const double alpha_bar_prev = value_at(schedule.alphas_cumprod(), i - 1);
      const double expected_variance = 1.0 / (alpha_t / beta + 1.0 / (1.0 - alpha_bar_prev));
      const torch::Tensor expected_mean =
          (std::sqrt(alpha_t) / beta * x_t + std::sqrt(alpha_bar_prev) / (1.0 - alpha_bar_prev) * x_0) * expected_variance;
      const Posterior q = q_posterior(schedule.level(schedule.time_of_step(i - 1)),
                                      schedule.level(schedule.time_of_step(i)), x_t, x_0);
      VERIFY_NEAR(q.variance, expected_variance, 1e-9 * expected_variance, "β̃_t");
      QVERIFY((q.mean - expected_mean).abs().max().item<double>() < 1e-9);
    }
    // From the first step back to the data the posterior is x₀ itself.
    const Posterior last = q_posterior(NoiseLevel::clean(), schedule.level(schedule.time_of_step(0)), x_t, x_0);
    VERIFY_NEAR(last.variance, 0.0, 0.0, "β̃_1");
    QVERIFY((last.mean - x_0).abs().max().item<double>() < 1e-9);
    QVERIFY_THROWS_EXCEPTION(std::runtime_error, q_posterior(schedule.level(0.5), schedule.level(0.2), x_t, x_0));
  }

  void ddimWithEtaOneIsDdpm() {
    // σ_t(η = 1)² equals the posterior variance β̃_t at every step of the full grid …
    const NoiseSchedule schedule = discrete(ScheduleKind::Cosine, 100);
    for (int64_t i = 1; i < schedule.steps(); ++i) {
      const NoiseLevel s = schedule.level(schedule.time_of_step(i - 1));
      const NoiseLevel t = schedule.level(schedule.time_of_step(i));
      const double beta = value_at(schedule.betas(), i);
      const double beta_tilde = (1.0 - value_at(schedule.alphas_cumprod(), i - 1)) / (1.0 - value_at(schedule.alphas_cumprod(), i)) * beta;
      const double c = ddim_noise_scale(1.0, s, t);
      VERIFY_NEAR(c * c, beta_tilde, 1e-9 * beta_tilde, "DDIM σ_t(1)² vs β̃_t");
      VERIFY_NEAR(ddim_noise_scale(0.5, s, t), 0.5 * c, 1e-15, "σ_t(η) linear in η");
    }
    // … so DDIM(η = 1) and DDPM draw the same noise and produce the same samples.
    const Denoiser model = gaussian_data_denoiser(schedule, 0.3, 0.6, Prediction::Epsilon);
    const SampleRequest request = request_for({5, 6}, {1, 16, 16});
    const int64_t every = schedule.max_sampling_steps();
    const torch::Tensor ddpm = make_sampler(schedule, sampler_options(SamplerKind::Ddpm, every))->sample(model, request);
    const torch::Tensor ddim =
        make_sampler(schedule, sampler_options(SamplerKind::Ddim, every, Prediction::Epsilon, 1.0))->sample(model, request);
    const double gap = (ddpm - ddim).abs().max().item<double>();
    QVERIFY2(gap < 1e-4, QByteArray::number(gap).constData());
  }

  void analyticDenoiserSamplesMatchTheData_data() {
    QTest::addColumn<int>("sampler");
    QTest::addColumn<int>("steps");
    QTest::addColumn<int>("prediction");
    QTest::addColumn<int>("scheduleKind");
    QTest::addColumn<int>("scheduleSteps");
    QTest::addColumn<bool>("againstDdimDiscretisation");
    const int cosine = int(ScheduleKind::Cosine);
    for (const Prediction p : {Prediction::Epsilon, Prediction::X0, Prediction::V}) {
      const std::string name = to_string(p);
      QTest::newRow(("ddpm all " + name).c_str()) << int(SamplerKind::Ddpm) << 0 << int(p) << cosine << 500 << false;
      QTest::newRow(("ddim 50 " + name).c_str()) << int(SamplerKind::Ddim) << 50 << int(p) << cosine << 500 << true;
      QTest::newRow(("ddim 200 " + name).c_str()) << int(SamplerKind::Ddim) << 200 << int(p) << cosine << 500 << false;
      QTest::newRow(("dpmpp 20 " + name).c_str()) << int(SamplerKind::DpmSolverPP) << 20 << int(p) << cosine << 500 << false;
    }
    QTest::newRow("ddim 50 eps, linear T=1000") << int(SamplerKind::Ddim) << 50 << 0 << int(ScheduleKind::Linear) << 1000 << true;
    QTest::newRow("dpmpp 20 eps, continuous cosine") << int(SamplerKind::DpmSolverPP) << 20 << 0 << cosine << 0 << false;
    QTest::newRow("ddpm 500 v, continuous cosine") << int(SamplerKind::Ddpm) << 500 << 2 << cosine << 0 << false;
  }

  void analyticDenoiserSamplesMatchTheData() {
    QFETCH(int, sampler);
    QFETCH(int, steps);
    QFETCH(int, prediction);
    QFETCH(int, scheduleKind);
    QFETCH(int, scheduleSteps);
    QFETCH(bool, againstDdimDiscretisation);
    // Data N(μ, s² I); 8 images of 1×40×100 = 32,000 scalars (≥ 10k, and small enough that torch
    // runs the elementwise work on one thread), so the sampling error of the mean is 0.28% of μ and
    // of the standard deviation 0.40% of s. DDPM's own bias at T = 500 is 0.5% of s (its β̃ is the
    // lower bound of the reverse variance), which leaves the 2% bound ≥ 3.7 standard errors away.
    const double mu = 2.0;
    const double s = 1.0;
    const NoiseSchedule schedule(ScheduleSpec{static_cast<ScheduleKind>(scheduleKind), scheduleSteps});
    const auto kind = static_cast<Prediction>(prediction);
    const Denoiser model = gaussian_data_denoiser(schedule, mu, s, kind);
    const auto run = make_sampler(schedule, sampler_options(static_cast<SamplerKind>(sampler), steps > 0 ? steps : schedule.max_sampling_steps(), kind));
    const torch::Tensor x = run->sample(model, request_for({1, 2, 3, 4, 5, 6, 7, 8}, {1, 40, 100}));
    const double mean = x.mean().item<double>();
    const double std = x.std().item<double>();
    QVERIFY2(std::abs(mean - mu) <= 0.02 * mu, describe("sample mean", mean, mu).constData());
    if (!againstDdimDiscretisation) {
      QVERIFY2(std::abs(std - s) <= 0.02 * s, describe("sample std", std, s).constData());
      return;
    }
    // Deterministic DDIM cannot reach 2% in 50 steps: with the exact x̂₀ and ε̂ of Gaussian data
    // one step maps x_t − α_t μ to (α_s α_t s² + σ_s σ_t)/(α_t² s² + σ_t²) times itself, where the
    // true flow scales by √((α_s² s² + σ_s²)/(α_t² s² + σ_t²)). Their ratio is the cosine of the
    // step's angle between (α s, σ) vectors, and the angles sum to ≈ π/2, so N steps keep at best
    // cos(π/(2N))^N of the std: 97.6% for N = 50. The samples must match that discretisation.
    double gain = 1.0;
    std::vector<NoiseLevel> levels;
    for (const double t : schedule.sampling_times(steps)) levels.push_back(schedule.level(t));
    levels.push_back(NoiseLevel::clean());
    for (std::size_t k = 0; k + 1 < levels.size(); ++k) {
      const NoiseLevel& t = levels[k];
      const NoiseLevel& next = levels[k + 1];
      gain *= (next.alpha * t.alpha * s * s + next.sigma * t.sigma) / (t.alpha * t.alpha * s * s + t.sigma * t.sigma);
    }
    // x_T ~ N(0, I), so x₀ − μ = gain·(x_T − α_T μ) has standard deviation `gain`.
    QVERIFY2(gain < 0.98 * s, describe("DDIM's discretised std", gain, s).constData());
    QVERIFY2(std::abs(std - gain) <= 0.01 * gain, describe("sample std vs DDIM's discretisation", std, gain).constData());
  }

  void guidanceIdentities() {
    TwoFacedModel net;
    const Denoiser model = net.denoiser();
    torch::Generator gen = generator(5);
    const torch::Tensor x = torch::randn({3, 2, 4, 4}, gen);
    const torch::Tensor t = torch::tensor({0.2f, 0.5f, 0.9f});
    TextCondition text = TextCondition::none(3);
    text.drop = torch::tensor({false, false, true});  // the third prompt is empty: already unconditional
    const torch::Tensor conditional = model(x, t, text);
    const torch::Tensor unconditional = model(x, t, text.dropped());
    net.calls = 0;
    net.batches.clear();

    // w = 1: the conditional prediction, in one pass of B.
    QVERIFY(torch::equal(guided_prediction(model, x, t, text, 1.0), conditional));
    QCOMPARE(net.batches, (std::vector<int64_t>{3}));
    // w = 0: the unconditional prediction; any w: one pass of 2B equal to the two separate passes.
    QVERIFY(torch::allclose(guided_prediction(model, x, t, text, 0.0), unconditional, 1e-6, 1e-6));
    for (const double w : {3.0, 8.0}) {
      const torch::Tensor expected = w * conditional + (1.0 - w) * unconditional;
      QVERIFY(torch::allclose(classifier_free_guidance(model, w)(x, t, text), expected, 1e-5, 1e-5));
    }
    QCOMPARE(net.batches, (std::vector<int64_t>{3, 6, 6, 6}));
    // The empty prompt is unconditional in both halves, so guidance leaves it alone.
    QVERIFY(torch::allclose(guided_prediction(model, x, t, text, 8.0)[2], unconditional[2], 1e-5, 1e-5));

    // Guiding an x₀ or v network's output equals guiding the ε it implies.
    const NoiseSchedule schedule = discrete(ScheduleKind::Cosine, 1000);
    const torch::Tensor alpha = per_sample(schedule.alpha(t), x);
    const torch::Tensor sigma = per_sample(schedule.sigma(t), x);
    for (const Prediction p : {Prediction::X0, Prediction::V}) {
      const double w = 5.0;
      const torch::Tensor guided = to_estimate(p, guided_prediction(model, x, t, text, w), x, alpha, sigma).epsilon;
      const torch::Tensor eps_c = to_estimate(p, conditional, x, alpha, sigma).epsilon;
      const torch::Tensor eps_u = to_estimate(p, unconditional, x, alpha, sigma).epsilon;
      QVERIFY(torch::allclose(guided, w * eps_c + (1.0 - w) * eps_u, 1e-4, 1e-4));
    }
    // Skipping the unconditional half at w = 1 loses nothing: there the guided formula is
    // 1·f(z, c) + 0·f(z, ∅).
    QVERIFY(torch::equal(guided_prediction(model, x, t, text, 1.0), 1.0 * conditional + 0.0 * unconditional));
  }

  void parameterisationsConvertExactly() {
    const NoiseSchedule schedule = discrete(ScheduleKind::Cosine, 1000);
    torch::Generator gen = generator(9);
    const torch::Tensor x_0 = torch::randn({4, 3, 8, 8}, gen, torch::kFloat64);
    const torch::Tensor eps = torch::randn({4, 3, 8, 8}, gen, torch::kFloat64);
    const torch::Tensor t = torch::tensor({0.05, 0.3, 0.6, 0.95}, torch::kFloat64);
    const torch::Tensor alpha = per_sample(schedule.alpha(t), x_0);
    const torch::Tensor sigma = per_sample(schedule.sigma(t), x_0);
    const torch::Tensor x_t = q_sample(schedule, x_0, t, eps);
    for (const Prediction p : {Prediction::Epsilon, Prediction::X0, Prediction::V}) {
      const Estimate e = to_estimate(p, prediction_target(p, x_0, eps, alpha, sigma), x_t, alpha, sigma);
      QVERIFY2((e.x_0 - x_0).abs().max().item<double>() < 1e-10, to_string(p).c_str());
      QVERIFY2((e.epsilon - eps).abs().max().item<double>() < 1e-10, to_string(p).c_str());
    }
    // v = α ε − σ x₀
    QVERIFY(torch::allclose(prediction_target(Prediction::V, x_0, eps, alpha, sigma), alpha * eps - sigma * x_0));
  }

  void lossWeightsFollowTheirFormulas() {
    const NoiseSchedule schedule = discrete(ScheduleKind::Cosine, 1000);
    const torch::Tensor x_0 = torch::rand({64, 3, 4, 4}, generator(1)) * 2 - 1;
    TextCondition text = TextCondition::none(64);
    // An imperfect model with a parameter, so the loss is non-zero and differentiable.
    const torch::Tensor scale = torch::full({}, 0.5, torch::requires_grad());
    const Denoiser model = [&](const torch::Tensor& x, const torch::Tensor&, const TextCondition&) { return scale * x; };

    LossOptions simple;
    simple.weighting = Weighting::Simple;
    const DiffusionLoss simple_loss(schedule, simple);
    torch::Generator gen = generator(21);
    const LossDraw draw = simple_loss.draw(x_0, gen);
    // Uniform steps: times on the step grid.
    const torch::Tensor steps = (draw.t.to(torch::kFloat64) * 1000).round() - 1;
    QVERIFY(((draw.t.to(torch::kFloat64) * 1000 - (steps + 1)).abs() < 1e-3).all().item<bool>());
    QVERIFY((steps >= 0).all().item<bool>() && (steps <= 999).all().item<bool>());
    // SNR from the ᾱ table at the drawn steps.
    const torch::Tensor alpha_bar = schedule.alphas_cumprod().index_select(0, steps.to(torch::kInt64));
    const torch::Tensor snr = alpha_bar / (1.0 - alpha_bar);

    const LossTerms base = simple_loss.evaluate(model, x_0, text, draw);
    // mse = mean over pixels of (model(x_t) − ε)², recomputed here from the table.
    const torch::Tensor a = alpha_bar.sqrt().to(torch::kFloat32).view({-1, 1, 1, 1});
    const torch::Tensor sg = (1.0 - alpha_bar).sqrt().to(torch::kFloat32).view({-1, 1, 1, 1});
    const torch::Tensor expected_mse = (0.5 * (a * x_0 + sg * draw.noise) - draw.noise).pow(2).mean({1, 2, 3});
    QVERIFY(torch::allclose(base.mse, expected_mse, 1e-5, 1e-6));
    QVERIFY(torch::equal(base.weight, torch::ones({64})));
    VERIFY_NEAR(base.loss.item<double>(), expected_mse.mean().item<double>(), 1e-6, "simple loss");
    QVERIFY(base.loss.requires_grad());

    for (const auto& [k, gamma] : {std::pair{1.0, 0.5}, std::pair{2.0, 1.0}}) {
      LossOptions p2;
      p2.weighting = Weighting::P2;
      p2.p2_k = k;
      p2.p2_gamma = gamma;
      const LossTerms terms = DiffusionLoss(schedule, p2).evaluate(model, x_0, text, draw);
      const torch::Tensor expected = (k + snr).pow(-gamma).to(torch::kFloat32);
      QVERIFY(torch::allclose(terms.weight, expected, 1e-5, 1e-7));
      QVERIFY(torch::allclose(terms.weighted, expected * base.mse, 1e-5, 1e-7));
      VERIFY_NEAR(terms.loss.item<double>(), (expected * base.mse).mean().item<double>(), 1e-6, "P2 loss");
    }
    LossOptions p2_flat;
    p2_flat.p2_gamma = 0.0;  // P2 with γ = 0 is the simple loss
    const LossTerms flat = DiffusionLoss(schedule, p2_flat).evaluate(model, x_0, text, draw);
    QVERIFY(torch::equal(flat.loss, base.loss));

    // Min-SNR-γ: min(SNR, γ) on x₀, divided by SNR for ε and by SNR + 1 for v.
    const double gamma = 5.0;
    const torch::Tensor clipped = snr.clamp_max(gamma);
    const std::vector<std::pair<Prediction, torch::Tensor>> min_snr{
        {Prediction::Epsilon, clipped / snr}, {Prediction::X0, clipped}, {Prediction::V, clipped / (snr + 1)}};
    for (const auto& [prediction, expected] : min_snr) {
      LossOptions options;
      options.weighting = Weighting::MinSnr;
      options.prediction = prediction;
      options.min_snr_gamma = gamma;
      QVERIFY(torch::allclose(DiffusionLoss(schedule, options).weight(draw.t), expected.to(torch::kFloat32), 1e-5, 1e-7));
    }

    // The same generator seed gives the same draw; the generator's draw and an explicit one agree.
    torch::Generator again = generator(21);
    const LossTerms repeated = simple_loss(model, x_0, text, again);
    QVERIFY(torch::equal(repeated.t, draw.t) && torch::equal(repeated.loss, base.loss));

    LossOptions bad;
    bad.p2_k = 0.0;
    QVERIFY_THROWS_EXCEPTION(std::runtime_error, DiffusionLoss(schedule, bad));
    QVERIFY_THROWS_EXCEPTION(std::runtime_error,
                             simple_loss.evaluate(model, x_0, text, LossDraw{draw.t.slice(0, 1), draw.noise}));
  }

  void aPerfectModelHasTheLeastLoss() {
    // For Gaussian data the analytic predictor is the minimiser of the expected loss: any
    // perturbation of it must raise the loss on the same draw.
    const NoiseSchedule schedule = discrete(ScheduleKind::Cosine, 500);
    const double mu = 0.2;
    const double s = 0.7;
    const torch::Tensor x_0 = mu + s * torch::randn({256, 1, 8, 8}, generator(2));
    const TextCondition text = TextCondition::none(256);
    for (const Prediction p : {Prediction::Epsilon, Prediction::X0, Prediction::V}) {
      LossOptions options;
      options.prediction = p;
      const DiffusionLoss loss(schedule, options);
      torch::Generator gen = generator(4);
      const LossDraw draw = loss.draw(x_0, gen);
      const Denoiser optimum = gaussian_data_denoiser(schedule, mu, s, p);
      const double best = loss.evaluate(optimum, x_0, text, draw).loss.item<double>();
      for (const double bias : {-0.05, 0.05}) {
        const Denoiser perturbed = [&](const torch::Tensor& x, const torch::Tensor& t, const TextCondition& c) {
          return optimum(x, t, c) + bias;
        };
        QVERIFY2(loss.evaluate(perturbed, x_0, text, draw).loss.item<double>() > best, to_string(p).c_str());
      }
    }
  }

  void thresholding() {
    Thresholding dynamic;
    dynamic.kind = ThresholdKind::Dynamic;
    dynamic.percentile = 0.9;
    torch::Generator gen = generator(8);
    // In range: untouched, bit for bit.
    const torch::Tensor inside = torch::rand({2, 3, 8, 8}, gen) * 1.8 - 0.9;
    QVERIFY(torch::equal(threshold(inside, dynamic), inside));
    // A sample with |x̂₀| = 2 everywhere has s = 2: divided by 2.
    const torch::Tensor twos = torch::where(torch::rand({1, 3, 8, 8}, gen) < 0.5, -2.0, 2.0).to(torch::kFloat32);
    QVERIFY(torch::allclose(threshold(twos, dynamic), twos / 2));
    // Outliers beyond the percentile are clipped; samples are thresholded each on their own.
    torch::Tensor mixed = torch::rand({2, 1000}, gen) - 0.5;
    mixed[1].slice(0, 0, 50).fill_(10.0);  // 5% outliers: the 90th percentile stays below 1, so s = 1
    mixed[0].mul_(6.0);                       // mostly out of range
    const torch::Tensor out = threshold(mixed, dynamic);
    QVERIFY(out.abs().max().item<double>() <= 1.0);
    const torch::Tensor expected_second = mixed[1].clamp(-1.0, 1.0);
    QVERIFY(torch::equal(out[1], expected_second));
    const double s0 = torch::quantile(mixed[0].abs(), 0.9).item<double>();
    QVERIFY(s0 > 1.0);
    QVERIFY(torch::allclose(out[0], mixed[0].clamp(-s0, s0) / s0));
    // The percentile interpolates between order statistics exactly as torch::quantile does.
    const torch::Tensor wide = torch::randn({3, 777}, gen) * 4;
    for (const double p : {0.5, 0.9, 0.995, 1.0}) {
      const torch::Tensor s = torch::quantile(wide.abs(), p, 1, true).clamp_min(1.0);
      QVERIFY(torch::allclose(threshold(wide, Thresholding{ThresholdKind::Dynamic, p}), wide.clamp(-s, s) / s));
    }
    // Static clipping and none.
    Thresholding clip;
    clip.kind = ThresholdKind::Static;
    QVERIFY(torch::equal(threshold(mixed, clip), mixed.clamp(-1.0, 1.0)));
    QVERIFY(torch::equal(threshold(mixed, Thresholding{ThresholdKind::None, 0.9}), mixed));
    QVERIFY_THROWS_EXCEPTION(std::runtime_error, threshold(mixed, Thresholding{ThresholdKind::Dynamic, 1.5}));
  }

  void thresholdedSamplingStaysInRange() {
    // Data N(2, 0.5²) lies outside [−1, 1]; with dynamic thresholding every x̂₀ the observer sees,
    // and the final images, stay inside it.
    const NoiseSchedule schedule = discrete(ScheduleKind::Cosine, 100);
    SamplerOptions options = sampler_options(SamplerKind::Ddim, 20);
    options.thresholding = Thresholding{ThresholdKind::Dynamic, 0.995};
    SampleRequest request = request_for({1, 2}, {3, 8, 8});
    double largest = 0.0;
    request.observer = [&](const StepReport& step) { largest = std::max(largest, step.x_0.abs().max().item<double>()); };
    const torch::Tensor x = make_sampler(schedule, options)->sample(gaussian_data_denoiser(schedule, 2.0, 0.5, Prediction::Epsilon), request);
    QVERIFY(largest <= 1.0 + 1e-6);
    QVERIFY(x.abs().max().item<double>() <= 1.0 + 1e-6);
  }

  void sameSeedGivesBitIdenticalSamples() {
    const NoiseSchedule schedule = discrete(ScheduleKind::Linear, 200);
    const Denoiser model = gaussian_data_denoiser(schedule, 0.1, 0.4, Prediction::Epsilon);
    for (const SamplerKind kind : every_sampler()) {
      SamplerOptions options = sampler_options(kind, 25, Prediction::Epsilon, 0.5);
      options.thresholding = Thresholding{ThresholdKind::Dynamic, 0.995};
      const auto sampler = make_sampler(schedule, options);
      const SampleRequest request = request_for({42, 43}, {3, 16, 16});
      const torch::Tensor first = sampler->sample(model, request);
      QVERIFY2(torch::equal(first, sampler->sample(model, request)), to_string(kind).c_str());
      QVERIFY2(!torch::equal(first[0], first[1]), to_string(kind).c_str());
    }
  }

  void imageDependsOnlyOnItsSeed() {
    const NoiseSchedule schedule = discrete(ScheduleKind::Cosine, 200);
    const Denoiser model = classifier_free_guidance(gaussian_data_denoiser(schedule, -0.2, 0.5, Prediction::V), 4.0);
    for (const SamplerKind kind : every_sampler()) {
      SamplerOptions options = sampler_options(kind, 30, Prediction::V, 0.7);
      options.thresholding = Thresholding{ThresholdKind::Dynamic, 0.995};
      const auto sampler = make_sampler(schedule, options);
      const torch::Tensor alone = sampler->sample(model, request_for({9}, {3, 16, 16}));
      const torch::Tensor among = sampler->sample(model, request_for({7, 8, 9, 10}, {3, 16, 16}));
      const torch::Tensor first = sampler->sample(model, request_for({9, 3}, {3, 16, 16}));
      QVERIFY2(torch::equal(alone[0], among[2]), to_string(kind).c_str());
      QVERIFY2(torch::equal(alone[0], first[0]), to_string(kind).c_str());
    }
  }

  // The frozen trajectory: with DDPM two guidance scales share x_T and every noise draw, which
  // are the seed's own stream (x_T is torch.randn from a generator seeded with it), one draw per
  // step but the last, whatever shares the batch; the images differ.
  void ddpmScalesShareXTAndEveryNoiseDraw() {
    const NoiseSchedule schedule = discrete(ScheduleKind::Cosine, 200);
    const Denoiser model = two_data_denoiser(schedule);
    const auto sampler = make_sampler(schedule, sampler_options(SamplerKind::Ddpm, 12));
    NoiseLog at3, at8, paired;
    SampleRequest request = kept_text_request({21});
    at3.watch(request);
    const torch::Tensor image3 = sampler->sample(classifier_free_guidance(model, 3.0), request);
    at8.watch(request);
    const torch::Tensor image8 = sampler->sample(classifier_free_guidance(model, 8.0), request);
    SampleRequest pair = kept_text_request({21, 22});
    paired.watch(pair);
    sampler->sample(classifier_free_guidance(model, 3.0), pair);

    std::vector<int64_t> expected_steps{-1};
    for (int64_t k = 0; k < 11; ++k) expected_steps.push_back(k);  // the last move lands on the clean data
    QCOMPARE(at3.steps, expected_steps);
    QCOMPARE(at8.steps, expected_steps);
    QCOMPARE(paired.steps, expected_steps);
    torch::Generator stream = generator(21);
    QVERIFY(torch::equal(at3.draws.front()[0], torch::randn({3, 8, 8}, stream)));
    for (std::size_t i = 0; i < at3.draws.size(); ++i) {
      QVERIFY(torch::equal(at3.draws[i], at8.draws[i]));
      QVERIFY(torch::equal(at3.draws[i][0], paired.draws[i][0]));
    }
    QVERIFY(!torch::equal(image3, image8));
  }

  // Per-image scales in one batch: row b is exactly the prediction (and the sampled image) of a
  // run at w[b] alone, for every sampler; equal scales are the single-scale path itself.
  void perImageScalesMatchSeparateRuns() {
    TwoFacedModel net;
    const Denoiser faced = net.denoiser();
    const torch::Tensor x = torch::randn({4, 2, 4, 4}, generator(6));
    const torch::Tensor t = torch::full({4}, 0.4);
    TextCondition text = TextCondition::none(4);
    text.drop = torch::zeros({4}, torch::kBool);
    const std::vector<double> scales{1, 3, 5, 8};
    const torch::Tensor rows = guided_prediction(faced, x, t, text, scales);
    for (int64_t b = 0; b < 4; ++b) {
      const std::size_t i = static_cast<std::size_t>(b);
      QVERIFY(torch::equal(rows[b], guided_prediction(faced, x, t, text, scales[i])[b]));
    }
    net.batches.clear();
    QVERIFY(torch::equal(guided_prediction(faced, x, t, text, std::vector<double>(4, 1.0)), guided_prediction(faced, x, t, text, 1.0)));
    QCOMPARE(net.batches, (std::vector<int64_t>{4, 4}));
    QVERIFY_THROWS_EXCEPTION(std::invalid_argument, guided_prediction(faced, x, t, text, std::vector<double>{1, 3}));

    const NoiseSchedule schedule = discrete(ScheduleKind::Cosine, 200);
    const Denoiser model = two_data_denoiser(schedule);
    for (const SamplerKind kind : every_sampler()) {
      SamplerOptions options = sampler_options(kind, 10, Prediction::Epsilon, 0.6);
      options.thresholding = Thresholding{ThresholdKind::Dynamic, 0.995};
      const auto sampler = make_sampler(schedule, options);
      const torch::Tensor batch = sampler->sample(classifier_free_guidance(model, scales), kept_text_request({5, 5, 5, 5}));
      for (std::size_t i = 0; i < scales.size(); ++i) {
        const torch::Tensor alone = sampler->sample(classifier_free_guidance(model, scales[i]), kept_text_request({5}));
        QVERIFY2(torch::equal(batch[static_cast<int64_t>(i)], alone[0]), to_string(kind).c_str());
      }
    }
  }

  void observerSeesEveryStepAndCancelStopsCleanly() {
    const NoiseSchedule schedule = discrete(ScheduleKind::Cosine, 1000);
    const auto sampler = make_sampler(schedule, sampler_options(SamplerKind::DpmSolverPP, 10));
    const std::vector<double> times = schedule.sampling_times(10);
    int model_calls = 0;
    const Denoiser base = gaussian_data_denoiser(schedule, 0.0, 0.5, Prediction::Epsilon);
    const Denoiser model = [&](const torch::Tensor& x, const torch::Tensor& t, const TextCondition& c) {
      ++model_calls;
      return base(x, t, c);
    };
    SampleRequest request = request_for({1, 2}, {3, 8, 8});
    std::vector<int64_t> indices;
    request.observer = [&](const StepReport& step) {
      QCOMPARE(step.total, int64_t{10});
      QCOMPARE(step.t, times[static_cast<std::size_t>(step.index)]);
      QCOMPARE(step.x_t.sizes(), (torch::IntArrayRef{2, 3, 8, 8}));
      QCOMPARE(step.x_0.sizes(), (torch::IntArrayRef{2, 3, 8, 8}));
      indices.push_back(step.index);
    };
    sampler->sample(model, request);
    QCOMPARE(indices, (std::vector<int64_t>{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}));

    // Cancelling during step 3 stops before the next network evaluation.
    t2i::job::CancelToken cancel;
    request.cancel = &cancel;
    indices.clear();
    model_calls = 0;
    request.observer = [&](const StepReport& step) {
      indices.push_back(step.index);
      if (step.index == 3) cancel.cancel();
    };
    QVERIFY_THROWS_EXCEPTION(SamplingCancelled, sampler->sample(model, request));
    QCOMPARE(indices.size(), std::size_t{4});
    QCOMPARE(model_calls, 4);
    // Cancelled before it starts: the network never runs.
    model_calls = 0;
    QVERIFY_THROWS_EXCEPTION(SamplingCancelled, sampler->sample(model, request));
    QCOMPARE(model_calls, 0);
  }

  void malformedSamplingRequestsAreRejected() {
    const NoiseSchedule schedule = discrete(ScheduleKind::Cosine, 100);
    const Denoiser model = gaussian_data_denoiser(schedule, 0.0, 0.5, Prediction::Epsilon);
    const auto sampler = make_sampler(schedule, sampler_options(SamplerKind::Ddim, 10));
    SampleRequest mismatched = request_for({1, 2}, {3, 8, 8});
    mismatched.text = TextCondition::none(3);
    QVERIFY_THROWS_EXCEPTION(std::runtime_error, sampler->sample(model, mismatched));
    QVERIFY_THROWS_EXCEPTION(std::runtime_error, sampler->sample(model, request_for({}, {3, 8, 8})));
    QVERIFY_THROWS_EXCEPTION(std::runtime_error, sampler->sample(model, request_for({1}, {8, 8})));
    QVERIFY_THROWS_EXCEPTION(std::runtime_error,
                             make_sampler(schedule, sampler_options(SamplerKind::Ddim, 10, Prediction::Epsilon, 1.5)));
    SamplerOptions bad_percentile = sampler_options(SamplerKind::Ddpm, 10);
    bad_percentile.thresholding = Thresholding{ThresholdKind::Dynamic, 0.0};
    QVERIFY_THROWS_EXCEPTION(std::runtime_error, make_sampler(schedule, bad_percentile));
  }

  void facadeCurvesAndNoisedImages() {
    const ScheduleCurves curves = schedule_curves({ScheduleKind::Cosine, 1000}, 1.0, 0.5);
    QCOMPARE(curves.t.size(), std::size_t{1000});
    QCOMPARE(curves.alpha_bar.size(), std::size_t{1000});
    VERIFY_NEAR(curves.t[499], 0.5, 1e-15, "t of step 499");
    VERIFY_NEAR(curves.alpha_bar[499], 0.49384359044063775, 1e-13, "ᾱ at t = 0.5");
    for (std::size_t i = 0; i < curves.t.size(); i += 37) {
      VERIFY_NEAR(curves.log_snr[i], std::log(curves.alpha_bar[i] / (1.0 - curves.alpha_bar[i])), 1e-9, "log-SNR");
      VERIFY_NEAR(curves.p2_weight[i], std::pow(1.0 + std::exp(curves.log_snr[i]), -0.5), 1e-6, "P2 weight");
    }
    const ScheduleCurves smooth = schedule_curves({ScheduleKind::Linear, 0}, 2.0, 1.0, 50);
    QCOMPARE(smooth.t.size(), std::size_t{50});
    VERIFY_NEAR(smooth.p2_weight[10], 1.0 / (2.0 + std::exp(smooth.log_snr[10])), 1e-6, "P2 weight k=2 γ=1");

    const int h = 32, w = 32, c = 3;
    std::vector<float> image(static_cast<std::size_t>(h * w * c));
    for (std::size_t i = 0; i < image.size(); ++i) image[i] = static_cast<float>(i % 7) / 3.5f - 1.0f;
    QCOMPARE(noise_image(image, h, w, c, {ScheduleKind::Cosine, 1000}, 0.0, 1), image);  // t = 0: the data
    // Same seed, same ε under both schedules: (x_t − α x₀)/σ agrees.
    const double t = 0.5;
    auto recovered_noise = [&](ScheduleKind kind) {
      const std::vector<float> noised = noise_image(image, h, w, c, {kind, 1000}, t, 77);
      const NoiseLevel level = NoiseSchedule({kind, 1000}).level(t);
      std::vector<double> eps(noised.size());
      for (std::size_t i = 0; i < eps.size(); ++i) eps[i] = (noised[i] - level.alpha * image[i]) / level.sigma;
      return eps;
    };
    const std::vector<double> linear = recovered_noise(ScheduleKind::Linear);
    const std::vector<double> cosine = recovered_noise(ScheduleKind::Cosine);
    double gap = 0, sum = 0, sum_sq = 0;
    for (std::size_t i = 0; i < linear.size(); ++i) {
      gap = std::max(gap, std::abs(linear[i] - cosine[i]));
      sum += cosine[i];
      sum_sq += cosine[i] * cosine[i];
    }
    QVERIFY2(gap < 1e-4, QByteArray::number(gap).constData());
    const double n = static_cast<double>(cosine.size());
    VERIFY_NEAR(sum / n, 0.0, 5.0 / std::sqrt(n), "noise mean");
    VERIFY_NEAR(sum_sq / n, 1.0, 5.0 * std::sqrt(2.0 / n), "noise variance");
    QVERIFY_THROWS_EXCEPTION(std::runtime_error, noise_image(image, h, w + 1, c, {ScheduleKind::Cosine, 1000}, t, 1));
    QVERIFY_THROWS_EXCEPTION(std::runtime_error, noise_image(image, h, w, c, {ScheduleKind::Cosine, 1000}, 1.5, 1));
  }
};

QTEST_GUILESS_MAIN(TestDiffusion)
#include "test_diffusion.moc"
