#include "data/png_write.h"

#include "data/data_error.h"

#include <cerrno>
#include <csetjmp>
#include <cstdio>
#include <cstring>
#include <fstream>

#include <png.h>

namespace t2i::data {

namespace {

struct PngWriteJob {
  png_structp png = nullptr;
  png_infop info = nullptr;
  char message[256] = {};
  std::vector<std::uint8_t> bytes;
  std::vector<png_bytep> rows;

  PngWriteJob() = default;
  PngWriteJob(const PngWriteJob&) = delete;
  PngWriteJob& operator=(const PngWriteJob&) = delete;
  ~PngWriteJob() {
    if (png != nullptr) png_destroy_write_struct(&png, info != nullptr ? &info : nullptr);
  }
};

[[noreturn]] void png_write_fail(png_structp png, png_const_charp message) {
  auto* job = static_cast<PngWriteJob*>(png_get_error_ptr(png));
  std::snprintf(job->message, sizeof job->message, "%s", message);
  png_longjmp(png, 1);
}

void png_write_warn(png_structp, png_const_charp) {}

void png_append(png_structp png, png_bytep data, png_size_t size) {
  auto* job = static_cast<PngWriteJob*>(png_get_io_ptr(png));
  job->bytes.insert(job->bytes.end(), data, data + size);
}

void png_flush_nothing(png_structp) {}

// State changed after setjmp lives in *job, so libpng's longjmp leaves it well defined.
bool run_png_write(PngWriteJob* job, const RgbImage* image, const PngText* text) {
  job->png = png_create_write_struct(PNG_LIBPNG_VER_STRING, job, png_write_fail, png_write_warn);
  if (job->png == nullptr) return false;
  job->info = png_create_info_struct(job->png);
  if (job->info == nullptr) return false;
  if (setjmp(png_jmpbuf(job->png))) return false;
  png_set_write_fn(job->png, job, png_append, png_flush_nothing);
  png_set_IHDR(job->png, job->info, static_cast<png_uint_32>(image->width), static_cast<png_uint_32>(image->height), 8,
               PNG_COLOR_TYPE_RGB, PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
  std::vector<png_text> chunks;
  for (const auto& [key, value] : *text) {
    png_text chunk{};
    chunk.compression = PNG_ITXT_COMPRESSION_NONE;
    chunk.key = const_cast<png_charp>(key.c_str());
    chunk.text = const_cast<png_charp>(value.c_str());
    chunk.itxt_length = value.size();
    chunks.push_back(chunk);
  }
  if (!chunks.empty()) png_set_text(job->png, job->info, chunks.data(), static_cast<int>(chunks.size()));
  png_write_info(job->png, job->info);
  job->rows.resize(static_cast<std::size_t>(image->height));
  for (int y = 0; y < image->height; ++y) job->rows[static_cast<std::size_t>(y)] = const_cast<png_bytep>(image->at(0, y));
  png_write_image(job->png, job->rows.data());
  png_write_end(job->png, nullptr);
  return true;
}

struct PngTextJob {
  png_structp png = nullptr;
  png_infop info = nullptr;
  png_infop end_info = nullptr;
  char message[256] = {};
  std::FILE* file = nullptr;
  PngText text;

  PngTextJob() = default;
  PngTextJob(const PngTextJob&) = delete;
  PngTextJob& operator=(const PngTextJob&) = delete;
  ~PngTextJob() {
    if (png != nullptr) png_destroy_read_struct(&png, info != nullptr ? &info : nullptr, end_info != nullptr ? &end_info : nullptr);
    if (file != nullptr) std::fclose(file);
  }
};

[[noreturn]] void png_text_fail(png_structp png, png_const_charp message) {
  auto* job = static_cast<PngTextJob*>(png_get_error_ptr(png));
  std::snprintf(job->message, sizeof job->message, "%s", message);
  png_longjmp(png, 1);
}

void collect_text(PngTextJob* job, png_infop info) {
  png_textp chunks = nullptr;
  int count = 0;
  png_get_text(job->png, info, &chunks, &count);
  for (int i = 0; i < count; ++i) {
    const std::size_t length = chunks[i].compression >= PNG_ITXT_COMPRESSION_NONE ? chunks[i].itxt_length : chunks[i].text_length;
    job->text[chunks[i].key] = std::string(chunks[i].text, length);
  }
}

// Text chunks may come before or after the image data, so the whole file is read.
bool run_png_text(PngTextJob* job) {
  job->png = png_create_read_struct(PNG_LIBPNG_VER_STRING, job, png_text_fail, png_write_warn);
  if (job->png == nullptr) return false;
  job->info = png_create_info_struct(job->png);
  job->end_info = png_create_info_struct(job->png);
  if (job->info == nullptr || job->end_info == nullptr) return false;
  if (setjmp(png_jmpbuf(job->png))) return false;
  png_init_io(job->png, job->file);
  png_read_png(job->png, job->info, PNG_TRANSFORM_IDENTITY, nullptr);
  collect_text(job, job->info);
  return true;
}

} // namespace

std::vector<std::uint8_t> encode_png(const RgbImage& image, const PngText& text) {
  PngWriteJob job;
  if (!run_png_write(&job, &image, &text))
    throw DataError(std::string("PNG encoding failed: ") + (job.message[0] != 0 ? job.message : "out of memory"));
  return std::move(job.bytes);
}

void write_png(const std::string& path, const RgbImage& image, const PngText& text) {
  const std::vector<std::uint8_t> bytes = encode_png(image, text);
  const std::string temporary = path + ".partial";
  {
    std::ofstream out(temporary, std::ios::binary | std::ios::trunc);
    if (!out) throw DataError(path + ": cannot create (" + std::strerror(errno) + ")");
    out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
    if (!out.flush()) {
      std::remove(temporary.c_str());
      throw DataError(path + ": write error (disk full?)");
    }
  }
  if (std::rename(temporary.c_str(), path.c_str()) != 0) {
    const std::string reason = std::strerror(errno);
    std::remove(temporary.c_str());
    throw DataError(path + ": cannot replace (" + reason + ")");
  }
}

PngText read_png_text(const std::string& path) {
  PngTextJob job;
  job.file = std::fopen(path.c_str(), "rb");
  if (job.file == nullptr) throw DataError(path + ": cannot open (" + std::strerror(errno) + ")");
  if (!run_png_text(&job))
    throw DataError(path + ": not a readable PNG (" + (job.message[0] != 0 ? job.message : "out of memory") + ")");
  return std::move(job.text);
}

} // namespace t2i::data
