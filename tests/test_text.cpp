// Text conditioning: the tokenizer against reference ids, the native T5 encoder against a
// reference implementation's per-layer outputs, the embedding cache, the learned encoder.
#include "test_support.h"

#include "io/tensor_file.h"
#include "t2i/log.h"
#include "t2i/runtime.h"
#include "text/embedding_cache.h"
#include "text/learned_encoder.h"
#include "text/t5_encoder.h"
#include "text/tokenizer.h"

#include <QTemporaryDir>
#include <QtTest/QtTest>

#include <nlohmann/json.hpp>

#include <spdlog/sinks/ostream_sink.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <numeric>
#include <random>
#include <set>
#include <sstream>

using namespace t2i;
using namespace t2i::text;
using t2i::runtime::Precision;

namespace {

namespace fs = std::filesystem;

std::string shared(const char* relative) { return test::sharedData(QString::fromUtf8(relative)).toStdString(); }

std::string read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

std::vector<std::string> split(const std::string& line, char separator) {
  std::vector<std::string> fields;
  std::stringstream stream(line);
  std::string field;
  while (std::getline(stream, field, separator)) fields.push_back(field);
  return fields;
}

double max_abs_diff(const torch::Tensor& a, const torch::Tensor& b) {
  return (a.to(torch::kFloat64) - b.to(torch::kFloat64)).abs().max().item<double>();
}

// A Hugging Face folder for the tiny reference T5: config.json and model.safetensors linked to
// the shared files (the reference data names its weights file differently).
std::string tiny_t5_folder(const QTemporaryDir& dir) {
  const fs::path folder = fs::path(dir.path().toStdString()) / "tiny-t5";
  fs::create_directories(folder);
  fs::create_symlink(shared("t5/tiny/config.json"), folder / "config.json");
  fs::create_symlink(shared("t5/tiny/tiny_t5_encoder.safetensors"), folder / "model.safetensors");
  return folder.string();
}

// Captions for the learned tokenizer: a small closed vocabulary, deterministic.
std::vector<std::string> generated_captions(int count) {
  const std::vector<std::string> subjects{"a man", "a woman", "two dogs", "a cat", "a child", "three birds", "a horse"};
  const std::vector<std::string> verbs{"sitting on", "standing near", "running across", "looking at", "playing with"};
  const std::vector<std::string> objects{"a red table", "the green field", "a wooden bench", "the old bridge",
                                         "a blue umbrella", "the snowy mountain", "a large kitchen"};
  std::mt19937 rng(7);
  std::vector<std::string> captions;
  for (int i = 0; i < count; ++i)
    captions.push_back(subjects[rng() % subjects.size()] + " " + verbs[rng() % verbs.size()] + " " +
                       objects[rng() % objects.size()]);
  return captions;
}

// Counts the encoder calls that reach a wrapped encoder (to see a cache being reused).
class CountingEncoder : public TextEncoder {
public:
  explicit CountingEncoder(TextEncoder& inner) : inner_(inner) {}
  TextCondition encode(const std::vector<std::string>& texts, std::int64_t max_len, Padding padding) override {
    calls += static_cast<int>(texts.size());
    return inner_.encode(texts, max_len, padding);
  }
  TextCondition encode_ids(const torch::Tensor& ids, const torch::Tensor& mask) override {
    calls += static_cast<int>(ids.size(0));
    return inner_.encode_ids(ids, mask);
  }
  std::int64_t width() const override { return inner_.width(); }
  std::string identity() const override { return inner_.identity(); }
  bool trainable() const override { return inner_.trainable(); }
  const Tokenizer& tokenizer() const override { return inner_.tokenizer(); }
  int calls = 0;

private:
  TextEncoder& inner_;
};

// Captures the core's log lines while alive.
class LogCapture {
public:
  LogCapture() : sink_(std::make_shared<spdlog::sinks::ostream_sink_mt>(out_)) { log::add_sink(sink_); }
  ~LogCapture() { log::remove_sink(sink_); }
  std::string text() const { return out_.str(); }
  int count(const std::string& needle) const {
    int n = 0;
    const std::string s = out_.str();
    for (auto at = s.find(needle); at != std::string::npos; at = s.find(needle, at + 1)) ++n;
    return n;
  }

private:
  std::ostringstream out_;
  spdlog::sink_ptr sink_;
};

template <typename F>
QString error_of(F&& f) {
  try {
    f();
  } catch (const std::exception& e) {
    return QString::fromStdString(e.what());
  }
  return {};
}

} // namespace

class TestText : public QObject {
  Q_OBJECT
private Q_SLOTS:
  void initTestCase() { runtime::initialize(); }

  // ---- tokenizer ----

