// The tensor-file reader: torch.save files against the reference values written by PyTorch,
// safetensors round trips, sharded indexes, atomic saves, and damaged files that must give a
// TensorFileError naming the file (never a crash); and the rest of the io foundation: hashes
// and device names.
#include "io/atomic_file.h"
#include "io/device.h"
#include "io/hash.h"
#include "io/tensor_file.h"

#include "t2i/runtime.h"
#include "test_support.h"

#include <QTemporaryDir>

#include <nlohmann/json.hpp>

#include <linux/capability.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <random>

using t2i::io::Metadata;
using t2i::io::TensorFileError;
using t2i::io::TensorMap;

namespace {

std::string path(const QString& file) { return file.toStdString(); }

QByteArray readAll(const QString& file) {
  QFile in(file);
  if (!in.open(QIODevice::ReadOnly)) return {};
  return in.readAll();
}

QString writeFile(const QTemporaryDir& dir, const QString& name, const QByteArray& bytes) {
  const QString file = dir.filePath(name);
  QFile out(file);
  if (!out.open(QIODevice::WriteOnly | QIODevice::Truncate) || out.write(bytes) != bytes.size()) return {};
  return file;
}

/// Loads `file` and reads every element (so a bad mapping would fault here); returns the error
/// message, empty when the file loaded, or "UNEXPECTED …" for anything but a TensorFileError.
std::string loadError(const QString& file) {
  try {
    for (const auto& [name, tensor] : t2i::io::load_tensors(path(file)))
      (void)tensor.to(torch::kFloat64).sum().item<double>();
    return {};
  } catch (const TensorFileError& error) {
    return error.what();
  } catch (const std::exception& error) {
    return std::string("UNEXPECTED exception: ") + error.what();
  }
}

bool contains(const std::string& text, const std::string& fragment) { return text.find(fragment) != std::string::npos; }

/// While alive, the calling thread has no effective capabilities, so file permissions bind root
/// as they bind any user (CAP_DAC_OVERRIDE is what lets root write into a read-only folder).
/// Capabilities are per thread on Linux, and the permitted set is kept, so they come back after.
class WithoutCapabilities {
public:
  WithoutCapabilities() {
    if (syscall(SYS_capget, &header_, saved_) != 0) return;
    __user_cap_data_struct none[2] = {saved_[0], saved_[1]};
    none[0].effective = none[1].effective = 0;
    active_ = syscall(SYS_capset, &header_, none) == 0;
  }
  ~WithoutCapabilities() {
    if (active_) syscall(SYS_capset, &header_, saved_);
  }
  WithoutCapabilities(const WithoutCapabilities&) = delete;
  WithoutCapabilities& operator=(const WithoutCapabilities&) = delete;
  bool active() const { return active_; }

private:
  __user_cap_header_struct header_{_LINUX_CAPABILITY_VERSION_3, 0};
  __user_cap_data_struct saved_[2]{};
  bool active_ = false;
};

/// The unsigned little-endian integer of `width` bytes at `at`, and its writer.
quint64 littleEndian(const QByteArray& bytes, qsizetype at, int width) {
  quint64 value = 0;
  for (int i = width - 1; i >= 0; --i) value = (value << 8) | static_cast<quint8>(bytes.at(at + i));
  return value;
}

void putLittleEndian(QByteArray& bytes, qsizetype at, int width, quint64 value) {
  for (int i = 0; i < width; ++i) bytes[at + i] = static_cast<char>(value >> (8 * i));
}

/// The JSON header of a safetensors file's bytes and where its data starts, read by hand.
std::pair<nlohmann::json, uint64_t> safetensorsHeader(const QByteArray& bytes) {
  const uint64_t length = littleEndian(bytes, 0, 8);
  return {nlohmann::json::parse(bytes.mid(8, static_cast<qsizetype>(length)).toStdString()), 8 + length};
}

/// A safetensors file written by hand: `header` verbatim, then `data_bytes` zero bytes.
QByteArray handMadeSafetensors(const std::string& header, int data_bytes) {
  QByteArray bytes(8, '\0');
  putLittleEndian(bytes, 0, 8, header.size());
  bytes.append(header.data(), static_cast<qsizetype>(header.size()));
  bytes.append(QByteArray(data_bytes, '\0'));
  return bytes;
}

const QStringList kTorchPickleFiles{QStringLiteral("statedict_zip.pth"), QStringLiteral("statedict_legacy.pth"),
                                    QStringLiteral("statedict_nested_zip.pth"),
                                    QStringLiteral("statedict_plaindict_zip.pth")};

/// One tensor of every dtype the format holds, plus 0-d, empty and non-contiguous ones.
TensorMap everyDtype() {
  torch::manual_seed(7);
  TensorMap tensors;
  tensors["f64"] = torch::randn({3, 4}, torch::kFloat64);
  tensors["f32"] = torch::randn({2, 3, 5});
  tensors["f16"] = torch::randn({7}).to(torch::kFloat16);
  tensors["bf16"] = torch::randn({4, 2}).to(torch::kBFloat16);
  tensors["i64"] = torch::randint(-(int64_t{1} << 40), int64_t{1} << 40, {5}, torch::kInt64);
  tensors["i32"] = torch::randint(-100000, 100000, {2, 2}, torch::kInt32);
  tensors["i16"] = torch::randint(-30000, 30000, {6}, torch::kInt16);
  tensors["i8"] = torch::randint(-128, 128, {9}, torch::kInt8);
  tensors["u8"] = torch::randint(0, 256, {3, 3}, torch::kUInt8);
  tensors["bool"] = torch::randint(0, 2, {11}).to(torch::kBool);
  tensors["scalar"] = torch::tensor(3.5, torch::kFloat32);
  tensors["scalar_i64"] = torch::tensor(int64_t{-42});
  tensors["empty"] = torch::empty({0}, torch::kFloat32);
  tensors["empty_2d"] = torch::empty({3, 0}, torch::kInt64);
  tensors["transposed"] = torch::arange(12, torch::kFloat32).view({3, 4}).t();
  return tensors;
}

} // namespace

