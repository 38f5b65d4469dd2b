// The data area: caption files, image decoding and preprocessing, the image cache, splits and
// manifests, the dataset report, training batches, and the demo dataset with its checker.
#include "data/batch_loader.h"
#include "data/caption_files.h"
#include "data/demo_checker.h"
#include "data/demo_dataset.h"
#include "data/exif_orientation.h"
#include "data/image_cache.h"
#include "data/image_decode.h"
#include "data/image_pairs.h"
#include "data/image_transform.h"
#include "data/png_write.h"
#include "data/prepared_dataset.h"
#include "data/split_manifest.h"

#include "data_fixtures.h"
#include "test_support.h"

#include "t2i/data.h"
#include "t2i/log.h"
#include "t2i/runtime.h"

#include <QtTest/QtTest>

#include <spdlog/sinks/ostream_sink.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <numeric>
#include <regex>
#include <set>
#include <sstream>
#include <thread>

namespace {

using t2i::Image;
namespace fs = std::filesystem;

std::string path_in(const QTemporaryDir& dir, const char* name) { return (fs::path(dir.path().toStdString()) / name).string(); }

std::vector<std::uint8_t> read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::vector<std::uint8_t>((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

// The message of the DataError that `fn` throws, or "" when it does not throw one.
template <typename Fn>
std::string error_of(Fn&& fn) {
  try {
    fn();
  } catch (const t2i::data::DataError& e) {
    return e.what();
  }
  return {};
}

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

#define VERIFY_CONTAINS(text, part)                                                                                    \
  QVERIFY2(contains((text), (part)), qPrintable(QStringLiteral("'%1' lacks '%2'").arg(QString::fromStdString(text), QString::fromStdString(part))))

// The COCO file read independently of the loader (Qt's JSON parser).
struct IndependentCoco {
  std::map<qint64, QString> file_names;
  std::map<qint64, QSize> sizes;
  std::map<qint64, QStringList> captions;
};

IndependentCoco read_coco_independently(const QString& path) {
  QFile file(path);
  file.open(QIODevice::ReadOnly);
  const QJsonObject root = QJsonDocument::fromJson(file.readAll()).object();
  IndependentCoco coco;
  for (const QJsonValue& v : root.value(QStringLiteral("images")).toArray()) {
    const QJsonObject image = v.toObject();
    const qint64 id = image.value(QStringLiteral("id")).toInteger();
    coco.file_names[id] = image.value(QStringLiteral("file_name")).toString();
    coco.sizes[id] = QSize(image.value(QStringLiteral("width")).toInt(), image.value(QStringLiteral("height")).toInt());
  }
  for (const QJsonValue& v : root.value(QStringLiteral("annotations")).toArray()) {
    const QJsonObject a = v.toObject();
    coco.captions[a.value(QStringLiteral("image_id")).toInteger()].append(a.value(QStringLiteral("caption")).toString());
  }
  return coco;
}

std::vector<t2i::data::Source> coco_mini_sources() {
  return {{t2i::test::sharedData(QStringLiteral("coco-mini/annotations/captions_train2017.json")).toStdString(),
           t2i::test::sharedData(QStringLiteral("coco-mini/train2017")).toStdString()},
          {t2i::test::sharedData(QStringLiteral("coco-mini/annotations/captions_val2017.json")).toStdString(),
           t2i::test::sharedData(QStringLiteral("coco-mini/val2017")).toStdString()}};
}

Image constant_image(int w, int h, std::uint8_t r, std::uint8_t g, std::uint8_t b) {
  Image image(w, h);
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x) {
      std::uint8_t* p = image.at(x, y);
      p[0] = r, p[1] = g, p[2] = b;
    }
  return image;
}

// Flat 8×8 blocks of the given gray values, `columns` blocks wide.
std::vector<std::uint8_t> gray_blocks(const std::vector<std::uint8_t>& values, int columns) {
  const int rows = static_cast<int>(values.size()) / columns;
  std::vector<std::uint8_t> samples(static_cast<std::size_t>(columns * 8 * rows * 8));
  for (int y = 0; y < rows * 8; ++y)
    for (int x = 0; x < columns * 8; ++x)
      samples[static_cast<std::size_t>(y * columns * 8 + x)] = values[static_cast<std::size_t>((y / 8) * columns + x / 8)];
  return samples;
}

// A COCO captions JSON for the given (id, file name, captions) triples.
std::string coco_json(const std::vector<std::tuple<int, std::string, std::vector<std::string>>>& images) {
  QJsonArray image_array;
  QJsonArray annotations;
  int caption_id = 1;
  for (const auto& [id, name, captions] : images) {
    image_array.append(QJsonObject{{QStringLiteral("id"), id}, {QStringLiteral("file_name"), QString::fromStdString(name)}});
    for (const std::string& caption : captions)
      annotations.append(QJsonObject{{QStringLiteral("id"), caption_id++},
                                     {QStringLiteral("image_id"), id},
                                     {QStringLiteral("caption"), QString::fromStdString(caption)}});
  }
  const QJsonObject root{{QStringLiteral("images"), image_array}, {QStringLiteral("annotations"), annotations}};
  return QJsonDocument(root).toJson().toStdString();
}

// Tiles equally sized images into a contact sheet (nearest-neighbour enlarged) for the artefacts folder.
void write_contact_sheet(const std::vector<Image>& tiles, int columns, int scale, const QString& name) {
  const int side = tiles.front().width * scale;
  const int rows = (static_cast<int>(tiles.size()) + columns - 1) / columns;
  Image sheet(columns * side, rows * side);
  for (std::size_t t = 0; t < tiles.size(); ++t)
    for (int y = 0; y < side; ++y)
      for (int x = 0; x < side; ++x)
        std::copy_n(tiles[t].at(x / scale, y / scale), 3,
                    sheet.at(static_cast<int>(t % static_cast<std::size_t>(columns)) * side + x, static_cast<int>(t / static_cast<std::size_t>(columns)) * side + y));
  t2i::data::write_png(QDir(t2i::test::artifactsDir()).filePath(name).toStdString(), sheet);
}

// Words of a caption, for the checker's mismatch tests.
std::string replace_words(std::string caption, const std::map<std::string, std::string>& swaps) {
  std::string out;
  std::istringstream in(caption);
  std::string word;
  bool first = true;
  while (in >> word) {
    const auto it = swaps.find(word);
    out += (first ? "" : " ") + (it == swaps.end() ? word : it->second);
    first = false;
  }
  return out;
}

} // namespace

class TestData : public QObject {
  Q_OBJECT

private Q_SLOTS:
  void initTestCase() { t2i::runtime::initialize(); }

  // The split's names, as manifests and the CLI spell them, from one table.
  void splitNamesRoundTrip() {
    using t2i::data::Split;
    QVERIFY(t2i::data::split_names() == (std::vector<std::string>{"train", "val", "test"}));
    QVERIFY(t2i::data::parse_split("train") == Split::Train);
    QVERIFY(t2i::data::parse_split("val") == Split::Val);
    QVERIFY(t2i::data::parse_split("test") == Split::Test);
    QCOMPARE(t2i::data::to_string(Split::Val), std::string("val"));
    QVERIFY_THROWS_EXCEPTION(std::runtime_error, t2i::data::parse_split("validation"));
  }

  // ---- caption files -------------------------------------------------------------------------

  void cocoMiniBothFilesLoad() {
    T2I_REQUIRE_SHARED_DATA("coco-mini/annotations/captions_train2017.json");
    const auto sources = coco_mini_sources();
    const std::size_t expected_images[] = {80, 79};
    const std::size_t expected_captions[] = {400, 395};
    for (std::size_t s = 0; s < 2; ++s) {
      const t2i::data::CaptionSet set = t2i::data::load_captions(sources[s].annotations, sources[s].images_dir);
      QCOMPARE(set.images.size(), expected_images[s]);
      QCOMPARE(set.captions.size(), expected_captions[s]);
      const IndependentCoco coco = read_coco_independently(QString::fromStdString(sources[s].annotations));
      for (const auto& image : set.images) {
        QCOMPARE(QString::fromStdString(image.file_name), coco.file_names.at(image.id));
        QCOMPARE(image.captions.size(), std::size_t{5});
        for (std::size_t c : image.captions) {
          QCOMPARE(set.caption_image[c], static_cast<std::size_t>(&image - set.images.data()));
          QVERIFY(coco.captions.at(image.id).contains(QString::fromStdString(set.captions[c])) ||
                  coco.captions.at(image.id).contains(QString::fromStdString(set.captions[c]) + QStringLiteral(" ")) ||
                  std::any_of(coco.captions.at(image.id).begin(), coco.captions.at(image.id).end(),
                              [&](const QString& q) { return q.trimmed().toStdString() == set.captions[c]; }));
        }
      }
    }
  }

  void cocoMiniEveryImageDecodes() {
    T2I_REQUIRE_SHARED_DATA("coco-mini/annotations/captions_train2017.json");
    for (const auto& source : coco_mini_sources()) {
      const t2i::data::CaptionSet set = t2i::data::load_captions(source.annotations, source.images_dir);
      const IndependentCoco coco = read_coco_independently(QString::fromStdString(source.annotations));
      for (std::size_t i = 0; i < set.images.size(); ++i) {
        const Image image = t2i::data::decode_image_file(set.image_path(i));
        // Full-size decodes have the dimensions the annotations state.
        QCOMPARE(QSize(image.width, image.height), coco.sizes.at(set.images[i].id));
        const Image small = t2i::data::resize_and_center_crop(image, 64);
        QCOMPARE(small.width, 64);
        QCOMPARE(small.height, 64);
      }
    }
  }

