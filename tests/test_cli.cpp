// The `t2i` executable as a user runs it: its informational commands, and the chain a user
// runs headless (make the demo data, train, sample, export, evaluate, FID), each output checked
// against what the core's facade gives for the same request.
#include "run_fixture.h"
#include "test_support.h"
#include "tiny_cascade.h"
#include "tiny_preset.h"

#include "io/tensor_file.h"
#include "t2i/data.h"
#include "t2i/evaluate.h"
#include "t2i/runs.h"
#include "t2i/runtime.h"
#include "t2i/sample.h"
#include "t2i/train.h"
#include "t2i/version.h"

#include <nlohmann/json.hpp>

#include <QDir>
#include <QProcess>
#include <QTemporaryDir>
#include <QtTest/QtTest>

#include <filesystem>
#include <fstream>
#include <tuple>

namespace {

using Run = t2i::test::CliRun;

/// One command-line argument, from a literal or a QString; implicit, so a call reads like the
/// command line it runs.
struct Arg {
  Arg(const char* literal) : text(QString::fromUtf8(literal)) {}
  Arg(QString string) : text(std::move(string)) {}
  QString text;
};

Run runCli(std::initializer_list<Arg> arguments) {
  QStringList list;
  for (const Arg& argument : arguments) list << argument.text;
  return t2i::test::runCli(list, 300000);
}

QString q(const std::string& text) { return QString::fromStdString(text); }

QByteArray fileBytes(const QString& path) {
  QFile file(path);
  return file.open(QIODevice::ReadOnly) ? file.readAll() : QByteArray();
}

/// Same names, dtypes and values in two tensor files.
void expectSameTensors(const std::string& a, const std::string& b) {
  const t2i::io::TensorMap x = t2i::io::load_tensors(a);
  const t2i::io::TensorMap y = t2i::io::load_tensors(b);
  QCOMPARE(x.size(), y.size());
  for (const auto& [name, tensor] : x) {
    const auto other = y.find(name);
    QVERIFY2(other != y.end(), name.c_str());
    QVERIFY2(tensor.scalar_type() == other->second.scalar_type() && torch::equal(tensor, other->second), name.c_str());
  }
}

} // namespace

class TestCli : public QObject {
  Q_OBJECT
private Q_SLOTS:
  void initTestCase() { t2i::runtime::initialize(); }

  void versionPrintsProjectVersion() {
    const Run run = runCli({QStringLiteral("--version")});
    QCOMPARE(run.exitCode, 0);
    QVERIFY2(run.out.contains(QString::fromUtf8(t2i::kVersion)), qPrintable(run.out));
  }

  void helpListsSubcommands() {
    const Run run = runCli({QStringLiteral("--help")});
    QCOMPARE(run.exitCode, 0);
    for (const char* command : {"info", "bench"}) QVERIFY2(run.out.contains(QString::fromUtf8(command)), command);
  }

  void infoReportsThreadsAndBlas() {
    const Run run = runCli({QStringLiteral("info")});
    QCOMPARE(run.exitCode, 0);
    QVERIFY2(run.out.contains(QStringLiteral("Threads:")), qPrintable(run.out));
    QVERIFY2(run.out.contains(QStringLiteral("OpenBLAS")), qPrintable(run.out));
  }

  void infoJsonUsesEveryCore() {
    const Run run = runCli({QStringLiteral("info"), QStringLiteral("--json")});
    QCOMPARE(run.exitCode, 0);
    const QJsonObject json = QJsonDocument::fromJson(run.out.toUtf8()).object();
    QCOMPARE(json.value(QStringLiteral("intra_op_threads")).toInt(), json.value(QStringLiteral("cpu_cores")).toInt());
    QCOMPARE(json.value(QStringLiteral("blas_is_reference")).toBool(true), false);
  }

  void openmpWaitsSleepUnlessTheUserChoseOtherwise() {
    // The suite itself runs with OMP_WAIT_POLICY=PASSIVE; here the CLI starts without it, and once
    // with a user's own choice, which it must keep.
    const auto policyOf = [](const QString& inherited) {
      QProcessEnvironment environment = QProcessEnvironment::systemEnvironment();
      environment.remove(QStringLiteral("OMP_WAIT_POLICY"));
      if (!inherited.isEmpty()) environment.insert(QStringLiteral("OMP_WAIT_POLICY"), inherited);
      QProcess process;
      process.setProcessEnvironment(environment);
      process.start(t2i::test::cliPath(), {QStringLiteral("info"), QStringLiteral("--json")});
      if (!process.waitForFinished(120000) || process.exitCode() != 0) return QStringLiteral("(failed)");
      return QJsonDocument::fromJson(process.readAllStandardOutput()).object().value(QStringLiteral("openmp_wait_policy")).toString();
    };
    QCOMPARE(policyOf(QString()), QStringLiteral("PASSIVE"));
    QCOMPARE(policyOf(QStringLiteral("ACTIVE")), QStringLiteral("ACTIVE"));
  }