class TestIo : public QObject {
  Q_OBJECT

private Q_SLOTS:
  void initTestCase() { t2i::runtime::initialize(); }

  void torchSaveFilesMatchExpected_data() {
    QTest::addColumn<QString>("file");
    for (const QString& file : kTorchPickleFiles) QTest::newRow(qPrintable(file)) << file;
  }

  void torchSaveFilesMatchExpected() {
    T2I_REQUIRE_SHARED_DATA("torch-pickle/statedict_expected.safetensors");
    QFETCH(QString, file);
    const TensorMap expected =
        t2i::io::load_tensors(path(t2i::test::sharedData(QStringLiteral("torch-pickle/statedict_expected.safetensors"))));
    const TensorMap loaded = t2i::io::load_tensors(path(t2i::test::sharedData(QStringLiteral("torch-pickle/") + file)));
    QCOMPARE(loaded.size(), expected.size());
    for (const auto& [name, want] : expected) {
      const auto found = loaded.find(name);
      QVERIFY2(found != loaded.end(), name.c_str());
      const torch::Tensor& got = found->second;
      QVERIFY2(got.sizes() == want.sizes(), name.c_str());
      const auto dtype = name == "counter" ? torch::kInt64 : name == "half.weight" ? torch::kFloat16 : torch::kFloat32;
      QVERIFY2(got.scalar_type() == dtype, name.c_str());
      QVERIFY2(torch::equal(got.to(want.scalar_type()), want), name.c_str());
    }
    QCOMPARE(loaded.at("counter").dim(), 0);
  }

  void sharedStoragesAndViews_data() { torchSaveFilesMatchExpected_data(); }

  void sharedStoragesAndViews() {
    T2I_REQUIRE_SHARED_DATA("torch-pickle/statedict_zip.pth");
    QFETCH(QString, file);
    TensorMap loaded = t2i::io::load_tensors(path(t2i::test::sharedData(QStringLiteral("torch-pickle/") + file)));
    torch::Tensor shared = loaded.at("shared.a");
    torch::Tensor transposed = loaded.at("view.transposed");
    torch::Tensor offset = loaded.at("view.offset");
    QVERIFY(!transposed.is_contiguous());
    QCOMPARE(transposed.stride(0), int64_t{1});
    QCOMPARE(transposed.stride(1), int64_t{6});
    QCOMPARE(offset.storage_offset(), int64_t{8});
    QVERIFY(torch::equal(transposed, shared.t()));
    QVERIFY(torch::equal(offset, shared.reshape(-1).narrow(0, 8, 12).view({2, 6}).narrow(1, 0, 3)));
    // One storage: writing through one tensor shows in the others (the file stays untouched:
    // the mapping is copy-on-write).
    shared.mul_(2);
    QVERIFY(torch::equal(transposed, shared.t()));
    QVERIFY(torch::equal(offset, shared.reshape(-1).narrow(0, 8, 12).view({2, 6}).narrow(1, 0, 3)));
    const TensorMap again = t2i::io::load_tensors(path(t2i::test::sharedData(QStringLiteral("torch-pickle/") + file)));
    QVERIFY(torch::equal(again.at("shared.a") * 2, shared));
  }

  void safetensorsRoundTripEveryDtype() {
    QTemporaryDir dir;
    const std::string file = path(dir.filePath(QStringLiteral("all.safetensors")));
    const TensorMap tensors = everyDtype();
    const Metadata metadata{{"format", "pt"}, {"note", "round trip"}};
    t2i::io::save_safetensors(file, tensors, metadata);

    const TensorMap loaded = t2i::io::load_tensors(file);
    QCOMPARE(loaded.size(), tensors.size());
    for (const auto& [name, tensor] : tensors) {
      const torch::Tensor& got = loaded.at(name);
      QVERIFY2(got.scalar_type() == tensor.scalar_type(), name.c_str());
      QVERIFY2(got.sizes() == tensor.sizes(), name.c_str());
      QVERIFY2(torch::equal(got, tensor), name.c_str());
    }
    QVERIFY(t2i::io::load_safetensors_metadata(file) == metadata);
    QCOMPARE(loaded.at("scalar").dim(), 0);
  }

