#include "io/zip_archive.h"

#include <algorithm>

namespace t2i::io {
namespace {

// Signatures and fixed sizes of the zip format (PKWARE APPNOTE.TXT, sections 4.3.7–4.3.16).
constexpr uint32_t kLocalHeader = 0x04034b50;
constexpr uint32_t kCentralHeader = 0x02014b50;
constexpr uint32_t kEndOfDirectory = 0x06054b50;
constexpr uint32_t kZip64EndOfDirectory = 0x06064b50;
constexpr uint32_t kZip64Locator = 0x07064b50;
constexpr size_t kEndOfDirectorySize = 22;
constexpr size_t kCentralHeaderSize = 46;
constexpr size_t kLocalHeaderSize = 30;
constexpr size_t kZip64LocatorSize = 20;
constexpr uint16_t kZip64ExtraField = 0x0001;

struct Directory {
  uint64_t entries = 0;
  uint64_t offset = 0;
  uint64_t size = 0;
};

size_t find_end_of_directory(ByteReader& file) {
  if (file.size() < kEndOfDirectorySize) fail(file.file(), "truncated: too short for a zip archive");
  // The record sits at the end, followed only by a comment of at most 65535 bytes.
  const size_t last = file.size() - kEndOfDirectorySize;
  const size_t first = last > 0xFFFF ? last - 0xFFFF : 0;
  for (size_t position = last + 1; position-- > first;) {
    file.seek(position, "the end-of-directory record");
    if (file.u32("a zip signature") == kEndOfDirectory) return position;
  }
  fail(file.file(), "zip end-of-central-directory record not found (truncated or not a zip file)");
}

Directory read_directory_location(ByteReader& file) {
  const size_t end = find_end_of_directory(file);
  file.seek(end + 4, "the end-of-directory record");
  const uint16_t disk = file.u16("the disk number");
  const uint16_t directory_disk = file.u16("the directory disk");
  file.u16("the entries on this disk");
  Directory directory;
  directory.entries = file.u16("the entry count");
  directory.size = file.u32("the directory size");
  directory.offset = file.u32("the directory offset");
  if (disk != 0 || directory_disk != 0) fail(file.file(), "multi-volume zip archives are not supported");

  const bool zip64 = directory.entries == 0xFFFF || directory.size == 0xFFFFFFFF || directory.offset == 0xFFFFFFFF;
  if (zip64) {
    if (end < kZip64LocatorSize) fail(file.file(), "zip64 end-of-directory locator missing");
    file.seek(end - kZip64LocatorSize, "the zip64 locator");
    if (file.u32("the zip64 locator signature") != kZip64Locator) fail(file.file(), "zip64 end-of-directory locator missing");
    file.u32("the zip64 directory disk");
    const uint64_t record = file.u64("the zip64 record offset");
    if (record >= file.size()) fail(file.file(), "zip64 end-of-directory record lies beyond the end of the file");
    file.seek(static_cast<size_t>(record), "the zip64 record");
    if (file.u32("the zip64 record signature") != kZip64EndOfDirectory)
      fail(file.file(), "zip64 end-of-directory record has a bad signature");
    file.take(8 + 2 + 2 + 4 + 4 + 8, "the zip64 record");
    directory.entries = file.u64("the zip64 entry count");
    directory.size = file.u64("the zip64 directory size");
    directory.offset = file.u64("the zip64 directory offset");
  }
  if (directory.offset > file.size() || directory.size > file.size() - directory.offset)
    fail(file.file(), "zip central directory [" + std::to_string(directory.offset) + ", +" +
                          std::to_string(directory.size) + ") lies outside the file");
  if (directory.entries > directory.size / kCentralHeaderSize)
    fail(file.file(), "zip central directory claims " + std::to_string(directory.entries) +
                          " entries, more than its size can hold");
  return directory;
}

/// Replaces the 32-bit fields saturated at 0xFFFFFFFF by their values in the zip64 extra field.
void apply_zip64_extra(ByteReader extra, uint64_t& size, uint64_t& compressed, uint64_t& offset) {
  while (extra.remaining() >= 4) {
    const uint16_t id = extra.u16("an extra field id");
    const uint16_t length = extra.u16("an extra field length");
    ByteReader field(extra.take(length, "an extra field"), length, extra.file());
    if (id != kZip64ExtraField) continue;
    if (size == 0xFFFFFFFF) size = field.u64("the zip64 size");
    if (compressed == 0xFFFFFFFF) compressed = field.u64("the zip64 compressed size");
    if (offset == 0xFFFFFFFF) offset = field.u64("the zip64 header offset");
    return;
  }
}

/// Where the record's bytes start, past its local header (whose name and extra lengths may
/// differ from the central directory's).
uint64_t data_offset(ByteReader& file, uint64_t header, const std::string& name) {
  if (header > file.size()) fail(file.file(), "zip record '" + name + "' has its header beyond the end of the file");
  file.seek(static_cast<size_t>(header), "a zip local header");
  if (file.u32("a zip local header signature") != kLocalHeader)
    fail(file.file(), "zip record '" + name + "' has a bad local header signature");
  file.take(kLocalHeaderSize - 4 - 4, "a zip local header");
  const uint16_t name_length = file.u16("a local name length");
  const uint16_t extra_length = file.u16("a local extra length");
  file.take(uint64_t{name_length} + extra_length, "a local name and extra field");
  return file.position();
}

} // namespace

bool looks_like_zip(const uint8_t* data, size_t size) {
  return size >= 4 && ByteReader::little_endian(data, 4) == kLocalHeader;
}

std::vector<ZipRecord> read_zip_directory(ByteReader file) {
  const Directory directory = read_directory_location(file);
  std::vector<ZipRecord> records;
  records.reserve(static_cast<size_t>(directory.entries));
  file.seek(static_cast<size_t>(directory.offset), "the zip central directory");
  for (uint64_t i = 0; i < directory.entries; ++i) {
    if (file.u32("a zip directory signature") != kCentralHeader)
      fail(file.file(), "zip central directory entry " + std::to_string(i) + " has a bad signature");
    file.take(4, "a zip directory entry");
    const uint16_t flags = file.u16("the zip flags");
    const uint16_t method = file.u16("the zip method");
    file.take(8, "a zip directory entry");
    uint64_t compressed = file.u32("the compressed size");
    uint64_t size = file.u32("the size");
    const uint16_t name_length = file.u16("the name length");
    const uint16_t extra_length = file.u16("the extra length");
    const uint16_t comment_length = file.u16("the comment length");
    file.take(8, "a zip directory entry");
    uint64_t header = file.u32("the local header offset");
    const auto* name_bytes = file.take(name_length, "a zip record name");
    std::string name(reinterpret_cast<const char*>(name_bytes), name_length);
    apply_zip64_extra(ByteReader(file.take(extra_length, "a zip extra field"), extra_length, file.file()), size,
                      compressed, header);
    file.take(comment_length, "a zip comment");

    if (flags & 0x1) fail(file.file(), "zip record '" + name + "' is encrypted");
    if (method != 0 || compressed != size)
      fail(file.file(), "zip record '" + name + "' is compressed (method " + std::to_string(method) +
                            "); torch.save stores records uncompressed");
    const size_t resume = file.position();
    const uint64_t offset = data_offset(file, header, name);
    if (size > file.size() - offset)
      fail(file.file(), "zip record '" + name + "' (" + std::to_string(size) + " bytes at offset " +
                            std::to_string(offset) + ") runs past the end of the file");
    records.push_back({std::move(name), offset, size});
    file.seek(resume, "the zip central directory");
  }
  return records;
}

} // namespace t2i::io