  void globalOptionsGoBeforeOrAfterTheSubcommand() {
    for (const Run& run : {runCli({"--threads", "1", "info", "--json"}), runCli({"info", "--json", "--threads", "1"})}) {
      QVERIFY2(run.exitCode == 0, qPrintable(run.err));
      QCOMPARE(QJsonDocument::fromJson(run.out.toUtf8()).object().value(QStringLiteral("intra_op_threads")).toInt(), 1);
    }
    // Two levels down, and a flag: -q silences the info log of `data make-demo`.
    QTemporaryDir dir;
    const Run loud = runCli({"data", "make-demo", "--out", dir.filePath(QStringLiteral("a")), "--n", "4"});
    const Run quiet = runCli({"data", "make-demo", "--out", dir.filePath(QStringLiteral("b")), "--n", "4", "-q"});
    QVERIFY2(loud.exitCode == 0 && quiet.exitCode == 0, qPrintable(loud.err + quiet.err));
    QVERIFY2(loud.err.contains(QStringLiteral("[info]")), qPrintable(loud.err));
    QVERIFY2(!quiet.err.contains(QStringLiteral("[info]")), qPrintable(quiet.err));
  }

  void dataPrepareCachesEverySizeOfSizes() {
    // `data prepare --sizes 16,32`: S = 16 names the manifest's cache, 32 gets its own beside it.
    QTemporaryDir dir;
    const auto at = [&](const char* name) { return dir.filePath(QString::fromLatin1(name)); };
    Run run = runCli({"data", "make-demo", "--out", at("demo"), "--n", "8", "--size", "32", "-q"});
    QVERIFY2(run.exitCode == 0, qPrintable(run.err));
    const QString annotations = at("demo/annotations/captions_demo.json");
    const QString images = at("demo/images");
    run = runCli({"data", "prepare", "--annotations", annotations, "--images", images, "--out", at("p"), "--sizes", "16,32"});
    QVERIFY2(run.exitCode == 0, qPrintable(run.err));
    QVERIFY2(run.out.contains(at("p/images-s32.t2icache")), qPrintable(run.out));
    std::ifstream file(at("p/manifest.json").toStdString());
    const nlohmann::json document = nlohmann::json::parse(file);
    QCOMPARE(document.at("image_size").get<int>(), 16);
    QCOMPARE(document.at("extra_caches").at(0).at("image_size").get<int>(), 32);
    QCOMPARE(document.at("extra_caches").at(0).at("file").get<std::string>(), std::string("images-s32.t2icache"));

    // --size and --sizes say the same thing twice; a size given twice is refused by prepare.
    run = runCli({"data", "prepare", "--annotations", annotations, "--images", images, "--out", at("q"), "--size", "16", "--sizes", "16,32"});
    QVERIFY(run.exitCode != 0);
    QVERIFY2(run.err.contains(QStringLiteral("--sizes")), qPrintable(run.err));
    run = runCli({"data", "prepare", "--annotations", annotations, "--images", images, "--out", at("q"), "--sizes", "16,16"});
    QVERIFY(run.exitCode != 0);
    QVERIFY2(run.err.contains(QStringLiteral("image size 16 is given twice")), qPrintable(run.err));
  }

  void unknownCommandFailsWithMessage() {
    const Run run = runCli({QStringLiteral("no-such-command")});
    QVERIFY(run.exitCode != 0);
    QVERIFY(!run.err.isEmpty());
  }

  void badOptionValueIsRejected() {
    const Run run = runCli({QStringLiteral("--threads"), QStringLiteral("-3"), QStringLiteral("info")});
    QVERIFY(run.exitCode != 0);
    QVERIFY2(run.err.contains(QStringLiteral("threads")), qPrintable(run.err));
  }