  void safetensorsLayoutIsTheFormats() {
    // Checks the bytes against the format's definition rather than against our own reader.
    QTemporaryDir dir;
    const QString file = dir.filePath(QStringLiteral("layout.safetensors"));
    const torch::Tensor values = torch::tensor({1.5f, -2.0f, 0.25f});
    t2i::io::save_safetensors(path(file), {{"b", torch::tensor({int64_t{7}})}, {"a", values}});
    const QByteArray bytes = readAll(file);
    const auto [header, data_start] = safetensorsHeader(bytes);
    QCOMPARE(data_start % 8, uint64_t{0});
    QCOMPARE(header["a"]["dtype"].get<std::string>(), std::string("F32"));
    QCOMPARE(header["a"]["shape"], nlohmann::json::array({3}));
    const auto offsets = header["a"]["data_offsets"];
    const QByteArray data = bytes.mid(static_cast<qsizetype>(data_start + offsets[0].get<uint64_t>()),
                                      static_cast<qsizetype>(offsets[1].get<uint64_t>() - offsets[0].get<uint64_t>()));
    QCOMPARE(data, QByteArray(static_cast<const char*>(values.data_ptr()), 12));
    QCOMPARE(header["b"]["dtype"].get<std::string>(), std::string("I64"));
    QVERIFY(!header.contains("__metadata__"));

    // Every tensor of mixed widths starts aligned to its element size (readers map it in place).
    const QString mixed = dir.filePath(QStringLiteral("mixed.safetensors"));
    const TensorMap tensors = everyDtype();
    t2i::io::save_safetensors(path(mixed), tensors);
    const auto [mixed_header, mixed_start] = safetensorsHeader(readAll(mixed));
    for (const auto& [name, tensor] : tensors) {
      const uint64_t start = mixed_start + mixed_header[name]["data_offsets"][0].get<uint64_t>();
      QVERIFY2(start % static_cast<uint64_t>(tensor.element_size()) == 0, name.c_str());
    }
  }

  void loadedTensorsOutliveTheirMap() {
    QTemporaryDir dir;
    const std::string file = path(dir.filePath(QStringLiteral("keep.safetensors")));
    t2i::io::save_safetensors(file, {{"x", torch::arange(1000, torch::kFloat32)}});
    torch::Tensor kept = t2i::io::load_tensors(file).at("x");
    QVERIFY(QFile::remove(QString::fromStdString(file)));
    QCOMPARE(kept.sum().item<double>(), 999.0 * 1000.0 / 2.0);
  }

  void shardedIndex() {
    QTemporaryDir dir;
    const TensorMap first{{"encoder.a", torch::randn({4, 3})}, {"encoder.b", torch::randn({2})}};
    const TensorMap second{{"decoder.c", torch::randint(0, 9, {5}, torch::kInt64)}};
    t2i::io::save_safetensors(path(dir.filePath(QStringLiteral("model-00001-of-00002.safetensors"))), first);
    t2i::io::save_safetensors(path(dir.filePath(QStringLiteral("model-00002-of-00002.safetensors"))), second);
    const nlohmann::json index{{"metadata", {{"total_size", 100}}},
                               {"weight_map",
                                {{"encoder.a", "model-00001-of-00002.safetensors"},
                                 {"encoder.b", "model-00001-of-00002.safetensors"},
                                 {"decoder.c", "model-00002-of-00002.safetensors"}}}};
    const QString index_file = writeFile(dir, QStringLiteral("model.safetensors.index.json"),
                                         QByteArray::fromStdString(index.dump(2)));
    const TensorMap loaded = t2i::io::load_tensors(path(index_file));
    QCOMPARE(loaded.size(), size_t{3});
    QVERIFY(torch::equal(loaded.at("encoder.a"), first.at("encoder.a")));
    QVERIFY(torch::equal(loaded.at("encoder.b"), first.at("encoder.b")));
    QVERIFY(torch::equal(loaded.at("decoder.c"), second.at("decoder.c")));

    nlohmann::json missing = index;
    missing["weight_map"]["encoder.z"] = "model-00001-of-00002.safetensors";
    const QString missing_file = writeFile(dir, QStringLiteral("missing.index.json"), QByteArray::fromStdString(missing.dump()));
    const std::string error = loadError(missing_file);
    QVERIFY2(contains(error, "encoder.z") && contains(error, path(missing_file)), error.c_str());

    const nlohmann::json self{{"weight_map", {{"x", "self.index.json"}}}};
    const QString self_file = writeFile(dir, QStringLiteral("self.index.json"), QByteArray::fromStdString(self.dump()));
    QVERIFY2(contains(loadError(self_file), "index"), loadError(self_file).c_str());
  }

