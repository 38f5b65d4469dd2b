#include "data/image_cache.h"

#include "data/data_error.h"
#include "data/image_decode.h"
#include "data/image_transform.h"
#include "data/parallel_for.h"
#include "io/format_version.h"
#include "io/hash.h"
#include "io/mapped_file.h"

#include "t2i/data.h"
#include "t2i/log.h"
#include "t2i/version.h"

#include <algorithm>
#include <array>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace t2i::data {

namespace {

constexpr char kMagic[8] = {'T', '2', 'I', 'I', 'M', 'G', 'C', '\0'};
const io::FormatVersion kFormat{1, 0};
constexpr const char* kFormatName = "image cache";
constexpr std::size_t kHeaderBytes = 64;
constexpr std::size_t kWriterOffset = 56;
constexpr std::size_t kWriterBytes = 8;
constexpr std::size_t kPixelAlignment = 4096;
// Bump whenever decoding or resizing changes what a slot holds: older caches are then rebuilt.
constexpr std::uint64_t kPipelineVersion = 1;
constexpr const char* kCachingImages = "caching images";  ///< the stage build_image_cache counts
constexpr int kMaxImageSize = 4096;

struct Header {
  io::FormatVersion version;  ///< as the file says
  std::string writer;         ///< "t2i-studio X.Y.Z"; empty when the file does not say (0.1.0)
  std::uint32_t image_size = 0;
  std::uint64_t count = 0;
  std::uint64_t source_hash = 0;
  std::uint64_t processed = 0;
  std::uint64_t pixel_offset = 0;
};

std::size_t align_up(std::size_t v, std::size_t alignment) { return (v + alignment - 1) / alignment * alignment; }

std::size_t pixel_offset_for(std::size_t count) { return align_up(kHeaderBytes + count, kPixelAlignment); }

void put_u16(std::uint8_t* at, std::uint16_t v) {
  for (int i = 0; i < 2; ++i) at[i] = static_cast<std::uint8_t>(v >> (8 * i));
}
void put_u32(std::uint8_t* at, std::uint32_t v) {
  for (int i = 0; i < 4; ++i) at[i] = static_cast<std::uint8_t>(v >> (8 * i));
}
void put_u64(std::uint8_t* at, std::uint64_t v) {
  for (int i = 0; i < 8; ++i) at[i] = static_cast<std::uint8_t>(v >> (8 * i));
}
std::uint16_t get_u16(const std::uint8_t* at) { return static_cast<std::uint16_t>(at[0] | (at[1] << 8)); }
std::uint32_t get_u32(const std::uint8_t* at) {
  std::uint32_t v = 0;
  for (int i = 3; i >= 0; --i) v = (v << 8) | at[i];
  return v;
}
std::uint64_t get_u64(const std::uint8_t* at) {
  std::uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | at[i];
  return v;
}

std::array<std::uint8_t, kHeaderBytes> encode_header(const Header& h) {
  std::array<std::uint8_t, kHeaderBytes> bytes{};
  std::memcpy(bytes.data(), kMagic, sizeof kMagic);
  put_u16(bytes.data() + 8, static_cast<std::uint16_t>(kFormat.major));
  put_u16(bytes.data() + 10, static_cast<std::uint16_t>(kFormat.minor));
  put_u32(bytes.data() + 12, h.image_size);
  put_u32(bytes.data() + 16, 3);
  put_u32(bytes.data() + 20, kHeaderBytes);
  put_u64(bytes.data() + 24, h.count);
  put_u64(bytes.data() + 32, h.source_hash);
  put_u64(bytes.data() + 40, h.processed);
  put_u64(bytes.data() + 48, h.pixel_offset);
  std::memcpy(bytes.data() + kWriterOffset, kVersion, std::min(std::strlen(kVersion), kWriterBytes));
  return bytes;
}

// Parses and checks the header of `path` against the file size; returns an error naming the file,
// or "".
std::string decode_header(const std::string& path, const std::uint8_t* bytes, std::size_t file_size, Header& h) {
  const auto problem = [&](const std::string& what) { return path + ": " + what; };
  if (file_size < kHeaderBytes) return problem("too short for a cache header");
  if (std::memcmp(bytes, kMagic, sizeof kMagic) != 0) return problem("not a t2i image cache (bad magic)");
  h.version = io::FormatVersion{get_u16(bytes + 8), get_u16(bytes + 10)};
  const auto* release = reinterpret_cast<const char*>(bytes + kWriterOffset);
  const auto release_length = static_cast<std::size_t>(std::find(release, release + kWriterBytes, '\0') - release);
  h.writer = release_length == 0 ? std::string() : std::string(kProjectName) + " " + std::string(release, release_length);
  // Past the version, a newer major version may mean anything: its fields are not read.
  if (h.version.major > kFormat.major) return io::newer_version_message(kFormatName, kFormat, h.version, h.writer, path);
  if (h.version.major < kFormat.major)
    return problem("image cache format " + h.version.text() + ", older than the " + kFormat.text() + " this build reads");
  if (get_u32(bytes + 16) != 3 || get_u32(bytes + 20) != kHeaderBytes) return problem("unexpected channel count or header size");
  h.image_size = get_u32(bytes + 12);
  h.count = get_u64(bytes + 24);
  h.source_hash = get_u64(bytes + 32);
  h.processed = get_u64(bytes + 40);
  h.pixel_offset = get_u64(bytes + 48);
  if (h.image_size == 0 || h.image_size > kMaxImageSize) return problem("invalid image size " + std::to_string(h.image_size));
  if (h.count > (std::uint64_t{1} << 40)) return problem("invalid slot count");
  if (h.processed > h.count) return problem("more slots processed than exist");
  if (h.pixel_offset != pixel_offset_for(h.count)) return problem("inconsistent pixel data offset");
  const std::uint64_t slot_bytes = std::uint64_t{h.image_size} * h.image_size * 3;
  if (file_size != h.pixel_offset + h.count * slot_bytes)
    return problem("file size " + std::to_string(file_size) + " does not match " + std::to_string(h.count) +
                   " images of " + std::to_string(h.image_size) + "x" + std::to_string(h.image_size));
  return {};
}

std::string errno_text() { return std::strerror(errno); }

// A file descriptor closed on scope exit.
class File {
public:
  File(const std::string& path, int flags) : path_(path), fd_(::open(path.c_str(), flags | O_CLOEXEC, 0644)) {
    if (fd_ < 0) throw DataError(path, "cannot open image cache (" + errno_text() + ")");
  }
  ~File() { ::close(fd_); }
  File(const File&) = delete;
  File& operator=(const File&) = delete;

