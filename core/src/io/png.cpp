#include "io/png.h"

#include <algorithm>
#include <cstdio>
#include <functional>
#include <vector>

namespace t2i::io {
namespace {

// Bounds on what a read may allocate for ancillary chunks (text, ICC profiles, …), which libpng
// as Debian builds it leaves unlimited: a chunk header claiming 1.8 GB, or a compressed text chunk
// that inflates to that, would otherwise be allocated before its CRC is even checked (found by
// fuzzing). Our own text chunks (prompts, settings) are far below these.
constexpr png_alloc_size_t kMaxChunkBytes = 16u << 20;
constexpr png_uint_32 kMaxAncillaryChunks = 1000;

constexpr std::uint64_t kSignatureBytes = 8;

/// Walks the chunks through `read(offset, out, count)` (false past the end) over `size` bytes.
std::string chunk_problem(const std::function<bool(std::uint64_t, unsigned char*, std::size_t)>& read,
                          std::uint64_t size) {
  std::uint64_t offset = kSignatureBytes;
  unsigned char header[8];
  while (offset + sizeof header <= size && read(offset, header, sizeof header)) {
    const std::uint64_t length = png_get_uint_32(header);
    const std::uint64_t left = size - offset - sizeof header;
    if (length + 4 > left)  // the data, then its CRC
      return "chunk '" + std::string(reinterpret_cast<const char*>(header + 4), 4) + "' at offset " +
             std::to_string(offset) + " declares " + std::to_string(length) + " bytes, " + std::to_string(left) +
             " left";
    if (png_get_uint_32(header + 4) == png_get_uint_32(reinterpret_cast<png_const_bytep>("IEND"))) break;
    offset += sizeof header + length + 4;
  }
  return {};
}

} // namespace

std::string png_chunk_problem(const std::uint8_t* data, std::size_t size) {
  return chunk_problem(
      [&](std::uint64_t offset, unsigned char* out, std::size_t count) {
        std::copy(data + offset, data + offset + count, out);
        return true;
      },
      size);
}

std::string png_chunk_problem(std::FILE* file) {
  if (std::fseek(file, 0, SEEK_END) != 0) return "cannot seek";
  const long size = std::ftell(file);
  const std::string problem = chunk_problem(
      [&](std::uint64_t offset, unsigned char* out, std::size_t count) {
        return std::fseek(file, static_cast<long>(offset), SEEK_SET) == 0 && std::fread(out, 1, count, file) == count;
      },
      size < 0 ? 0 : static_cast<std::uint64_t>(size));
  std::rewind(file);
  return problem;
}

PngStruct::~PngStruct() {
  if (png_ == nullptr) return;
  if (kind_ == Kind::Read)
    png_destroy_read_struct(&png_, info_ != nullptr ? &info_ : nullptr, end_info_ != nullptr ? &end_info_ : nullptr);
  else
    png_destroy_write_struct(&png_, info_ != nullptr ? &info_ : nullptr);
}

bool PngStruct::create() {
  png_ = kind_ == Kind::Read ? png_create_read_struct(PNG_LIBPNG_VER_STRING, this, on_error, on_warning)
                             : png_create_write_struct(PNG_LIBPNG_VER_STRING, this, on_error, on_warning);
  if (png_ == nullptr) return false;
  if (kind_ == Kind::Read) {
    png_set_chunk_malloc_max(png_, kMaxChunkBytes);
    png_set_chunk_cache_max(png_, kMaxAncillaryChunks);
  }
  info_ = png_create_info_struct(png_);
  if (kind_ == Kind::Read) end_info_ = png_create_info_struct(png_);
  return info_ != nullptr && (kind_ == Kind::Write || end_info_ != nullptr);
}

void PngStruct::on_error(png_structp png, png_const_charp message) {
  auto* self = static_cast<PngStruct*>(png_get_error_ptr(png));
  std::snprintf(self->message_, sizeof self->message_, "%s", message);
  png_longjmp(png, 1);
}

// Ancillary-chunk complaints (e.g. "iCCP: known incorrect sRGB profile") do not affect pixels.
void PngStruct::on_warning(png_structp, png_const_charp) {}

void set_png_text(png_structp png, png_infop info, const std::map<std::string, std::string>& text) {
  std::vector<png_text> chunks;
  for (const auto& [key, value] : text) {
    png_text chunk{};
    chunk.compression = PNG_ITXT_COMPRESSION_NONE;
    chunk.key = const_cast<png_charp>(key.c_str());
    chunk.text = const_cast<png_charp>(value.c_str());
    chunk.itxt_length = value.size();
    chunks.push_back(chunk);
  }
  if (!chunks.empty()) png_set_text(png, info, chunks.data(), static_cast<int>(chunks.size()));
}

void get_png_text(png_structp png, png_infop info, std::map<std::string, std::string>& text) {
  png_textp chunks = nullptr;
  int count = 0;
  png_get_text(png, info, &chunks, &count);
  for (int i = 0; i < count; ++i) {
    const std::size_t length = chunks[i].compression >= PNG_ITXT_COMPRESSION_NONE ? chunks[i].itxt_length : chunks[i].text_length;
    text[chunks[i].key] = std::string(chunks[i].text, length);
  }
}

} // namespace t2i::io