  void sharedModelFilesLoad() {
    T2I_REQUIRE_SHARED_DATA("t5/tiny/tiny_t5_encoder.safetensors");
    T2I_REQUIRE_SHARED_DATA("fid/inception-random/fid_inception_random_legacy.pth");
    const std::string t5_file = path(t2i::test::sharedData(QStringLiteral("t5/tiny/tiny_t5_encoder.safetensors")));
    const TensorMap t5 = t2i::io::load_tensors(t5_file);
    // 2 blocks of q, k, v, o, wi, wo and two layer norms, the relative bias, the embedding, the final norm.
    QCOMPARE(t5.size(), size_t{19});
    t2i::io::require(t5, "shared.weight", {32128, 32}, t5_file);
    t2i::io::require(t5, "encoder.block.0.layer.0.SelfAttention.relative_attention_bias.weight", {32, 4}, t5_file);
    t2i::io::require(t5, "encoder.block.1.layer.1.DenseReluDense.wi.weight", {64, 32}, t5_file);
    t2i::io::require(t5, "encoder.block.1.layer.1.DenseReluDense.wo.weight", {32, 64}, t5_file);
    t2i::io::require(t5, "encoder.final_layer_norm.weight", {32}, t5_file);

    const std::string inception_file =
        path(t2i::test::sharedData(QStringLiteral("fid/inception-random/fid_inception_random_legacy.pth")));
    const TensorMap inception = t2i::io::load_tensors(inception_file);
    t2i::io::require(inception, "Conv2d_1a_3x3.conv.weight", {32, 3, 3, 3}, inception_file);
    t2i::io::require(inception, "Mixed_7c.branch_pool.conv.weight", {192, 2048, 1, 1}, inception_file);
    t2i::io::require(inception, "fc.weight", {1008, 2048}, inception_file);
    t2i::io::require(inception, "fc.bias", {1008}, inception_file);
    const torch::Tensor tracked = t2i::io::require(inception, "Conv2d_1a_3x3.bn.num_batches_tracked", {}, inception_file);
    QVERIFY(tracked.scalar_type() == torch::kInt64);
    for (const auto& [name, tensor] : inception) {
      QVERIFY2(torch::isfinite(tensor).all().item<bool>(), name.c_str());
      if (contains(name, "running_var")) QVERIFY2((tensor > 0).all().item<bool>(), name.c_str());
    }
  }

  void requireNamesTensorAndShapes() {
    const TensorMap tensors{{"layer.weight", torch::zeros({3, 5})}};
    QVERIFY(torch::equal(t2i::io::require(tensors, "layer.weight", {3, 5}, "model.pth"), torch::zeros({3, 5})));
    try {
      t2i::io::require(tensors, "layer.weight", {5, 3}, "model.pth");
      QFAIL("a wrong shape was accepted");
    } catch (const TensorFileError& error) {
      const std::string message = error.what();
      QVERIFY2(contains(message, "model.pth") && contains(message, "layer.weight") && contains(message, "[3, 5]") &&
                   contains(message, "[5, 3]"),
               message.c_str());
    }
    try {
      t2i::io::require(tensors, "layer.bias", {3}, "model.pth");
      QFAIL("a missing tensor was accepted");
    } catch (const TensorFileError& error) {
      QVERIFY2(contains(error.what(), "model.pth") && contains(error.what(), "layer.bias"), error.what());
    }
  }

  void missingAndForeignFiles() {
    QTemporaryDir dir;
    const QString absent = dir.filePath(QStringLiteral("absent.safetensors"));
    std::string error = loadError(absent);
    QVERIFY2(contains(error, path(absent)) && contains(error, "cannot open"), error.c_str());
    const QString text = writeFile(dir, QStringLiteral("notes.pth"), QByteArrayLiteral("these are not the weights\n"));
    error = loadError(text);
    QVERIFY2(contains(error, path(text)) && contains(error, "not a recognised tensor file"), error.c_str());
    const QString empty = writeFile(dir, QStringLiteral("empty.safetensors"), {});
    error = loadError(empty);
    QVERIFY2(contains(error, path(empty)), error.c_str());
    error = loadError(dir.path());
    QVERIFY2(contains(error, path(dir.path())) && contains(error, "not a regular file"), error.c_str());
  }

