// captions.csv: a header row naming file_name and caption, then one caption per row (RFC 4180).
#include "data/caption_parsing.h"

namespace t2i::data::captions {
namespace {

struct CsvRecord {
  std::vector<std::string> fields;
  std::size_t line = 0;
};

// RFC 4180 records; line numbers count physical lines, so a message points at the record's start.
std::vector<CsvRecord> parse_csv_records(const std::string& text, const std::string& file) {
  std::vector<CsvRecord> records;
  std::size_t i = text.compare(0, 3, "\xEF\xBB\xBF") == 0 ? 3 : 0;
  std::size_t line = 1;
  std::size_t column = 1;
  CsvRecord record{{}, line};
  std::string field;
  bool quoted = false;       // inside a quoted field
  bool after_quote = false;  // a quoted field just closed: only a separator may follow
  std::size_t quote_line = 0;
  std::size_t quote_column = 0;
  auto end_field = [&] {
    record.fields.push_back(std::move(field));
    field.clear();
    after_quote = false;
  };
  auto end_record = [&] {
    end_field();
    const bool blank = record.fields.size() == 1 && record.fields[0].empty();
    if (!blank) records.push_back(std::move(record));
    record = CsvRecord{{}, line};
  };
  for (; i < text.size(); ++i) {
    const char c = text[i];
    if (quoted) {
      if (c == '"') {
        if (i + 1 < text.size() && text[i + 1] == '"') {
          field += '"';
          ++i;
          column += 2;
          continue;
        }
        quoted = false;
        after_quote = true;
      } else {
        field += c;
      }
      if (c == '\n') {
        ++line;
        column = 1;
      } else {
        ++column;
      }
      continue;
    }
    if (c == ',') {
      end_field();
      ++column;
    } else if (c == '\n' || c == '\r') {
      if (c == '\r' && i + 1 < text.size() && text[i + 1] == '\n') ++i;
      ++line;
      column = 1;
      end_record();
    } else if (after_quote) {
      throw DataError(file, "line " + std::to_string(line) + ", column " + std::to_string(column) +
                      ": unexpected character after a closing quote");
    } else if (c == '"') {
      if (!field.empty())
        throw DataError(file, "line " + std::to_string(line) + ", column " + std::to_string(column) +
                        ": quote inside an unquoted field (quote the whole field and double the quote)");
      quoted = true;
      quote_line = line;
      quote_column = column;
      ++column;
    } else {
      field += c;
      ++column;
    }
  }
  if (quoted)
    throw DataError(file, "line " + std::to_string(quote_line) + ", column " + std::to_string(quote_column) +
                    ": quoted field never closed");
  end_record();
  return records;
}

} // namespace

CaptionSet parse_csv(const std::string& text, const std::string& file, const std::string& images_dir) {
  const std::vector<CsvRecord> records = parse_csv_records(text, file);
  if (records.empty()) throw DataError(file, "empty CSV: expected a header row with file_name and caption");
  const CsvRecord& header = records.front();
  std::size_t name_column = header.fields.size();
  std::size_t caption_column = header.fields.size();
  for (std::size_t c = 0; c < header.fields.size(); ++c) {
    const std::string column = trim(header.fields[c]);
    if (column == "file_name") name_column = c;
    if (column == "caption") caption_column = c;
  }
  for (const auto& [column, name] : {std::pair{name_column, "file_name"}, std::pair{caption_column, "caption"}})
    if (column == header.fields.size())
      throw DataError(file, "line " + std::to_string(header.line) + ": the header has no column '" + name +
                      "' (expected a header row naming file_name and caption)");

  Builder builder(file, images_dir);
  for (std::size_t r = 1; r < records.size(); ++r) {
    const CsvRecord& record = records[r];
    const Where where{file, "line " + std::to_string(record.line), false};
    if (record.fields.size() != header.fields.size())
      where.fail(where.path, "expected " + std::to_string(header.fields.size()) + " fields as in the header, found " +
                                 std::to_string(record.fields.size()));
    add_row_caption(builder, record.fields[name_column], record.fields[caption_column], where);
  }
  return builder.take();
}

} // namespace t2i::data::captions
