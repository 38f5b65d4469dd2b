// Datasets as the UI and the CLI see them: inspect a captioned image collection, prepare it for
// training (image cache + reproducible split), make the built-in demo dataset, and check a demo
// image against its caption. Plain C++ only; the torch side lives in core/src/data/.
#pragma once

#include "t2i/job.h"

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace t2i::data {

/// One caption file and the folder its image file names are relative to. The caption file is
/// the official COCO captions JSON (`.json`), or for users' own data a `.csv` with a header row
/// naming the columns `file_name` and `caption` (one caption per row, RFC 4180 quoting), or a
/// `.jsonl` with one object {"file_name": …, "caption": …} per line.
struct Source {
  std::string annotations;
  std::string images_dir;
};

/// A caption-file format Source::annotations may have, chosen by its extension.
struct CaptionFormat {
  std::string extension;    ///< ".json", ".csv", …, lower case
  std::string description;  ///< for help texts and file dialogs
};

/// Every caption-file format this build reads.
std::vector<CaptionFormat> caption_formats();

/// An image a caption file lists, with its first caption.
struct ListedImage {
  std::string path;     ///< the file, joined to Source::images_dir
  std::string caption;  ///< its first caption in file order; empty when the file gives it none
};

/// Every image `source`'s caption file lists (any format of caption_formats()), in file order,
/// without decoding any. Throws DataError naming the file and the position of a problem.
std::vector<ListedImage> list_images(const Source& source);

/// An image file as the image cache stores it for a model of `size`: decoded (EXIF orientation
/// applied), the shorter side resized to `size` with antialiasing, the centre square kept;
/// size × size RGB8, row-major. Throws DataError naming the file and the problem.
std::vector<std::uint8_t> load_square_image(const std::string& path, int size);

/// Counts the tokens of a caption. The trainer passes its real tokenizer; the default counts
/// whitespace-separated words.
using TokenCounter = std::function<int(const std::string& caption)>;

/// Whitespace-separated words: the default TokenCounter.
int count_words(const std::string& text);

/// The subset and its split by image (paper §6: 20k images, 75/15/10).
/// The three parts of a dataset, by image.
enum class Split { Train = 0, Val = 1, Test = 2 };

/// "train" | "val" | "test"; parse_split throws std::runtime_error naming the word and the
/// accepted ones.
Split parse_split(const std::string& name);
std::string to_string(Split split);
std::vector<std::string> split_names();  ///< in enum order

struct SplitOptions {
  std::size_t max_images = 20000;  ///< N: images chosen before splitting (all when fewer)
  double train = 0.75;
  double val = 0.15;
  double test = 0.10;
  std::uint64_t seed = 1234;       ///< fixes which images are chosen and where each goes
};

/// Why an image cannot be used.
struct SkipCounts {
  std::size_t missing = 0;       ///< file absent or unreadable
  std::size_t empty = 0;         ///< zero bytes
  std::size_t not_an_image = 0;  ///< neither JPEG nor PNG
  std::size_t corrupt = 0;       ///< truncated, corrupt or unsupported JPEG/PNG data
  std::size_t no_caption = 0;    ///< listed without any caption (not decoded)
  std::size_t total() const { return missing + empty + not_an_image + corrupt + no_caption; }
};

struct SkippedImage {
  std::string file;    ///< the image's path
  std::string reason;  ///< "missing", "empty", "not an image", "corrupt", "no caption"
};

/// What a dataset holds and what of it is usable.
struct DatasetReport {
  std::vector<std::string> annotations;  ///< the caption files read
  std::size_t images_listed = 0;         ///< images the caption files list
  std::size_t captions_listed = 0;
  std::size_t images_checked = 0;        ///< captioned images whose files were decoded: all of them
                                         ///< for inspect, the chosen subset of N for prepare
  std::size_t images_found = 0;          ///< checked images whose file exists
  std::size_t images_usable = 0;         ///< checked images that decode (all have captions)
  SkipCounts skipped;
  std::vector<SkippedImage> skipped_files;

  std::size_t captions_usable = 0;       ///< captions of the usable images
  std::size_t captions_per_image_min = 0;  ///< over the usable images
  double captions_per_image_mean = 0;
  std::size_t captions_per_image_max = 0;

  std::string token_unit;                ///< what caption lengths count, e.g. "whitespace words"
  int caption_tokens_min = 0;            ///< over the usable images' captions
  double caption_tokens_median = 0;
  int caption_tokens_max = 0;

  SplitOptions split;                    ///< the options the split sizes follow
  std::size_t split_train = 0;           ///< images per split (prepare: the split made; inspect:
  std::size_t split_val = 0;             ///< the split prepare would make with these options)
  std::size_t split_test = 0;

  bool cancelled = false;                ///< stopped early: the counts cover only what was done
};

/// Multi-line, human-readable rendering (the CLI's `t2i data inspect`).
std::string to_text(const DatasetReport& report);
/// One JSON object.
std::string to_json(const DatasetReport& report);

struct InspectOptions {
  SplitOptions split;
  TokenCounter count_tokens;             ///< empty = count_words
  std::string token_unit;                ///< names count_tokens' unit; empty = "whitespace words"
  int threads = 0;                       ///< decoding threads (0 = every available core)
};

/// Reads the caption files and decodes every captioned image once to see which are usable.
/// Throws std::runtime_error naming the file and position for malformed caption files.
/// A job (t2i/job.h): counts "checking images"; cancelled, the report covers what was checked.
DatasetReport inspect(const std::vector<Source>& sources, const InspectOptions& options = {},
                      const job::Context& job = {});

struct PrepareOptions {
  int image_size = 64;                   ///< S: shorter side resized to S, centre crop S×S
  /// Further sizes the same images are cached at, each in a cache of its own beside the first
  /// (e.g. {64} with S = 32: the base model trains at 32, its super-resolution stage at 64).
  /// An image is used only when it is usable at every size.
  std::vector<int> extra_sizes;
  SplitOptions split;
  TokenCounter count_tokens;             ///< for the report; empty = count_words
  std::string token_unit;
  int threads = 0;
};

struct PrepareResult {
  std::string cache_dir;
  std::string cache_file;                ///< images.t2icache: uint8 S×S×3 images, memory-mapped by training
  std::vector<std::string> extra_cache_files;  ///< one per PrepareOptions::extra_sizes, in order
  std::string manifest_file;             ///< manifest.json: the split, the captions, the cache's identity
  std::string report_file;               ///< report.json
  std::string manifest_hash;             ///< 16 hex digits identifying the split's content and S;
                                         ///< checkpoints store it
  bool cancelled = false;                ///< stopped early; running prepare again resumes
  bool reused = false;                   ///< every cache was already complete for this source list and size
  std::size_t images_decoded = 0;        ///< images decoded by this call
  double decode_seconds = 0;             ///< time spent building the cache in this call
  DatasetReport report;
};

/// Chooses N captioned images (a permutation fixed by the seed), decodes and resizes them into the
/// cache in `cache_dir`, splits the usable ones 75/15/10 by image and writes the manifest and the
/// report beside the cache. The cache is rebuilt only when the source list (names and file sizes)
/// or S changes, and an interrupted build resumes where it stopped.
/// A job (t2i/job.h): counts "caching images"; cancelled, running it again resumes.
PrepareResult prepare(const std::vector<Source>& sources, const std::string& cache_dir,
                      const PrepareOptions& options = {}, const job::Context& job = {});

/// Where a dataset's caches live under `cache_root`: one folder per source list (by absolute
/// path), split and image size S. `t2i data prepare --cache-root` and the studio's Data page both
/// name their caches with it, so each reuses what the other built.
std::string cache_folder(const std::string& cache_root, const std::vector<Source>& sources, const SplitOptions& split,
                         int image_size);

/// The folder prepare() fills inside a dataset's cache folder; the text-embedding cache and the
/// generated demo dataset sit beside it.
std::string prepared_folder(const std::string& cache_folder);

/// A folder a user names as a prepared dataset: `folder` itself when it holds the manifest,
/// else the prepared folder inside it (a dataset's cache folder, or a run's data folder).
std::string find_prepared_folder(const std::string& folder);

/// The built-in demo dataset: procedurally drawn scenes of one or two coloured shapes with
/// several captions each, written in the COCO captions layout.
struct DemoOptions {
  std::size_t images = 4000;
  int image_size = 32;
  std::uint64_t seed = 0;
  int captions_per_image = 5;
  int threads = 0;
};

struct DemoDataset {
  Source source;                         ///< annotations/captions_demo.json and images/
  std::size_t images = 0;
  std::size_t captions = 0;
  bool reused = false;                   ///< the folder already held this exact dataset
};

/// Writes the demo dataset into `out_dir` (deterministic from the options; reused when present).
DemoDataset make_demo_dataset(const std::string& out_dir, const DemoOptions& options = {});

/// Whether an image shows what a demo caption says, attribute by attribute.
struct DemoCheck {
  bool parsed = false;     ///< the caption uses the demo vocabulary (else every verdict is false)
  bool colour_ok = false;  ///< the image's coloured objects have exactly the caption's colours
  bool shape_ok = false;   ///< each named colour has the named shape
  bool size_ok = false;    ///< each stated size (small/large) matches (true when none is stated)
  bool layout_ok = false;  ///< the position or the relation between the objects holds
  std::string detail;      ///< what did not match
  bool match() const { return parsed && colour_ok && shape_ok && size_ok && layout_ok; }
};

/// Checks an RGB8 image (row-major, 3 bytes per pixel, any size) against a demo caption.
DemoCheck check_demo_image(const std::uint8_t* rgb, int width, int height, const std::string& caption);

/// The grain of a demo image: the standard deviation (0–255) of the channel values of its
/// background, the pixels more than one pixel away from every object (a 4-connected blob of at
/// least 6 coloured pixels). A rendered demo image has 0; a sampler that leaves noise shows it
/// here. NaN when no background pixel is left.
double demo_background_noise(const std::uint8_t* rgb, int width, int height);

} // namespace t2i::data