  void damagedSafetensors_data() {
    QTest::addColumn<QByteArray>("bytes");
    QTest::addColumn<QString>("expected");
    const std::string x = R"("x":{"dtype":"F32","shape":[2,2],"data_offsets":)";
    QByteArray huge_length = handMadeSafetensors("{" + x + "[0,16]}}", 16);
    for (int i = 0; i < 8; ++i) huge_length[i] = '\xff';
    QTest::newRow("huge header length") << huge_length << QStringLiteral("header length");
    QTest::newRow("huge data offsets") << handMadeSafetensors("{" + x + "[0,9223372036854775807]}}", 16)
                                       << QStringLiteral("outside");
    QTest::newRow("offsets past the end") << handMadeSafetensors("{" + x + "[0,32]}}", 16) << QStringLiteral("outside");
    QTest::newRow("size mismatch") << handMadeSafetensors("{" + x + "[0,12]}}", 16) << QStringLiteral("need 16");
    QTest::newRow("end before start") << handMadeSafetensors("{" + x + "[16,0]}}", 16) << QStringLiteral("ends before");
    QTest::newRow("overlap") << handMadeSafetensors("{" + x + R"([0,16]},"y":{"dtype":"F32","shape":[2,2],"data_offsets":[8,24]}})", 24)
                             << QStringLiteral("overlap");
    QTest::newRow("huge shape") << handMadeSafetensors(R"({"x":{"dtype":"F32","shape":[4611686018427387904,4],"data_offsets":[0,16]}})", 16)
                                << QStringLiteral("impossibly large");
    QTest::newRow("negative shape") << handMadeSafetensors(R"({"x":{"dtype":"F32","shape":[-2,-2],"data_offsets":[0,16]}})", 16)
                                    << QStringLiteral("non-negative");
    QTest::newRow("unknown dtype") << handMadeSafetensors(R"({"x":{"dtype":"F8_E4M3","shape":[16],"data_offsets":[0,16]}})", 16)
                                   << QStringLiteral("unknown or unsupported dtype 'F8_E4M3'");
    QTest::newRow("malformed JSON") << handMadeSafetensors(R"({"x":{"dtype":"F32","shape":[2,2],)", 16)
                                    << QStringLiteral("malformed JSON");
    QTest::newRow("header not an object") << handMadeSafetensors("[1,2,3]", 16) << QStringLiteral("not an object");
    QTest::newRow("missing offsets") << handMadeSafetensors(R"({"x":{"dtype":"F32","shape":[2,2]}})", 16)
                                     << QStringLiteral("data_offsets");
    QTest::newRow("metadata not strings") << handMadeSafetensors(R"({"__metadata__":{"epoch":3}})", 0)
                                          << QStringLiteral("metadata value");
    QTest::newRow("truncated header") << handMadeSafetensors("{" + x + "[0,16]}}", 16).left(20)
                                      << QStringLiteral("exceeds the file size");
  }

  void damagedSafetensors() {
    QFETCH(QByteArray, bytes);
    QFETCH(QString, expected);
    QTemporaryDir dir;
    const QString file = writeFile(dir, QStringLiteral("damaged.safetensors"), bytes);
    const std::string error = loadError(file);
    QVERIFY2(contains(error, path(file)) && contains(error, expected.toStdString()), error.c_str());
    if (contains(expected.toStdString(), "header length")) {
      try {
        t2i::io::load_safetensors_metadata(path(file));
        QFAIL("metadata of a damaged header was read");
      } catch (const TensorFileError& metadata_error) {
        QVERIFY2(contains(metadata_error.what(), path(file)), metadata_error.what());
      }
    }
  }