  void write_at(const void* data, std::size_t size, std::size_t offset) {
    const auto* p = static_cast<const std::uint8_t*>(data);
    while (size > 0) {
      const ssize_t n = ::pwrite(fd_, p, size, static_cast<off_t>(offset));
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) throw DataError(path_, "write error (" + errno_text() + ")");
      p += n;
      size -= static_cast<std::size_t>(n);
      offset += static_cast<std::size_t>(n);
    }
  }
  bool read_at(void* data, std::size_t size, std::size_t offset) {
    auto* p = static_cast<std::uint8_t*>(data);
    while (size > 0) {
      const ssize_t n = ::pread(fd_, p, size, static_cast<off_t>(offset));
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return false;
      p += n;
      size -= static_cast<std::size_t>(n);
      offset += static_cast<std::size_t>(n);
    }
    return true;
  }
  void resize(std::size_t size) {
    if (::ftruncate(fd_, static_cast<off_t>(size)) != 0) throw DataError(path_, "cannot size the image cache (" + errno_text() + ")");
  }
  void sync() {
    if (::fdatasync(fd_) != 0) throw DataError(path_, "cannot flush the image cache (" + errno_text() + ")");
  }
  std::size_t size() const {
    struct stat st {};
    if (::fstat(fd_, &st) != 0) throw DataError(path_, "cannot stat (" + errno_text() + ")");
    return static_cast<std::size_t>(st.st_size);
  }

private:
  std::string path_;
  int fd_;
};