  void headlessChainMatchesTheFacade() {
    QTemporaryDir dir;
    const auto at = [&](const char* name) { return dir.filePath(QString::fromLatin1(name)); };

    // data make-demo: the same files as the facade writes.
    Run run = runCli({"data", "make-demo", "--out", at("cli-data"), "--n", "24", "--seed", "3"});
    QVERIFY2(run.exitCode == 0, qPrintable(run.err));
    t2i::data::DemoOptions demo;
    demo.images = 24;
    demo.seed = 3;
    const t2i::data::DemoDataset facadeData = t2i::data::make_demo_dataset(at("facade-data").toStdString(), demo);
    const QString annotations = at("cli-data") + QStringLiteral("/annotations/captions_demo.json");
    const QString images = at("cli-data") + QStringLiteral("/images");
    QVERIFY2(run.out.contains(annotations), qPrintable(run.out));
    QCOMPARE(fileBytes(annotations), fileBytes(q(facadeData.source.annotations)));
    const QStringList files = QDir(images).entryList(QDir::Files, QDir::Name);
    QCOMPARE(static_cast<std::size_t>(files.size()), facadeData.images);
    QCOMPARE(QDir(q(facadeData.source.images_dir)).entryList(QDir::Files, QDir::Name), files);
    for (const QString& file : files)
      QVERIFY2(fileBytes(images + QLatin1Char('/') + file) == fileBytes(q(facadeData.source.images_dir) + QLatin1Char('/') + file),
               qPrintable(file));

    // train --max-steps 2: the same weights, optimiser state and random states as the facade's run.
    // Both keep the default probe gallery: this is the end-to-end run of the defaults.
    const std::string preset = t2i::test::write_preset(dir, t2i::test::tiny_preset_json());
    run = runCli({"train", "--preset", q(preset), "--annotations", annotations, "--images", images, "--out", at("cli-run"),
                  "--max-steps", "2", "--seed", "5", "--bf16", "off"});
    QVERIFY2(run.exitCode == 0, qPrintable(run.err));
    QVERIFY2(run.out.contains(QStringLiteral("stopped after 2 steps: max steps")), qPrintable(run.out));
    t2i::train::TrainOptions options;
    options.preset = preset;
    options.data.annotations = annotations.toStdString();
    options.data.images_dir = images.toStdString();
    options.run_dir = at("facade-run").toStdString();
    options.max_steps = 2;
    options.seed = 5;
    options.precision = t2i::runtime::Precision::Float32;
    t2i::train::Observer quiet;
    const t2i::train::Summary summary = t2i::train::run(options, quiet);
    QCOMPARE(summary.steps, std::int64_t{2});
    const std::string checkpoint = at("cli-run").toStdString() + "/checkpoints/step_000000002.safetensors";
    QCOMPARE(std::filesystem::path(summary.last_checkpoint).filename(), std::filesystem::path(checkpoint).filename());
    QVERIFY2(run.out.contains(q(checkpoint)), qPrintable(run.out));
    const t2i::train::History cliHistory = t2i::train::read_history(at("cli-run").toStdString());
    const t2i::train::History facadeHistory = t2i::train::read_history(options.run_dir);
    QCOMPARE(cliHistory.steps.size(), size_t{2});
    for (size_t i = 0; i < 2; ++i) QCOMPARE(cliHistory.steps[i].train_loss, facadeHistory.steps[i].train_loss);
    QCOMPARE(cliHistory.evals.size(), facadeHistory.evals.size());
    QCOMPARE(cliHistory.evals.back().val_p2, facadeHistory.evals.back().val_p2);
    {
      const t2i::io::TensorMap cli = t2i::io::load_tensors(checkpoint);
      const t2i::io::TensorMap facade = t2i::io::load_tensors(summary.last_checkpoint);
      int compared = 0;
      for (const auto& [name, tensor] : cli) {
        if (name.rfind("unet/", 0) != 0 && name.rfind("ema_unet/", 0) != 0 && name.rfind("optim/", 0) != 0) continue;
        QVERIFY2(torch::equal(tensor, facade.at(name)), name.c_str());
        ++compared;
      }
      QVERIFY(compared > 0);
    }

    // sample: the facade's images for the same request, with the facade's metadata.
    run = runCli({"sample", "--checkpoint", q(checkpoint), "--prompt", "a red circle", "--cfg", "3", "--steps", "10",
                  "--seed", "11", "--n", "2", "--out", at("cli-samples")});
    QVERIFY2(run.exitCode == 0, qPrintable(run.err));
    t2i::sample::Generator generator(checkpoint);
    t2i::sample::Request request;
    request.prompts = {"a red circle", "a red circle"};
    request.seeds = {11, 12};
    request.guidance = 3;
    request.steps = 10;
    const std::vector<t2i::Image> expected = generator.generate(request);
    for (std::size_t i = 0; i < 2; ++i) {
      const QString png = at("cli-samples") + QStringLiteral("/image_%1_seed%2.png").arg(i).arg(request.seeds[i]);
      QVERIFY2(run.out.contains(png), qPrintable(run.out));
      std::map<std::string, std::string> text;
      const t2i::Image image = t2i::sample::read_png(png.toStdString(), &text);
      QVERIFY2(image.width == expected[i].width && image.rgb == expected[i].rgb, qPrintable(png));
      QVERIFY(text == generator.metadata(request, i));
    }

    // export --fp16: the facade's export, tensor for tensor.
    run = runCli({"export", "--checkpoint", q(checkpoint), "--out", at("cli-export.safetensors"), "--fp16"});
    QVERIFY2(run.exitCode == 0, qPrintable(run.err));
    t2i::sample::export_for_sampling(checkpoint, at("facade-export.safetensors").toStdString(), true);
    expectSameTensors(at("cli-export.safetensors").toStdString(), at("facade-export.safetensors").toStdString());

    // eval: the facade's guidance-scale analysis of the same checkpoint.
    run = runCli({"eval", "--checkpoint", q(checkpoint), "--cfg", "1,3", "--n", "4", "--steps", "5", "--json"});
    QVERIFY2(run.exitCode == 0, qPrintable(run.err));
    t2i::evaluate::GuidanceEvalOptions evalOptions;
    evalOptions.checkpoint = checkpoint;
    evalOptions.scales = {1.0, 3.0};
    evalOptions.samples = 4;
    evalOptions.steps = 5;
    const auto cliEval = nlohmann::json::parse(run.out.toStdString());
    const auto facadeEval = nlohmann::json::parse(t2i::evaluate::to_json(t2i::evaluate::evaluate_guidance(evalOptions)));
    QCOMPARE(cliEval.at("val_p2").get<double>(), facadeEval.at("val_p2").get<double>());
    QCOMPARE(cliEval.at("scales").size(), size_t{2});
    for (std::size_t i = 0; i < 2; ++i)
      for (const char* key : {"cfg", "fid", "kid", "demo_colour", "demo_shape", "demo_match"})
        QVERIFY2(cliEval["scales"][i][key] == facadeEval["scales"][i][key], key);

    // fid: the facade's FID between the samples and the demo images (random Inception weights:
    // the command's plumbing, not a meaningful score).
    const QString weights = t2i::test::sharedData(QStringLiteral("fid/inception-random/fid_inception_random_legacy.pth"));
    if (!QFileInfo::exists(weights)) QSKIP(qPrintable(QStringLiteral("reference data missing: %1").arg(weights)));
    run = runCli({"fid", "--weights", weights, at("cli-samples"), images, "--json"});
    QVERIFY2(run.exitCode == 0, qPrintable(run.err));
    const auto cliFid = nlohmann::json::parse(run.out.toStdString());
    const t2i::evaluate::FidReport facadeFid =
        t2i::evaluate::compare(weights.toStdString(), at("cli-samples").toStdString(), images.toStdString());
    QCOMPARE(cliFid.at("count_a").get<std::int64_t>(), std::int64_t{2});
    QCOMPARE(cliFid.at("count_b").get<std::int64_t>(), std::int64_t{24});
    QCOMPARE(cliFid.at("fid").get<double>(), facadeFid.fid.fid);
  }