  void damagedTorchSaveFiles_data() {
    QTest::addColumn<QString>("source");
    QTest::addColumn<QByteArray>("bytes");
    QTest::addColumn<QString>("expected");
    const QString legacy_file = t2i::test::sharedData(QStringLiteral("torch-pickle/statedict_legacy.pth"));
    if (!QFileInfo::exists(legacy_file)) {
      // One row, so the test itself runs and skips naming the missing file (no rows would pass silently).
      QTest::newRow("reference data absent") << QString() << QByteArray() << QString();
      return;
    }
    const QByteArray legacy = readAll(legacy_file);
    const QByteArray zip = readAll(t2i::test::sharedData(QStringLiteral("torch-pickle/statedict_zip.pth")));
    // The rows below patch these files at fixed offsets: changed fixtures must fail, not drop rows.
    QVERIFY2(legacy.size() == 1260 && zip.size() == 2375,
             qPrintable(QStringLiteral("torch-pickle fixtures changed: %1 and %2 bytes").arg(legacy.size()).arg(zip.size())));
    const QString unknown_global = QStringLiteral("unsupported global 'collections.defaultdict'");
    QTest::newRow("legacy unknown global")
        << QStringLiteral("legacy") << QByteArray(legacy).replace("OrderedDict", "defaultdict") << unknown_global;
    QTest::newRow("zip unknown global")
        << QStringLiteral("zip") << QByteArray(zip).replace("OrderedDict", "defaultdict") << unknown_global;

    // The legacy preamble (magic number, protocol version, system info), then hostile main
    // pickles, each followed by an empty storage key list.
    const QByteArray preamble = legacy.left(137);
    const QByteArray no_keys = QByteArrayLiteral("\x80\x02].");
    QTest::newRow("code execution") << QStringLiteral("legacy")
                                    << preamble + QByteArrayLiteral("\x80\x02" "cposix\nsystem\nX\x02\x00\x00\x00ls\x85R.")
                                    << QStringLiteral("unsupported global 'posix.system'");
    QTest::newRow("unknown opcode") << QStringLiteral("legacy") << preamble + QByteArrayLiteral("\x80\x02(i__main__\nFoo\n.")
                                    << QStringLiteral("unsupported pickle opcode 0x69");
    QTest::newRow("memo never stored") << QStringLiteral("legacy") << preamble + QByteArrayLiteral("\x80\x02h\x07.")
                                       << QStringLiteral("memo index 7");
    QTest::newRow("stack underflow") << QStringLiteral("legacy") << preamble + QByteArrayLiteral("\x80\x02(R.")
                                     << QStringLiteral("stack underflow");
    const int depth = 200000;
    QTest::newRow("deep nesting") << QStringLiteral("legacy")
                                  << preamble + "\x80\x02" + QByteArray(depth, ']') + QByteArray(depth - 1, 'a') + "." + no_keys
                                  << QStringLiteral("holds a value of type list, not a dict of tensors");
    QTest::newRow("not a dict") << QStringLiteral("legacy") << preamble + QByteArrayLiteral("\x80\x02K\x05.") + no_keys
                                << QStringLiteral("holds a value of type int");
    QByteArray bad_magic = legacy;
    bad_magic[6] = '\x00';
    QTest::newRow("bad magic") << QStringLiteral("legacy") << bad_magic << QStringLiteral("not a recognised tensor file");

    // The storages follow the key list, which ends at offset 1008.
    QByteArray huge_storage = legacy;
    QVERIFY2(huge_storage.mid(1006, 2) == "e.", "statedict_legacy.pth: its key list no longer ends at offset 1008");
    putLittleEndian(huge_storage, 1008, 8, quint64{1} << 62);
    QTest::newRow("huge storage count") << QStringLiteral("legacy") << huge_storage
                                        << QStringLiteral("more than the file holds");

    const qsizetype end = zip.lastIndexOf("PK\x05\x06");
    const auto directory = static_cast<qsizetype>(littleEndian(zip, end + 16, 4));
    QByteArray bad_signature = zip;
    bad_signature[directory + 1] = 'X';
    QTest::newRow("zip directory signature") << QStringLiteral("zip") << bad_signature << QStringLiteral("bad signature");
    QByteArray far_directory = zip;
    putLittleEndian(far_directory, end + 16, 4, 0x7fffffff);
    QTest::newRow("zip directory offset") << QStringLiteral("zip") << far_directory << QStringLiteral("outside the file");
    QByteArray many_entries = zip;
    putLittleEndian(many_entries, end + 10, 2, 0xfffe);
    QTest::newRow("zip entry count") << QStringLiteral("zip") << many_entries << QStringLiteral("more than its size");
    QByteArray no_end = zip;
    no_end[end + 2] = 'X';
    QTest::newRow("zip without end record") << QStringLiteral("zip") << no_end << QStringLiteral("not found");
    QByteArray bad_local = zip;
    putLittleEndian(bad_local, directory + 42, 4, static_cast<quint64>(zip.size() - 10));
    QTest::newRow("zip local header offset") << QStringLiteral("zip") << bad_local
                                          << QStringLiteral("has a bad local header signature");
    QTest::newRow("zip without data.pkl") << QStringLiteral("zip") << QByteArray(zip).replace("data.pkl", "data.pkk")
                                          << QStringLiteral("without a data.pkl");
    // bn.running_var's size (4,) made (200,): the view would read past its 4-element storage.
    const auto pickle_start = static_cast<qsizetype>(30 + littleEndian(zip, 26, 2) + littleEndian(zip, 28, 2));
    QByteArray long_view = zip;
    QVERIFY2(long_view.mid(pickle_start + 656, 5) == QByteArrayLiteral("K\x00K\x04\x85"),
             "statedict_zip.pth: bn.running_var's size is no longer at the patched offset");
    long_view[pickle_start + 659] = '\xc8';
    QTest::newRow("view beyond storage") << QStringLiteral("zip") << long_view << QStringLiteral("reaches element 199");
  }

  void damagedTorchSaveFiles() {
    T2I_REQUIRE_SHARED_DATA("torch-pickle/statedict_legacy.pth");
    QFETCH(QString, source);
    QFETCH(QByteArray, bytes);
    QFETCH(QString, expected);
    QTemporaryDir dir;
    const QString file = writeFile(dir, source + QStringLiteral(".pth"), bytes);
    const std::string error = loadError(file);
    QVERIFY(!expected.isEmpty());  // an empty fragment would let any error pass
    QVERIFY2(!error.empty() && !contains(error, "UNEXPECTED"), error.c_str());
    QVERIFY2(contains(error, path(file)) && contains(error, expected.toStdString()), error.c_str());
  }