  void cocoMiniReportNumbers() {
    T2I_REQUIRE_SHARED_DATA("coco-mini/annotations/captions_train2017.json");
    const t2i::data::DatasetReport report = t2i::data::inspect(coco_mini_sources());
    QCOMPARE(report.images_listed, std::size_t{159});
    QCOMPARE(report.captions_listed, std::size_t{795});
    QCOMPARE(report.images_checked, std::size_t{159});
    QCOMPARE(report.images_found, std::size_t{159});
    QCOMPARE(report.images_usable, std::size_t{159});
    QCOMPARE(report.skipped.total(), std::size_t{0});
    QCOMPARE(report.captions_usable, std::size_t{795});
    QCOMPARE(report.captions_per_image_min, std::size_t{5});
    QCOMPARE(report.captions_per_image_max, std::size_t{5});
    QCOMPARE(report.captions_per_image_mean, 5.0);
    // Caption lengths in whitespace words, counted here with Qt.
    std::vector<int> words;
    for (const auto& source : coco_mini_sources())
      for (const auto& [id, captions] : read_coco_independently(QString::fromStdString(source.annotations)).captions)
        for (const QString& c : captions) words.push_back(static_cast<int>(c.split(QRegularExpression(QStringLiteral("\\s+")), Qt::SkipEmptyParts).size()));
    std::sort(words.begin(), words.end());
    QCOMPARE(words.size(), std::size_t{795});
    QCOMPARE(report.caption_tokens_min, words.front());
    QCOMPARE(report.caption_tokens_max, words.back());
    QCOMPARE(report.caption_tokens_median, static_cast<double>(words[397]));
    QCOMPARE(report.token_unit, std::string("whitespace words"));
    // 159 images: round(119.25) = 119, round(23.85) = 24, the rest 16.
    QCOMPARE(report.split_train, std::size_t{119});
    QCOMPARE(report.split_val, std::size_t{24});
    QCOMPARE(report.split_test, std::size_t{16});

    // A token counter from the caller: characters instead of words.
    t2i::data::InspectOptions options;
    options.count_tokens = [](const std::string& s) { return static_cast<int>(s.size()); };
    options.token_unit = "characters";
    const t2i::data::DatasetReport chars = t2i::data::inspect({coco_mini_sources()[0]}, options);
    QCOMPARE(chars.token_unit, std::string("characters"));
    QVERIFY(chars.caption_tokens_min > 20 && chars.caption_tokens_max > chars.caption_tokens_min);

    const auto json = QJsonDocument::fromJson(QByteArray::fromStdString(t2i::data::to_json(report))).object();
    QCOMPARE(json.value(QStringLiteral("images_usable")).toInt(), 159);
    QCOMPARE(json.value(QStringLiteral("split")).toObject().value(QStringLiteral("val")).toInt(), 24);
    VERIFY_CONTAINS(t2i::data::to_text(report), "found / usable      159 / 159");
  }

  void cocoErrorsNamePositions() {
    QTemporaryDir dir;
    auto error_for = [&](const char* name, const std::string& text) {
      const std::string path = path_in(dir, name);
      t2i::test::write_file(path, text);
      return error_of([&] { t2i::data::load_captions(path, dir.path().toStdString()); });
    };
    std::string e = error_for("malformed.json", "{\"images\": [{\"id\": 1, \"file_name\": \"a.jpg\"}],\n \"annotations\": [{\"image_id\": 1 \"caption\": \"x\"}]}");
    VERIFY_CONTAINS(e, "malformed.json: line 2, column 41: malformed JSON");
    e = error_for("unknown.json", coco_json({{1, "a.jpg", {"one"}}}).insert(1, "\"extra\": 0,"));
    QVERIFY2(e.empty(), e.c_str());
    e = error_for("unknown.json",
                  R"({"images": [{"id": 1, "file_name": "a.jpg"}], "annotations": [{"image_id": 1, "caption": "ok"}, {"image_id": 7, "caption": "x"}]})");
    VERIFY_CONTAINS(e, "unknown.json: annotations[1].image_id: unknown image id 7");
    e = error_for("missing.json", R"({"images": [{"id": 1, "file_name": "a.jpg"}], "annotations": [{"image_id": 1}]})");
    VERIFY_CONTAINS(e, "missing.json: annotations[0].caption: missing");
    e = error_for("type.json", R"({"images": [{"id": "1", "file_name": "a.jpg"}], "annotations": []})");
    VERIFY_CONTAINS(e, "type.json: images[0].id: expected an integer, found string");
    e = error_for("type2.json", R"({"images": [{"id": 1, "file_name": "a.jpg"}], "annotations": [{"image_id": 1, "caption": 5}]})");
    VERIFY_CONTAINS(e, "type2.json: annotations[0].caption: expected a string, found number");
    e = error_for("dup.json", R"({"images": [{"id": 1, "file_name": "a.jpg"}, {"id": 1, "file_name": "b.jpg"}], "annotations": []})");
    VERIFY_CONTAINS(e, "dup.json: images[1].id: duplicate image id 1 (first at images[0])");
    e = error_for("dupname.json", R"({"images": [{"id": 1, "file_name": "a.jpg"}, {"id": 2, "file_name": "a.jpg"}], "annotations": []})");
    VERIFY_CONTAINS(e, "dupname.json: images[1].file_name: duplicate file_name 'a.jpg'");
    e = error_for("dupcap.json", R"({"images": [{"id": 1, "file_name": "a.jpg"}], "annotations": [{"id": 3, "image_id": 1, "caption": "a"}, {"id": 3, "image_id": 1, "caption": "b"}]})");
    VERIFY_CONTAINS(e, "dupcap.json: annotations[1].id: duplicate caption id 3");
    e = error_for("empty.json", R"({"images": [{"id": 1, "file_name": "a.jpg"}], "annotations": [{"image_id": 1, "caption": "  "}]})");
    VERIFY_CONTAINS(e, "empty.json: annotations[0].caption: empty caption");
    e = error_for("array.json", "[]");
    VERIFY_CONTAINS(e, "array.json: the top level must be an object");
    e = error_for("noimages.json", R"({"annotations": []})");
    VERIFY_CONTAINS(e, "noimages.json: images: missing");
    e = error_for("captions.txt", "x");
    VERIFY_CONTAINS(e, "captions.txt: unknown caption file type");
    VERIFY_CONTAINS(error_of([&] { t2i::data::load_captions(path_in(dir, "absent.json"), "."); }), "absent.json: cannot open");
  }

  void csvAndJsonlCaptions() {
    QTemporaryDir dir;
    const std::string csv = path_in(dir, "captions.csv");
    t2i::test::write_file(csv, "\xEF\xBB\xBF" "file_name,caption,source\r\n"
                               "a.png,\"a cat, sleeping\",x\r\n"
                               "b.png,\"a \"\"quoted\"\" dog\nover two lines\",y\r\n"
                               "\r\n"
                               "a.png,another cat,z\r\n");
    const t2i::data::CaptionSet set = t2i::data::load_captions(csv, dir.path().toStdString());
    QCOMPARE(set.images.size(), std::size_t{2});
    QCOMPARE(set.images[0].file_name, std::string("a.png"));
    QCOMPARE(set.images[0].id, std::int64_t{1});
    QCOMPARE(set.images[0].captions.size(), std::size_t{2});
    QCOMPARE(set.captions[0], std::string("a cat, sleeping"));
    QCOMPARE(set.captions[1], std::string("a \"quoted\" dog\nover two lines"));
    QCOMPARE(set.captions[2], std::string("another cat"));
    QCOMPARE(set.image_path(1), (fs::path(dir.path().toStdString()) / "b.png").string());

    auto csv_error = [&](const std::string& text) {
      t2i::test::write_file(csv, text);
      return error_of([&] { t2i::data::load_captions(csv, "."); });
    };
    VERIFY_CONTAINS(csv_error("file_name,caption\na.png,one\nb.png,two,extra\n"), "captions.csv: line 3: expected 2 fields");
    VERIFY_CONTAINS(csv_error("file_name,caption\na.png,\"never closed\n"), "captions.csv: line 2, column 7: quoted field never closed");
    VERIFY_CONTAINS(csv_error("file_name,caption\na.png,bad \"quote\"\n"), "captions.csv: line 2, column 11: quote inside an unquoted field");
    VERIFY_CONTAINS(csv_error("image,caption\na.png,x\n"), "captions.csv: line 1: the header has no column 'file_name'");
    VERIFY_CONTAINS(csv_error("file_name,caption\na.png,\n"), "captions.csv: line 2, field 'caption': empty caption");

    const std::string jsonl = path_in(dir, "captions.jsonl");
    t2i::test::write_file(jsonl, "{\"file_name\": \"a.png\", \"caption\": \"one\"}\n\n{\"file_name\": \"a.png\", \"caption\": \"two\"}\n");
    const t2i::data::CaptionSet lines = t2i::data::load_captions(jsonl, ".");
    QCOMPARE(lines.images.size(), std::size_t{1});
    QCOMPARE(lines.captions.size(), std::size_t{2});
    t2i::test::write_file(jsonl, "{\"file_name\": \"a.png\", \"caption\": \"one\"}\n{\"file_name\": \"a.png\" \"caption\": 1}\n");
    VERIFY_CONTAINS(error_of([&] { t2i::data::load_captions(jsonl, "."); }), "captions.jsonl: line 2, column 31: malformed JSON");
    t2i::test::write_file(jsonl, "{\"file_name\": \"a.png\", \"caption\": 1}\n");
    VERIFY_CONTAINS(error_of([&] { t2i::data::load_captions(jsonl, "."); }), "captions.jsonl: line 1, field 'caption': expected a string, found number");
  }

