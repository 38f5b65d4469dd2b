// The runtime report: the threads and BLAS that every later speed figure depends on.
#include "t2i/log.h"
#include "t2i/runtime.h"

#include <QtTest/QtTest>

#include <nlohmann/json.hpp>

#include <spdlog/sinks/ostream_sink.h>

#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

class TestRuntime : public QObject {
  Q_OBJECT
private Q_SLOTS:
  // One precision vocabulary: the spellings the CLI and config.json use, each parsed back to itself.
  void precisionNamesRoundTrip() {
    using t2i::runtime::Precision;
    QVERIFY(t2i::runtime::precision_names() == (std::vector<std::string>{"auto", "fp32", "bf16"}));
    QVERIFY(t2i::runtime::parse_precision("auto") == Precision::Auto);
    QVERIFY(t2i::runtime::parse_precision("fp32") == Precision::Float32);
    QVERIFY(t2i::runtime::parse_precision("bf16") == Precision::BFloat16);
    for (const std::string& name : t2i::runtime::precision_names())
      QCOMPARE(t2i::runtime::to_string(t2i::runtime::parse_precision(name)), name);
    QVERIFY_THROWS_EXCEPTION(std::runtime_error, t2i::runtime::parse_precision("fp16"));
  }

  void initializeUsesEveryCore() {
    const t2i::runtime::Report report = t2i::runtime::initialize();
    QVERIFY(report.cpu_cores >= 1);
    QCOMPARE(report.intra_op_threads, report.cpu_cores);
    if (report.cpu_cores > 1) QVERIFY(report.intra_op_threads > 1);
  }

  void explicitThreadCountIsHonoured() {
    QCOMPARE(t2i::runtime::initialize(1).intra_op_threads, 1);
    QCOMPARE(t2i::runtime::initialize(0).intra_op_threads, t2i::runtime::available_cores());
  }

  void blasIsOptimized() {
    const t2i::runtime::Report report = t2i::runtime::report();
    QVERIFY2(!report.blas_is_reference, report.blas.c_str());
    QVERIFY2(report.blas.find("OpenBLAS") != std::string::npos || report.blas.find("MKL") != std::string::npos ||
                 report.blas.find("BLIS") != std::string::npos,
             report.blas.c_str());
  }

  void reportNamesVersionAndDevices() {
    const t2i::runtime::Report report = t2i::runtime::report();
    QVERIFY(!report.devices.empty());
    QCOMPARE(report.devices.front(), std::string("cpu"));
    QVERIFY(QString::fromStdString(report.torch_version).contains(QRegularExpression(QStringLiteral("^\\d+\\.\\d+\\.\\d+$"))));
    const auto json = nlohmann::json::parse(t2i::runtime::to_json(report));
    QCOMPARE(json.at("intra_op_threads").get<int>(), report.intra_op_threads);
    QCOMPARE(json.at("blas").get<std::string>(), report.blas);
    const std::string text = t2i::runtime::to_text(report);
    QVERIFY(text.find(report.torch_version) != std::string::npos);
  }

  void memoryFiguresAreConsistent() {
    const t2i::runtime::Memory m = t2i::runtime::memory();
    QVERIFY(m.resident_bytes > 0);
    QVERIFY(m.peak_resident_bytes >= m.resident_bytes);
    QVERIFY(m.total_bytes > m.resident_bytes);
    QVERIFY(m.available_bytes <= m.total_bytes);
  }

  void coreLogLinesReachAddedSinks() {
    std::ostringstream out;
    auto sink = std::make_shared<spdlog::sinks::ostream_sink_mt>(out);
    t2i::log::add_sink(sink);
    t2i::log::core()->info("hello {}", 42);
    t2i::log::remove_sink(sink);
    t2i::log::core()->info("not captured");
    QVERIFY(out.str().find("hello 42") != std::string::npos);
    QVERIFY(out.str().find("not captured") == std::string::npos);
  }
};

QTEST_GUILESS_MAIN(TestRuntime)
#include "test_runtime.moc"