  void tokenizerMatchesGoldenIds() {
    T2I_REQUIRE_SHARED_DATA("t5/tokenizer_golden.tsv");
    const Tokenizer tokenizer = Tokenizer::from_file(shared("t5/spiece.model"));
    QCOMPARE(tokenizer.vocab_size(), std::int64_t{32000});
    std::ifstream in(shared("t5/tokenizer_golden.tsv"));
    std::string line;
    int checked = 0;
    while (std::getline(in, line)) {
      if (line.empty() || line[0] == '#') continue;
      const auto fields = split(line, '\t');
      QVERIFY2(fields.size() >= 2, line.c_str());
      std::vector<std::int64_t> expected;
      for (const auto& id : split(fields[1], ' '))
        if (!id.empty()) expected.push_back(std::stoll(id));
      expected.push_back(kEosId);
      const TokenIds got = tokenizer.encode(fields[0], 1024);
      QVERIFY2(got.ids == expected, ("ids differ for: " + fields[0]).c_str());
      QVERIFY(!got.truncated && !got.invalid_utf8);
      ++checked;
    }
    QCOMPARE(checked, 800);
  }

  void tokenizerEdgeCases() {
    T2I_REQUIRE_SHARED_DATA("t5/spiece.model");
    const Tokenizer tokenizer = Tokenizer::from_file(shared("t5/spiece.model"));
    // Empty prompt: </s> only.
    QCOMPARE(tokenizer.encode("", 64).ids, std::vector<std::int64_t>{kEosId});
    // Over-long: cut to max_len, </s> kept last, the kept pieces are the text's first ones.
    std::string long_text;
    for (int i = 0; i < 100; ++i) long_text += "a dog runs on the beach ";
    const auto full = tokenizer.encode(long_text, 100000).ids;
    const auto cut = tokenizer.encode(long_text, 16);
    QVERIFY(cut.truncated);
    QCOMPARE(cut.ids.size(), std::size_t{16});
    QCOMPARE(cut.ids.back(), kEosId);
    QVERIFY(std::equal(cut.ids.begin(), cut.ids.end() - 1, full.begin()));
    QVERIFY_THROWS_EXCEPTION(std::invalid_argument, tokenizer.encode("x", 0));

    // Batch: padding with 0, mask at real tokens, one warning per batch however many were cut.
    LogCapture log;
    const TokenBatch batch = tokenizer.batch({long_text, "", "Hello world", long_text, long_text}, 16, Padding::Longest);
    QCOMPARE(batch.ids.sizes(), (c10::IntArrayRef{5, 16}));
    QCOMPARE(batch.truncated, std::int64_t{3});
    QCOMPARE(log.count("truncated"), 1);
    QVERIFY(log.text().find("3 of 5") != std::string::npos);
    QCOMPARE(batch.mask.sum(1).to(torch::kInt64)[1].item<std::int64_t>(), std::int64_t{1});
    QCOMPARE(batch.ids[1][0].item<std::int64_t>(), kEosId);
    QVERIFY(torch::equal(batch.ids[2].slice(0, 0, 3), torch::tensor({std::int64_t{8774}, std::int64_t{296}, kEosId})));
    QVERIFY(batch.ids.masked_select(batch.mask.logical_not()).eq(kPadId).all().item<bool>());
    const TokenBatch fixed = tokenizer.batch({"", "Hello world"}, 12, Padding::MaxLength);
    QCOMPARE(fixed.ids.sizes(), (c10::IntArrayRef{2, 12}));
    QCOMPARE(fixed.mask.sum().item<std::int64_t>(), std::int64_t{4});
  }

  void tokenizerSurvivesInvalidUtf8() {
    T2I_REQUIRE_SHARED_DATA("t5/spiece.model");
    const Tokenizer tokenizer = Tokenizer::from_file(shared("t5/spiece.model"));
    QVERIFY(is_valid_utf8("plain, h\xc3\xa9llo, \xe6\x97\xa5\xe6\x9c\xac, \xf0\x9f\x98\x80"));
    for (const std::string& bad : {std::string("caf\xc3 ok"), std::string("\xff\xfe"), std::string("\x80"),
                                  std::string("\xf0\x9f\x98"), std::string("\xc0\xaf"), std::string("\xed\xa0\x80"),
                                  std::string("\xf4\x90\x80\x80")}) {
      QVERIFY(!is_valid_utf8(bad));
      const TokenIds ids = tokenizer.encode(bad, 64);
      QVERIFY(ids.invalid_utf8);
      QCOMPARE(ids.ids.back(), kEosId);
      QVERIFY(std::find(ids.ids.begin(), ids.ids.end(), kUnkId) != ids.ids.end());
    }
    // The valid parts keep their pieces.
    const auto ok = tokenizer.encode("ok", 64).ids;
    const auto mixed = tokenizer.encode("caf\xc3 ok", 64).ids;
    QVERIFY(std::search(mixed.begin(), mixed.end(), ok.begin(), ok.end() - 1) != mixed.end());
    // Random bytes never crash and always give ids inside the vocabulary.
    std::mt19937 rng(11);
    for (int i = 0; i < 300; ++i) {
      std::string bytes(rng() % 64, '\0');
      for (char& c : bytes) c = static_cast<char>(rng() & 0xFF);
      const auto ids = tokenizer.encode(bytes, 32).ids;
      QVERIFY(!ids.empty() && ids.size() <= 32 && ids.back() == kEosId);
      for (const auto id : ids) QVERIFY(id >= 0 && id < tokenizer.vocab_size());
    }
    LogCapture log;
    tokenizer.batch({"\xff", "fine", "\xc3"}, 8, Padding::Longest);
    QCOMPARE(log.count("not valid UTF-8"), 1);
  }

