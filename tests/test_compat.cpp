// Files a released version wrote keep loading (design.md §9): the 0.1.0 fixture (a short run on
// the demo dataset and its float16 export, made by t2i-studio 0.1.0 and never edited since) and
// the shipped demo model load, sample and resume, also from another folder; 0.1.0's image cache
// and generated PNG read; a field added to the preset schema later reads them with its default;
// files from a newer version are refused with both versions named.
#include "test_support.h"

#include "data/image_cache.h"
#include "data/split_manifest.h"
#include "eval/reference_stats.h"
#include "io/tensor_file.h"
#include "model/checkpoint_file.h"
#include "t2i/model.h"
#include "t2i/runs.h"
#include "t2i/runtime.h"
#include "t2i/sample.h"
#include "t2i/train.h"
#include "t2i/version.h"
#include "text/embedding_cache.h"

#include <nlohmann/json.hpp>

#include <QTemporaryDir>
#include <QtTest/QtTest>

#include <filesystem>
#include <fstream>
#include <set>

namespace fs = std::filesystem;
using namespace t2i;

namespace {

const fs::path kFixture = fs::path(T2I_SOURCE_DIR) / "tests" / "fixtures" / "0.1.0";

/// The fixture's run folder copied (or moved, as a user would) to `dir`/`name`.
std::string copied_run(const QTemporaryDir& dir, const char* name) {
  const fs::path target = fs::path(dir.path().toStdString()) / name;
  fs::copy(kFixture / "run", target, fs::copy_options::recursive);
  return target.string();
}

std::int64_t stored_step(const std::string& checkpoint) { return model::read_checkpoint_meta(checkpoint).at("step").get<std::int64_t>(); }

std::string latest_step_checkpoint(const std::string& run_dir) {
  std::string latest;
  for (const auto& entry : fs::directory_iterator(fs::path(run_dir) / "checkpoints"))
    if (entry.path().filename().string().rfind("step_", 0) == 0 && entry.path().string() > latest) latest = entry.path().string();
  return latest;
}

nlohmann::json raw_checkpoint_meta(const std::string& path) {
  return nlohmann::json::parse(io::load_safetensors_metadata(path).at("t2i"));
}

struct Recorder : train::Observer {
  std::vector<train::StepMetrics> steps;
  void on_step(const train::StepMetrics& m) override { steps.push_back(m); }
};

using test::CliRun;
using test::expect_error;
using test::runCli;

std::string read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

/// The image cache 0.1.0 wrote and the sources it cached, slot by slot.
const fs::path kImageCacheDir = kFixture / "image-cache";
const std::string kImageCache = (kImageCacheDir / "images.t2icache").string();
const std::vector<data::CacheSource> kImageCacheSources{{(kImageCacheDir / "red.png").string(), "0:red.png"},
                                                        {(kImageCacheDir / "broken.png").string(), "0:broken.png"}};
constexpr int kImageCacheSize = 4;

/// A copy of the fixture's image cache at `dir`/`name`, with each patch's bytes written over it at
/// the patch's offset.
std::string patched_image_cache(const QTemporaryDir& dir, const char* name,
                                const std::vector<std::pair<std::size_t, std::string>>& patches = {}) {
  const std::string path = dir.filePath(QString::fromUtf8(name)).toStdString();
  std::string content = read_file(kImageCache);
  for (const auto& [offset, bytes] : patches) content.replace(offset, bytes.size(), bytes);
  std::ofstream(path, std::ios::binary) << content;
  return path;
}

/// The 0.1.0 PNG fixture's generation metadata as `t2i sample` wrote it.
const std::map<std::string, std::string> kSampleKeys{
    {"prompt", "a red circle above a blue square"}, {"seed", "3"}, {"cfg", "5"}, {"steps", "8"}, {"sampler", "ddim"},
    {"thresholding", "dynamic"}, {"preset", "tiny-demo"}, {"software", "t2i-studio"}};

} // namespace

