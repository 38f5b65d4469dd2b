#include "data/png_write.h"

#include "data/data_error.h"
#include "io/png.h"

#include <cerrno>
#include <csetjmp>
#include <cstdio>
#include <cstring>

namespace t2i::data {

namespace {

struct PngWriteJob {
  io::PngStruct png{io::PngStruct::Kind::Write};
  std::vector<std::uint8_t> bytes;
  std::vector<png_bytep> rows;
};

void png_append(png_structp png, png_bytep data, png_size_t size) {
  auto* job = static_cast<PngWriteJob*>(png_get_io_ptr(png));
  job->bytes.insert(job->bytes.end(), data, data + size);
}

void png_flush_nothing(png_structp) {}

// State changed after setjmp lives in *job, so libpng's longjmp leaves it well defined.
bool run_png_write(PngWriteJob* job, const Image* image, const PngText* text) {
  if (!job->png.create()) return false;
  png_structp png = job->png.png();
  png_infop info = job->png.info();
  if (setjmp(png_jmpbuf(png))) return false;
  png_set_write_fn(png, job, png_append, png_flush_nothing);
  png_set_IHDR(png, info, static_cast<png_uint_32>(image->width), static_cast<png_uint_32>(image->height), 8,
               PNG_COLOR_TYPE_RGB, PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
  io::set_png_text(png, info, *text);
  png_write_info(png, info);
  job->rows.resize(static_cast<std::size_t>(image->height));
  for (int y = 0; y < image->height; ++y) job->rows[static_cast<std::size_t>(y)] = const_cast<png_bytep>(image->at(0, y));
  png_write_image(png, job->rows.data());
  png_write_end(png, nullptr);
  return true;
}

struct PngTextJob {
  io::PngStruct png{io::PngStruct::Kind::Read};
  std::FILE* file = nullptr;
  PngText text;

  PngTextJob() = default;
  PngTextJob(const PngTextJob&) = delete;
  PngTextJob& operator=(const PngTextJob&) = delete;
  ~PngTextJob() {
    if (file != nullptr) std::fclose(file);
  }
};

// Text chunks may come before or after the image data, so the whole file is read.
bool run_png_text(PngTextJob* job) {
  if (!job->png.create()) return false;
  png_structp png = job->png.png();
  if (setjmp(png_jmpbuf(png))) return false;
  png_init_io(png, job->file);
  png_read_png(png, job->png.info(), PNG_TRANSFORM_IDENTITY, nullptr);
  io::get_png_text(png, job->png.info(), job->text);
  return true;
}

} // namespace

std::vector<std::uint8_t> encode_png(const Image& image, const PngText& text) {
  PngWriteJob job;
  if (!run_png_write(&job, &image, &text))
    throw DataError("PNG encoding failed: " + job.png.message());
  return std::move(job.bytes);
}

void write_png(const std::string& path, const Image& image, const PngText& text) {
  const std::vector<std::uint8_t> bytes = encode_png(image, text);
  replace_file(path, std::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size()));
}

PngText read_png_text(const std::string& path) {
  PngTextJob job;
  job.file = std::fopen(path.c_str(), "rb");
  if (job.file == nullptr) throw DataError(path, std::string("cannot open (") + std::strerror(errno) + ")");
  if (const std::string problem = io::png_chunk_problem(job.file); !problem.empty())
    throw DataError(path, "not a readable PNG (" + problem + ")");
  if (!run_png_text(&job))
    throw DataError(path, std::string("not a readable PNG (") + job.png.message() + ")");
  return std::move(job.text);
}

} // namespace t2i::data
