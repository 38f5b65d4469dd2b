#include "io/png.h"

#include <cstdio>
#include <vector>

namespace t2i::io {

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
