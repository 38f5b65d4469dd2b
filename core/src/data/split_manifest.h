// The subset of N images and its split by image (paper §6: 20k images, 75/15/10), and the
// manifest that records them beside the image cache so that every run and every evaluation uses
// the same images. A stable hash of the manifest goes into checkpoints.
#pragma once

#include "t2i/data.h"

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace t2i::data {

constexpr std::array<Split, 3> kSplits = {Split::Train, Split::Val, Split::Test};

/// Throws DataError unless N > 0 and the fractions are non-negative, sum to 1 and train > 0.
void validate(const SplitOptions& options);

struct SplitSizes {
  std::size_t train = 0;
  std::size_t val = 0;
  std::size_t test = 0;
};

/// Split sizes for n images: train and val rounded to nearest, test the rest
/// (20,000 → 15,000 / 3,000 / 2,000).
SplitSizes split_sizes(std::size_t n, const SplitOptions& options);

/// The order in which images are considered for the subset: by a hash of (seed, name). It is a
/// random permutation fixed by the seed, and an image's rank does not depend on which other images
/// exist, so adding or losing images changes few of the chosen ones. Ties keep input order.
std::vector<std::size_t> subset_order(const std::vector<std::string>& names, std::uint64_t seed);

struct ManifestImage {
  std::size_t slot = 0;               ///< slot in the image cache
  std::size_t source = 0;             ///< index into Manifest::sources
  std::int64_t id = 0;                ///< the caption file's image id
  std::string file_name;              ///< as the caption file gives it
  std::vector<std::size_t> captions;  ///< indices into Manifest::captions
};

/// A cache of the same images at another size (the higher resolution of a super-resolution stage).
struct ManifestCache {
  int image_size = 0;
  std::string file;                   ///< relative to the manifest's folder
  std::uint64_t source_hash = 0;      ///< its cache_source_hash
};

struct Manifest {
  int image_size = 0;
  SplitOptions options;
  std::vector<Source> sources;
  std::string cache_file;                          ///< relative to the manifest's folder
  std::uint64_t cache_source_hash = 0;
  /// The same slots cached at further sizes; optional on read (format 1.2 added it). Not part of
  /// hash(): the images and their split are the same, so a model trained before they were added
  /// still matches.
  std::vector<ManifestCache> extra_caches;
  std::vector<std::string> captions;               ///< every caption of every split's images
  std::array<std::vector<ManifestImage>, 3> splits;  ///< indexed by Split

  const std::vector<ManifestImage>& split(Split s) const { return splits[static_cast<std::size_t>(s)]; }

  /// 16 hex digits over what training depends on: S and, split by split in order, each image's
  /// file name, id and caption texts. Paths are left out, so moving a dataset keeps its hash.
  std::string hash() const;
};

/// Writes the manifest as JSON, atomically (temporary file, then rename).
void write_manifest(const Manifest& manifest, const std::string& path);

/// Reads a manifest; throws DataError naming the file when it is malformed or its stored hash
/// does not match its content.
Manifest read_manifest(const std::string& path);

} // namespace t2i::data