  // The format table is what help texts and file dialogs list: each listed format reads a file
  // of its kind, upper-case extensions too, and a format added without a sample here fails.
  void everyListedCaptionFormatReadsItsFiles() {
    const std::map<std::string, std::string> samples{
        {".json", R"({"images": [{"id": 7, "file_name": "a.png"}], "annotations": [{"image_id": 7, "caption": "a cat"}]})"},
        {".csv", "file_name,caption\na.png,a cat\n"},
        {".jsonl", "{\"file_name\": \"a.png\", \"caption\": \"a cat\"}\n"}};
    QTemporaryDir dir;
    std::set<std::string> listed;
    for (const t2i::data::CaptionFormat& format : t2i::data::caption_formats()) {
      listed.insert(format.extension);
      QVERIFY2(!format.description.empty(), format.extension.c_str());
      QVERIFY2(samples.count(format.extension) == 1, ("no sample for " + format.extension).c_str());
      const std::string path = path_in(dir, ("captions" + format.extension).c_str());
      t2i::test::write_file(path, samples.at(format.extension));
      const t2i::data::CaptionSet set = t2i::data::load_captions(path, ".");
      QCOMPARE(set.captions, std::vector<std::string>{"a cat"});
      QCOMPARE(set.images.at(0).file_name, std::string("a.png"));
    }
    QCOMPARE(listed.size(), samples.size());
    const std::string coco = path_in(dir, "listed.json");
    t2i::test::write_file(coco, R"({"images": [{"id": 2, "file_name": "b.png"}, {"id": 1, "file_name": "a.png"}],
                                   "annotations": [{"image_id": 1, "caption": "first"}, {"image_id": 1, "caption": "second"}]})");
    const std::vector<t2i::data::ListedImage> images = t2i::data::list_images({coco, "imgs"});
    QCOMPARE(images.size(), std::size_t{2});
    QCOMPARE(images[0].path, std::string("imgs/b.png"));
    QCOMPARE(images[0].caption, std::string());
    QCOMPARE(images[1].caption, std::string("first"));
    const std::string upper = path_in(dir, "CAPTIONS.CSV");
    t2i::test::write_file(upper, samples.at(".csv"));
    QCOMPARE(t2i::data::load_captions(upper, ".").captions.size(), std::size_t{1});
  }

  // ---- decoding --------------------------------------------------------------------------------

  void corruptFilesAreSkippedAndNamedOnce() {
    QTemporaryDir dir;
    const std::string images = dir.path().toStdString();
    std::vector<std::uint8_t> noisy(64 * 48 * 3);
    for (std::size_t i = 0; i < noisy.size(); ++i) noisy[i] = static_cast<std::uint8_t>((i * 2654435761u) >> 13);
    const std::vector<std::uint8_t> jpeg = t2i::test::encode_jpeg(noisy, 64, 48, {});
    t2i::test::write_file(path_in(dir, "good.jpg"), jpeg);
    t2i::test::write_file(path_in(dir, "truncated.jpg"), std::vector<std::uint8_t>(jpeg.begin(), jpeg.begin() + static_cast<std::ptrdiff_t>(jpeg.size() * 6 / 10)));
    t2i::test::write_file(path_in(dir, "zero.jpg"), std::vector<std::uint8_t>());
    t2i::test::write_file(path_in(dir, "text.jpg"), std::string("this is not an image\n"));
    const std::vector<std::uint8_t> png = t2i::test::encode_png(noisy, 64, 48, {});
    t2i::test::write_file(path_in(dir, "good.png"), png);
    t2i::test::write_file(path_in(dir, "truncated.png"), std::vector<std::uint8_t>(png.begin(), png.begin() + static_cast<std::ptrdiff_t>(png.size() / 2)));
    t2i::test::write_file(path_in(dir, "uncaptioned.png"), png);
    const std::string annotations = path_in(dir, "captions.json");
    t2i::test::write_file(annotations, coco_json({{1, "good.jpg", {"a good jpeg"}},
                                                  {2, "truncated.jpg", {"cut short"}},
                                                  {3, "zero.jpg", {"nothing"}},
                                                  {4, "text.jpg", {"words"}},
                                                  {5, "missing.jpg", {"absent"}},
                                                  {6, "good.png", {"a good png", "twice"}},
                                                  {7, "truncated.png", {"half a png"}},
                                                  {8, "uncaptioned.png", {}}}));

    using t2i::data::ImageProblem;
    auto problem_of = [&](const char* name) -> std::pair<ImageProblem, std::string> {
      try {
        t2i::data::decode_image_file(path_in(dir, name));
      } catch (const t2i::data::ImageError& e) {
        return {e.problem(), e.what()};
      }
      return {ImageProblem::Missing, "decoded"};
    };
    const std::pair<const char*, ImageProblem> expected[] = {{"truncated.jpg", ImageProblem::Corrupt}, {"zero.jpg", ImageProblem::Empty},
                                                             {"text.jpg", ImageProblem::NotAnImage},   {"missing.jpg", ImageProblem::Missing},
                                                             {"truncated.png", ImageProblem::Corrupt}};
    for (const auto& [name, problem] : expected) {
      const auto [found, message] = problem_of(name);
      QVERIFY2(found == problem && contains(message, path_in(dir, name)), message.c_str());
    }

    std::ostringstream log;
    auto sink = std::make_shared<spdlog::sinks::ostream_sink_mt>(log);
    t2i::log::add_sink(sink);
    const t2i::data::DatasetReport report = t2i::data::inspect({{annotations, images}});
    t2i::log::remove_sink(sink);
    QCOMPARE(report.images_listed, std::size_t{8});
    QCOMPARE(report.images_checked, std::size_t{7});
    QCOMPARE(report.images_found, std::size_t{6});
    QCOMPARE(report.images_usable, std::size_t{2});
    QCOMPARE(report.skipped.missing, std::size_t{1});
    QCOMPARE(report.skipped.empty, std::size_t{1});
    QCOMPARE(report.skipped.not_an_image, std::size_t{1});
    QCOMPARE(report.skipped.corrupt, std::size_t{2});
    QCOMPARE(report.skipped.no_caption, std::size_t{1});
    QCOMPARE(report.captions_per_image_min, std::size_t{1});
    QCOMPARE(report.captions_per_image_max, std::size_t{2});
    QCOMPARE(report.captions_per_image_mean, 1.5);
    QCOMPARE(report.caption_tokens_min, 1);  // "twice"
    QCOMPARE(report.caption_tokens_max, 3);
    QCOMPARE(report.caption_tokens_median, 3.0);  // lengths 1, 3, 3
    std::map<std::string, std::string> reasons;
    for (const auto& s : report.skipped_files) reasons[fs::path(s.file).filename().string()] = s.reason;
    QCOMPARE(reasons.size(), std::size_t{6});
    QCOMPARE(reasons["truncated.jpg"], std::string("corrupt"));
    QCOMPARE(reasons["zero.jpg"], std::string("empty"));
    QCOMPARE(reasons["text.jpg"], std::string("not an image"));
    QCOMPARE(reasons["missing.jpg"], std::string("missing"));
    QCOMPARE(reasons["uncaptioned.png"], std::string("no caption"));
    const std::string lines = log.str();
    for (const char* name : {"truncated.jpg", "zero.jpg", "text.jpg", "missing.jpg", "truncated.png"}) {
      std::size_t count = 0;
      for (std::size_t at = lines.find(name); at != std::string::npos; at = lines.find(name, at + 1)) ++count;
      QVERIFY2(count == 1, qPrintable(QStringLiteral("%1 logged %2 times").arg(QLatin1String(name)).arg(count)));
    }
    QVERIFY(!contains(lines, "good.jpg"));

    // prepare keeps only the usable images.
    t2i::data::PrepareOptions options;
    options.image_size = 16;
    const t2i::data::PrepareResult prepared = t2i::data::prepare({{annotations, images}}, path_in(dir, "cache"), options);
    QCOMPARE(prepared.report.images_usable, std::size_t{2});
    QCOMPARE(prepared.report.skipped.total(), std::size_t{6});
    const auto data = t2i::data::PreparedDataset::open(prepared.cache_dir);
    std::set<std::string> names;
    for (auto split : t2i::data::kSplits)
      for (const auto& image : data->images(split)) names.insert(image.file_name);
    QCOMPARE(names, (std::set<std::string>{"good.jpg", "good.png"}));
  }

  void constantImageStaysConstant() {
    const Image source = constant_image(100, 70, 37, 150, 220);
    for (int size : {64, 7, 200}) {
      const Image out = t2i::data::resize_and_center_crop(source, size);
      QCOMPARE(out.width, size);
      QCOMPARE(out.height, size);
      for (std::size_t i = 0; i < out.rgb.size(); i += 3)
        QVERIFY(out.rgb[i] == 37 && out.rgb[i + 1] == 150 && out.rgb[i + 2] == 220);
    }
  }