  void tokenizerRejectsNonModels() {
    QTemporaryDir dir;
    const std::string path = dir.filePath(QStringLiteral("spiece.model")).toStdString();
    std::ofstream(path) << "not a model";
    const QString error = error_of([&] { Tokenizer::from_file(path); });
    QVERIFY2(error.contains(QString::fromStdString(path)), qPrintable(error));
    QVERIFY2(error_of([&] { Tokenizer::from_file(path + ".absent"); }).contains(QStringLiteral(".absent")), "missing file");
  }

  // ---- T5 ----

  void relativePositionBuckets() {
    // Closed form for 32 buckets, max distance 128: 16 per direction, 8 exact, then
    // 8 + floor(log(n/8)/log(16)·8), at most 15; keys after the query add 16.
    const auto b = relative_position_buckets(300, 32, 128);
    auto bucket = [&](std::int64_t q, std::int64_t k) { return b[q][k].item<std::int64_t>(); };
    QCOMPARE(bucket(10, 10), std::int64_t{0});
    QCOMPARE(bucket(10, 9), std::int64_t{1});
    QCOMPARE(bucket(10, 11), std::int64_t{17});
    QCOMPARE(bucket(20, 13), std::int64_t{7});
    QCOMPARE(bucket(20, 12), std::int64_t{8});
    QCOMPARE(bucket(0, 16), std::int64_t{16 + 8 + 2});   // log(2)/log(16)·8 = 2
    QCOMPARE(bucket(0, 32), std::int64_t{16 + 8 + 4});   // log(4)/log(16)·8 = 4
    QCOMPARE(bucket(0, 127), std::int64_t{16 + 15});
    QCOMPARE(bucket(0, 299), std::int64_t{31});
    QCOMPARE(bucket(299, 0), std::int64_t{15});
  }

  void t5MatchesReferencePerLayer() {
    T2I_REQUIRE_SHARED_DATA("t5/tiny/tiny_t5_golden.safetensors");
    QTemporaryDir dir;
    const auto encoder = T5Encoder::from_folder(tiny_t5_folder(dir), shared("t5/spiece.model"), Precision::Float32);
    const io::TensorMap golden = io::load_tensors(shared("t5/tiny/tiny_t5_golden.safetensors"));
    const auto inputs = nlohmann::json::parse(read_bytes(shared("t5/tiny/golden_inputs.json")));
    const auto texts = inputs.at("texts").get<std::vector<std::string>>();
    QCOMPARE(texts.size(), std::size_t{5});

    const TokenBatch tokens = encoder->tokenizer().batch(texts, 512, Padding::Longest);
    QVERIFY(torch::equal(tokens.ids, golden.at("input_ids")));
    QVERIFY(torch::equal(tokens.mask.to(torch::kInt64), golden.at("attention_mask").to(torch::kInt64)));
    QCOMPARE(tokens.ids.size(1), std::int64_t{169});

    const T5Output out = encoder->model().forward(tokens.ids, tokens.mask, /*keep_hidden_states=*/true);
    QCOMPARE(out.hidden_states.size(), std::size_t{3});
    const char* names[] = {"embeddings", "layer_0_output", "layer_1_output"};
    for (int i = 0; i < 3; ++i) {
      const double diff = max_abs_diff(out.hidden_states[static_cast<std::size_t>(i)], golden.at(names[i]));
      QVERIFY2(diff < 1e-5, qPrintable(QStringLiteral("%1: %2").arg(QString::fromUtf8(names[i])).arg(diff)));
    }
    const double final_diff = max_abs_diff(out.last_hidden_state, golden.at("last_hidden_state"));
    QVERIFY2(final_diff < 1e-5, qPrintable(QString::number(final_diff)));

    // Through the TextEncoder interface: the same values at real tokens, zeros at padding.
    const TextCondition condition = encoder->encode(texts, 512);
    QCOMPARE(condition.embeddings.sizes(), (c10::IntArrayRef{5, 169, 32}));
    QCOMPARE(condition.embeddings.scalar_type(), torch::kFloat32);
    QVERIFY(torch::equal(condition.mask, tokens.mask));
    const auto real = condition.mask.unsqueeze(-1).expand_as(condition.embeddings);
    QVERIFY(max_abs_diff(condition.embeddings.masked_select(real), golden.at("last_hidden_state").masked_select(real)) < 1e-5);
    QCOMPARE(condition.embeddings.masked_select(real.logical_not()).abs().max().item<float>(), 0.0f);
    QVERIFY(!condition.drop.any().item<bool>());
    QVERIFY(torch::equal(encoder->encode({"", "a dog"}, 16).drop.to(torch::kInt64), torch::tensor({std::int64_t{1}, std::int64_t{0}})));
  }