class TestCompat : public QObject {
  Q_OBJECT
private Q_SLOTS:
  void initTestCase() {
    runtime::initialize();
    QVERIFY2(fs::is_directory(kFixture / "run" / "checkpoints"), kFixture.c_str());
  }

  void fixtureIsFromBeforeVersions() {
    // Guards the fixture itself: it must stay what 0.1.0 wrote (no version field anywhere).
    const auto meta = raw_checkpoint_meta(latest_step_checkpoint((kFixture / "run").string()));
    QCOMPARE(meta.at("format").get<std::string>(), std::string("t2i-studio-checkpoint/1"));
    QVERIFY(!meta.contains("format_version"));
    QVERIFY(nlohmann::json::parse(meta.at("preset_json").get<std::string>()).count("format_version") == 0);
    QVERIFY(nlohmann::json::parse(read_file(kFixture / "run" / "config.json")).count("format_version") == 0);
  }

  void oldAndShippedModelsLoadAndSample() {
    const std::string run = (kFixture / "run").string();
    const std::vector<std::string> models{latest_step_checkpoint(run), run + "/checkpoints/best.safetensors",
                                          (kFixture / "export-fp16.safetensors").string(),
                                          std::string(T2I_SOURCE_DIR) + "/resources/demo/demo.safetensors"};
    for (const std::string& path : models) {
      sample::Generator generator(path);
      QVERIFY2(generator.info().image_size > 0, path.c_str());
      sample::Request request;
      request.prompts = {"a red circle above a blue square"};
      request.seeds = {3};
      request.steps = 4;
      request.guidance = generator.info().default_guidance;
      const auto images = generator.generate(request);
      QCOMPARE(images.size(), size_t{1});
      QCOMPARE(images[0].width, generator.info().image_size);
      QCOMPARE(images[0].rgb.size(), size_t(3 * images[0].width * images[0].height));
      const std::set<std::uint8_t> levels(images[0].rgb.begin(), images[0].rgb.end());
      QVERIFY2(levels.size() > 1, path.c_str());  // an image, not a blank
    }
  }

  void oldCheckpointIsUpgradedOnRead() {
    const auto meta = model::read_checkpoint_meta(latest_step_checkpoint((kFixture / "run").string()));
    QVERIFY(!meta.contains("format"));
    QVERIFY(!meta.at("options").contains("run_dir"));  // 1.0's absolute path into the run folder
    QVERIFY(meta.at("options").at("data").at("demo").get<bool>());
  }

  void movedRunResumesAndTrainsFurther() {
    QTemporaryDir dir;
    const std::string run = copied_run(dir, "moved");
    const std::int64_t step = stored_step(latest_step_checkpoint(run));
    train::TrainOptions options = train::stored_options(run);
    QCOMPARE(options.run_dir, run);
    QVERIFY(options.resume);
    QVERIFY(options.data.demo);
    options.max_steps = step + 3;
    options.probe_gallery = false;  // 0.1.0 had none; test_probe_gallery tests it
    // Its config has no stage (run config 2.2 added it): its preset's sizes tell.
    QCOMPARE(train::summarize_run(run).stage, std::string("base 32"));
    Recorder events;
    const train::Summary summary = train::run(options, events);
    QCOMPARE(summary.steps, step + 3);
    QCOMPARE(events.steps.front().step, step + 1);
    QVERIFY(std::isfinite(events.steps.back().train_loss));

    const std::string latest = latest_step_checkpoint(run);
    QCOMPARE(stored_step(latest), step + 3);
    const auto meta = raw_checkpoint_meta(latest);
    QCOMPARE(meta.at("format_version").get<std::string>(), std::string("2.1"));
    QCOMPARE(meta.at("written_by").get<std::string>(), std::string("t2i-studio ") + kVersion);

    // Its metrics, old and new, still read (and plot): every step once, previews found here.
    const train::History history = train::read_history(run);
    QCOMPARE(history.steps.size(), static_cast<size_t>(step + 3));
    QVERIFY(!history.evals.empty());
    QVERIFY(!history.previews.empty());
    for (const auto& [preview_step, path] : history.previews)
      QVERIFY2(fs::exists(path) && path.rfind(run, 0) == 0, path.c_str());
    const auto config = nlohmann::json::parse(history.config_json);
    QCOMPARE(config.at("format_version").get<std::string>(), std::string("2.2"));
    QVERIFY(!config.at("options").contains("run_dir"));
    QCOMPARE(config.at("stage"), nlohmann::json({{"kind", "base"}, {"image_size", 32}}));
    QCOMPARE(train::summarize_run(run).stage, std::string("base 32"));
  }

