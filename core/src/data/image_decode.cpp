#include "data/image_decode.h"

#include "data/exif_orientation.h"
#include "data/image_transform.h"
#include "io/png.h"

#include <algorithm>
#include <cerrno>
#include <csetjmp>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <vector>

#include <jpeglib.h>
// jpeglib.h must come first: jerror.h's message codes need its types.
#include <jerror.h>

namespace t2i::data {

namespace {

// Beyond this the file is more likely hostile or broken than a training image.
constexpr std::uint64_t kMaxPixels = 100'000'000;

// Decoded pixels before conversion to RGB.
struct Raw {
  int width = 0;
  int height = 0;
  int channels = 0;            // JPEG: 1 (gray), 3 (RGB), 4 (CMYK); PNG: always 4 (RGBA)
  bool cmyk = false;           // JPEG CMYK (YCCK arrives converted to CMYK)
  bool adobe_inverted = false; // the JPEG has Adobe's APP14 marker
  bool depth16 = false;        // PNG samples are 16-bit big-endian
  int orientation = 1;
  std::vector<std::uint8_t> samples;
};

// ---- JPEG ---------------------------------------------------------------------------------

struct JpegErrors {
  jpeg_error_mgr manager;  // first, so libjpeg's pointer to it is a pointer to this struct
  std::jmp_buf jump;
  char message[JMSG_LENGTH_MAX];
};

[[noreturn]] void jpeg_fail(j_common_ptr cinfo) {
  auto* errors = reinterpret_cast<JpegErrors*>(cinfo->err);
  (*cinfo->err->format_message)(cinfo, errors->message);
  std::longjmp(errors->jump, 1);
}

// libjpeg only warns about damaged entropy data and fills the rest of the image with grey; for a
// training set that is a broken image, so these warnings fail the decode.
void jpeg_message(j_common_ptr cinfo, int level) {
  if (level >= 0) return;
  switch (cinfo->err->msg_code) {
    case JWRN_JPEG_EOF:
    case JWRN_HIT_MARKER:
    case JWRN_MUST_RESYNC:
    case JWRN_HUFF_BAD_CODE:
    case JWRN_ARITH_BAD_CODE:
      jpeg_fail(cinfo);
    default:
      ++cinfo->err->num_warnings;
  }
}

struct JpegJob {
  jpeg_decompress_struct cinfo{};
  JpegErrors errors{};
  bool created = false;
  Raw raw;
  const char* failure = nullptr;  // our own reason, when not libjpeg's