  // `sample --attention-maps`: a file per word (a word met twice gets two), an index whose words
  // are the prompt's and whose shares sum to 1 at every step, and per-step maps on request;
  // `--anatomy`: a series per step within its quantities' ranges.
  void sampleWritesAttentionMapsPerWord() {
    QTemporaryDir dir;
    const QString maps = dir.filePath(QStringLiteral("maps"));
    const Run run = runCli({"--threads", "1", "sample", "--checkpoint", q(std::string(T2I_SOURCE_DIR) + "/resources/demo/demo.safetensors"),
                            "--prompt", "a red circle above a blue square", "--steps", "4", "--seed", "2", "--sampler", "ddim",
                            "--out", dir.filePath(QStringLiteral("out")), "--attention-maps", maps, "--attention-steps",
                            "--anatomy", dir.filePath(QStringLiteral("anatomy.json"))});
    QVERIFY2(run.exitCode == 0, qPrintable(run.err));
    const auto anatomy = nlohmann::json::parse(fileBytes(dir.filePath(QStringLiteral("anatomy.json"))).toStdString());
    const auto& series = anatomy.at("images").at(0).at("series");
    QCOMPARE(series.size(), std::size_t{4});
    for (const auto& step : series) {
      QVERIFY(std::abs(step.at("cosine").get<double>()) <= 1.0 + 1e-9);
      QVERIFY(step.at("delta_rms").get<double>() > 0);
      QVERIFY(step.at("clipped").get<double>() >= 0 && step.at("clipped").get<double>() <= 1);
    }
    const auto index = nlohmann::json::parse(fileBytes(maps + QStringLiteral("/index.json")).toStdString());
    QCOMPARE(index.at("steps").get<int>(), 4);
    QVERIFY(index.contains("format_version"));
    std::vector<std::string> words;
    for (const auto& word : index.at("words")) {
      words.push_back(word.at("text").get<std::string>());
      const QString file = q(word.at("file").get<std::string>());
      QVERIFY2(QFileInfo::exists(maps + QLatin1Char('/') + file), qPrintable(file));
      QVERIFY2(QFileInfo::exists(maps + QStringLiteral("/step_004/") + file), qPrintable(file));
    }
    QCOMPARE(words, (std::vector<std::string>{"a", "red", "circle", "above", "a", "blue", "square"}));
    QVERIFY(QFileInfo::exists(maps + QStringLiteral("/a-2.png")));
    QCOMPARE(index.at("per_step").size(), std::size_t{4});
    for (const auto& step : index.at("per_step")) {
      const auto& share = step.at("shares");
      const double total = share.at("words").get<double>() + share.at("end_token").get<double>() +
                           share.at("null_key").get<double>() + share.at("padding").get<double>();
      QVERIFY2(std::abs(total - 1.0) < 1e-4, qPrintable(QString::number(total)));
    }
    const Run alone = runCli({"sample", "--checkpoint", q(std::string(T2I_SOURCE_DIR) + "/resources/demo/demo.safetensors"),
                              "--prompt", "a red circle", "--out", dir.filePath(QStringLiteral("never")), "--attention-steps"});
    QVERIFY2(alone.exitCode > 0 && alone.err.contains(QStringLiteral("--attention-maps")), qPrintable(alone.err));
  }

  // `sample --neighbours` with the shipped demo model, whose training data is on no user's machine:
  // without --cache-root it says to give it; with it, the built-in demo dataset is written there
  // again (the core checks it has the manifest the model recorded) and searched.
  void sampleFindsTheShippedDemoModelsNeighbours() {
    QTemporaryDir dir;
    const std::string demo = std::string(T2I_SOURCE_DIR) + "/resources/demo/demo.safetensors";
    const Run without = runCli({"sample", "--checkpoint", q(demo), "--prompt", "a red circle", "--steps", "2",
                                "--out", dir.filePath(QStringLiteral("a")), "--neighbours", "2"});
    QVERIFY2(without.exitCode == 1 && without.err.contains(QStringLiteral("--cache-root")), qPrintable(without.err));
    const QString cache = dir.filePath(QStringLiteral("cache"));
    const Run run = runCli({"sample", "--checkpoint", q(demo), "--prompt", "a red circle", "--steps", "2", "--seed", "1",
                            "--out", dir.filePath(QStringLiteral("b")), "--neighbours", "2", "--cache-root", cache});
    QVERIFY2(run.exitCode == 0, qPrintable(run.err));
    const auto found = nlohmann::json::parse(fileBytes(dir.filePath(QStringLiteral("b/neighbours.json"))).toStdString());
    QCOMPARE(found.at("measure").get<std::string>(), std::string("pixel-l2"));
    QCOMPARE(found.at("images").at(0).at("neighbours").size(), std::size_t{2});
    QVERIFY2(q(found.at("data").get<std::string>()).startsWith(cache), qPrintable(q(found.at("data").get<std::string>())));
  }