  void truncatedFilesFailCleanly() {
    QTemporaryDir dir;
    const QString generated = dir.filePath(QStringLiteral("generated.safetensors"));
    t2i::io::save_safetensors(path(generated), everyDtype(), {{"k", "v"}});
    QStringList sources{generated};
    for (const QString& name : kTorchPickleFiles + QStringList{QStringLiteral("statedict_expected.safetensors")}) {
      const QString file = t2i::test::sharedData(QStringLiteral("torch-pickle/") + name);
      if (QFileInfo::exists(file)) sources << file;
    }
    const QString cut = dir.filePath(QStringLiteral("cut.bin"));
    for (const QString& source : sources) {
      const QByteArray bytes = readAll(source);
      QVERIFY(!bytes.isEmpty());
      QVERIFY2(loadError(source).empty(), qPrintable(source));
      // Every cut inside the first headers and pickles, then every 5th byte.
      for (qsizetype length = 0; length < bytes.size(); length += length < 320 ? 1 : 5) {
        QVERIFY(!writeFile(dir, QStringLiteral("cut.bin"), bytes.left(length)).isEmpty());
        const std::string error = loadError(cut);
        QVERIFY2(!error.empty(), qPrintable(QStringLiteral("%1 cut to %2 bytes loaded").arg(source).arg(length)));
        QVERIFY2(!contains(error, "UNEXPECTED") && contains(error, path(cut)), error.c_str());
      }
    }
  }

  void flippedBytesNeverCrash() {
    QTemporaryDir dir;
    const QString generated = dir.filePath(QStringLiteral("generated.safetensors"));
    t2i::io::save_safetensors(path(generated), everyDtype(), {{"k", "v"}});
    QStringList sources{generated};
    for (const QString& name : kTorchPickleFiles + QStringList{QStringLiteral("statedict_expected.safetensors")}) {
      const QString file = t2i::test::sharedData(QStringLiteral("torch-pickle/") + name);
      if (QFileInfo::exists(file)) sources << file;
    }
    std::mt19937 random(20240501);
    const QString flipped = dir.filePath(QStringLiteral("flipped.bin"));
    int failures = 0;
    int loads = 0;
    for (const QString& source : sources) {
      const QByteArray bytes = readAll(source);
      for (int trial = 0; trial < 400; ++trial) {
        QByteArray copy = bytes;
        const int flips = 1 + static_cast<int>(random() % 3);
        for (int i = 0; i < flips; ++i)
          copy[static_cast<qsizetype>(random() % static_cast<unsigned>(copy.size()))] ^= static_cast<char>(1 + random() % 255);
        QVERIFY(!writeFile(dir, QStringLiteral("flipped.bin"), copy).isEmpty());
        const std::string error = loadError(flipped);
        QVERIFY2(!contains(error, "UNEXPECTED"), error.c_str());
        if (!error.empty()) {
          QVERIFY2(contains(error, path(flipped)), error.c_str());
          ++failures;
        }
        ++loads;
      }
    }
    qInfo("%d of %d damaged copies were rejected, the rest loaded (flipped data bytes)", failures, loads);
    QVERIFY(failures > 0);
  }

  void atomicSaveKeepsTheOldFile() {
    QTemporaryDir dir;
    const std::string file = path(dir.filePath(QStringLiteral("weights.safetensors")));
    const torch::Tensor old_values = torch::arange(6, torch::kFloat32);
    t2i::io::save_safetensors(file, {{"w", old_values}});
    const auto old_is_intact = [&] {
      const TensorMap loaded = t2i::io::load_tensors(file);
      return loaded.size() == 1 && torch::equal(loaded.at("w"), old_values);
    };
    const auto only_the_old_file_remains = [&] {
      return QDir(dir.path()).entryList(QDir::Files | QDir::Hidden) == QStringList{QStringLiteral("weights.safetensors")};
    };

    // A tensor the format cannot hold, after one it can.
    try {
      t2i::io::save_safetensors(file, {{"a", torch::ones({2})}, {"z", torch::ones({2}, torch::kComplexFloat)}});
      QFAIL("a complex tensor was saved");
    } catch (const TensorFileError& error) {
      QVERIFY2(contains(error.what(), file) && contains(error.what(), "'z'"), error.what());
    }
    QVERIFY(old_is_intact());
    QVERIFY(only_the_old_file_remains());

    // The final rename fails: the target is a non-empty folder.
    QVERIFY(QDir(dir.path()).mkpath(QStringLiteral("occupied/inside")));
    const std::string occupied = path(dir.filePath(QStringLiteral("occupied")));
    try {
      t2i::io::save_safetensors(occupied, {{"w", torch::ones({4})}});
      QFAIL("a file replaced a folder");
    } catch (const TensorFileError& error) {
      QVERIFY2(contains(error.what(), occupied) && contains(error.what(), "cannot replace"), error.what());
    }
    QVERIFY(QFileInfo(QString::fromStdString(occupied)).isDir());
    QVERIFY(only_the_old_file_remains());

    // A folder without write permission, checked as root too (CI runs as root): this thread
    // gives up the capabilities that let root write anywhere while it saves.
    const QString locked = dir.filePath(QStringLiteral("locked"));
    QVERIFY(QDir(dir.path()).mkpath(QStringLiteral("locked")));
    const std::string locked_file = path(locked + QStringLiteral("/weights.safetensors"));
    t2i::io::save_safetensors(locked_file, {{"w", old_values}});
    QVERIFY(QFile::setPermissions(locked, QFile::ReadOwner | QFile::ExeOwner));
    {
      const WithoutCapabilities unprivileged;
      QVERIFY(unprivileged.active());
      try {
        t2i::io::save_safetensors(locked_file, {{"w", torch::ones({4})}});
        QFAIL("saved into a read-only folder");
      } catch (const TensorFileError& error) {
        QVERIFY2(contains(error.what(), locked_file) && contains(error.what(), "Permission denied"), error.what());
      }
    }
    QVERIFY(torch::equal(t2i::io::load_tensors(locked_file).at("w"), old_values));
    QVERIFY(QFile::setPermissions(locked, QFile::ReadOwner | QFile::WriteOwner | QFile::ExeOwner));
    QCOMPARE(QDir(locked).entryList(QDir::Files | QDir::Hidden), QStringList{QStringLiteral("weights.safetensors")});
  }

