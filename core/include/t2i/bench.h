// Benchmarks that print JSON, one per `t2i bench <name>` subcommand: <Name>Options in,
// <name>_json() out, each returning one JSON object. They live in their own library (t2i::bench,
// core/src/bench/), outside t2i::core: only the CLI and the benchmarks' tests link it, so the
// production libraries carry no benchmark code.
#pragma once

#include "t2i/data.h"
#include "t2i/diffusion.h"
#include "t2i/runtime.h"
#include "t2i/text.h"
#include "t2i/train.h"

#include <cstdint>
#include <string>
#include <vector>

namespace t2i::bench {

/// `kernels`: the machine itself, so model benchmarks can be read against what the hardware
/// delivers (achieved GFLOP/s of a U-Net vs a plain convolution in the same run).
struct KernelsOptions {
  int repeats = 5;  ///< timed repetitions per kernel; the best is reported
};

/// Times a 3x3 convolution (8x128x64x64) and a 1024^3 matmul in fp32 and bf16, NCHW and
/// channels-last, on the CPU, with GFLOP/s per variant.
std::string kernels_json(const KernelsOptions& options);

/// `text`: a t5-v1_1-base-sized encoder with random weights.
struct TextOptions {
  std::int64_t batch = 32;       ///< captions per forward pass
  std::int64_t tokens = 16;      ///< tokens per caption, </s> included (COCO captions: ~14)
  int repeats = 3;               ///< timed passes per precision; the best is reported
  std::vector<runtime::Precision> precisions{runtime::Precision::Float32, runtime::Precision::BFloat16};
};

/// Encoding throughput per precision and the embedding cache's size per caption.
std::string text_json(const TextOptions& options);

/// `tensor-read`: the tensor-file reader.
struct TensorReadOptions {
  int size_mb = 512;   ///< float32 data written, in 16 tensors
  std::string folder;  ///< where the temporary file goes; empty = the system's temporary folder
};

/// Writes a random safetensors file of options.size_mb, then reads it back from a cold page
/// cache and again warm; deletes it. MB/s figures.
std::string tensor_read_json(const TensorReadOptions& options);

/// `data`: the image cache's build rate (decode + resize + crop) into a fresh temporary folder.
struct DataOptions {
  std::vector<data::Source> sources;
  data::SplitOptions split;      ///< max_images and seed of the subset
  int image_size = 64;
  int threads = 0;               ///< decoding threads; 0 = every available core
};

/// Images per second of wall and of CPU time, and the cache's bytes per 1000 images.
std::string data_json(const DataOptions& options);

/// `sampler`: the sampling engine itself, the time per sampling step when the network is the
/// elementwise analytic denoiser, so that what remains is the engine's own work (guidance
/// batching, parameterisation, thresholding, the update), to read against a network forward.
struct SamplerOptions {
  int batch = 4;
  int channels = 3;
  int size = 64;          ///< image height and width
  int steps = 50;         ///< sampling steps per run
  int repeats = 3;        ///< timed runs per case; the best is reported
  double guidance = 5.0;  ///< classifier-free guidance scale (1 = no unconditional half)
};

/// Times DDPM, DDIM and DPM-Solver++ on a cosine schedule (T = 1000), with no and with dynamic
/// thresholding, each in turns with the same network calls alone (their difference is the
/// engine's cost per step), and one 3x3 convolution (128 channels, the network's batch) as a
/// yardstick for one U-Net layer.
std::string sampler_json(const SamplerOptions& options);

/// `model`: what a preset's U-Net costs on this machine, read against a plain convolution
/// measured in the same run.
struct ModelOptions {
  std::string preset = "small";  ///< a preset name or a path to a preset file
  int batch = 0;                 ///< images per micro-batch; 0 = the preset's max micro-batch
  int text_length = 0;           ///< text tokens per caption after padding; 0 = the preset's maximum
  int repeats = 3;               ///< timed repetitions per measurement (the median is reported)
  /// Modes to run, each "<precision>[+checkpoint]" with precision fp32 or bf16; empty = all four.
  std::vector<std::string> modes;
  bool channels_last = true;
  bool kernels = true;           ///< also time a plain 3×3 conv for comparison
  /// Also profile each mode's training step (forward, backward, and the trainer's own AdamW step
  /// and EMA update) by category of operator: `profile` in each mode's JSON.
  bool profile = false;
};

/// Parameters, counted forward FLOPs per image, and per mode the forward and training-step
/// times, images/s, achieved GFLOP/s, the fraction of the plain conv's GFLOP/s, and peak
/// resident memory.
std::string model_json(const ModelOptions& options);

/// The by-category profiles in a `model` or `sample` benchmark's JSON (run with `profile`), as
/// readable tables: milliseconds by category of operator (convolution, matmul, normalisation,
/// elementwise/activation, attention softmax, casts and copies, optimizer, EMA, other) and phase.
std::string profile_tables(const std::string& benchmark_json);

/// `fid`: the FID Inception network and the distances.
struct FidOptions {
  std::string device = "cpu";
  std::int64_t batch_size = 8;    ///< images per forward pass
  std::int64_t batches = 3;       ///< timed passes per memory layout (the best is reported)
  std::int64_t image_size = 64;   ///< side of the random input images (resized to 299 by the network)
  std::int64_t samples = 2000;    ///< N per side for the statistics/FID/KID timing
};

/// Inception feature extraction rate (random weights, fp32, NCHW and channels-last) and the time
/// of statistics + FID + KID for two sets of `samples` features.
std::string fid_json(const FidOptions& options);

/// `train` and `sample`: a preset's training step and guided sampling.
struct PresetOptions {
  std::string preset = "small";
  std::string device = "cpu";
  int micro_batches = 2;     ///< timed micro-batches (train) after one warm-up
  int images = 1;            ///< images sampled together (sample)
  int steps = 50;            ///< sampling steps (sample)
  diffusion::SamplerKind sampler = diffusion::SamplerKind::Ddim;  ///< (sample)
  double guidance = 8.0;     ///< CFG scale (sample): guided steps run a batch of 2×images
  runtime::Precision precision = runtime::Precision::Auto;
  bool profile = false;      ///< sample: also profile a second run by category of operator, per step
  bool probes = false;       ///< sample: also time a run recording attention maps and guidance anatomy
};

/// Training images/s at the preset's micro-batch (forward, backward, AdamW and EMA), with
/// 768-d random text embeddings, and the peak RSS.
std::string train_json(const PresetOptions& options);

/// `train --inside`: what looking inside training costs (the loss by noise level, the probe
/// gallery and its memorisation point, each once per evaluation) against the training time between
/// two evaluations, on the demo dataset with the preset's real model (its text encoder included).
struct InsideTrainingOptions {
  std::string preset = "demo";
  std::string device = "cpu";
  int demo_images = 400;  ///< images of the demo dataset written for it
  int steps = 3;          ///< timed training steps after one warm-up
};

/// Seconds per training step (forward and backward of one batch; AdamW and EMA, a few per cent,
/// left out, so the shares are upper bounds), per loss-by-noise validation, per probe-gallery
/// sheet and per memorisation point, and each one's share of the training time between two
/// evaluations at the preset's eval_every. A base preset only.
std::string inside_training_json(const InsideTrainingOptions& options);

/// One data-parallel training run that `t2i bench train --nproc` made (the CLI starts the
/// processes): its process count and run folder.
struct DataParallelRun {
  int nproc = 1;
  std::string run_dir;
};

/// Each run's images/s (the median step after the first, which warms up), seconds per step and
/// gradient bytes all-reduced per rank per step (and how many while backward ran), read from its
/// metrics; with a 1-process run, the scaling efficiency of the others:
/// images/s ÷ (N × the 1-process images/s).
std::string data_parallel_json(const std::vector<DataParallelRun>& runs);

/// Seconds per image for `steps` steps of the sampler with classifier-free guidance, after a
/// one-step warm-up run, and the peak RSS. The network is set up and called as the Generator's.
std::string sample_json(const PresetOptions& options);

/// `overfit`: the paper's overfit-one-batch check (§7.1).
struct OverfitOptions {
  int sample_steps = 50;     ///< DDIM steps for the samples
  double guidance = 1.0;     ///< the batch's own captions need no guidance to recall it
};

/// Trains `options` in overfit-one-batch mode, then samples each image's caption and reports the
/// loss at the start and the end (means of 10 steps) and, per sample, the pixel MSE to every
/// image of the batch: how many are closest to their own.
std::string overfit_json(const train::TrainOptions& options, const OverfitOptions& check);

} // namespace t2i::bench