  void movedRunResumesFromTheCommandLineAlone() {
    QTemporaryDir dir;
    const std::string run = copied_run(dir, "copy");
    const std::int64_t step = stored_step(latest_step_checkpoint(run));
    const std::int64_t limit = train::stored_options(run).max_steps;
    QVERIFY2(limit > step, "the fixture run was interrupted before its step limit");
    // Only --no-probes besides: the gallery is an output, not part of what the run needs from its
    // folder, and sampling it at each of the 6 evaluations left would be most of this test's time.
    const CliRun result = runCli({QStringLiteral("train"), QStringLiteral("--out"), QString::fromStdString(run),
                                  QStringLiteral("--resume"), QStringLiteral("--no-probes")});
    QVERIFY2(result.exitCode == 0, qPrintable(result.err));
    QVERIFY2(result.out.contains(QStringLiteral("stopped after %1 steps: max steps").arg(limit)), qPrintable(result.out));
    QCOMPARE(stored_step(latest_step_checkpoint(run)), limit);
  }

  void flagGivenAgainOverridesWithANote() {
    QTemporaryDir dir;
    const std::string run = copied_run(dir, "override");
    const std::int64_t step = stored_step(latest_step_checkpoint(run));
    const CliRun result = runCli({QStringLiteral("train"), QStringLiteral("--out"), QString::fromStdString(run),
                                  QStringLiteral("--resume"), QStringLiteral("--max-steps"), QString::number(step + 1),
                                  QStringLiteral("--no-probes")});
    QVERIFY2(result.exitCode == 0, qPrintable(result.err));
    QVERIFY2(result.err.contains(QStringLiteral("note: --max-steps given again")), qPrintable(result.err));
    QVERIFY2(result.out.contains(QStringLiteral("stopped after %1 steps").arg(step + 1)), qPrintable(result.out));
  }

  void fieldAddedLaterReadsOldFilesWithItsDefault() {
    // A test-only schema: the real one plus a field a later version might add.
    double min_snr_gamma = -1;
    std::vector<model::PresetField> schema = model::preset_schema();
    model::PresetField added;
    added.key = "training.min_snr_gamma";
    added.type = model::FieldType::Number;
    added.min = 0;
    added.max = 100;
    added.fallback = 5.0;
    added.get = [&](const model::Preset&) { return model::PresetValue{min_snr_gamma}; };
    added.set = [&](model::Preset&, const model::PresetValue& v) { min_snr_gamma = std::get<double>(v); };
    schema.push_back(added);

    const std::string checkpoint = latest_step_checkpoint((kFixture / "run").string());
    const std::string stored = model::read_checkpoint_meta(checkpoint).at("preset_json").get<std::string>();
    const model::PresetReading reading = model::read_preset(stored, checkpoint, schema);
    QCOMPARE(min_snr_gamma, 5.0);
    QVERIFY(reading.warnings.empty());
    QCOMPARE(model::preset_to_json(reading.preset), model::preset_to_json(model::parse_preset(stored, checkpoint)));

    auto newer = nlohmann::json::parse(stored);
    newer["training"]["min_snr_gamma"] = 2.5;
    model::read_preset(newer.dump(), "newer", schema);
    QCOMPARE(min_snr_gamma, 2.5);
  }