  // Issue 27, deliverable 4: `sample --cascade` writes the last stage's images with every stage in
  // their metadata; the command line's --cfg, --steps and --sampler set the base stage. The
  // reference is the sampling facade's cascade in this process. A cascade whose stages do not
  // chain is refused naming the file and the stage.
  void sampleRunsACascade() {
    QTemporaryDir dir;
    const std::string folder = dir.path().toStdString();
    t2i::sample::CascadeStage sr_settings;
    sr_settings.steps = 3;
    sr_settings.aug = 0.1;
    const std::string file = t2i::test::write_tiny_cascade(folder, 64, sr_settings);
    const QString out = dir.filePath(QStringLiteral("out"));
    const Run run = runCli({"sample", "--cascade", q(file), "--prompt", "a red circle", "--seed", "3", "--steps", "2",
                            "--cfg", "4", "--sampler", "ddim", "--out", out});
    QVERIFY2(run.exitCode == 0, qPrintable(run.err));
    const QString png = out + QStringLiteral("/image_0_seed3.png");
    QVERIFY2(run.out.contains(png), qPrintable(run.out));
    std::map<std::string, std::string> text;
    const t2i::Image image = t2i::sample::read_png(png.toStdString(), &text);
    QCOMPARE(image.width, 64);
    QCOMPARE(text.at("cascade_stages"), std::string("2"));
    QCOMPARE(text.at("cascade_file"), file);
    QCOMPARE(text.at("stage0_cfg"), std::string("4"));
    QCOMPARE(text.at("stage0_steps"), std::string("2"));
    QCOMPARE(text.at("stage0_sampler"), std::string("ddim"));
    QCOMPARE(text.at("stage1_steps"), std::string("3"));
    QCOMPARE(text.at("stage1_aug"), std::string("0.1"));
    QCOMPARE(text.at("stage1_size"), std::string("64"));

    t2i::sample::Cascade cascade = t2i::sample::read_cascade(file);
    cascade.stages[0].guidance = 4.0;
    cascade.stages[0].steps = 2;
    cascade.stages[0].sampler = t2i::diffusion::SamplerKind::Ddim;
    t2i::sample::Generator base(cascade.stages[0].checkpoint);
    t2i::sample::Generator sr(cascade.stages[1].checkpoint);
    t2i::sample::Request request;  // as the command line made it: stages without their own take its steps and sampler
    request.prompts = {"a red circle"};
    request.seeds = {3};
    request.steps = 2;
    request.sampler = t2i::diffusion::SamplerKind::Ddim;
    const auto expected = t2i::sample::generate_cascade({&base, &sr}, cascade, file, request);
    QCOMPARE(expected.size(), std::size_t{2});
    // Another process may split its arithmetic over other threads: equal to within one level.
    int largest = 0;
    for (std::size_t i = 0; i < image.rgb.size(); ++i)
      largest = std::max(largest, std::abs(int{image.rgb[i]} - int{expected[1][0].rgb[i]}));
    QVERIFY2(largest <= 1, qPrintable(QString::number(largest)));

    // --cfg, --steps and --aug set every stage, one value per stage, over the file.
    const Run staged = runCli({"sample", "--cascade", q(file), "--prompt", "a red circle", "--seed", "3", "--steps",
                               "2,1", "--cfg", "4,2.5", "--aug", "0.3", "--out", out});
    QVERIFY2(staged.exitCode == 0, qPrintable(staged.err));
    text.clear();
    t2i::sample::read_png(png.toStdString(), &text);
    QCOMPARE(text.at("stage0_cfg"), std::string("4"));
    QCOMPARE(text.at("stage1_cfg"), std::string("2.5"));
    QCOMPARE(text.at("stage1_steps"), std::string("1"));
    QCOMPARE(text.at("stage1_aug"), std::string("0.3"));
    QVERIFY2(staged.out.contains(QStringLiteral("w = 2.5, 1 ")), qPrintable(staged.out));
    const Run tooMany = runCli({"sample", "--cascade", q(file), "--prompt", "a red circle", "--aug", "0.1,0.2", "--out", out});
    QVERIFY2(tooMany.exitCode == 2 && tooMany.err.contains(QStringLiteral("--aug: 2 values for a cascade of 2 stages")),
             qPrintable(tooMany.err));
    const Run oneModel = runCli({"sample", "--checkpoint", q(base.info().checkpoint), "--prompt", "a red circle",
                                 "--steps", "2,3", "--out", out});
    QVERIFY2(oneModel.exitCode == 2 && oneModel.err.contains(QStringLiteral("--steps: several values need --cascade")),
             qPrintable(oneModel.err));

    const std::string wrong = t2i::test::write_untrained_checkpoint(t2i::test::tiny_sr_preset_json(16, 32), folder + "/sr16.safetensors", 3);
    cascade = t2i::sample::read_cascade(file);
    cascade.stages[1].checkpoint = wrong;
    const std::string bad = folder + "/bad.json";
    t2i::sample::write_cascade(cascade, bad);
    const Run refused = runCli({"sample", "--cascade", q(bad), "--prompt", "a red circle", "--out", out});
    QVERIFY(refused.exitCode > 0);
    QVERIFY2(refused.err.contains(q(bad + ": stages[1] (sr16.safetensors")), qPrintable(refused.err));
    const Run unreadable = runCli({"sample", "--cascade", q(folder + "/sr.safetensors"), "--prompt", "a red circle", "--out", out});
    QVERIFY2(unreadable.exitCode == 2 && unreadable.err.contains(q(folder + "/sr.safetensors")), qPrintable(unreadable.err));
    const Run neither = runCli({"sample", "--prompt", "a red circle", "--out", out});
    QVERIFY2(neither.exitCode == 2 && neither.err.contains(QStringLiteral("--checkpoint or --cascade")), qPrintable(neither.err));
  }

