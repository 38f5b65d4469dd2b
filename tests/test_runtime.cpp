// The runtime report: the threads and BLAS that every later speed figure depends on.
#include "t2i/log.h"
#include "t2i/runtime.h"

#include "runtime/sanitizer.h"
#include "runtime/side_by_side.h"

#include <QtTest/QtTest>

#include <torch/torch.h>

#include <nlohmann/json.hpp>

#include <spdlog/sinks/ostream_sink.h>

#include <sys/resource.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
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

  // Tensors come and go by malloc at every step, in sizes from a few KiB to a few MiB. glibc's
  // defaults gave most of their pages back to the system and faulted them in again each round
  // (about 60% of them with this mix, measured); after initialize(), a later round of the same
  // allocations mostly touches memory the process already has (about 6%).
  void freedMemoryIsReusedWithoutPageFaults() {
#ifdef T2I_ADDRESS_SANITIZER
    QSKIP("AddressSanitizer's allocator replaces glibc's");
#endif
    t2i::runtime::initialize();
    const auto block_bytes = [](size_t i) { return size_t{256 << 10} << (i % 5); };  // 256 KiB to 4 MiB
    constexpr size_t kBlocks = 40;
    size_t total_bytes = 0;
    for (size_t i = 0; i < kBlocks; ++i) total_bytes += block_bytes(i);
    const auto round = [&] {
      std::vector<void*> blocks(kBlocks);
      for (size_t i = 0; i < kBlocks; ++i) {
        QCOMPARE(posix_memalign(&blocks[i], 64, block_bytes(i)), 0);
        std::memset(blocks[i], 1, block_bytes(i));
      }
      for (void* block : blocks) std::free(block);
    };
    const auto minor_faults = [] {
      rusage usage{};
      getrusage(RUSAGE_SELF, &usage);
      return usage.ru_minflt;
    };
    round();
    round();
    const long before = minor_faults();
    round();
    const long pages = static_cast<long>(total_bytes) / sysconf(_SC_PAGESIZE);
    const long faults = minor_faults() - before;
    QVERIFY2(faults < pages / 4, qPrintable(QStringLiteral("%1 page faults for %2 pages").arg(faults).arg(pages)));
  }

  // Two pieces of work side by side: each with its share of the threads and the caller's grad
  // mode, the caller's thread count back afterwards, and errors passed on, the first's first.
  void sideBySideSharesTheThreads() {
    t2i::runtime::initialize(2);
    int first = 0, second = 0;
    bool second_grad = true;
    std::thread::id second_thread;
    {
      torch::NoGradGuard no_grad;
      t2i::runtime::run_side_by_side([&] { first = at::get_num_threads(); },
                                     [&] {
                                       second = at::get_num_threads();
                                       second_grad = torch::GradMode::is_enabled();
                                       second_thread = std::this_thread::get_id();
                                     });
    }
    QCOMPARE(first, 1);
    QCOMPARE(second, 1);
    QVERIFY(!second_grad);
    QVERIFY(second_thread != std::this_thread::get_id());
    QCOMPARE(at::get_num_threads(), 2);

    const auto message_of = [](const std::function<void()>& a, const std::function<void()>& b) {
      try {
        t2i::runtime::run_side_by_side(a, b);
      } catch (const std::runtime_error& error) {
        return std::string(error.what());
      }
      return std::string();
    };
    const auto fail = [](const char* what) { return [what] { throw std::runtime_error(what); }; };
    QCOMPARE(message_of(fail("first"), [] {}), std::string("first"));
    QCOMPARE(message_of([] {}, fail("second")), std::string("second"));
    QCOMPARE(message_of(fail("first"), fail("second")), std::string("first"));
    QCOMPARE(at::get_num_threads(), 2);

    // One thread: one after the other, on the calling thread.
    t2i::runtime::initialize(1);
    std::vector<int> order;
    t2i::runtime::run_side_by_side([&] { order.push_back(1); },
                                   [&] {
                                     order.push_back(2);
                                     second_thread = std::this_thread::get_id();
                                   });
    QVERIFY(order == (std::vector<int>{1, 2}));
    QVERIFY(second_thread == std::this_thread::get_id());
    t2i::runtime::initialize();
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