  void newerFilesAreRefusedNamingBothVersions() {
    QTemporaryDir dir;
    const std::string path = dir.filePath(QStringLiteral("from-the-future.safetensors")).toStdString();
    io::save_safetensors(path, {{"model/x", torch::zeros({2})}},
                         {{"t2i", R"({"format_version": "3.0", "written_by": "t2i-studio 9.1.0", "step": 1})"}});
    expect_error([&] { model::read_checkpoint(path); },
                 {path, "written by t2i-studio 9.1.0", "checkpoint format 3.0", std::string("this is t2i-studio ") + kVersion});

    auto preset = nlohmann::json::parse(read_file(model::find_preset("demo").path));
    preset["format_version"] = "3.0";
    expect_error([&] { model::parse_preset(preset.dump(), "future.json"); },
                 {"future.json", "preset format 3.0", std::string("this is t2i-studio ") + kVersion, "up to 2.x"});

    // A newer minor version only adds fields: read, with a warning naming each.
    preset["format_version"] = "2.7";
    preset["unet"]["wavelets"] = true;
    const model::PresetReading reading = model::read_preset(preset.dump(), "newer-minor.json");
    QCOMPARE(reading.warnings.size(), size_t{1});
    QVERIFY2(reading.warnings[0].find("'unet.wavelets'") != std::string::npos, reading.warnings[0].c_str());
    QCOMPARE(reading.preset.name, std::string("demo"));
  }

  void newerCachesAndStatisticsAreNamedNotMisread() {
    QTemporaryDir dir;
    const std::string future = R"("format_version": "4.0", "written_by": "t2i-studio 9.1.0")";
    const std::vector<std::string> named{"written by t2i-studio 9.1.0", std::string("this is t2i-studio ") + kVersion};

    const std::string manifest = dir.filePath(QStringLiteral("manifest.json")).toStdString();
    std::ofstream(manifest) << R"({"format": "t2i-data-manifest", )" << future << "}";
    expect_error([&] { data::read_manifest(manifest); }, {manifest, "data manifest format 4.0", named[0], named[1]});

    const std::string cache = dir.filePath(QStringLiteral("text.f16")).toStdString();
    std::ofstream(cache) << "";
    std::ofstream(cache + ".index") << R"({"format": "t2i-text-embedding-cache", )" << future << "}";
    expect_error([&] { text::EmbeddingCache::open(cache); }, {cache, "text-embedding cache format 4.0", named[0]});

    const std::string stats = dir.filePath(QStringLiteral("stats.safetensors")).toStdString();
    io::save_safetensors(stats, {{"mu", torch::zeros({2}, torch::kFloat64)}, {"sigma", torch::eye(2, torch::kFloat64)}},
                         {{"format", eval::kStatsFormat}, {"format_version", "4.0"}, {"written_by", "t2i-studio 9.1.0"},
                          {"identity", "x"}, {"inception_weights_hash", "h"}, {"count", "5"}});
    expect_error([&] { eval::load_reference_stats(stats); }, {stats, "FID statistics format 4.0", named[0], named[1]});
    QVERIFY(eval::peek_reference_stats(stats).identity.empty());  // a cache: computed again, not misread
  }

  void imageCacheOf010IsReadAndReused() {
    // Guards the fixture itself: 0.1.0's header said u32 version 1 and left the writer bytes zero.
    const std::string bytes = read_file(kImageCache);
    QCOMPARE(bytes.substr(8, 4), std::string("\x01\0\0\0", 4));
    QCOMPARE(bytes.substr(56, 8), std::string(8, '\0'));

    const auto cache = data::ImageCache::open(kImageCache);
    QCOMPARE(cache->image_size(), kImageCacheSize);
    QCOMPARE(cache->count(), kImageCacheSources.size());
    QVERIFY(cache->complete());
    QVERIFY(cache->status(0) == data::SlotStatus::Ok);
    QVERIFY(cache->status(1) == data::SlotStatus::NotAnImage);
    const std::uint8_t* red = cache->pixels(0);
    for (std::size_t i = 0; i < cache->bytes_per_image(); i += 3)
      QVERIFY(red[i] == 255 && red[i + 1] == 0 && red[i + 2] == 0);

    // Preparing the same images again reuses it as it is.
    QTemporaryDir dir;
    const std::string copy = patched_image_cache(dir, "images.t2icache");
    const data::CacheBuildResult result = data::build_image_cache(copy, kImageCacheSources, kImageCacheSize);
    QVERIFY2(result.outcome == data::CacheBuildResult::Outcome::Reused, result.rebuilt_because.c_str());
    QVERIFY(result.rebuilt_because.empty());
    QCOMPARE(read_file(copy), bytes);
  }