  // `--trajectory`: one batch of the --cfg scales, written as scale × step grids whose tiles are
  // the images of `t2i sample` at each scale alone; `--swap`: A, B, their difference and both
  // word maps, B the plain image of the swapped prompt without injection; mistakes are named.
  void sampleWritesATrajectoryGridAndAWordSwap() {
    QTemporaryDir dir;
    const std::string demo = std::string(T2I_SOURCE_DIR) + "/resources/demo/demo.safetensors";
    const QString grid = dir.filePath(QStringLiteral("grid"));
    const Run run = runCli({"--threads", "1", "sample", "--checkpoint", q(demo), "--prompt", "a red circle above a blue square",
                            "--steps", "4", "--seed", "2", "--trajectory", "--cfg", "1,5", "--grid-steps", "2,4", "--out", grid});
    QVERIFY2(run.exitCode == 0, qPrintable(run.err));
    t2i::sample::Generator generator(demo);
    const int side = generator.info().image_size;
    const t2i::Image x0 = t2i::sample::read_png(QString(grid + QStringLiteral("/trajectory_x0.png")).toStdString());
    QCOMPARE(x0.width, 2 * side + 2);
    QCOMPARE(x0.height, 2 * side + 2);
    QVERIFY(QFileInfo::exists(grid + QStringLiteral("/trajectory_xt.png")));
    t2i::sample::Request request;
    request.prompts = {"a red circle above a blue square"};
    request.seeds = {2};
    request.steps = 4;
    request.guidance = 5;
    const t2i::Image five = t2i::sample::read_png(QString(grid + QStringLiteral("/image_w5.png")).toStdString());
    QCOMPARE(five.rgb, generator.generate(request).at(0).rgb);
    // The bottom-right tile (w = 5, step 4) is that generation's x̂₀ at its last step.
    t2i::Image last;
    generator.generate(request, {}, [&](const t2i::sample::StepView& view) { last = view.x0_pred.front(); });
    for (int y = 0; y < side; ++y)
      for (int x = 0; x < side; ++x)
        for (int c = 0; c < 3; ++c) QCOMPARE(x0.at(side + 2 + x, side + 2 + y)[c], last.at(x, y)[c]);

    const QString swap = dir.filePath(QStringLiteral("swap"));
    const Run swapped = runCli({"--threads", "1", "sample", "--checkpoint", q(demo), "--prompt", "a red circle above a blue square",
                                "--steps", "4", "--seed", "2", "--cfg", "5", "--swap", "red=green", "--out", swap});
    QVERIFY2(swapped.exitCode == 0, qPrintable(swapped.err));
    for (const char* file : {"/a.png", "/b.png", "/difference.png", "/maps_a/red.png", "/maps_b/green.png"})
      QVERIFY2(QFileInfo::exists(swap + QLatin1String(file)), file);
    request.prompts = {"a green circle above a blue square"};
    QCOMPARE(t2i::sample::read_png(QString(swap + QStringLiteral("/b.png")).toStdString()).rgb, generator.generate(request).at(0).rgb);

    const QList<std::pair<QStringList, QString>> refused{
        {{QStringLiteral("--swap"), QStringLiteral("purple=green")}, QStringLiteral("purple")},
        {{QStringLiteral("--swap"), QStringLiteral("red")}, QStringLiteral("FROM=TO")},
        {{QStringLiteral("--cfg"), QStringLiteral("1,5")}, QStringLiteral("--trajectory")},
        {{QStringLiteral("--inject-attention"), QStringLiteral("0.5")}, QStringLiteral("--swap")}};
    for (const auto& [setting, named] : refused) {
      const Run bad = t2i::test::runCli(QStringList{QStringLiteral("sample"), QStringLiteral("--checkpoint"), q(demo),
                                                    QStringLiteral("--prompt"), QStringLiteral("a red circle"),
                                                    QStringLiteral("--steps"), QStringLiteral("2"),
                                                    QStringLiteral("--out"), dir.filePath(QStringLiteral("bad"))} + setting);
      QVERIFY2(bad.exitCode > 0 && bad.err.contains(named), qPrintable(setting.join(QLatin1Char(' ')) + QStringLiteral(": ") + bad.err));
    }
  }