  void twoColourBoundaryStaysAtTheCentre() {
    // 200×100: red on the left half, blue on the right. Shorter side 100 → 64, centre crop: the
    // boundary (source x = 100) maps to output x = 32 exactly.
    Image source = constant_image(200, 100, 255, 0, 0);
    for (int y = 0; y < 100; ++y)
      for (int x = 100; x < 200; ++x) source.at(x, y)[0] = 0, source.at(x, y)[2] = 255;
    // Through a PNG file too, to cover the whole pipeline.
    QTemporaryDir dir;
    t2i::test::write_file(path_in(dir, "split.png"), t2i::test::encode_png(source.rgb, 200, 100, {}));
    const Image out = t2i::data::resize_and_center_crop(t2i::data::decode_image_file(path_in(dir, "split.png")), 64);
    for (int y = 0; y < 64; ++y) {
      for (int x = 0; x < 64; ++x) {
        const std::uint8_t* p = out.at(x, y);
        QCOMPARE(int(p[1]), 0);
        QCOMPARE(int(p[0]) + int(p[2]), 255);
        if (x <= 30) QCOMPARE(int(p[0]), 255);
        if (x >= 33) QCOMPARE(int(p[2]), 255);
      }
      // The two boundary columns mirror each other.
      QVERIFY(out.at(31, y)[0] > 127 && out.at(32, y)[0] < 128);
      QVERIFY(std::abs(int(out.at(31, y)[0]) - int(out.at(32, y)[2])) <= 1);
    }
  }

  void downscalingAveragesInsteadOfSampling() {
    // A one-pixel checkerboard reduced 4× must become mid-grey; point sampling would give 0 or 255.
    Image board(256, 256);
    for (int y = 0; y < 256; ++y)
      for (int x = 0; x < 256; ++x) std::fill_n(board.at(x, y), 3, std::uint8_t((x + y) % 2 ? 255 : 0));
    const Image out = t2i::data::resize_and_center_crop(board, 64);
    for (std::uint8_t v : out.rgb) QVERIFY2(v >= 120 && v <= 135, qPrintable(QString::number(v)));
  }

  void signedUnitRangeAndFlip() {
    Image image(2, 1);
    image.rgb = {0, 128, 255, 255, 0, 0};
    std::vector<float> chw(6);
    t2i::data::to_signed_unit_chw(image.rgb.data(), 2, 1, false, chw.data());
    QCOMPARE(chw[0], -1.0f);
    QCOMPARE(chw[1], 1.0f);
    QVERIFY(std::abs(chw[2] - (128 / 127.5f - 1)) < 1e-6f);
    QCOMPARE(chw[4], 1.0f);
    t2i::data::to_signed_unit_chw(image.rgb.data(), 2, 1, true, chw.data());
    QCOMPARE(chw[0], 1.0f);
    QCOMPARE(chw[1], -1.0f);
  }

  void sixteenBitAndTransparentPngs() {
    QTemporaryDir dir;
    // 16-bit gray: 8-bit value = round(v · 255 / 65535).
    const std::vector<unsigned> values = {0, 257 * 100, 65535, 0x1234, 0x8000, 0x00ff};
    std::vector<std::uint8_t> rows;
    for (unsigned v : values) rows.insert(rows.end(), {std::uint8_t(v >> 8), std::uint8_t(v & 0xff)});
    t2i::test::write_file(path_in(dir, "g16.png"), t2i::test::encode_png(rows, 6, 1, {0, 16}));
    Image out = t2i::data::decode_image_file(path_in(dir, "g16.png"));
    for (std::size_t i = 0; i < values.size(); ++i) {
      const int expected = static_cast<int>(std::lround(values[i] * 255.0 / 65535.0));
      QCOMPARE(int(out.rgb[3 * i]), expected);
      QCOMPARE(int(out.rgb[3 * i + 1]), expected);
      QCOMPARE(int(out.rgb[3 * i + 2]), expected);
    }
    // 16-bit RGBA over white: c·a + 1·(1 − a).
    rows.clear();
    const unsigned rgba16[2][4] = {{65535, 0, 0, 32768}, {0, 65535, 1000, 65535}};
    for (const auto& px : rgba16)
      for (unsigned v : px) rows.insert(rows.end(), {std::uint8_t(v >> 8), std::uint8_t(v & 0xff)});
    t2i::test::write_file(path_in(dir, "rgba16.png"), t2i::test::encode_png(rows, 2, 1, {6, 16}));
    out = t2i::data::decode_image_file(path_in(dir, "rgba16.png"));
    for (int p = 0; p < 2; ++p)
      for (int c = 0; c < 3; ++c) {
        const double a = rgba16[p][3] / 65535.0;
        const int expected = static_cast<int>(std::lround((rgba16[p][c] / 65535.0 * a + (1 - a)) * 255));
        QVERIFY2(std::abs(int(out.rgb[static_cast<std::size_t>(3 * p + c)]) - expected) <= 1, qPrintable(QString::number(out.rgb[static_cast<std::size_t>(3 * p + c)])));
      }
    // 8-bit RGBA: half-transparent red, fully transparent, opaque.
    t2i::test::write_file(path_in(dir, "rgba8.png"), t2i::test::encode_png({255, 0, 0, 128, 10, 20, 30, 0, 10, 20, 30, 255}, 3, 1, {6, 8}));
    out = t2i::data::decode_image_file(path_in(dir, "rgba8.png"));
    QCOMPARE(std::vector<int>(out.rgb.begin(), out.rgb.end()), (std::vector<int>{255, 127, 127, 255, 255, 255, 10, 20, 30}));
    // Palette with a transparent entry; 2-bit indices.
    t2i::test::PngSpec palette{3, 2, {255, 0, 0, 0, 255, 0, 0, 0, 255}, {255, 255, 0}};
    t2i::test::write_file(path_in(dir, "palette.png"), t2i::test::encode_png({0b00011000}, 4, 1, palette));
    out = t2i::data::decode_image_file(path_in(dir, "palette.png"));
    QCOMPARE(std::vector<int>(out.rgb.begin(), out.rgb.end()),
             (std::vector<int>{255, 0, 0, 0, 255, 0, 255, 255, 255, 255, 0, 0}));
    // Gray + alpha and 1-bit gray.
    t2i::test::write_file(path_in(dir, "ga.png"), t2i::test::encode_png({0, 255, 0, 0}, 2, 1, {4, 8}));
    out = t2i::data::decode_image_file(path_in(dir, "ga.png"));
    QCOMPARE(std::vector<int>(out.rgb.begin(), out.rgb.end()), (std::vector<int>{0, 0, 0, 255, 255, 255}));
    t2i::test::write_file(path_in(dir, "g1.png"), t2i::test::encode_png({0b10000000}, 2, 1, {0, 1}));
    out = t2i::data::decode_image_file(path_in(dir, "g1.png"));
    QCOMPARE(std::vector<int>(out.rgb.begin(), out.rgb.end()), (std::vector<int>{255, 255, 255, 0, 0, 0}));
  }

  void grayscaleAndCmykJpegs() {
    // Flat 8×8 blocks at quality 100 decode to their values (DC-only blocks, unit quantisers).
    const std::vector<std::uint8_t> grays = {10, 200, 90, 250};
    const std::vector<std::uint8_t> gray = gray_blocks(grays, 2);
    const auto gray_jpeg = t2i::test::encode_jpeg(gray, 16, 16, {t2i::test::JpegSpace::Gray});
    const Image g = t2i::data::decode_image(gray_jpeg.data(), gray_jpeg.size(), "gray.jpg");
    QCOMPARE(g.width, 16);
    for (int y = 0; y < 16; ++y)
      for (int x = 0; x < 16; ++x) {
        const std::uint8_t* p = g.at(x, y);
        QVERIFY(p[0] == p[1] && p[1] == p[2]);
        QVERIFY(std::abs(int(p[0]) - int(grays[static_cast<std::size_t>((y / 8) * 2 + x / 8)])) <= 1);
      }

    // CMYK, two flat blocks of inks (c, m, y, k); Adobe files store 255 − ink.
    const std::uint8_t inks[2][4] = {{0, 255, 0, 0}, {255, 0, 0, 127}};
    auto rgb_of = [](const std::uint8_t* ink, int c) { return (255.0 - ink[c]) * (255.0 - ink[3]) / 255.0; };
    for (const auto space : {t2i::test::JpegSpace::Cmyk, t2i::test::JpegSpace::Ycck}) {
      for (const bool adobe : {true, false}) {
        if (space == t2i::test::JpegSpace::Ycck && !adobe) continue;  // YCCK exists only with Adobe's marker
        std::vector<std::uint8_t> samples(16 * 8 * 4);
        for (int y = 0; y < 8; ++y)
          for (int x = 0; x < 16; ++x)
            for (int c = 0; c < 4; ++c) {
              const std::uint8_t ink = inks[x / 8][c];
              samples[static_cast<std::size_t>((y * 16 + x) * 4 + c)] = adobe ? std::uint8_t(255 - ink) : ink;
            }
        const auto bytes = t2i::test::encode_jpeg(samples, 16, 8, {space, 100, adobe});
        const Image out = t2i::data::decode_image(bytes.data(), bytes.size(), "cmyk.jpg");
        const int tolerance = space == t2i::test::JpegSpace::Ycck ? 3 : 1;
        for (int x : {3, 12})
          for (int c = 0; c < 3; ++c)
            QVERIFY2(std::abs(out.at(x, 4)[c] - rgb_of(inks[x / 8], c)) <= tolerance,
                     qPrintable(QStringLiteral("space %1 adobe %2 x %3 c %4: %5 vs %6").arg(int(space)).arg(adobe).arg(x).arg(c).arg(out.at(x, 4)[c]).arg(rgb_of(inks[x / 8], c))));
      }
    }
  }