  void newerImageCacheIsNamedAndRebuilt() {
    QTemporaryDir dir;
    // Format 2.1 (u16 major, u16 minor), written by "9.1.0": refused naming both versions.
    const std::string future =
        patched_image_cache(dir, "future.t2icache", {{8, std::string("\x02\0\x01\0", 4)}, {56, "9.1.0"}});
    expect_error([&] { data::ImageCache::open(future); },
                 {future, "written by t2i-studio 9.1.0", "image cache format 2.1",
                  std::string("this is t2i-studio ") + kVersion, "up to 1.x", "run `t2i data prepare` again"});

    // Preparing rebuilds it, saying why, as this version's cache of the same images.
    const data::CacheBuildResult result = data::build_image_cache(future, kImageCacheSources, kImageCacheSize);
    QVERIFY(result.outcome == data::CacheBuildResult::Outcome::Built);
    QVERIFY2(result.rebuilt_because.find(future + ": written by t2i-studio 9.1.0 (image cache format 2.1)") == 0,
             result.rebuilt_because.c_str());
    const std::string rebuilt = read_file(future);
    QCOMPARE(rebuilt.substr(8, 4), std::string("\x01\0\0\0", 4));  // 1.0: t2i-studio 0.1.0 reads it too
    QCOMPARE(rebuilt.substr(56, 8).c_str(), kVersion);
    const std::string fixture = read_file(kImageCache);
    QCOMPARE(rebuilt.substr(64), fixture.substr(64));
    QVERIFY(data::ImageCache::open(future)->status(0) == data::SlotStatus::Ok);

    // A newer minor version only adds what this build may skip: read as it is.
    const std::string minor = patched_image_cache(dir, "minor.t2icache", {{10, std::string("\x03\0", 2)}});
    QCOMPARE(data::ImageCache::open(minor)->count(), kImageCacheSources.size());
  }

  void generatedPngOf010StillReads() {
    const std::string png = (kFixture / "sample.png").string();
    std::map<std::string, std::string> text;
    const t2i::Image image = sample::read_png(png, &text);
    QCOMPARE(image.width, 32);
    QVERIFY(text.count("format_version") == 0 && text.count("written_by") == 0);  // the fixture is 0.1.0's
    const std::map<std::string, std::string> read = sample::upgrade_metadata(text, png);
    for (const auto& [key, value] : kSampleKeys) QCOMPARE(QString::fromStdString(read.at(key)), QString::fromStdString(value));
    QVERIFY(read.count("checkpoint_hash") == 1 && read.count("checkpoint_step") == 1);
  }

  void generatedPngMetadataIsVersioned() {
    sample::Generator generator((kFixture / "export-fp16.safetensors").string());
    sample::Request request;
    request.prompts = {"a red circle above a blue square"};
    request.seeds = {3};
    std::map<std::string, std::string> text = generator.metadata(request, 0);
    QCOMPARE(QString::fromStdString(text.at("format_version")), QStringLiteral("1.4"));
    QCOMPARE(text.at("written_by"), std::string("t2i-studio ") + kVersion);
    const auto read = sample::upgrade_metadata(text, "now.png");
    QVERIFY(read.count("format_version") == 0 && read.count("written_by") == 0);
    QCOMPARE(read.at("prompt"), request.prompts[0]);

    text["format_version"] = "2.0";
    text["written_by"] = "t2i-studio 9.1.0";
    expect_error([&] { sample::upgrade_metadata(text, "future.png"); },
                 {"future.png", "written by t2i-studio 9.1.0", "image metadata format 2.0",
                  std::string("this is t2i-studio ") + kVersion, "up to 1.x"});

    // Another program's text is not this format, whatever it says.
    const std::map<std::string, std::string> other{{"software", "GIMP"}, {"format_version", "7.0"}};
    QVERIFY(sample::upgrade_metadata(other, "other.png") == other);
  }

