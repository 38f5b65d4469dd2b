// The preprocessed image cache: every chosen image decoded, resized and centre-cropped once into
// one uint8 file that training memory-maps, so the training loop never decodes a JPEG.
//
// File layout (little-endian):
//   0   magic "T2IIMGC\0"          8 bytes
//   8   format version major (1)    u16   with the minor: the u32 1 that t2i-studio 0.1.0 wrote, 1.0
//   10  format version minor (0)    u16
//   12  image size S                u32
//   16  channels (3)                u32
//   20  header bytes (64)           u32
//   24  slot count                  u64
//   32  source-list hash            u64   names + file sizes of the sources, S, pipeline version
//   40  slots processed             u64   slots [0, processed) are final: the resume point
//   48  pixel data offset           u64   4096-aligned
//   56  writer's release            8 bytes  t2i-studio's version as text, zero-padded; zeros in
//                                             0.1.0's caches (1.0 reserved them, so 0.1.0 reads these too)
//   64  one status byte per slot (SlotStatus)
//   pixel data: slot i holds S×S×3 bytes (HWC RGB) at offset + i·S·S·3; zeros when skipped
//
// Versioned by the rule every file follows (io/format_version.h): a minor version only adds what
// an older reader may skip. A cache needs no upgrade steps, since it is made again from its
// images: one of another major version is refused by ImageCache::open (a newer one naming both
// versions) and rebuilt by build_image_cache, saying so.
#pragma once

#include "t2i/job.h"

#include "data/image_decode.h"

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace t2i::io {
class MappedFile;
}

namespace t2i::data {

enum class SlotStatus : std::uint8_t {
  Pending = 0,     ///< not processed yet (an interrupted build)
  Ok = 1,
  Missing = 2,
  Empty = 3,
  NotAnImage = 4,
  Corrupt = 5,
};

/// "pending", "ok", or the ImageProblem's name.
const char* to_string(SlotStatus status);

/// The status that records an image problem.
SlotStatus slot_status(ImageProblem problem);

/// One image to cache: where it is, and the stable name (e.g. "0:000000139.jpg") that, with its
/// file size, identifies it in the source-list hash.
struct CacheSource {
  std::string path;
  std::string name;
};

/// Identity of a cache's content: names and sizes of the sources in order, S, and the version of
/// the decoding/resizing code. A cache whose hash differs is rebuilt.
std::uint64_t cache_source_hash(const std::vector<CacheSource>& sources, int image_size);

struct CacheBuildOptions {
  int threads = 0;                                   ///< decoding threads (0 = every available core)
  std::size_t chunk = 0;                             ///< slots committed together (0 = automatic)
};

struct CacheBuildResult {
  enum class Outcome { Reused, Resumed, Built } outcome = Outcome::Built;
  bool complete = false;                ///< false when cancelled
  std::uint64_t source_hash = 0;        ///< cache_source_hash() of the sources
  std::size_t decoded = 0;              ///< slots processed by this call
  double seconds = 0;
  std::vector<SlotStatus> statuses;     ///< every slot's status (Pending where not processed)
  /// Why the file already at the path was not reused ("PATH: ..."); empty when there was none,
  /// or when it was reused or resumed.
  std::string rebuilt_because;
};

/// An image file as a cache slot of `image_size` holds it: decoded, shorter side resized with
/// antialiasing, centre square. Throws ImageError naming the file.
Image cached_image(const std::string& path, int image_size);

/// Makes `path` hold the cache of `sources` at size S, reusing a complete cache with the same
/// source-list hash, resuming an interrupted one, or building anew (logging why the file there
/// was not reused: other sources, damage, or a newer format). Slots are decoded in parallel
/// and committed in order, chunk by chunk, so a cancelled and resumed build writes exactly the
/// bytes an uninterrupted one would. Unusable images are logged once (when decoded) and marked in
/// their slot's status.
CacheBuildResult build_image_cache(const std::string& path, const std::vector<CacheSource>& sources, int image_size,
                                   const CacheBuildOptions& options = {}, const job::Context& job = {});

/// A read-only memory map of a cache file.
class ImageCache {
public:
  /// Maps and validates a cache file. Throws DataError naming the file and the problem (for a
  /// newer format, both versions).
  static std::shared_ptr<const ImageCache> open(const std::string& path);
  ImageCache(const ImageCache&) = delete;
  ImageCache& operator=(const ImageCache&) = delete;

  const std::string& path() const { return path_; }
  int image_size() const { return image_size_; }
  std::size_t count() const { return count_; }
  std::size_t processed() const { return processed_; }
  bool complete() const { return processed_ == count_; }
  std::uint64_t source_hash() const { return source_hash_; }
  std::size_t bytes_per_image() const { return static_cast<std::size_t>(image_size_) * static_cast<std::size_t>(image_size_) * 3; }

  SlotStatus status(std::size_t slot) const;
  /// Slot `slot`'s S×S×3 HWC pixels.
  const std::uint8_t* pixels(std::size_t slot) const;

private:
  ImageCache() = default;

  std::string path_;
  std::shared_ptr<const io::MappedFile> file_;
  int image_size_ = 0;
  std::size_t count_ = 0;
  std::size_t processed_ = 0;
  std::uint64_t source_hash_ = 0;
  std::size_t pixel_offset_ = 0;
};

} // namespace t2i::data