  // Prompts a new user may type: each gives an image, and what the model cannot take is named.
  void hostilePromptsGiveImagesAndNameTheProblem() {
    QTemporaryDir dir;
    const QString checkpoint = trainOneStep(dir);
    QVERIFY(!checkpoint.isEmpty());
    const auto sample = [&](const QString& prompt, const QString& out) {
      return runCli({"--threads", "1", "sample", "--checkpoint", checkpoint, "--prompt", prompt, "--steps", "2", "--seed", "1",
                     "--out", dir.filePath(out)});
    };
    for (const QString& prompt : {QString(), QStringLiteral("\U0001F534\U0001F7E6\U0001F53A")}) {
      const QString out = prompt.isEmpty() ? QStringLiteral("empty") : QStringLiteral("emoji");
      const Run run = sample(prompt, out);
      QVERIFY2(run.exitCode == 0, qPrintable(run.err));
      QVERIFY(QFileInfo::exists(dir.filePath(out + QStringLiteral("/image_0_seed1.png"))));
    }
    const Run longRun = sample(QStringLiteral("a red circle ").repeated(7693), QStringLiteral("long"));  // 100,009 characters
    QVERIFY2(longRun.exitCode == 0, qPrintable(longRun.err));
    QVERIFY2(longRun.err.contains(QStringLiteral("were truncated")), qPrintable(longRun.err));

    // Bytes that are not UTF-8 cannot travel in a QString: the shell passes them.
    QProcess shell;
    shell.start(QStringLiteral("/bin/sh"),
                {QStringLiteral("-c"), QStringLiteral("\"$0\" --threads 1 sample --checkpoint \"$1\" --prompt \"$(printf 'a red \\377\\376 circle')\" "
                                                      "--steps 2 --seed 1 --out \"$2\""),
                 t2i::test::cliPath(), checkpoint, dir.filePath(QStringLiteral("bytes"))});
    QVERIFY(shell.waitForFinished(300000));
    const QString err = QString::fromUtf8(shell.readAllStandardError());
    QVERIFY2(shell.exitStatus() == QProcess::NormalExit && shell.exitCode() == 0, qPrintable(err));
    QVERIFY2(err.contains(QStringLiteral("not valid UTF-8")), qPrintable(err));
    QVERIFY(QFileInfo::exists(dir.filePath(QStringLiteral("bytes/image_0_seed1.png"))));
  }

  // Absurd settings are refused before any work, naming the setting.
  void absurdParametersAreRefusedNamingThem() {
    QTemporaryDir dir;
    const QString checkpoint = trainOneStep(dir);
    QVERIFY(!checkpoint.isEmpty());
    const QList<QStringList> refused{{QStringLiteral("--steps"), QStringLiteral("0")},
                                     {QStringLiteral("--steps"), QStringLiteral("1000000000")},
                                     {QStringLiteral("--cfg"), QStringLiteral("-5")},
                                     {QStringLiteral("--cfg"), QStringLiteral("1e6")},
                                     {QStringLiteral("--n"), QStringLiteral("0")}};
    for (const QStringList& setting : refused) {
      const Run run = t2i::test::runCli(QStringList{QStringLiteral("sample"), QStringLiteral("--checkpoint"), checkpoint,
                                                    QStringLiteral("--prompt"), QStringLiteral("a red circle"),
                                                    QStringLiteral("--out"), dir.filePath(QStringLiteral("never"))} + setting);
      QVERIFY2(run.exitCode > 0 && run.err.contains(setting.front()) && run.err.contains(QStringLiteral("not in range")),
               qPrintable(setting.join(QLatin1Char(' ')) + QStringLiteral(": ") + run.err));
    }
    QVERIFY(!QFileInfo::exists(dir.filePath(QStringLiteral("never"))));

    // Presets with an image size of 7 or a batch of 0: the field and its range are named.
    for (const auto& [field, key, value] : {std::tuple<QString, std::string, int>{QStringLiteral("unet.image_size"), "image_size", 7},
                                            {QStringLiteral("batch_size"), "batch_size", 0}}) {
      nlohmann::json preset = t2i::test::tiny_preset_json();
      (field.startsWith(QStringLiteral("unet.")) ? preset["unet"] : preset)[key] = value;
      const std::string path = t2i::test::write_preset(dir, preset);
      const Run run = runCli({"--threads", "1", "train", "--preset", q(path), "--demo", "--demo-images", "12", "--out",
                              dir.filePath(QStringLiteral("refused")), "--max-steps", "1"});
      QVERIFY2(run.exitCode > 0 && run.err.contains(field) && run.err.contains(QStringLiteral("out of range")), qPrintable(run.err));
    }
  }

  // A super-resolution stage end to end: trained from the command line, listed with its stage,
  // and `t2i eval` of its checkpoint reports the facade's PSNR of the stage and of bicubic.
  void srStageTrainsIsListedAndIsMeasuredAgainstBicubic() {
    QTemporaryDir dir;
    const auto at = [&](const char* name) { return dir.filePath(QString::fromLatin1(name)); };
    const std::string preset = t2i::test::write_preset(dir, t2i::test::tiny_sr_preset_json());
    Run run = runCli({"train", "--preset", q(preset), "--demo", "--demo-images", "48", "--out", at("runs/sr"), "--max-steps", "1",
                      "--no-probes", "--bf16", "off"});
    QVERIFY2(run.exitCode == 0, qPrintable(run.err));
    run = runCli({"runs", "show", at("runs/sr")});
    QVERIFY2(run.exitCode == 0, qPrintable(run.err));
    QVERIFY2(run.out.contains(QStringLiteral("stage        super-resolution 16->32")), qPrintable(run.out));
    run = runCli({"runs", "list", at("runs"), "--json"});
    QVERIFY2(run.exitCode == 0, qPrintable(run.err));
    QCOMPARE(nlohmann::json::parse(run.out.toStdString()).at("runs").at(0).at("stage").get<std::string>(),
             std::string("super-resolution 16->32"));

    const std::string checkpoint = at("runs/sr").toStdString() + "/checkpoints/step_000000001.safetensors";
    run = runCli({"eval", "--checkpoint", q(checkpoint), "--n", "2", "--steps", "2", "--cfg", "2", "--json"});
    QVERIFY2(run.exitCode == 0, qPrintable(run.err));
    const nlohmann::json cli = nlohmann::json::parse(run.out.toStdString());
    t2i::evaluate::SuperResolutionEvalOptions options;
    options.checkpoint = checkpoint;
    options.split = t2i::data::Split::Val;  // t2i eval's default split
    options.images = 2;
    options.steps = 2;
    options.scales = {2.0};
    const t2i::evaluate::SuperResolutionEvalReport facade = t2i::evaluate::evaluate_super_resolution(options);
    QCOMPARE(cli.at("bicubic_psnr").get<double>(), facade.bicubic_psnr);
    QCOMPARE(cli.at("scales").at(0).at("psnr").get<double>(), facade.scales.at(0).psnr);
    QCOMPARE(cli.at("images").get<int>(), 2);
  }