// The existing file's header and statuses when it is a cache of exactly these sources at this size.
// When a file is there but cannot be reused, `why_not` says why (naming it) and the log says so.
bool matching_cache(const std::string& path, const Header& wanted, Header& found, std::vector<SlotStatus>& statuses,
                    std::string& why_not) {
  std::error_code error;
  if (!std::filesystem::is_regular_file(path, error)) return false;
  File file(path, O_RDONLY);
  std::array<std::uint8_t, kHeaderBytes> bytes{};
  why_not = file.read_at(bytes.data(), bytes.size(), 0) ? decode_header(path, bytes.data(), file.size(), found)
                                                        : path + ": too short for a cache header";
  if (why_not.empty() &&
      (found.image_size != wanted.image_size || found.count != wanted.count || found.source_hash != wanted.source_hash)) {
    why_not = path + ": cached from other images or at another size";
    log::core()->info("{}; building the image cache afresh", why_not);
    return false;
  }
  if (why_not.empty()) {
    statuses.assign(found.count, SlotStatus::Pending);
    if (found.count == 0 || file.read_at(statuses.data(), statuses.size(), kHeaderBytes)) return true;
    why_not = path + ": cannot read its slot statuses";
  }
  log::core()->warn("{}; building the image cache afresh", why_not);
  return false;
}

} // namespace

const char* to_string(SlotStatus status) {
  switch (status) {
    case SlotStatus::Pending: return "pending";
    case SlotStatus::Ok: return "ok";
    case SlotStatus::Missing: return to_string(ImageProblem::Missing);
    case SlotStatus::Empty: return to_string(ImageProblem::Empty);
    case SlotStatus::NotAnImage: return to_string(ImageProblem::NotAnImage);
    case SlotStatus::Corrupt: return to_string(ImageProblem::Corrupt);
  }
  return "invalid";
}

SlotStatus slot_status(ImageProblem problem) {
  switch (problem) {
    case ImageProblem::Missing: return SlotStatus::Missing;
    case ImageProblem::Empty: return SlotStatus::Empty;
    case ImageProblem::NotAnImage: return SlotStatus::NotAnImage;
    case ImageProblem::Corrupt: return SlotStatus::Corrupt;
  }
  return SlotStatus::Corrupt;
}

std::uint64_t cache_source_hash(const std::vector<CacheSource>& sources, int image_size) {
  io::Hash64 hash;
  hash.u64(kPipelineVersion).u64(static_cast<std::uint64_t>(image_size)).u64(sources.size());
  for (const CacheSource& source : sources) {
    std::error_code error;
    const std::uintmax_t size = std::filesystem::file_size(source.path, error);
    hash.text(source.name).u64(error ? ~std::uint64_t{0} : static_cast<std::uint64_t>(size));
  }
  return hash.value();
}

