// The benchmarks of t2i/bench.h (`t2i bench …`): each reports what it promises. They take
// seconds, not minutes, at these sizes; test_overfit runs the overfit check.
#include "t2i/bench.h"

#include <QtTest/QtTest>

#include <nlohmann/json.hpp>

using namespace t2i;

class TestBench : public QObject {
  Q_OBJECT
private Q_SLOTS:
  void benchmarkReportsEverySampler() {
    bench::SamplerOptions options;
    options.batch = 1;
    options.size = 8;
    options.steps = 2;
    options.repeats = 1;
    const auto json = nlohmann::json::parse(bench::sampler_json(options));
    QCOMPARE(json.at("benchmark").get<std::string>(), std::string("sampler"));
    for (const char* kind : {"ddpm", "ddim", "dpmpp"})
      for (const char* thresholding : {"thresholding_none", "thresholding_dynamic"})
        QVERIFY(json.at("samplers").at(kind).at(thresholding).at("ms_per_step").get<double>() > 0.0);
    QVERIFY(json.at("samplers").at("ddim").at("thresholding_none").at("model_ms_per_step").get<double>() > 0.0);
    QVERIFY(json.at("conv3x3_128ch_ms").get<double>() > 0.0);
  }
};

QTEST_GUILESS_MAIN(TestBench)
#include "test_bench.moc"