  void runsListAndCompareTabulateRunsAndNameProblems() {
    QTemporaryDir dir;
    const std::string root = dir.path().toStdString();
    t2i::test::write_runs_folder(root);

    Run run = runCli({"runs", "list", q(root), "--json"});
    QVERIFY2(run.exitCode == 0, qPrintable(run.err));
    const auto listed = nlohmann::json::parse(run.out.toStdString());
    std::vector<std::string> names;
    for (const auto& r : listed.at("runs")) names.push_back(r.at("name").get<std::string>());
    QCOMPARE(names, (std::vector<std::string>{"alpha", "beta", "gamma"}));
    QCOMPARE(listed.at("skipped").size(), size_t{3});
    // alpha selects by P2 and FID: step 30 (step 20 has the lower P2 but a worse FID).
    QCOMPARE(listed.at("runs")[0].at("best").at("step").get<int>(), 30);
    QCOMPARE(listed.at("runs")[0].at("best").at("fid").get<double>(), 90.0);
    QCOMPARE(listed.at("runs")[2].at("status").get<std::string>(), std::string("interrupted"));

    run = runCli({"runs", "list", q(root)});
    QVERIFY2(run.exitCode == 0, qPrintable(run.err));
    QVERIFY2(run.out.contains(QStringLiteral("3 runs in")) && run.out.contains(QStringLiteral("skipped 3 folders")) &&
                 run.out.contains(QStringLiteral("step 30 (p2+fid)")),
             qPrintable(run.out));

    const QString alpha = q(root + "/alpha");
    const QString beta = q(root + "/beta");
    run = runCli({"runs", "compare", alpha, beta, "--json"});
    QVERIFY2(run.exitCode == 0, qPrintable(run.err));
    const auto compared = nlohmann::json::parse(run.out.toStdString());
    QCOMPARE(compared.at("metrics").at("last val P2"), nlohmann::json({0.44, 0.35}));
    QCOMPARE(compared.at("metrics").at("best step"), nlohmann::json({30.0, 20.0}));
    QCOMPARE(compared.at("metrics").at("last KID"), nlohmann::json({nullptr, 0.01}));
    std::vector<std::string> fields;
    for (const auto& [field, values] : compared.at("config_differences").items()) fields.push_back(field);
    QCOMPARE(fields, (std::vector<std::string>{"options.max_steps", "options.seed", "options.selection",
                                               "preset.training.learning_rate"}));

    run = runCli({"runs", "compare", alpha, beta});
    QVERIFY2(run.exitCode == 0, qPrintable(run.err));
    QVERIFY2(run.out.contains(QStringLiteral("config differences (4)")) &&
                 run.out.contains(QStringLiteral("preset.training.learning_rate")),
             qPrintable(run.out));

    // Errors name the path and the problem.
    run = runCli({"runs", "list", q(root + "/no-such-folder")});
    QVERIFY(run.exitCode != 0);
    QVERIFY2(run.err.contains(q(root + "/no-such-folder: no such folder")), qPrintable(run.err));
    run = runCli({"runs", "compare", alpha, q(root + "/notes")});
    QVERIFY(run.exitCode != 0);
    QVERIFY2(run.err.contains(q(root + "/notes is not a training run folder")), qPrintable(run.err));
    run = runCli({"runs", "compare", alpha, q(root + "/damaged")});
    QVERIFY(run.exitCode != 0);
    QVERIFY2(run.err.contains(q(root + "/damaged/metrics.jsonl: line 2")), qPrintable(run.err));
    run = runCli({"runs", "compare", alpha});
    QVERIFY(run.exitCode != 0);
  }

private:
  /// A one-step run of the tiny preset in `dir` (without the probe gallery, which its callers do
  /// not look at); its checkpoint, or empty (and a failure) when it fails.
  static QString trainOneStep(const QTemporaryDir& dir) {
    const std::string preset = t2i::test::write_preset(dir, t2i::test::tiny_preset_json());
    const Run run = runCli({"--threads", "1", "train", "--preset", q(preset), "--demo", "--demo-images", "12", "--out",
                            dir.filePath(QStringLiteral("run")), "--max-steps", "1", "--bf16", "off", "--no-probes"});
    if (run.exitCode != 0) {
      QTest::qFail(qPrintable(run.err), __FILE__, __LINE__);
      return {};
    }
    return dir.filePath(QStringLiteral("run/checkpoints/step_000000001.safetensors"));
  }
};

QTEST_GUILESS_MAIN(TestCli)
#include "test_cli.moc"