  void exifOrientationIsHonoured() {
    // 24×16 gray, blocks  10  60 110
    //                    160 210 250
    const std::vector<std::uint8_t> samples = gray_blocks({10, 60, 110, 160, 210, 250}, 3);
    // What a viewer shows for each orientation, block by block (rows of the displayed image).
    const std::map<int, std::vector<std::vector<int>>> shown = {
        {1, {{10, 60, 110}, {160, 210, 250}}},
        {2, {{110, 60, 10}, {250, 210, 160}}},
        {3, {{250, 210, 160}, {110, 60, 10}}},
        {4, {{160, 210, 250}, {10, 60, 110}}},
        {5, {{10, 160}, {60, 210}, {110, 250}}},
        {6, {{160, 10}, {210, 60}, {250, 110}}},
        {7, {{250, 110}, {210, 60}, {160, 10}}},
        {8, {{110, 250}, {60, 210}, {10, 160}}},
    };
    for (const auto& [orientation, blocks] : shown) {
      for (const bool big_endian : {false, true}) {
        const auto bytes = t2i::test::encode_jpeg(samples, 24, 16, {t2i::test::JpegSpace::Gray, 100, true, orientation, big_endian});
        const Image out = t2i::data::decode_image(bytes.data(), bytes.size(), "exif.jpg");
        QCOMPARE(out.height, static_cast<int>(blocks.size()) * 8);
        QCOMPARE(out.width, static_cast<int>(blocks[0].size()) * 8);
        for (std::size_t by = 0; by < blocks.size(); ++by)
          for (std::size_t bx = 0; bx < blocks[by].size(); ++bx)
            QVERIFY2(std::abs(out.at(static_cast<int>(bx * 8 + 4), static_cast<int>(by * 8 + 4))[0] - blocks[by][bx]) <= 1,
                     qPrintable(QStringLiteral("orientation %1 block %2,%3").arg(orientation).arg(bx).arg(by)));
      }
    }
    // PNG's eXIf chunk: orientation 6 turns the 2×1 image into 1×2.
    const auto png = t2i::test::encode_png({0, 0, 0, 255, 255, 255}, 2, 1, {2, 8, {}, {}, 6});
    const Image turned = t2i::data::decode_image(png.data(), png.size(), "exif.png");
    QCOMPARE(turned.width, 1);
    QCOMPARE(turned.height, 2);
    QCOMPARE(int(turned.at(0, 0)[0]), 0);
    QCOMPARE(int(turned.at(0, 1)[0]), 255);
    // Malformed EXIF is ignored, never trusted.
    std::vector<std::uint8_t> tiff = t2i::test::exif_tiff(6, false);
    QCOMPARE(t2i::data::exif_orientation_from_tiff(tiff.data(), tiff.size()), 6);
    QCOMPARE(t2i::data::exif_orientation_from_tiff(tiff.data(), 12), 1);  // truncated entry
    tiff[4] = 0xF0;                                                        // IFD offset past the end
    QCOMPARE(t2i::data::exif_orientation_from_tiff(tiff.data(), tiff.size()), 1);
    const std::uint8_t xmp[] = "http://ns.adobe.com/xap/1.0/";
    QCOMPARE(t2i::data::exif_orientation_from_app1(xmp, sizeof xmp), 1);
  }

  void jpegDctScalingKeepsContent() {
    // Decoding at a reduced DCT scale keeps the shorter side at least the requested length.
    std::vector<std::uint8_t> samples(480 * 320 * 3, 77);
    const auto bytes = t2i::test::encode_jpeg(samples, 480, 320, {});
    const Image out = t2i::data::decode_image(bytes.data(), bytes.size(), "big.jpg", {64});
    QCOMPARE(out.height, 80);  // 320 · 2/8
    QCOMPARE(out.width, 120);
    for (std::uint8_t v : out.rgb) QVERIFY(std::abs(int(v) - 77) <= 1);
  }

  // ---- splits, cache, batches -----------------------------------------------------------------

  void splitsAreDisjointStableAndSeeded() {
    T2I_REQUIRE_SHARED_DATA("coco-mini/annotations/captions_train2017.json");
    QTemporaryDir dir;
    t2i::data::PrepareOptions options;
    options.image_size = 16;
    const auto sources = coco_mini_sources();
    const auto first = t2i::data::prepare(sources, path_in(dir, "a"), options);
    const auto again = t2i::data::prepare(sources, path_in(dir, "b"), options);
    QCOMPARE(first.manifest_hash, again.manifest_hash);
    QCOMPARE(read_bytes(first.manifest_file), read_bytes(again.manifest_file));
    QCOMPARE(first.report.split_train, std::size_t{119});
    QCOMPARE(first.report.split_val, std::size_t{24});
    QCOMPARE(first.report.split_test, std::size_t{16});

    const auto data = t2i::data::PreparedDataset::open(first.cache_dir);
    QCOMPARE(data->manifest_hash(), first.manifest_hash);
    std::vector<Image> thumbnails;
    for (std::size_t slot = 0; slot < data->cache().count(); ++slot) {
      Image tile(16, 16);
      std::copy_n(data->cache().pixels(slot), tile.rgb.size(), tile.rgb.begin());
      thumbnails.push_back(std::move(tile));
    }
    write_contact_sheet(thumbnails, 16, 4, QStringLiteral("data_coco_mini_cache_16px.png"));
    std::set<std::string> seen;
    std::set<std::size_t> caption_indices;
    std::size_t total = 0;
    for (auto split : t2i::data::kSplits) {
      for (const auto& image : data->images(split)) {
        QVERIFY2(seen.insert(std::to_string(image.source) + ":" + image.file_name).second, "an image is in two splits");
        QCOMPARE(image.captions.size(), std::size_t{5});
        for (std::size_t c : image.captions) QVERIFY(caption_indices.insert(c).second);
        ++total;
      }
    }
    QCOMPARE(total, std::size_t{159});
    QCOMPARE(caption_indices.size(), std::size_t{795});

    options.split.seed = 99;
    const auto reseeded = t2i::data::prepare(sources, path_in(dir, "c"), options);
    QVERIFY(reseeded.manifest_hash != first.manifest_hash);
    // A subset of N: the first N in the seed's order, split 75/15/10.
    options.split.seed = 1234;
    options.split.max_images = 40;
    const auto subset = t2i::data::prepare(sources, path_in(dir, "d"), options);
    QCOMPARE(subset.report.images_checked, std::size_t{40});
    QCOMPARE(subset.report.split_train + subset.report.split_val + subset.report.split_test, std::size_t{40});
    QCOMPARE(subset.report.split_val, std::size_t{6});
    // The same images regardless of how many others exist: the 40 are the first 40 of the 159.
    const auto small = t2i::data::PreparedDataset::open(subset.cache_dir);
    std::vector<std::string> names;
    for (const auto& s : sources)
      for (const auto& image : t2i::data::load_captions(s.annotations, s.images_dir).images) names.push_back(image.file_name);
    const auto order = t2i::data::subset_order(names, 1234);
    std::set<std::string> first40;
    for (std::size_t k = 0; k < 40; ++k) first40.insert(names[order[k]]);
    for (auto split : t2i::data::kSplits)
      for (const auto& image : small->images(split)) QVERIFY(first40.count(image.file_name) == 1);
  }

  void splitSizesAndValidation() {
    const t2i::data::SplitOptions paper;
    const auto sizes = t2i::data::split_sizes(20000, paper);
    QCOMPARE(sizes.train, std::size_t{15000});
    QCOMPARE(sizes.val, std::size_t{3000});
    QCOMPARE(sizes.test, std::size_t{2000});
    t2i::data::SplitOptions bad;
    bad.val = 0.3;
    VERIFY_CONTAINS(error_of([&] { t2i::data::validate(bad); }), "sum to 1");
  }

  void cacheBuildReuseAndResume() {
    QTemporaryDir dir;
    t2i::data::DemoOptions demo;
    demo.images = 48;
    demo.image_size = 40;
    const auto dataset = t2i::data::make_demo_dataset(path_in(dir, "demo"), demo);
    const auto set = t2i::data::load_captions(dataset.source.annotations, dataset.source.images_dir);
    std::vector<t2i::data::CacheSource> sources;
    for (std::size_t i = 0; i < set.images.size(); ++i) sources.push_back({set.image_path(i), set.images[i].file_name});

    using Outcome = t2i::data::CacheBuildResult::Outcome;
    t2i::data::CacheBuildOptions options;
    options.chunk = 8;
    const std::string whole = path_in(dir, "whole.t2icache");
    const auto built = t2i::data::build_image_cache(whole, sources, 24, options);
    QVERIFY(built.outcome == Outcome::Built && built.complete);
    QCOMPARE(built.decoded, std::size_t{48});
    const std::vector<std::uint8_t> reference = read_bytes(whole);
    const auto reused = t2i::data::build_image_cache(whole, sources, 24, options);
    QVERIFY(reused.outcome == Outcome::Reused && reused.complete);
    QCOMPARE(reused.decoded, std::size_t{0});
    QCOMPARE(read_bytes(whole), reference);

    // Each slot holds the decoded, resized image.
    const auto cache = t2i::data::ImageCache::open(whole);
    QCOMPARE(cache->count(), std::size_t{48});
    QVERIFY(cache->complete());
    for (std::size_t i : {std::size_t{0}, std::size_t{17}, std::size_t{47}}) {
      QCOMPARE(cache->status(i), t2i::data::SlotStatus::Ok);
      const Image expected = t2i::data::resize_and_center_crop(t2i::data::decode_image_file(sources[i].path), 24);
      QVERIFY(std::equal(expected.rgb.begin(), expected.rgb.end(), cache->pixels(i)));
    }

    // Cancelled after the second chunk, then resumed: the same bytes as the uninterrupted build.
    t2i::job::CancelToken cancel;
    t2i::job::Context job;
    job.cancel = &cancel;
    job.on_progress = [&](const t2i::job::Progress& progress) {
      if (progress.done >= 16) cancel.cancel();
    };
    const std::string interrupted = path_in(dir, "interrupted.t2icache");
    const auto partial = t2i::data::build_image_cache(interrupted, sources, 24, options, job);
    QVERIFY(!partial.complete);
    const auto partial_cache = t2i::data::ImageCache::open(interrupted);
    QCOMPARE(partial_cache->processed(), std::size_t{16});
    QVERIFY(!partial_cache->complete());
    cancel.reset();
    const auto resumed = t2i::data::build_image_cache(interrupted, sources, 24, options);
    QVERIFY(resumed.outcome == Outcome::Resumed && resumed.complete);
    QCOMPARE(resumed.decoded, std::size_t{32});
    QCOMPARE(read_bytes(interrupted), reference);

    // A different size or source list rebuilds.
    QVERIFY(t2i::data::build_image_cache(interrupted, sources, 16, options).outcome == Outcome::Built);
    sources.pop_back();
    QVERIFY(t2i::data::build_image_cache(whole, sources, 24, options).outcome == Outcome::Built);
    QCOMPARE(t2i::data::ImageCache::open(whole)->count(), std::size_t{47});

    // Damaged cache files are rejected with their name.
    std::vector<std::uint8_t> damaged = reference;
    damaged[0] = 'X';
    t2i::test::write_file(path_in(dir, "bad.t2icache"), damaged);
    VERIFY_CONTAINS(error_of([&] { t2i::data::ImageCache::open(path_in(dir, "bad.t2icache")); }), "bad.t2icache: not a t2i image cache");
    t2i::test::write_file(path_in(dir, "short.t2icache"), std::vector<std::uint8_t>(reference.begin(), reference.end() - 100));
    VERIFY_CONTAINS(error_of([&] { t2i::data::ImageCache::open(path_in(dir, "short.t2icache")); }), "short.t2icache: file size");
  }