  // A writer killed mid-write leaves its temporary (<name>.tmp-<pid>-<n>) behind: only those of
  // processes that are gone are removed; a running writer's (this process's) and other files stay.
  void abandonedTemporariesOfDeadWritersAreRemoved() {
    const pid_t child = fork();
    if (child == 0) _exit(0);
    QCOMPARE(waitpid(child, nullptr, 0), child);  // reaped: no process has its id now
    QTemporaryDir dir;
    const QString dead = QStringLiteral("w.safetensors.tmp-%1-0").arg(child);
    const QString alive = QStringLiteral("w.safetensors.tmp-%1-3").arg(getpid());
    for (const QString& name : {dead, alive, QStringLiteral("w.safetensors"), QStringLiteral("notes.tmp-draft")})
      std::ofstream(path(dir.filePath(name))) << "x";
    QCOMPARE(t2i::io::remove_abandoned_temporaries(path(dir.path())), 1);
    QCOMPARE(QDir(dir.path()).entryList(QDir::Files, QDir::Name),
             (QStringList{QStringLiteral("notes.tmp-draft"), QStringLiteral("w.safetensors"), alive}));
  }

  // Each scheme's values are stored in users' caches, manifests and PNG metadata: these are the
  // values the hashes gave before they moved into io, and must never change.
  void hashesKeepTheirStoredValues() {
    using t2i::io::Hash64;
    using t2i::io::HashScheme;
    QCOMPARE(Hash64().text("t2i").u64(42).hex(), std::string("f5cf5881f38a09b5"));
    QCOMPARE(Hash64(HashScheme::fnv1a_words).text("inception").u64(299).bytes("abcdefghij", 10).hex(),
             std::string("615a8ffffb0c4cb4"));
    QCOMPARE(Hash64(HashScheme::xxhash_rounds).text("shared.weight").bytes("abcdefghij", 10).hex(),
             std::string("1900fea9f8c03cbd"));
    QTemporaryDir dir;
    const std::string file = path(dir.filePath(QStringLiteral("checkpoint")));
    std::ofstream(file) << "a checkpoint";
    QCOMPARE(t2i::io::file_hash(file), std::string("01e191b1807125c4"));
  }

  // SHA-1 names studio 0.1.0's dataset caches: FIPS 180-2's example digests, one and two
  // blocks, the empty message, and a length whose padding needs a block of its own (56 bytes).
  void sha1MatchesTheStandardsExamples() {
    QCOMPARE(t2i::io::sha1_hex("abc"), std::string("a9993e364706816aba3e25717850c26c9cd0d89d"));
    QCOMPARE(t2i::io::sha1_hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
             std::string("84983e441c3bd26ebaae4aa1f95129e5e54670f1"));
    QCOMPARE(t2i::io::sha1_hex(""), std::string("da39a3ee5e6b4b0d3255bfef95601890afd80709"));
    QCOMPARE(t2i::io::sha1_hex(std::string(1000000, 'a')), std::string("34aa973cd4c4daa4f61eeb2bdbad27316534016f"));
  }

  void deviceNamesAreChecked() {
    QVERIFY(t2i::io::parse_device("cpu").is_cpu());
    try {
      t2i::io::parse_device("gpu:0");
      QFAIL("an unknown device was accepted");
    } catch (const std::runtime_error& error) {
      QVERIFY2(contains(error.what(), "\"gpu:0\""), error.what());
    }
  }
};

QTEST_GUILESS_MAIN(TestIo)
#include "test_io.moc"