  JpegJob() = default;
  JpegJob(const JpegJob&) = delete;
  JpegJob& operator=(const JpegJob&) = delete;
  ~JpegJob() {
    if (created) jpeg_destroy_decompress(&cinfo);
  }
};

// The libjpeg calls. Everything this frame changes after setjmp lives in *job (memory, not
// registers), so the state is well defined when libjpeg's error handler longjmps back here.
bool run_jpeg(JpegJob* job, const std::uint8_t* data, std::size_t size, int min_shorter_side) {
  j_decompress_ptr cinfo = &job->cinfo;
  cinfo->err = jpeg_std_error(&job->errors.manager);
  job->errors.manager.error_exit = jpeg_fail;
  job->errors.manager.emit_message = jpeg_message;
  if (setjmp(job->errors.jump)) return false;
  jpeg_create_decompress(cinfo);
  job->created = true;
  jpeg_mem_src(cinfo, data, static_cast<unsigned long>(size));
  jpeg_save_markers(cinfo, JPEG_APP0 + 1, 0xFFFF);
  jpeg_read_header(cinfo, TRUE);

  for (jpeg_saved_marker_ptr marker = cinfo->marker_list; marker != nullptr; marker = marker->next) {
    if (marker->marker != JPEG_APP0 + 1) continue;
    job->raw.orientation = exif_orientation_from_app1(marker->data, marker->data_length);
    if (job->raw.orientation != 1) break;
  }
  switch (cinfo->jpeg_color_space) {
    case JCS_GRAYSCALE:
      cinfo->out_color_space = JCS_GRAYSCALE;
      break;
    case JCS_CMYK:
    case JCS_YCCK:
      cinfo->out_color_space = JCS_CMYK;
      break;
    default:
      cinfo->out_color_space = JCS_RGB;
  }
  if (min_shorter_side > 0) {
    const unsigned shorter = std::min(cinfo->image_width, cinfo->image_height);
    unsigned eighths = 1;
    while (eighths < 8 && (shorter * eighths + 7) / 8 < static_cast<unsigned>(min_shorter_side)) ++eighths;
    cinfo->scale_num = eighths;
    cinfo->scale_denom = 8;
  }
  jpeg_calc_output_dimensions(cinfo);
  if (static_cast<std::uint64_t>(cinfo->output_width) * cinfo->output_height > kMaxPixels) {
    job->failure = "image too large";
    return false;
  }
  jpeg_start_decompress(cinfo);
  job->raw.width = static_cast<int>(cinfo->output_width);
  job->raw.height = static_cast<int>(cinfo->output_height);
  job->raw.channels = cinfo->output_components;
  job->raw.cmyk = cinfo->out_color_space == JCS_CMYK;
  job->raw.adobe_inverted = cinfo->saw_Adobe_marker;
  const std::size_t stride = static_cast<std::size_t>(cinfo->output_width) * static_cast<std::size_t>(cinfo->output_components);
  job->raw.samples.resize(stride * cinfo->output_height);
  while (cinfo->output_scanline < cinfo->output_height) {
    JSAMPROW rows[16];
    const JDIMENSION n = std::min<JDIMENSION>(16, cinfo->output_height - cinfo->output_scanline);
    for (JDIMENSION r = 0; r < n; ++r) rows[r] = job->raw.samples.data() + (cinfo->output_scanline + r) * stride;
    jpeg_read_scanlines(cinfo, rows, n);
  }
  jpeg_finish_decompress(cinfo);
  return true;
}

Raw decode_jpeg(const std::uint8_t* data, std::size_t size, const std::string& name, int min_shorter_side) {
  JpegJob job;
  if (!run_jpeg(&job, data, size, min_shorter_side))
    throw ImageError(ImageProblem::Corrupt,
                     name, std::string("corrupt JPEG (") + (job.failure != nullptr ? job.failure : job.errors.message) + ")");
  return std::move(job.raw);
}

// ---- PNG ----------------------------------------------------------------------------------

struct PngInput {
  const std::uint8_t* data;
  std::size_t size;
  std::size_t position;
};

struct PngJob {
  io::PngStruct png{io::PngStruct::Kind::Read};
  PngInput input{};
  Raw raw;
  std::vector<png_bytep> rows;
};

void png_read_input(png_structp png, png_bytep out, png_size_t count) {
  auto* input = static_cast<PngInput*>(png_get_io_ptr(png));
  if (input->size - input->position < count) png_error(png, "file truncated");
  std::memcpy(out, input->data + input->position, count);
  input->position += count;
}

// Same discipline as run_jpeg: state changed after setjmp lives in *job.
bool run_png(PngJob* job) {
  if (!job->png.create()) return false;
  png_structp png = job->png.png();
  png_infop info = job->png.info();
  if (setjmp(png_jmpbuf(png))) return false;
  png_set_read_fn(png, &job->input, png_read_input);
  png_set_user_limits(png, 0x7fffffff, 0x7fffffff);
  png_read_info(png, info);
  const std::uint64_t width = png_get_image_width(png, info);
  const std::uint64_t height = png_get_image_height(png, info);
  if (width * height > kMaxPixels) png_error(png, "image too large");
  const int color_type = png_get_color_type(png, info);
  png_set_expand(png);  // palette → RGB, gray below 8 bits → 8 bits, tRNS → alpha
  png_set_gray_to_rgb(png);
  if ((color_type & PNG_COLOR_MASK_ALPHA) == 0 && png_get_valid(png, info, PNG_INFO_tRNS) == 0)
    png_set_add_alpha(png, 0xffff, PNG_FILLER_AFTER);
  png_set_interlace_handling(png);
  png_read_update_info(png, info);
  if (png_get_channels(png, info) != 4) png_error(png, "unexpected channel layout");
  job->raw.width = static_cast<int>(width);
  job->raw.height = static_cast<int>(height);
  job->raw.channels = 4;
  job->raw.depth16 = png_get_bit_depth(png, info) == 16;
  const std::size_t stride = png_get_rowbytes(png, info);
  job->raw.samples.resize(stride * height);
  job->rows.resize(height);
  for (std::size_t y = 0; y < height; ++y) job->rows[y] = job->raw.samples.data() + y * stride;
  png_read_image(png, job->rows.data());
  png_read_end(png, info);
  png_uint_32 exif_size = 0;
  png_bytep exif = nullptr;
  if (png_get_eXIf_1(png, info, &exif_size, &exif) != 0) job->raw.orientation = exif_orientation_from_tiff(exif, exif_size);
  return true;
}

Raw decode_png(const std::uint8_t* data, std::size_t size, const std::string& name) {
  if (const std::string problem = io::png_chunk_problem(data, size); !problem.empty())
    throw ImageError(ImageProblem::Corrupt, name, "corrupt PNG (" + problem + ")");
  PngJob job;
  job.input = PngInput{data, size, 0};
  if (!run_png(&job))
    throw ImageError(ImageProblem::Corrupt, name, std::string("corrupt PNG (") + job.png.message() + ")");
  return std::move(job.raw);
}

// ---- to RGB -------------------------------------------------------------------------------

std::uint8_t div255(unsigned v) { return static_cast<std::uint8_t>((v + 127) / 255); }

Image to_rgb(const Raw& raw) {
  Image out(raw.width, raw.height);
  const std::size_t pixels = static_cast<std::size_t>(raw.width) * static_cast<std::size_t>(raw.height);
  const std::uint8_t* in = raw.samples.data();
  std::uint8_t* o = out.rgb.data();
  if (raw.channels == 1) {
    for (std::size_t i = 0; i < pixels; ++i) o[3 * i] = o[3 * i + 1] = o[3 * i + 2] = in[i];
  } else if (raw.channels == 3) {
    std::memcpy(o, in, pixels * 3);
  } else if (raw.cmyk) {
    // Adobe (Photoshop) writes CMYK inverted, storing 1 − ink, so R = C'·K'; without its marker
    // the values are inks and R = (1 − C)(1 − K).
    for (std::size_t i = 0; i < pixels; ++i) {
      const std::uint8_t* p = in + 4 * i;
      const unsigned k = raw.adobe_inverted ? p[3] : 255u - p[3];
      for (int c = 0; c < 3; ++c) o[3 * i + c] = div255((raw.adobe_inverted ? p[c] : 255u - p[c]) * k);
    }
  } else if (raw.depth16) {
    // Composite on white at 16 bits, then round to 8: out = c·a + max·(1 − a).
    for (std::size_t i = 0; i < pixels; ++i) {
      const std::uint8_t* p = in + 8 * i;
      const std::uint64_t a = (p[6] << 8) | p[7];
      for (int c = 0; c < 3; ++c) {
        const std::uint64_t v = (p[2 * c] << 8) | p[2 * c + 1];
        const std::uint64_t composited = (v * a + 65535 * (65535 - a) + 32767) / 65535;
        o[3 * i + c] = static_cast<std::uint8_t>((composited * 255 + 32767) / 65535);
      }
    }
  } else {
    for (std::size_t i = 0; i < pixels; ++i) {
      const std::uint8_t* p = in + 4 * i;
      const unsigned a = p[3];
      for (int c = 0; c < 3; ++c) o[3 * i + c] = div255(p[c] * a + 255 * (255 - a));
    }
  }
  return out;
}

} // namespace

const char* to_string(ImageProblem problem) {
  switch (problem) {
    case ImageProblem::Missing: return "missing";
    case ImageProblem::Empty: return "empty";
    case ImageProblem::NotAnImage: return "not an image";
    case ImageProblem::Corrupt: return "corrupt";
  }
  return "corrupt";
}

Image decode_image(const std::uint8_t* data, std::size_t size, const std::string& name, const DecodeOptions& options) {
  if (size == 0) throw ImageError(ImageProblem::Empty, name, "empty file");
  static const std::uint8_t png_signature[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'};
  Raw raw;
  if (size >= 3 && data[0] == 0xFF && data[1] == 0xD8 && data[2] == 0xFF) {
    raw = decode_jpeg(data, size, name, options.min_shorter_side);
  } else if (size >= 8 && std::memcmp(data, png_signature, 8) == 0) {
    raw = decode_png(data, size, name);
  } else {
    throw ImageError(ImageProblem::NotAnImage, name, "not a JPEG or PNG file");
  }
  if (raw.width <= 0 || raw.height <= 0) throw ImageError(ImageProblem::Corrupt, name, "image has no pixels");
  Image rgb = to_rgb(raw);
  return raw.orientation == 1 ? rgb : apply_orientation(rgb, raw.orientation);
}

Image decode_image_file(const std::string& path, const DecodeOptions& options) {
  std::error_code error;
  if (!std::filesystem::exists(path, error)) throw ImageError(ImageProblem::Missing, path, "no such file");
  if (!std::filesystem::is_regular_file(path, error)) throw ImageError(ImageProblem::Missing, path, "not a regular file");
  std::ifstream in(path, std::ios::binary | std::ios::ate);
  if (!in) throw ImageError(ImageProblem::Missing, path, std::string("cannot open (") + std::strerror(errno) + ")");
  const std::streamoff size = in.tellg();
  if (size < 0) throw ImageError(ImageProblem::Missing, path, "cannot read");
  std::vector<std::uint8_t> bytes(static_cast<std::size_t>(size));
  in.seekg(0);
  if (size > 0 && !in.read(reinterpret_cast<char*>(bytes.data()), size))
    throw ImageError(ImageProblem::Missing, path, "read error");
  return decode_image(bytes.data(), bytes.size(), path, options);
}

} // namespace t2i::data