  void cacheFoldersNameTheDatasetNotHowItWasSpelt() {
    QTemporaryDir dir;
    const std::string root = path_in(dir, "caches");
    fs::create_directories(path_in(dir, "set/images"));
    t2i::test::write_file(path_in(dir, "set/captions.csv"), std::vector<std::uint8_t>{'x'});
    const t2i::data::Source absolute{path_in(dir, "set/captions.csv"), path_in(dir, "set/images")};
    t2i::data::SplitOptions split;
    split.max_images = 500;
    const std::string folder = t2i::data::cache_folder(root, {absolute}, split, 64);
    QVERIFY(fs::path(folder).parent_path().parent_path() == fs::path(root));
    QCOMPARE(fs::path(folder).filename().string(), std::string("s64"));

    // The same files named relative to another working folder share the cache.
    const fs::path previous = fs::current_path();
    fs::current_path(path_in(dir, "set"));
    const std::string relative = t2i::data::cache_folder(root, {{"captions.csv", "./images/"}}, split, 64);
    fs::current_path(previous);
    QCOMPARE(relative, folder);

    // Anything that changes what prepare() builds changes the folder.
    QVERIFY(t2i::data::cache_folder(root, {absolute}, split, 32) != folder);
    t2i::data::SplitOptions other = split;
    other.max_images = 400;
    QVERIFY(t2i::data::cache_folder(root, {absolute}, other, 64) != folder);
    other = split;
    other.seed = 7;
    QVERIFY(t2i::data::cache_folder(root, {absolute}, other, 64) != folder);
    QVERIFY(t2i::data::cache_folder(root, {{absolute.annotations, path_in(dir, "set")}}, split, 64) != folder);
    QVERIFY(t2i::data::cache_folder(root, {absolute, absolute}, split, 64) != folder);
    QCOMPARE(t2i::data::prepared_folder(folder), (fs::path(folder) / "prepared").string());
  }

  void prepareReusesAndReportsProgress() {
    QTemporaryDir dir;
    t2i::data::DemoOptions demo;
    demo.images = 40;
    const auto dataset = t2i::data::make_demo_dataset(path_in(dir, "demo"), demo);
    t2i::data::PrepareOptions options;
    options.image_size = 32;
    std::vector<t2i::job::Progress> progress;
    t2i::job::Context job;
    job.on_progress = [&](const t2i::job::Progress& p) { progress.push_back(p); };
    const auto first = t2i::data::prepare({dataset.source}, path_in(dir, "cache"), options, job);
    QVERIFY(!first.reused && !first.cancelled);
    QCOMPARE(first.images_decoded, std::size_t{40});
    QVERIFY(!progress.empty());
    QCOMPARE(progress.back().done, std::int64_t{40});
    QCOMPARE(progress.back().total, std::int64_t{40});
    const auto second = t2i::data::prepare({dataset.source}, path_in(dir, "cache"), options);
    QVERIFY(second.reused);
    QCOMPARE(second.images_decoded, std::size_t{0});
    QCOMPARE(second.manifest_hash, first.manifest_hash);
    const std::vector<std::uint8_t> report_bytes = read_bytes(second.report_file);
    const auto report = QJsonDocument::fromJson(QByteArray(reinterpret_cast<const char*>(report_bytes.data()), static_cast<qsizetype>(report_bytes.size()))).object();
    QCOMPARE(report.value(QStringLiteral("images_usable")).toInt(), 40);

    // A cancelled prepare leaves no manifest behind, so training cannot use a half-built cache.
    t2i::job::CancelToken cancel;
    cancel.cancel();
    job.cancel = &cancel;
    options.image_size = 16;
    const auto cancelled = t2i::data::prepare({dataset.source}, path_in(dir, "cache"), options, job);
    QVERIFY(cancelled.cancelled);
    QVERIFY(!fs::exists(cancelled.manifest_file));
    VERIFY_CONTAINS(error_of([&] { t2i::data::PreparedDataset::open(path_in(dir, "cache")); }), "manifest.json: cannot open manifest");
  }

  void preparedSizesGiveAlignedBoxAveragedPairs() {
    // Demo images drawn at 64×64 are cached at 32 (S) and 64; at 64 the cache holds the PNG's own
    // pixels (the resize is the identity at scale 1), so each pair's low image must be the plain
    // 2×2 block average of the decoded PNG, computed here pixel by pixel.
    QTemporaryDir dir;
    t2i::data::DemoOptions demo;
    demo.images = 12;
    demo.image_size = 64;
    const auto dataset = t2i::data::make_demo_dataset(path_in(dir, "demo"), demo);
    t2i::data::PrepareOptions options;
    options.image_size = 32;
    options.extra_sizes = {64};
    const auto prepared = t2i::data::prepare({dataset.source}, path_in(dir, "cache"), options);
    QCOMPARE(prepared.extra_cache_files, std::vector<std::string>{path_in(dir, "cache/images-s64.t2icache")});
    const auto data = t2i::data::PreparedDataset::open(path_in(dir, "cache"));
    QCOMPARE(data->image_sizes(), (std::vector<int>{32, 64}));
    QCOMPARE(data->cache(64).image_size(), 64);
    QCOMPARE(data->cache(32).path(), data->cache().path());
    VERIFY_CONTAINS(error_of([&] { (void)data->cache(128); }), "no images cached at size 128 (prepared at 32, 64)");

    const auto& train = data->images(t2i::data::Split::Train);
    const std::vector<std::size_t> positions{3, 0, train.size() - 1};
    const t2i::data::ImagePairs pairs = t2i::data::image_pairs(*data, t2i::data::Split::Train, positions, 64, 32);
    QCOMPARE(pairs.high.sizes(), (torch::IntArrayRef{3, 3, 64, 64}));
    QCOMPARE(pairs.low.sizes(), (torch::IntArrayRef{3, 3, 32, 32}));
    for (std::size_t i = 0; i < positions.size(); ++i) {
      const Image png = t2i::data::decode_image_file(dataset.source.images_dir + "/" + train[positions[i]].file_name);
      QCOMPARE(png.width, 64);
      const torch::Tensor high_image = pairs.high[static_cast<std::int64_t>(i)];
      const torch::Tensor low_image = pairs.low[static_cast<std::int64_t>(i)];
      const auto high = high_image.accessor<float, 3>();
      const auto low = low_image.accessor<float, 3>();
      double worst_high = 0, worst_low = 0;
      for (int c = 0; c < 3; ++c)
        for (int y = 0; y < 64; ++y)
          for (int x = 0; x < 64; ++x) worst_high = std::max(worst_high, std::abs(high[c][y][x] - (png.at(x, y)[c] / 127.5 - 1.0)));
      for (int c = 0; c < 3; ++c)
        for (int y = 0; y < 32; ++y)
          for (int x = 0; x < 32; ++x) {
            double sum = 0;
            for (int v = 0; v < 2; ++v)
              for (int u = 0; u < 2; ++u) sum += png.at(2 * x + u, 2 * y + v)[c];
            worst_low = std::max(worst_low, std::abs(low[c][y][x] - (sum / 4 / 127.5 - 1.0)));
          }
      QVERIFY2(worst_high < 1e-6, QByteArray::number(worst_high).constData());
      QVERIFY2(worst_low < 1e-6, QByteArray::number(worst_low).constData());
    }

    // A loader reading the 64 cache gives the same images as the pairs, position for position.
    t2i::data::BatchOptions batch_options;
    batch_options.batch_size = 4;
    batch_options.image_size = 64;
    batch_options.prefetch = 0;
    t2i::data::BatchLoader loader(data, t2i::data::Split::Train, batch_options);
    const t2i::data::Batch batch = loader.batch_at(0);
    QCOMPARE(batch.images.size(-1), std::int64_t{64});
    std::vector<std::size_t> batch_positions;
    for (std::int64_t i = 0; i < 4; ++i) batch_positions.push_back(static_cast<std::size_t>(batch.image_index[i].item<std::int64_t>()));
    QVERIFY(torch::equal(t2i::data::image_pairs(*data, t2i::data::Split::Train, batch_positions, 64, 32).high, batch.images));

    VERIFY_CONTAINS(error_of([&] { t2i::data::image_pairs(*data, t2i::data::Split::Train, {0}, 64, 24); }),
                    "24 does not divide the image size 64");
    VERIFY_CONTAINS(error_of([&] { t2i::data::image_pairs(*data, t2i::data::Split::Train, {train.size()}, 64, 32); }),
                    "does not exist");

    // Preparing again reuses both caches; the extra size does not change the manifest's hash.
    QVERIFY(t2i::data::prepare({dataset.source}, path_in(dir, "cache"), options).reused);
    options.extra_sizes.clear();
    const auto single = t2i::data::prepare({dataset.source}, path_in(dir, "single"), options);
    QCOMPARE(single.manifest_hash, prepared.manifest_hash);
  }