  void t5Bfloat16StaysCloseToReference() {
    T2I_REQUIRE_SHARED_DATA("t5/tiny/tiny_t5_golden.safetensors");
    QTemporaryDir dir;
    const auto encoder = T5Encoder::from_folder(tiny_t5_folder(dir), shared("t5/spiece.model"), Precision::BFloat16);
    const io::TensorMap golden = io::load_tensors(shared("t5/tiny/tiny_t5_golden.safetensors"));
    const auto out = encoder->model().forward(golden.at("input_ids"), golden.at("attention_mask").to(torch::kBool));
    QCOMPARE(out.last_hidden_state.scalar_type(), torch::kFloat32);
    const auto reference = golden.at("last_hidden_state");
    // bf16 keeps 8 bits of mantissa: relative errors of a few 1e-3 per matmul.
    const double relative = ((out.last_hidden_state - reference).norm() / reference.norm()).item<double>();
    QVERIFY2(relative < 3e-2, qPrintable(QString::number(relative)));
    QVERIFY(encoder->identity().find("bf16") != std::string::npos);
  }

  void gatedGeluFeedForwardFollowsItsFormula() {
    // A tiny random v1.1 (gated-GELU) encoder written as a Hugging Face folder and read back.
    QTemporaryDir dir;
    const fs::path folder = dir.path().toStdString();
    std::ofstream(folder / "config.json") << R"({"d_model": 16, "d_kv": 4, "num_heads": 2, "num_layers": 2, "d_ff": 24,
      "vocab_size": 50, "relative_attention_num_buckets": 8, "relative_attention_max_distance": 20,
      "layer_norm_epsilon": 1e-6, "feed_forward_proj": "gated-gelu"})";
    const T5Config config = T5Config::from_file((folder / "config.json").string());
    QVERIFY(config.gated_gelu);
    io::TensorMap weights = random_t5_weights(config, 5);
    torch::manual_seed(3);
    weights["encoder.block.1.layer.1.layer_norm.weight"] = torch::rand({16}) + 0.5;
    io::save_safetensors((folder / "model.safetensors").string(), weights);
    const T5Model model(config, io::load_tensors((folder / "model.safetensors").string()), "gated", Precision::Float32);

    const auto hidden = torch::randn({2, 5, 16});
    const auto got = model.feed_forward(1, hidden);
    // By hand: RMSNorm, then wo(gelu_tanh(wi_0 x) * wi_1 x), GELU's tanh form written out.
    const auto& w = weights;
    const std::string p = "encoder.block.1.layer.1.";
    const auto x = hidden / torch::sqrt(hidden.pow(2).mean(-1, true) + 1e-6) * w.at(p + "layer_norm.weight");
    const auto a = torch::matmul(x, w.at(p + "DenseReluDense.wi_0.weight").t());
    const auto gelu = 0.5 * a * (1 + torch::tanh(std::sqrt(2.0 / M_PI) * (a + 0.044715 * a.pow(3))));
    const auto expected =
        hidden + torch::matmul(gelu * torch::matmul(x, w.at(p + "DenseReluDense.wi_1.weight").t()),
                               w.at(p + "DenseReluDense.wo.weight").t());
    QVERIFY2(max_abs_diff(got, expected) < 1e-5, qPrintable(QString::number(max_abs_diff(got, expected))));

    // The whole gated model runs and keeps the padding contract: real tokens do not see padding.
    auto ids = torch::randint(3, 50, {1, 9});
    auto mask = torch::ones({1, 9}, torch::kBool);
    mask.slice(1, 6).fill_(false);
    const auto padded = model.forward(ids, mask).last_hidden_state;
    const auto short_out = model.forward(ids.slice(1, 0, 6), mask.slice(1, 0, 6)).last_hidden_state;
    QVERIFY(max_abs_diff(padded.slice(1, 0, 6), short_out) < 1e-5);
  }

  void t5WeightErrorsNameFileAndTensor() {
    T2I_REQUIRE_SHARED_DATA("t5/tiny/tiny_t5_encoder.safetensors");
    QTemporaryDir dir;
    const fs::path root = dir.path().toStdString();
    const io::TensorMap tiny = io::load_tensors(shared("t5/tiny/tiny_t5_encoder.safetensors"));
    const std::string config = read_bytes(shared("t5/tiny/config.json"));
    auto folder = [&](const std::string& name, const std::string& config_text, const io::TensorMap* weights) {
      const fs::path f = root / name;
      fs::create_directories(f);
      std::ofstream(f / "config.json") << config_text;
      if (weights) io::save_safetensors((f / "model.safetensors").string(), *weights);
      return f.string();
    };
    const std::string spm = shared("t5/spiece.model");
    auto load_error = [&](const std::string& f) {
      return error_of([&] { T5Encoder::from_folder(f, spm, Precision::Float32); });
    };

    const QString no_weights = load_error(folder("none", config, nullptr));
    QVERIFY2(no_weights.contains(QStringLiteral("no T5 weights")), qPrintable(no_weights));

    io::TensorMap missing = tiny;
    missing.erase("encoder.block.1.layer.1.DenseReluDense.wo.weight");
    const QString missing_error = load_error(folder("missing", config, &missing));
    QVERIFY2(missing_error.contains(QStringLiteral("missing/model.safetensors")) &&
                 missing_error.contains(QStringLiteral("encoder.block.1.layer.1.DenseReluDense.wo.weight")),
             qPrintable(missing_error));

    std::string wider = config;
    wider.replace(wider.find("\"d_ff\": 64"), 10, "\"d_ff\": 96");
    const QString shape_error = load_error(folder("shape", wider, &tiny));
    QVERIFY2(shape_error.contains(QStringLiteral("shape/model.safetensors")) &&
                 shape_error.contains(QStringLiteral("DenseReluDense.wi.weight")),
             qPrintable(shape_error));

    std::string gated = config;
    gated.replace(gated.find("\"relu\""), 6, "\"gated-gelu\"");
    const QString gated_error = load_error(folder("gated", gated, &tiny));
    QVERIFY2(gated_error.contains(QStringLiteral("wi_0.weight")), qPrintable(gated_error));

    std::string one_layer = config;
    one_layer.replace(one_layer.find("\"num_layers\": 2"), 15, "\"num_layers\": 1");
    const QString layers_error = load_error(folder("layers", one_layer, &tiny));
    QVERIFY2(layers_error.contains(QStringLiteral("encoder.block.1")) && layers_error.contains(QStringLiteral("num_layers")),
             qPrintable(layers_error));

    const QString json_error = load_error(folder("json", "{\"d_model\": ", &tiny));
    QVERIFY2(json_error.contains(QStringLiteral("json/config.json")), qPrintable(json_error));
    const QString proj_error = load_error(folder("proj", R"({"feed_forward_proj": "swish"})", &tiny));
    QVERIFY2(proj_error.contains(QStringLiteral("swish")), qPrintable(proj_error));
  }

  // ---- embedding cache ----

  void cacheBuildsReusesAndMatchesDirectEncoding() {
    T2I_REQUIRE_SHARED_DATA("t5/tiny/tiny_t5_encoder.safetensors");
    QTemporaryDir dir;
    const auto t5 = T5Encoder::from_folder(tiny_t5_folder(dir), shared("t5/spiece.model"), Precision::Float32);
    CountingEncoder encoder(*t5);
    std::vector<std::string> captions = cache_captions();
    const std::string path = dir.filePath(QStringLiteral("captions.cache")).toStdString();
    CacheBuildSettings settings;
    settings.max_len = 16;
    settings.batch_size = 8;
    std::vector<std::pair<std::int64_t, std::int64_t>> progress;
    t2i::job::Context job;
    job.on_progress = [&](const t2i::job::Progress& p) { progress.emplace_back(p.done, p.total); };
    const CacheBuildStats first = build_embedding_cache(encoder, captions, path, settings, job);
    QCOMPARE(first.captions, std::int64_t{45});
    QCOMPARE(first.unique, std::int64_t{42});
    QCOMPARE(first.encoded, std::int64_t{42});
    QCOMPARE(encoder.calls, 42);
    QCOMPARE(progress.size(), std::size_t{1 + 6});  // the start, then each of 6 batches
    QVERIFY(progress.front() == std::make_pair(std::int64_t{0}, std::int64_t{42}));
    QVERIFY(progress.back() == std::make_pair(std::int64_t{42}, std::int64_t{42}));
    QCOMPARE(static_cast<std::uint64_t>(fs::file_size(path)), first.bytes);

    const EmbeddingCache cache = EmbeddingCache::open(path);
    QVERIFY(cache.matches(t5->identity(), 16));
    QCOMPARE(cache.size(), std::int64_t{42});
    QCOMPARE(cache.width(), std::int64_t{32});
    const std::vector<std::string> batch(captions.begin() + 3, captions.begin() + 13);
    const TextCondition cached = cache.lookup(batch);
    const TextCondition direct = t5->encode(batch, 16);
    QVERIFY(torch::equal(cached.mask, direct.mask));
    QVERIFY(torch::equal(cached.drop, direct.drop));
    // float16 keeps 11 significant bits: |error| <= 2^-11 |x| (+ the float32 noise of other batch shapes).
    const auto bound = direct.embeddings.abs() * std::ldexp(1.0, -11) + 1e-6;
    QVERIFY((cached.embeddings - direct.embeddings).abs().le(bound).all().item<bool>());
    QCOMPARE(cache.embedding(captions[0]).scalar_type(), torch::kFloat16);
    QCOMPARE(cache.lookup({""}).drop[0].item<bool>(), true);
    const TextCondition fixed = cache.lookup(batch, Padding::MaxLength);
    QCOMPARE(fixed.embeddings.size(1), std::int64_t{16});
    const QString missing = error_of([&] { cache.lookup({"never cached"}); });
    QVERIFY2(missing.contains(QStringLiteral("never cached")) && missing.contains(QStringLiteral("captions.cache")),
             qPrintable(missing));

    // Unchanged captions: nothing is encoded and the files stay byte for byte the same.
    const std::string data_before = read_bytes(path), index_before = read_bytes(path + ".index");
    encoder.calls = 0;
    const CacheBuildStats again = build_embedding_cache(encoder, captions, path, settings);
    QCOMPARE(encoder.calls, 0);
    QCOMPARE(again.reused, std::int64_t{42});
    QCOMPARE(again.encoded, std::int64_t{0});
    QVERIFY(read_bytes(path) == data_before && read_bytes(path + ".index") == index_before);

    // One new caption: only it is encoded.
    captions.push_back("A brand new caption about a purple giraffe.");
    QCOMPARE(build_embedding_cache(encoder, captions, path, settings).encoded, std::int64_t{1});
    QCOMPARE(encoder.calls, 1);

    // Another max_len: the cache belongs to another key and is rebuilt.
    settings.max_len = 8;
    QCOMPARE(build_embedding_cache(encoder, captions, path, settings).encoded, std::int64_t{43});
    QCOMPARE(EmbeddingCache::open(path).max_len(), std::int64_t{8});
  }

  void cacheResumeGivesTheSameFiles() {
    T2I_REQUIRE_SHARED_DATA("t5/tiny/tiny_t5_encoder.safetensors");
    QTemporaryDir dir;
    const auto t5 = T5Encoder::from_folder(tiny_t5_folder(dir), shared("t5/spiece.model"), Precision::Float32);
    const std::vector<std::string> captions = cache_captions();
    const std::string whole = dir.filePath(QStringLiteral("whole.cache")).toStdString();
    const std::string resumed = dir.filePath(QStringLiteral("resumed.cache")).toStdString();
    CacheBuildSettings settings;
    settings.max_len = 16;
    settings.batch_size = 8;
    build_embedding_cache(*t5, captions, whole, settings);

    t2i::job::CancelToken cancel;
    t2i::job::Context job;
    job.cancel = &cancel;
    job.on_progress = [&](const t2i::job::Progress& p) {
      if (p.done >= 16) cancel.cancel();
    };
    const CacheBuildStats stopped = build_embedding_cache(*t5, captions, resumed, settings, job);
    QVERIFY(stopped.cancelled);
    QCOMPARE(stopped.encoded, std::int64_t{16});
    QCOMPARE(EmbeddingCache::open(resumed).size(), std::int64_t{16});

    // A batch that a killed build left half-written past the index is discarded on resume.
    std::ofstream(resumed, std::ios::binary | std::ios::app) << "half a record";
    QCOMPARE(EmbeddingCache::open(resumed).size(), std::int64_t{16});

    cancel.reset();
    const CacheBuildStats rest = build_embedding_cache(*t5, captions, resumed, settings);
    QVERIFY(!rest.cancelled);
    QCOMPARE(rest.reused, std::int64_t{16});
    QCOMPARE(rest.encoded, std::int64_t{26});
    QVERIFY(read_bytes(resumed) == read_bytes(whole));
    QVERIFY(read_bytes(resumed + ".index") == read_bytes(whole + ".index"));
  }

  void cacheRejectsCorruptionAndTrainableEncoders() {
    T2I_REQUIRE_SHARED_DATA("t5/tiny/tiny_t5_encoder.safetensors");
    QTemporaryDir dir;
    const auto t5 = T5Encoder::from_folder(tiny_t5_folder(dir), shared("t5/spiece.model"), Precision::Float32);
    const std::string path = dir.filePath(QStringLiteral("c.cache")).toStdString();
    CacheBuildSettings settings;
    settings.max_len = 16;
    build_embedding_cache(*t5, {"a cat", "a dog"}, path, settings);
    const std::uint64_t size = fs::file_size(path);
    fs::resize_file(path, size - 8);
    const QString truncated = error_of([&] { EmbeddingCache::open(path); });
    QVERIFY2(truncated.contains(QStringLiteral("c.cache")), qPrintable(truncated));
    fs::remove(path + ".index");
    QVERIFY2(error_of([&] { EmbeddingCache::open(path); }).contains(QStringLiteral("c.cache.index")), "no index");
    // A build over a damaged cache starts afresh rather than failing.
    QCOMPARE(build_embedding_cache(*t5, {"a cat", "a dog"}, path, settings).encoded, std::int64_t{2});

    LearnedTextEncoder learned(Tokenizer::from_file(shared("t5/spiece.model")), LearnedEncoderConfig{0, 16, 16, 1, 2, 2});
    QVERIFY_THROWS_EXCEPTION(std::invalid_argument, build_embedding_cache(learned, {"a cat"}, path, settings));
  }

  // ---- learned encoder ----

  void learnedTokenizerTrainsAndRoundTrips() {
    const std::vector<std::string> captions = generated_captions(300);
    const std::string model = train_caption_tokenizer(captions, {200, 0});
    QTemporaryDir dir;
    const std::string path = dir.filePath(QStringLiteral("captions.model")).toStdString();
    std::ofstream(path, std::ios::binary) << model;
    const Tokenizer from_file = Tokenizer::from_file(path);
    const Tokenizer from_bytes = Tokenizer::from_bytes(model, "trained");
    QVERIFY(from_file.vocab_size() <= 200 && from_file.vocab_size() > 3);
    QCOMPARE(from_file.piece(kPadId), std::string("<pad>"));
    QCOMPARE(from_file.piece(kEosId), std::string("</s>"));
    QCOMPARE(from_file.piece(kUnkId), std::string("<unk>"));
    for (const std::string& caption : {captions[0], captions[17], captions[299]}) {
      const auto ids = from_file.encode(caption, 64).ids;
      QCOMPARE(ids.back(), kEosId);
      QVERIFY(std::find(ids.begin(), ids.end(), kUnkId) == ids.end());
      QCOMPARE(from_bytes.encode(caption, 64).ids, ids);
      QCOMPARE(from_file.decode(ids), caption);
    }
    QCOMPARE(from_file.fingerprint(), from_bytes.fingerprint());
    QVERIFY_THROWS_EXCEPTION(std::invalid_argument, train_caption_tokenizer({"", ""}, {200, 0}));
  }

  // Captions that name different objects must differ in the objects' tokens, not in letters
  // shared with every other word: a caption tokenizer learned from a few dozen short captions
  // keeps each of their words whole (the unigram trainer spelt "fire", "photo" and "a" letter by
  // letter here).
  void learnedTokenizerKeepsCaptionWordsWhole() {
    std::vector<std::string> captions;
    std::set<std::string> words;
    for (const std::string noun : {"giraffe", "bus", "panda", "elephant", "stop sign", "fire hydrant", "sheep", "zebra"})
      for (const std::string& caption : {"a photo of a " + noun, "a " + noun, "a " + noun + " outside"}) {
        captions.push_back(caption);
        std::istringstream split(caption);
        for (std::string word; split >> word;) words.insert(word);
      }
    const Tokenizer tokenizer = Tokenizer::from_bytes(train_caption_tokenizer(captions, {512, 1}), "trained");
    for (const std::string& word : words) {
      const auto ids = tokenizer.encode(word, 16).ids;
      QVERIFY2(ids.size() == 2 && ids[0] != kUnkId, qPrintable(QStringLiteral("\"%1\" takes %2 pieces")
                                                                  .arg(QString::fromStdString(word)).arg(ids.size() - 1)));
    }
    const auto sheep = tokenizer.encode("a photo of a sheep", 16).ids;
    const auto zebra = tokenizer.encode("a photo of a zebra", 16).ids;
    QCOMPARE(sheep.size(), std::size_t{6});
    QCOMPARE(zebra.size(), sheep.size());
    QCOMPARE(std::inner_product(sheep.begin(), sheep.end(), zebra.begin(), 0, std::plus<>(), std::not_equal_to<>()), 1);
  }

  void learnedEncoderContractAndPaddingInvariance() {
    const std::vector<std::string> captions = generated_captions(300);
    torch::manual_seed(1);
    auto encoder = LearnedTextEncoder::create(captions, {200, 0}, LearnedEncoderConfig{0, 64, 32, 2, 4, 2});
    QVERIFY(encoder->trainable());
    QCOMPARE(encoder->width(), std::int64_t{32});
    const std::vector<std::string> texts{captions[1], "", captions[2]};
    const TokenBatch tokens = encoder->tokenizer().batch(texts, 64, Padding::Longest);
    QVERIFY(tokens.truncated == 0 && tokens.ids.size(1) < 64);
    const TextCondition out = encoder->encode(texts, 64);
    QCOMPARE(out.embeddings.sizes(), (c10::IntArrayRef{3, tokens.ids.size(1), 32}));
    QCOMPARE(out.embeddings.scalar_type(), torch::kFloat32);
    QVERIFY(torch::equal(out.mask, tokens.mask));
    QVERIFY(torch::equal(out.drop.to(torch::kInt64), torch::tensor({std::int64_t{0}, std::int64_t{1}, std::int64_t{0}})));

    // Padding invariance: more padding, and garbage ids at padded positions, leave real
    // positions unchanged; padded positions are zero.
    const TextCondition fixed = encoder->encode(texts, 64, Padding::MaxLength);
    QCOMPARE(fixed.embeddings.size(1), std::int64_t{64});
    const auto length = out.embeddings.size(1);
    QVERIFY(max_abs_diff(fixed.embeddings.slice(1, 0, length), out.embeddings) < 1e-5);
    QCOMPARE(fixed.embeddings.slice(1, length).abs().max().item<float>(), 0.0f);
    auto noisy_ids = tokens.ids.clone();
    noisy_ids.masked_scatter_(tokens.mask.logical_not(),
                              torch::randint(3, encoder->tokenizer().vocab_size(), {tokens.ids.numel()}));
    QVERIFY(max_abs_diff(encoder->encode_ids(noisy_ids, tokens.mask).embeddings, out.embeddings) < 1e-5);

    // Trained jointly: gradients reach the token embeddings through the output.
    encoder->encode(texts, 64).embeddings.pow(2).sum().backward();
    bool any_gradient = false;
    for (const auto& p : encoder->module()->parameters()) any_gradient |= p.grad().defined() && p.grad().abs().sum().item<double>() > 0;
    QVERIFY(any_gradient);
    QVERIFY_THROWS_EXCEPTION(std::invalid_argument, encoder->encode(texts, 65));
  }

  void learnedEncoderSavesAndLoads() {
    const std::vector<std::string> captions = generated_captions(300);
    torch::manual_seed(2);
    auto encoder = LearnedTextEncoder::create(captions, {200, 0}, LearnedEncoderConfig{0, 20, 16, 1, 2, 2});
    QTemporaryDir dir;
    const std::string path = dir.filePath(QStringLiteral("text_encoder.safetensors")).toStdString();
    encoder->save(path);
    const auto loaded = LearnedTextEncoder::load(path);
    QCOMPARE(loaded->identity(), encoder->identity());
    const std::vector<std::string> texts{captions[5], captions[6]};
    torch::NoGradGuard no_grad;
    QVERIFY(torch::equal(loaded->encode(texts, 20).embeddings, encoder->encode(texts, 20).embeddings));
    QCOMPARE(encoder->state().at("text_encoder.spm").scalar_type(), torch::kUInt8);

    io::TensorMap broken = encoder->state();
    broken.erase("text_encoder.blocks.0.fc1.weight");
    const QString error = error_of([&] { LearnedTextEncoder::from_state(broken, encoder->metadata(), "ckpt.safetensors"); });
    QVERIFY2(error.contains(QStringLiteral("ckpt.safetensors")) && error.contains(QStringLiteral("blocks.0.fc1.weight")),
             qPrintable(error));
    QVERIFY(!error_of([&] { LearnedTextEncoder::from_state(encoder->state(), {}, "ckpt.safetensors"); }).isEmpty());
  }

private:
  // 42 distinct captions from the golden file, three repeats and an empty one.
  static std::vector<std::string> cache_captions() {
    std::vector<std::string> captions;
    std::ifstream in(shared("t5/tokenizer_golden.tsv"));
    std::string line;
    while (captions.size() < 41 && std::getline(in, line))
      if (!line.empty() && line[0] != '#') captions.push_back(split(line, '\t')[0]);
    captions.push_back("");
    for (int i : {2, 7, 2}) captions.push_back(captions[static_cast<std::size_t>(i)]);
    return captions;
  }
};

QTEST_GUILESS_MAIN(TestText)
#include "test_text.moc"
