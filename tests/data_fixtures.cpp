#include "data_fixtures.h"

#include <cstdio>
#include <cstring>
#include <fstream>
#include <stdexcept>

#include <jpeglib.h>
#include <png.h>

namespace t2i::test {

std::vector<std::uint8_t> exif_tiff(int orientation, bool big_endian) {
  std::vector<std::uint8_t> t;
  auto u16 = [&](unsigned v) {
    if (big_endian) t.insert(t.end(), {std::uint8_t(v >> 8), std::uint8_t(v)});
    else t.insert(t.end(), {std::uint8_t(v), std::uint8_t(v >> 8)});
  };
  auto u32 = [&](unsigned v) {
    if (big_endian) u16(v >> 16), u16(v & 0xffff);
    else u16(v & 0xffff), u16(v >> 16);
  };
  t.push_back(big_endian ? 'M' : 'I');
  t.push_back(big_endian ? 'M' : 'I');
  u16(42);
  u32(8);       // IFD0 right after the header
  u16(1);       // one entry
  u16(0x0112);  // Orientation
  u16(3);       // SHORT
  u32(1);
  u16(static_cast<unsigned>(orientation));
  u16(0);       // padding of the 4-byte value field
  u32(0);       // no next IFD
  return t;
}

std::vector<std::uint8_t> encode_jpeg(const std::vector<std::uint8_t>& samples, int width, int height, const JpegSpec& spec) {
  jpeg_compress_struct cinfo{};
  jpeg_error_mgr errors{};
  cinfo.err = jpeg_std_error(&errors);
  jpeg_create_compress(&cinfo);
  unsigned char* buffer = nullptr;
  unsigned long size = 0;
  jpeg_mem_dest(&cinfo, &buffer, &size);
  cinfo.image_width = static_cast<JDIMENSION>(width);
  cinfo.image_height = static_cast<JDIMENSION>(height);
  switch (spec.space) {
    case JpegSpace::Gray: cinfo.input_components = 1; cinfo.in_color_space = JCS_GRAYSCALE; break;
    case JpegSpace::Rgb: cinfo.input_components = 3; cinfo.in_color_space = JCS_RGB; break;
    case JpegSpace::Cmyk:
    case JpegSpace::Ycck: cinfo.input_components = 4; cinfo.in_color_space = JCS_CMYK; break;
  }
  jpeg_set_defaults(&cinfo);
  if (spec.space == JpegSpace::Ycck) jpeg_set_colorspace(&cinfo, JCS_YCCK);
  if (spec.space == JpegSpace::Cmyk || spec.space == JpegSpace::Ycck) cinfo.write_Adobe_marker = spec.adobe_marker ? TRUE : FALSE;
  for (int c = 0; c < cinfo.num_components; ++c) {
    cinfo.comp_info[c].h_samp_factor = 1;
    cinfo.comp_info[c].v_samp_factor = 1;
  }
  jpeg_set_quality(&cinfo, spec.quality, TRUE);
  jpeg_start_compress(&cinfo, TRUE);
  if (spec.exif_orientation > 0) {
    std::vector<std::uint8_t> app1 = {'E', 'x', 'i', 'f', 0, 0};
    const std::vector<std::uint8_t> tiff = exif_tiff(spec.exif_orientation, spec.exif_big_endian);
    app1.insert(app1.end(), tiff.begin(), tiff.end());
    jpeg_write_marker(&cinfo, JPEG_APP0 + 1, app1.data(), static_cast<unsigned>(app1.size()));
  }
  const std::size_t stride = static_cast<std::size_t>(width) * static_cast<std::size_t>(cinfo.input_components);
  while (cinfo.next_scanline < cinfo.image_height) {
    JSAMPROW row = const_cast<JSAMPROW>(samples.data() + cinfo.next_scanline * stride);
    jpeg_write_scanlines(&cinfo, &row, 1);
  }
  jpeg_finish_compress(&cinfo);
  jpeg_destroy_compress(&cinfo);
  std::vector<std::uint8_t> out(buffer, buffer + size);
  std::free(buffer);
  return out;
}

namespace {

void append(png_structp png, png_bytep data, png_size_t size) {
  auto* out = static_cast<std::vector<std::uint8_t>*>(png_get_io_ptr(png));
  out->insert(out->end(), data, data + size);
}
void flush(png_structp) {}

} // namespace

std::vector<std::uint8_t> encode_png(const std::vector<std::uint8_t>& rows, int width, int height, const PngSpec& spec) {
  // No setjmp: libpng aborts on an error, which for these fixed fixtures means a broken test.
  std::vector<std::uint8_t> out;
  png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, nullptr, nullptr, nullptr);
  png_infop info = png_create_info_struct(png);
  png_set_write_fn(png, &out, append, flush);
  png_set_IHDR(png, info, static_cast<png_uint_32>(width), static_cast<png_uint_32>(height), spec.bit_depth, spec.color_type,
               PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
  if (spec.color_type == PNG_COLOR_TYPE_PALETTE) {
    std::vector<png_color> palette;
    for (std::size_t i = 0; i + 2 < spec.palette.size(); i += 3)
      palette.push_back(png_color{spec.palette[i], spec.palette[i + 1], spec.palette[i + 2]});
    png_set_PLTE(png, info, palette.data(), static_cast<int>(palette.size()));
    if (!spec.trns.empty())
      png_set_tRNS(png, info, const_cast<png_bytep>(spec.trns.data()), static_cast<int>(spec.trns.size()), nullptr);
  }
  std::vector<std::uint8_t> exif;
  if (spec.exif_orientation > 0) {
    exif = exif_tiff(spec.exif_orientation, false);
    png_set_eXIf_1(png, info, static_cast<png_uint_32>(exif.size()), exif.data());
  }
  png_write_info(png, info);
  const std::size_t stride = rows.size() / static_cast<std::size_t>(height);
  for (int y = 0; y < height; ++y) png_write_row(png, rows.data() + static_cast<std::size_t>(y) * stride);
  png_write_end(png, nullptr);
  png_destroy_write_struct(&png, &info);
  return out;
}

void write_file(const std::string& path, const std::vector<std::uint8_t>& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
  if (!out) throw std::runtime_error("cannot write " + path);
}

void write_file(const std::string& path, const std::string& text) {
  write_file(path, std::vector<std::uint8_t>(text.begin(), text.end()));
}

} // namespace t2i::test