  void singleSizePreparedFoldersStillLoad() {
    // A folder prepared at one size, its manifest stamped 1.1 as before extra caches existed:
    // it opens as before, with S its only size.
    QTemporaryDir dir;
    t2i::data::DemoOptions demo;
    demo.images = 8;
    const auto dataset = t2i::data::make_demo_dataset(path_in(dir, "demo"), demo);
    t2i::data::PrepareOptions options;
    options.image_size = 16;
    const auto prepared = t2i::data::prepare({dataset.source}, path_in(dir, "cache"), options);
    std::vector<std::uint8_t> bytes = read_bytes(prepared.manifest_file);
    std::string text(bytes.begin(), bytes.end());
    QVERIFY(!contains(text, "extra_caches"));
    const auto version = text.find("\"format_version\": \"1.2\"");
    QVERIFY(version != std::string::npos);
    text.replace(version, 23, "\"format_version\": \"1.1\"");
    t2i::test::write_file(prepared.manifest_file, text);
    const auto data = t2i::data::PreparedDataset::open(path_in(dir, "cache"));
    QCOMPARE(data->image_sizes(), std::vector<int>{16});
    QCOMPARE(data->manifest_hash(), prepared.manifest_hash);
    VERIFY_CONTAINS(error_of([&] { (void)data->cache(32); }), "no images cached at size 32 (prepared at 16)");

    // An extra cache gone missing is named when the folder opens.
    options.extra_sizes = {32};
    const auto two = t2i::data::prepare({dataset.source}, path_in(dir, "two"), options);
    std::filesystem::remove(two.extra_cache_files[0]);
    VERIFY_CONTAINS(error_of([&] { t2i::data::PreparedDataset::open(path_in(dir, "two")); }), "images-s32.t2icache");
  }

  void batchesAreDeterministic() {
    QTemporaryDir dir;
    t2i::data::DemoOptions demo;
    demo.images = 48;
    const auto dataset = t2i::data::make_demo_dataset(path_in(dir, "demo"), demo);
    t2i::data::PrepareOptions prepare;
    prepare.image_size = 16;
    const auto prepared = t2i::data::prepare({dataset.source}, path_in(dir, "cache"), prepare);
    const auto data = t2i::data::PreparedDataset::open(prepared.cache_dir);
    const auto& train = data->images(t2i::data::Split::Train);
    QCOMPARE(train.size(), std::size_t{36});

    t2i::data::BatchOptions options;
    options.batch_size = 6;
    options.seed = 5;
    auto take = [&](int prefetch, std::uint64_t seed, int count, bool slow) {
      t2i::data::BatchOptions o = options;
      o.prefetch = prefetch;
      o.seed = seed;
      t2i::data::BatchLoader loader(data, t2i::data::Split::Train, o);
      std::vector<t2i::data::Batch> batches;
      for (int i = 0; i < count; ++i) {
        if (slow) std::this_thread::sleep_for(std::chrono::milliseconds(3));
        batches.push_back(*loader.next());
      }
      return batches;
    };
    const auto a = take(3, 5, 14, false);
    const auto b = take(0, 5, 14, false);
    const auto c = take(1, 5, 14, true);
    const auto other = take(2, 6, 14, false);
    bool differs = false;
    for (std::size_t i = 0; i < a.size(); ++i) {
      QCOMPARE(a[i].index, static_cast<std::int64_t>(i));
      QVERIFY(torch::equal(a[i].images, b[i].images) && torch::equal(a[i].images, c[i].images));
      QVERIFY(torch::equal(a[i].caption_index, b[i].caption_index) && torch::equal(a[i].caption_index, c[i].caption_index));
      differs = differs || !torch::equal(a[i].image_index, other[i].image_index);
    }
    QVERIFY(differs);

    // Epochs: 6 batches of 6 cover the 36 training images once each, reshuffled per epoch.
    std::vector<std::int64_t> epoch0, epoch1;
    std::map<std::int64_t, std::set<std::int64_t>> captions_seen;
    for (std::size_t i = 0; i < 12; ++i) {
      auto& epoch = i < 6 ? epoch0 : epoch1;
      QCOMPARE(a[i].epoch, static_cast<std::int64_t>(i / 6));
      for (std::int64_t k = 0; k < 6; ++k) {
        const std::int64_t position = a[i].image_index[k].item<std::int64_t>();
        epoch.push_back(position);
        const std::int64_t caption = a[i].caption_index[k].item<std::int64_t>();
        const auto& allowed = train[static_cast<std::size_t>(position)].captions;
        QVERIFY(std::find(allowed.begin(), allowed.end(), static_cast<std::size_t>(caption)) != allowed.end());
        captions_seen[position].insert(caption);
        // Pixels: the cache's bytes mapped to [−1, 1].
        const std::uint8_t* pixels = data->cache().pixels(train[static_cast<std::size_t>(position)].slot);
        const torch::Tensor expected = torch::from_blob(const_cast<std::uint8_t*>(pixels), {16, 16, 3}, torch::kUInt8)
                                           .permute({2, 0, 1}).to(torch::kFloat32) / 127.5 - 1;
        QVERIFY(torch::allclose(a[i].images[k], expected, 0, 1e-6));
      }
    }
    QVERIFY(epoch0 != epoch1);
    std::sort(epoch0.begin(), epoch0.end());
    std::sort(epoch1.begin(), epoch1.end());
    std::vector<std::int64_t> all(36);
    std::iota(all.begin(), all.end(), 0);
    QCOMPARE(epoch0, all);
    QCOMPARE(epoch1, all);
    QVERIFY(std::any_of(captions_seen.begin(), captions_seen.end(), [](const auto& kv) { return kv.second.size() > 1; }));

    // Resuming at batch k gives what batch k was.
    t2i::data::BatchOptions resume = options;
    resume.first_batch = 9;
    t2i::data::BatchLoader resumed(data, t2i::data::Split::Train, resume);
    QVERIFY(torch::equal(resumed.next()->images, a[9].images));
    QVERIFY(torch::equal(resumed.batch_at(3).caption_index, a[3].caption_index));

    // Flip: every sample is the image or its mirror, and both happen.
    t2i::data::BatchOptions flip = options;
    flip.horizontal_flip = true;
    t2i::data::BatchLoader flipping(data, t2i::data::Split::Train, flip);
    int mirrored = 0, straight = 0;
    for (int i = 0; i < 6; ++i) {
      const auto batch = *flipping.next();
      const auto plain = flipping.batch_at(batch.index);
      for (std::int64_t k = 0; k < 6; ++k) {
        const std::int64_t position = batch.image_index[k].item<std::int64_t>();
        const std::uint8_t* pixels = data->cache().pixels(train[static_cast<std::size_t>(position)].slot);
        const torch::Tensor image = torch::from_blob(const_cast<std::uint8_t*>(pixels), {16, 16, 3}, torch::kUInt8)
                                        .permute({2, 0, 1}).to(torch::kFloat32) / 127.5 - 1;
        if (torch::allclose(batch.images[k], image, 0, 1e-6)) ++straight;
        else if (torch::allclose(batch.images[k], image.flip({2}), 0, 1e-6)) ++mirrored;
        else QFAIL("a sample is neither the image nor its mirror");
      }
      QVERIFY(torch::equal(plain.images, batch.images));
    }
    QVERIFY(mirrored > 0 && straight > 0);

    // Cancel and destruction while the queue is full end promptly.
    t2i::job::CancelToken cancel;
    t2i::data::BatchOptions cancellable = options;
    cancellable.prefetch = 4;
    cancellable.cancel = &cancel;
    {
      t2i::data::BatchLoader loader(data, t2i::data::Split::Train, cancellable);
      QVERIFY(loader.next().has_value());
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
      cancel.cancel();
      QVERIFY(!loader.next().has_value());
    }
    {
      t2i::data::BatchLoader loader(data, t2i::data::Split::Val, options);
      QVERIFY(loader.next().has_value());
    }
    QVERIFY(t2i::data::BatchLoader(data, t2i::data::Split::Test, options).next().has_value());
  }

  // ---- demo dataset ---------------------------------------------------------------------------