CacheBuildResult build_image_cache(const std::string& path, const std::vector<CacheSource>& sources, int image_size,
                                   const CacheBuildOptions& options, const job::Context& job) {
  if (image_size <= 0 || image_size > kMaxImageSize)
    throw DataError(path, "image size must be in 1.." + std::to_string(kMaxImageSize) + ", got " + std::to_string(image_size));
  const auto started = std::chrono::steady_clock::now();
  Header header;
  header.image_size = static_cast<std::uint32_t>(image_size);
  header.count = sources.size();
  header.source_hash = cache_source_hash(sources, image_size);
  header.pixel_offset = pixel_offset_for(sources.size());
  const std::size_t slot_bytes = static_cast<std::size_t>(image_size) * static_cast<std::size_t>(image_size) * 3;

  CacheBuildResult result;
  result.source_hash = header.source_hash;
  Header found;
  if (matching_cache(path, header, found, result.statuses, result.rebuilt_because)) {
    header.processed = found.processed;
    result.outcome = found.processed == found.count ? CacheBuildResult::Outcome::Reused : CacheBuildResult::Outcome::Resumed;
  } else {
    result.outcome = CacheBuildResult::Outcome::Built;
    result.statuses.assign(sources.size(), SlotStatus::Pending);
    // A fresh file under the same name: a process still mapping the old one keeps its pages, and
    // unwritten slots of the new one read as zeros.
    std::error_code error;
    std::filesystem::remove(path, error);
    File file(path, O_RDWR | O_CREAT | O_TRUNC);
    file.resize(header.pixel_offset + sources.size() * slot_bytes);
    const auto bytes = encode_header(header);
    file.write_at(bytes.data(), bytes.size(), 0);
  }
  if (header.processed == header.count) {
    result.complete = true;
    job.count(kCachingImages, static_cast<std::int64_t>(header.count), static_cast<std::int64_t>(header.count));
    return result;
  }

  File file(path, O_RDWR);
  const int threads = resolve_threads(options.threads);
  const std::size_t chunk = options.chunk > 0 ? options.chunk : static_cast<std::size_t>(32 * threads);
  std::vector<std::uint8_t> pixels(chunk * slot_bytes);
  while (header.processed < header.count) {
    const std::size_t begin = header.processed;
    const std::size_t n = std::min<std::size_t>(chunk, header.count - begin);
    std::fill(pixels.begin(), pixels.begin() + static_cast<std::ptrdiff_t>(n * slot_bytes), std::uint8_t{0});
    parallel_for(
        n, threads,
        [&](std::size_t i) {
          const CacheSource& source = sources[begin + i];
          try {
            const Image image = cached_image(source.path, image_size);
            std::memcpy(pixels.data() + i * slot_bytes, image.rgb.data(), slot_bytes);
            result.statuses[begin + i] = SlotStatus::Ok;
          } catch (const ImageError& e) {
            result.statuses[begin + i] = slot_status(e.problem());
            log::core()->warn("skipping image: {}", e.what());
          }
        },
        job.cancel);
    if (job.cancelled()) {
      // This chunk may be partly decoded: forget it, so a resume redoes it whole.
      std::fill(result.statuses.begin() + static_cast<std::ptrdiff_t>(begin), result.statuses.end(), SlotStatus::Pending);
      break;
    }
    file.write_at(result.statuses.data() + begin, n, kHeaderBytes + begin);
    file.write_at(pixels.data(), n * slot_bytes, header.pixel_offset + begin * slot_bytes);
    header.processed = begin + n;
    // The resume point moves only after the slots it covers are written.
    const auto bytes = encode_header(header);
    file.write_at(bytes.data(), bytes.size(), 0);
    result.decoded += n;
    job.count(kCachingImages, static_cast<std::int64_t>(header.processed), static_cast<std::int64_t>(header.count));
  }
  result.complete = header.processed == header.count;
  if (result.complete) file.sync();
  result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  return result;
}

std::shared_ptr<const ImageCache> ImageCache::open(const std::string& path) {
  std::shared_ptr<ImageCache> cache(new ImageCache());
  cache->file_ = as_data_error([&] { return io::MappedFile::open(path); });
  const std::size_t size = cache->file_->size();
  Header h;
  const std::string problem = size < kHeaderBytes ? path + ": too short for a cache header"
                                                  : decode_header(path, cache->file_->data(), size, h);
  if (!problem.empty()) throw DataError(problem + "; run `t2i data prepare` again to rebuild it");

  cache->path_ = path;
  cache->image_size_ = static_cast<int>(h.image_size);
  cache->count_ = h.count;
  cache->processed_ = h.processed;
  cache->source_hash_ = h.source_hash;
  cache->pixel_offset_ = h.pixel_offset;
  for (std::size_t i = 0; i < cache->count_; ++i)
    if (cache->file_->data()[kHeaderBytes + i] > static_cast<std::uint8_t>(SlotStatus::Corrupt))
      throw DataError(path, "invalid status byte for slot " + std::to_string(i));
  return cache;
}

SlotStatus ImageCache::status(std::size_t slot) const { return static_cast<SlotStatus>(file_->data()[kHeaderBytes + slot]); }

const std::uint8_t* ImageCache::pixels(std::size_t slot) const { return file_->data() + pixel_offset_ + slot * bytes_per_image(); }

Image cached_image(const std::string& path, int image_size) {
  // Decoding at a DCT scale down to twice the size keeps the resize's antialiasing in charge.
  return resize_and_center_crop(decode_image_file(path, DecodeOptions{2 * image_size}), image_size);
}

std::vector<std::uint8_t> load_square_image(const std::string& path, int size) {
  if (size < 1) throw DataError(path, "the square size must be positive, got " + std::to_string(size));
  return cached_image(path, size).rgb;
}

} // namespace t2i::data
