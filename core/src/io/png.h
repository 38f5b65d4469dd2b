// libpng's plumbing, shared by every PNG reader and writer: error handlers that turn libpng's
// fatal errors into a longjmp back to the caller's setjmp (so a corrupt file becomes an error
// instead of exit()) with the message kept, and iTXt text chunks.
#pragma once

#include <cstdint>
#include <cstdio>
#include <map>
#include <string>

#include <png.h>

namespace t2i::io {

/// A libpng read or write struct with its info structs, reporting errors into message(). Usage:
/// `if (!s.create()) fail; if (setjmp(png_jmpbuf(s.png()))) fail;` then libpng calls. State
/// changed after setjmp must live outside the function's locals (libpng's longjmp leaves them
/// undefined): keep it in an object beside this one.
class PngStruct {
public:
  enum class Kind { Read, Write };

  explicit PngStruct(Kind kind) : kind_(kind) {}
  ~PngStruct();
  PngStruct(const PngStruct&) = delete;
  PngStruct& operator=(const PngStruct&) = delete;

  /// Creates the structs; false when out of memory.
  bool create();

  png_structp png() const { return png_; }
  png_infop info() const { return info_; }
  /// The info struct for chunks after the image data (reading only).
  png_infop end_info() const { return end_info_; }
  /// libpng's last error, or "out of memory" when creating the structs failed.
  std::string message() const { return message_[0] != 0 ? message_ : "out of memory"; }

private:
  [[noreturn]] static void on_error(png_structp png, png_const_charp message);
  static void on_warning(png_structp png, png_const_charp message);

  Kind kind_;
  png_structp png_ = nullptr;
  png_infop info_ = nullptr;
  png_infop end_info_ = nullptr;
  char message_[256] = {};
};

/// Empty when every chunk of the PNG in `data` declares a length that fits in what follows it;
/// otherwise the problem ("chunk 'iTXt' at offset 149 declares 1845493783 bytes, 24 left").
/// libpng allocates a chunk's declared length before reading it, and only warns when it exceeds
/// png_set_chunk_malloc_max (a "benign" error), so a few corrupt bytes could ask for gigabytes:
/// readers check this first (found by fuzzing).
std::string png_chunk_problem(const std::uint8_t* data, std::size_t size);
/// The same for an open file, read from its start (reads only the chunk headers; rewinds it).
std::string png_chunk_problem(std::FILE* file);

/// Stores `text` (keyword → UTF-8 value) as iTXt chunks, written with the image's info.
void set_png_text(png_structp png, png_infop info, const std::map<std::string, std::string>& text);

/// Adds the text chunks `info` holds to `text`.
void get_png_text(png_structp png, png_infop info, std::map<std::string, std::string>& text);

} // namespace t2i::io
