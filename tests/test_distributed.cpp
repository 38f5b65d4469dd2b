// Data-parallel training (issue 23) on loopback: 2 processes × half the batch train exactly what one
// process trains on the whole batch (weights, optimiser state, random states, loss curve), and a
// 2-process checkpoint resumed by one process continues as the single-process run does. The
// reference is the single process, which the rest of the suite tests against the paper's recipe.
#include "test_support.h"
#include "tiny_preset.h"

#include "model/checkpoint_file.h"
#include "t2i/runs.h"

#include <QTemporaryDir>
#include <QtTest/QtTest>

#include <cmath>
#include <filesystem>
#include <string>

namespace {

constexpr double kRelativeTolerance = 1e-5;  // fp32 sums in another order, over a few Adam steps

using t2i::test::CliRun;
constexpr int kRunTimeoutMs = 300000;

std::string checkpoint_at(const QString& run_dir, int step) {
  char name[64];
  std::snprintf(name, sizeof(name), "/checkpoints/step_%09d.safetensors", step);
  return run_dir.toStdString() + name;
}

/// Every tensor of `actual` matches `expected`: floating ones to kRelativeTolerance in norm, the
/// others (random-number states, step counters) exactly.
void compare_checkpoints(const std::string& actual_path, const std::string& expected_path) {
  const t2i::model::Checkpoint actual = t2i::model::read_checkpoint(actual_path);
  const t2i::model::Checkpoint expected = t2i::model::read_checkpoint(expected_path);
  QCOMPARE(actual.tensors.size(), expected.tensors.size());
  for (const auto& [name, want] : expected.tensors) {
    const auto found = actual.tensors.find(name);
    QVERIFY2(found != actual.tensors.end(), name.c_str());
    const torch::Tensor& got = found->second;
    QVERIFY2(got.sizes() == want.sizes(), name.c_str());
    if (want.is_floating_point()) {
      const double difference = (got.to(torch::kFloat64) - want.to(torch::kFloat64)).norm().item<double>();
      const double scale = want.to(torch::kFloat64).norm().item<double>();
      QVERIFY2(difference <= kRelativeTolerance * std::max(scale, 1e-12),
               qPrintable(QString::fromStdString(name) + QStringLiteral(": relative difference %1").arg(difference / scale)));
    } else {
      QVERIFY2(torch::equal(got, want), name.c_str());
    }
  }
  QCOMPARE(actual.meta.at("batches_consumed"), expected.meta.at("batches_consumed"));
  QCOMPARE(actual.meta.at("optimizer_steps"), expected.meta.at("optimizer_steps"));
}

void compare_losses(const QString& actual_dir, const QString& expected_dir, std::size_t steps) {
  const t2i::train::History actual = t2i::train::read_history(actual_dir.toStdString());
  const t2i::train::History expected = t2i::train::read_history(expected_dir.toStdString());
  QCOMPARE(actual.steps.size(), steps);
  QCOMPARE(expected.steps.size(), steps);
  for (std::size_t i = 0; i < steps; ++i) {
    QCOMPARE(actual.steps[i].step, expected.steps[i].step);
    QVERIFY2(std::abs(actual.steps[i].train_loss - expected.steps[i].train_loss) <=
                 kRelativeTolerance * std::abs(expected.steps[i].train_loss),
             qPrintable(QStringLiteral("step %1: %2 vs %3").arg(i + 1).arg(actual.steps[i].train_loss).arg(expected.steps[i].train_loss)));
  }
}

} // namespace

class TestDistributed : public QObject {
  Q_OBJECT

private Q_SLOTS:
  void twoProcessesTrainAsOneWithTheWholeBatch() {
    QTemporaryDir dir;
    QVERIFY(dir.isValid());
    auto preset = t2i::test::tiny_preset_json();
    preset["eval_every"] = 2;  // checkpoints at steps 2 and 4
    const QString presetPath = QString::fromStdString(t2i::test::write_preset(dir, preset));
    const QString cache = dir.filePath(QStringLiteral("data"));
    const auto train = [&](const QString& out, const QStringList& extra) {
      QStringList arguments{QStringLiteral("train"), QStringLiteral("--preset"), presetPath, QStringLiteral("--demo"),
                            QStringLiteral("--demo-images"), QStringLiteral("24"), QStringLiteral("--cache"), cache,
                            QStringLiteral("--out"), out, QStringLiteral("--seed"), QStringLiteral("5"),
                            QStringLiteral("--bf16"), QStringLiteral("off"), QStringLiteral("--keep"), QStringLiteral("10"),
                            QStringLiteral("--threads"), QStringLiteral("1")};
      const CliRun run = t2i::test::runCli(arguments + extra, kRunTimeoutMs);
      QVERIFY2(run.exitCode == 0, qPrintable(run.out + run.err));
    };
    const QString one = dir.filePath(QStringLiteral("one"));
    const QString two = dir.filePath(QStringLiteral("two"));
    // The reference: one process, micro-batches of 2 accumulated into the preset's batch of 4.
    train(one, {QStringLiteral("--max-steps"), QStringLiteral("4")});
    // Two processes, each on its 2 samples of every batch of 4, then one process resuming that run.
    train(two, {QStringLiteral("--max-steps"), QStringLiteral("2"), QStringLiteral("--nproc"), QStringLiteral("2")});
    compare_checkpoints(checkpoint_at(two, 2), checkpoint_at(one, 2));
    train(two, {QStringLiteral("--max-steps"), QStringLiteral("4"), QStringLiteral("--resume")});
    compare_checkpoints(checkpoint_at(two, 4), checkpoint_at(one, 4));
    compare_losses(two, one, 4);
  }
};

QTEST_GUILESS_MAIN(TestDistributed)
#include "test_distributed.moc"