  void preset20ReadsAsTheBaseModelItWas() {
    // demo.json as format 2.0 wrote it, before 2.1 added the super-resolution fields: it reads
    // as the same base model, every new field at its default.
    const auto path = fs::path(T2I_SOURCE_DIR) / "tests" / "fixtures" / "preset-2.0" / "demo-preset.json";
    const model::PresetReading reading = model::read_preset(read_file(path), path.string());
    QVERIFY(reading.warnings.empty());
    const model::Preset& old = reading.preset;
    QVERIFY(!old.super_resolution());
    QCOMPARE(old.unet.low_res_size, 0);
    QVERIFY(!old.unet.skip_scale);
    QVERIFY(old.unet.level_res_blocks.empty());
    QCOMPARE(old.training.aug_max, 0.999);
    QCOMPARE(model::preset_to_json(old), model::preset_to_json(model::find_preset("demo")));
  }

  void presetsShowAndSchema() {
    QTemporaryDir dir;
    auto sparse = nlohmann::json::parse(read_file(model::find_preset("small").path));
    sparse.erase("training");
    sparse.erase("description");
    sparse["unet"].erase("dropout");
    const std::string file = dir.filePath(QStringLiteral("sparse.json")).toStdString();
    std::ofstream(file) << sparse.dump(2);

    const CliRun show = runCli({QStringLiteral("presets"), QStringLiteral("show"), QString::fromStdString(file)});
    QVERIFY2(show.exitCode == 0, qPrintable(show.err));
    const auto shown = nlohmann::json::parse(show.out.toStdString());
    for (const model::PresetField& field : model::preset_schema()) {
      const nlohmann::json* node = &shown;
      for (std::size_t start = 0, dot = 0; dot != std::string::npos; start = dot + 1) {
        dot = field.key.find('.', start);
        node = &node->at(field.key.substr(start, dot == std::string::npos ? dot : dot - start));
      }
      if (!field.required && !sparse.contains(field.key.substr(0, field.key.find('.'))))
        QCOMPARE(QString::fromStdString(node->dump()), QString::fromStdString(model::preset_value_text(field.fallback)));
    }
    QCOMPARE(shown.at("training").at("beta2").get<double>(), 0.99);

    const CliRun schema = runCli({QStringLiteral("presets"), QStringLiteral("schema")});
    QCOMPARE(schema.exitCode, 0);
    for (const model::PresetField& field : model::preset_schema())
      QVERIFY2(schema.out.contains(QStringLiteral("| `%1` |").arg(QString::fromStdString(field.key))), field.key.c_str());
    // The copy the README links is this output, so it cannot drift from the schema.
    QCOMPARE(QString::fromStdString(read_file(fs::path(T2I_SOURCE_DIR) / "presets" / "schema.md")), schema.out);
  }

  void badPresetIsRejectedWithTheCoresMessage() {
    QTemporaryDir dir;
    auto preset = nlohmann::json::parse(read_file(model::find_preset("demo").path));
    preset["unet"]["heads"] = 0;
    const std::string file = dir.filePath(QStringLiteral("bad.json")).toStdString();
    std::ofstream(file) << preset.dump(2);
    std::string message;
    try {
      model::load_preset(file);
    } catch (const std::exception& e) {
      message = e.what();
    }
    QVERIFY2(message.find("'unet.heads'") != std::string::npos && message.find("[1, 128]") != std::string::npos,
             message.c_str());
    const CliRun show = runCli({QStringLiteral("presets"), QStringLiteral("show"), QString::fromStdString(file)});
    QVERIFY(show.exitCode != 0);
    QVERIFY2(show.err.contains(QString::fromStdString(message)), qPrintable(show.err));
  }
};

QTEST_GUILESS_MAIN(TestCompat)
#include "test_compat.moc"