  void demoDatasetIsDeterministicCocoLayout() {
    QTemporaryDir dir;
    t2i::data::DemoOptions options;
    options.images = 200;
    const auto first = t2i::data::make_demo_dataset(path_in(dir, "one"), options);
    QVERIFY(!first.reused);
    QCOMPARE(first.images, std::size_t{200});
    QCOMPARE(first.captions, std::size_t{1000});
    const auto set = t2i::data::load_captions(first.source.annotations, first.source.images_dir);
    QCOMPARE(set.images.size(), std::size_t{200});
    std::vector<Image> tiles;
    for (std::size_t i = 0; i < set.images.size(); ++i) {
      QCOMPARE(set.images[i].captions.size(), std::size_t{5});
      std::set<std::string> distinct;
      for (std::size_t c : set.images[i].captions) distinct.insert(set.captions[c]);
      QVERIFY(distinct.size() >= 4);  // several phrasings
      const Image image = t2i::data::decode_image_file(set.image_path(i));
      QCOMPARE(image.width, 32);
      QCOMPARE(image.height, 32);
      if (i < 64) tiles.push_back(image);
    }
    write_contact_sheet(tiles, 8, 4, QStringLiteral("data_demo_32px.png"));
    const auto second = t2i::data::make_demo_dataset(path_in(dir, "two"), options);
    QCOMPARE(read_bytes(second.source.annotations), read_bytes(first.source.annotations));
    for (const char* name : {"demo_000001.png", "demo_000100.png", "demo_000200.png"})
      QCOMPARE(read_bytes((fs::path(second.source.images_dir) / name).string()), read_bytes((fs::path(first.source.images_dir) / name).string()));
    QVERIFY(t2i::data::make_demo_dataset(path_in(dir, "one"), options).reused);
    options.seed = 1;
    const auto reseeded = t2i::data::make_demo_dataset(path_in(dir, "one"), options);
    QVERIFY(!reseeded.reused);
    QVERIFY(read_bytes(reseeded.source.annotations) != read_bytes(second.source.annotations));

    // Variety: every colour, shape, size, place and relation occurs.
    std::set<std::string> words;
    for (const std::string& caption : set.captions) {
      std::istringstream in(caption);
      for (std::string w; in >> w;) words.insert(w);
    }
    for (const char* w : {"red", "orange", "yellow", "green", "blue", "purple", "circle", "square", "triangle", "small",
                          "large", "above", "below", "left", "right", "top", "bottom"})
      QVERIFY2(words.count(w) == 1, w);
  }

  void demoCheckerAcceptsTheGeneratorsImages() {
    for (int size : {32, 64}) {
      int checked = 0;
      for (std::uint64_t i = 0; i < 250; ++i) {
        t2i::data::StableRng rng(t2i::data::mix64(7, i));
        const auto scene = t2i::data::demo::random_scene(rng);
        const Image image = t2i::data::demo::draw_scene(scene, size);
        for (const std::string& caption : t2i::data::demo::describe_scene(scene, 6, rng)) {
          const auto check = t2i::data::check_demo_image(image.rgb.data(), size, size, caption);
          QVERIFY2(check.match(), qPrintable(QStringLiteral("size %1, scene %2: '%3': %4").arg(size).arg(i).arg(QString::fromStdString(caption), QString::fromStdString(check.detail))));
          ++checked;
        }
      }
      QCOMPARE(checked, 1500);
    }
    // Tensor inputs: a model's [3, H, W] output in [−1, 1] and uint8 HWC.
    t2i::data::StableRng rng(3);
    const auto scene = t2i::data::demo::random_scene(rng);
    const Image image = t2i::data::demo::draw_scene(scene, 32);
    const std::string caption = t2i::data::demo::describe_scene(scene, 1, rng)[0];
    const torch::Tensor hwc = torch::from_blob(const_cast<std::uint8_t*>(image.rgb.data()), {32, 32, 3}, torch::kUInt8).clone();
    QVERIFY(t2i::data::demo::check_image(hwc, caption).match());
    QVERIFY(t2i::data::demo::check_image(hwc.permute({2, 0, 1}).to(torch::kFloat32) / 127.5 - 1, caption).match());
    const auto blank = t2i::data::demo::check_image(torch::zeros({3, 32, 32}), caption);
    QVERIFY(blank.parsed && !blank.colour_ok && !blank.match());
    QVERIFY(!t2i::data::check_demo_image(image.rgb.data(), 32, 32, "a man riding a horse").parsed);
  }

  // The grain measure: 0 on every rendered scene, and the standard deviation of grey noise added
  // to one (a closed form: the sample std of the noise drawn, away from the objects).
  void demoBackgroundNoiseMeasuresGrain() {
    for (std::uint64_t i = 0; i < 200; ++i) {
      t2i::data::StableRng rng(t2i::data::mix64(13, i));
      const Image image = t2i::data::demo::draw_scene(t2i::data::demo::random_scene(rng), 32);
      QCOMPARE(t2i::data::demo_background_noise(image.rgb.data(), 32, 32), 0.0);
    }
    t2i::data::StableRng rng(5);
    const Image clean = t2i::data::demo::draw_scene(t2i::data::demo::random_scene(rng), 32);
    for (const double level : {2.0, 6.0, 15.0}) {
      torch::manual_seed(9);
      const torch::Tensor pixels = torch::from_blob(const_cast<std::uint8_t*>(clean.rgb.data()), {32 * 32, 3}, torch::kUInt8).to(torch::kFloat64);
      const torch::Tensor grey = pixels.amax(1).sub(pixels.amin(1)).lt(1).unsqueeze(1);  // untouched background
      const torch::Tensor noise = torch::randn({32 * 32, 1}, torch::kFloat64).mul(level).expand({32 * 32, 3});
      const torch::Tensor noisy = torch::where(grey, pixels + noise, pixels).round().clamp(0, 255).to(torch::kUInt8).contiguous();
      const double measured = t2i::data::demo_background_noise(noisy.data_ptr<std::uint8_t>(), 32, 32);
      // Away from the objects the image is grey plus the noise, so the measure is that noise's std
      // (rounded to integers: + 1/12 variance), within the sampling error of ~600 pixels.
      const double expected = std::sqrt(level * level + 1.0 / 12);
      QVERIFY2(std::abs(measured - expected) < 0.12 * expected, qPrintable(QStringLiteral("noise %1: measured %2").arg(level).arg(measured)));
    }
    const std::uint8_t nothing = 0;
    QVERIFY(std::isnan(t2i::data::demo_background_noise(&nothing, 0, 0)));
  }

  void demoCheckerRejectsMismatchedCaptions() {
    const std::map<std::string, std::string> relation_swap = {{"above", "below"}, {"below", "above"}, {"over", "under"},
                                                              {"under", "over"},  {"left", "right"},  {"right", "left"}};
    const std::map<std::string, std::string> place_swap = {{"left", "right"}, {"right", "left"}, {"top", "bottom"},
                                                           {"bottom", "top"}, {"centre", "left"}, {"middle", "right"}};
    int colour_cases = 0, shape_cases = 0, layout_cases = 0, size_cases = 0;
    for (std::uint64_t i = 0; i < 300; ++i) {
      t2i::data::StableRng rng(t2i::data::mix64(11, i));
      const auto scene = t2i::data::demo::random_scene(rng);
      const Image image = t2i::data::demo::draw_scene(scene, 32);
      const std::string caption = t2i::data::demo::describe_scene(scene, 1, rng)[0];
      auto check = [&](const std::string& text) { return t2i::data::check_demo_image(image.rgb.data(), 32, 32, text); };
      const auto& objects = scene.objects;
      const std::string c0 = t2i::data::demo::info(objects[0].colour).name;
      const std::string s0 = t2i::data::demo::name(objects[0].shape);
      if (objects.size() == 2) {
        const std::string c1 = t2i::data::demo::info(objects[1].colour).name;
        const std::string s1 = t2i::data::demo::name(objects[1].shape);
        // Swapped colours: a different binding of colours to shapes, or the inverse relation.
        const auto swapped_colours = check(replace_words(caption, {{c0, c1}, {c1, c0}}));
        QVERIFY2(!swapped_colours.match(), caption.c_str());
        ++colour_cases;
        if (s0 != s1) {
          const auto swapped_shapes = check(replace_words(caption, {{s0, s1}, {s1, s0}}));
          QVERIFY2(!swapped_shapes.shape_ok && !swapped_shapes.match(), caption.c_str());
          QVERIFY(swapped_shapes.colour_ok && swapped_shapes.layout_ok);
          ++shape_cases;
        }
        const auto inverted = check(replace_words(caption, relation_swap));
        QVERIFY2(!inverted.layout_ok && !inverted.match(), caption.c_str());
        QVERIFY(inverted.colour_ok && inverted.shape_ok);
        ++layout_cases;
      } else {
        const auto moved = check(replace_words(caption, place_swap));
        QVERIFY2(!moved.layout_ok && !moved.match(), (caption + " -> " + replace_words(caption, place_swap)).c_str());
        QVERIFY(moved.colour_ok && moved.shape_ok);
        ++layout_cases;
        const std::string other = t2i::data::demo::info(objects[0].colour == t2i::data::demo::Colour::Red ? t2i::data::demo::Colour::Blue : t2i::data::demo::Colour::Red).name;
        const auto recoloured = check(replace_words(caption, {{c0, other}}));
        QVERIFY(!recoloured.colour_ok && !recoloured.match());
        ++colour_cases;
        const std::string other_shape = s0 == "circle" ? "square" : "circle";
        const auto reshaped = check(replace_words(caption, {{s0, other_shape}}));
        QVERIFY(!reshaped.shape_ok && reshaped.colour_ok && !reshaped.match());
        ++shape_cases;
        if (contains(caption, "small") || contains(caption, "large")) {
          const auto resized = check(replace_words(caption, {{"small", "large"}, {"large", "small"}}));
          QVERIFY(!resized.size_ok && resized.shape_ok && !resized.match());
          ++size_cases;
        }
      }
    }
    QVERIFY(colour_cases > 100 && shape_cases > 100 && layout_cases > 100 && size_cases > 50);
  }
};

QTEST_GUILESS_MAIN(TestData)
#include "test_data.moc"
