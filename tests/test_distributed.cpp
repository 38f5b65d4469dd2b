// Data-parallel training (issue 23) on loopback: 2 processes × half the batch train exactly what one
// process trains on the whole batch (weights, optimiser state, random states, loss curve); a
// checkpoint resumed by another number of processes continues as the single-process run does;
// workers started by hand through torchrun's environment variables train what `--nproc` trains;
// a worker that dies or hangs stops every process with an error naming it, leaving a loadable
// checkpoint. The reference is the single process, which the rest of the suite tests against the
// paper's recipe.
#include "test_support.h"
#include "tiny_preset.h"

#include "distributed/gradient_buckets.h"
#include "model/checkpoint_file.h"
#include "t2i/probe_gallery.h"
#include "t2i/runs.h"

#include <torch/csrc/distributed/c10d/TCPStore.hpp>

#include <QMap>
#include <QProcess>
#include <QTemporaryDir>
#include <QtTest/QtTest>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <thread>

namespace {

constexpr double kRelativeTolerance = 1e-5;  // fp32 sums in another order, over a few Adam steps

using t2i::test::CliRun;
constexpr int kRunTimeoutMs = 300000;
// A fault must stop the others within the collective timeout given to the run, plus the few
// seconds of roll call and exit; the bound is generous so a loaded machine does not fail it.
constexpr int kFaultTimeoutSeconds = 15;
constexpr int kStopBoundMs = (kFaultTimeoutSeconds + 45) * 1000;

std::string checkpoint_at(const QString& run_dir, int step) {
  char name[64];
  std::snprintf(name, sizeof(name), "/checkpoints/step_%09d.safetensors", step);
  return run_dir.toStdString() + name;
}

/// Every tensor of `actual` matches `expected`: floating ones to `tolerance` (relative) in norm, the
/// others (random-number states, step counters) exactly.
void compare_checkpoints(const std::string& actual_path, const std::string& expected_path,
                         double tolerance = kRelativeTolerance) {
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
      QVERIFY2(difference <= tolerance * std::max(scale, 1e-12),
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

/// A TCP port on 127.0.0.1 that is free now (the kernel's choice), for the workers' rendezvous.
int free_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof(address);
  const bool ok = fd >= 0 && ::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) == 0 &&
                  ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) == 0;
  if (fd >= 0) ::close(fd);
  return ok ? ntohs(address.sin_port) : 0;
}

/// The training runs of one test: a tiny preset, one demo data cache, fixed seeds.
class Runs {
public:
  /// `preset_changes`: keys of the tiny preset that a test sets otherwise.
  explicit Runs(const QTemporaryDir& dir, const nlohmann::json& preset_changes = nlohmann::json::object()) : dir_(dir) {
    auto preset = t2i::test::tiny_preset_json();
    preset["eval_every"] = 2;  // checkpoints every 2 steps
    preset.update(preset_changes);
    preset_ = QString::fromStdString(t2i::test::write_preset(dir, preset));
  }

  QString folder(const QString& name) const { return dir_.filePath(name); }

  /// No probe gallery unless asked for: rank 0 alone samples it, which the other ranks wait for at
  /// every evaluation (probeGalleryIsRankZerosAlone tests that rule, test_probe_gallery the rest).
  QStringList arguments(const QString& out, const QStringList& extra, bool probes = false) const {
    QStringList arguments{QStringLiteral("train"), QStringLiteral("--preset"), preset_, QStringLiteral("--demo"),
                       QStringLiteral("--demo-images"), QStringLiteral("24"), QStringLiteral("--cache"),
                       dir_.filePath(QStringLiteral("data")), QStringLiteral("--out"), out, QStringLiteral("--seed"),
                       QStringLiteral("5"), QStringLiteral("--bf16"), QStringLiteral("off"), QStringLiteral("--keep"),
                       QStringLiteral("10"), QStringLiteral("--threads"), QStringLiteral("1")};
    if (!probes) arguments << QStringLiteral("--no-probes");
    return arguments + extra;
  }

  /// `t2i train` to its end, which must succeed.
  void train(const QString& out, const QStringList& extra, bool probes = false) const {
    const CliRun run = t2i::test::runCli(arguments(out, extra, probes), kRunTimeoutMs);
    QVERIFY2(run.exitCode == 0, qPrintable(run.out + run.err));
  }

  /// One worker of `world` started by hand, as torchrun or a user on each machine would;
  /// `variables`: more of the environment, NAME → value.
  std::unique_ptr<QProcess> start_worker(int rank, int world, int port, const QString& out, const QStringList& extra,
                                         const QMap<QString, QString>& variables = {}) const {
    auto process = std::make_unique<QProcess>();
    QProcessEnvironment environment = QProcessEnvironment::systemEnvironment();
    for (auto variable = variables.begin(); variable != variables.end(); ++variable)
      environment.insert(variable.key(), variable.value());
    environment.insert(QStringLiteral("RANK"), QString::number(rank));
    environment.insert(QStringLiteral("LOCAL_RANK"), QString::number(rank));
    environment.insert(QStringLiteral("WORLD_SIZE"), QString::number(world));
    environment.insert(QStringLiteral("MASTER_ADDR"), QStringLiteral("127.0.0.1"));
    environment.insert(QStringLiteral("MASTER_PORT"), QString::number(port));
    process->setProcessEnvironment(environment);
    // Output to a file, not a pipe: a worker must not block on a full pipe while the test waits on another.
    process->setProcessChannelMode(QProcess::MergedChannels);
    process->setStandardOutputFile(log(out, rank));
    process->start(t2i::test::cliPath(), arguments(out, extra));
    return process;
  }

  /// Where start_worker() and start_launcher() leave a process's output.
  QString log(const QString& out, int rank) const { return out + QStringLiteral("-rank%1.log").arg(rank); }

  /// `t2i train --nproc N` in the background, its output in log(out, -1).
  std::unique_ptr<QProcess> start_launcher(int nproc, const QString& out, const QStringList& extra) const {
    auto process = std::make_unique<QProcess>();
    process->setProcessChannelMode(QProcess::MergedChannels);
    process->setStandardOutputFile(log(out, -1));
    process->start(t2i::test::cliPath(), arguments(out, extra + QStringList{QStringLiteral("--nproc"), QString::number(nproc)}));
    return process;
  }

private:
  const QTemporaryDir& dir_;
  QString preset_;
};

/// The newest step checkpoint of `run_dir` reads back whole, at a step the run reached.
void verify_last_checkpoint_loads(const QString& run_dir) {
  const auto checkpoints = t2i::train::step_checkpoints(run_dir.toStdString());
  QVERIFY(!checkpoints.empty());
  const t2i::model::Checkpoint last = t2i::model::read_checkpoint(checkpoints.back().path);
  QCOMPARE(last.meta.at("step").get<std::int64_t>(), checkpoints.back().step);
  QVERIFY(!last.tensors.empty());
}

/// Waits (bounded) until `run_dir` holds the checkpoint of `step`: the run is then mid-training.
bool reaches_step(const QString& run_dir, int step) {
  return QTest::qWaitFor([&] { return std::filesystem::exists(checkpoint_at(run_dir, step)); }, kRunTimeoutMs);
}

/// The RANK a process was started with, from its environment.
int rank_of(pid_t pid) {
  std::ifstream file("/proc/" + std::to_string(pid) + "/environ", std::ios::binary);
  for (std::string entry; std::getline(file, entry, '\0');)
    if (entry.rfind("RANK=", 0) == 0) return std::stoi(entry.substr(5));
  return -1;
}

/// The worker of rank `rank` among the children of `launcher` (0 when there is none).
pid_t worker_of(qint64 launcher, int rank) {
  std::ifstream children("/proc/" + std::to_string(launcher) + "/task/" + std::to_string(launcher) + "/children");
  for (pid_t child = 0; children >> child;)
    if (rank_of(child) == rank) return child;
  return 0;
}

QString text_of(const QString& path) {
  QFile file(path);
  return file.open(QIODevice::ReadOnly) ? QString::fromUtf8(file.readAll()) : QString();
}

/// Waits (bounded) for `process` to end by itself; it must fail with an exit status, not a signal.
void verify_fails(QProcess& process, const QString& log) {
  QVERIFY2(process.waitForFinished(kStopBoundMs), qPrintable(QStringLiteral("still running; ") + text_of(log)));
  QCOMPARE(process.exitStatus(), QProcess::NormalExit);
  QVERIFY2(process.exitCode() != 0, qPrintable(text_of(log)));
}

/// The gradients of `parameters` (undefined ones stay undefined), detached copies.
std::vector<torch::Tensor> gradients_of(const std::vector<torch::Tensor>& parameters) {
  std::vector<torch::Tensor> gradients;
  for (const torch::Tensor& p : parameters) gradients.push_back(p.grad().defined() ? p.grad().clone() : torch::Tensor());
  return gradients;
}

void clear_gradients(const std::vector<torch::Tensor>& parameters) {
  for (torch::Tensor p : parameters) p.mutable_grad() = torch::Tensor();
}

/// The arguments of a run that a fault interrupts long before its end.
QStringList long_run() {
  return {QStringLiteral("--max-steps"), QStringLiteral("100000"), QStringLiteral("--preview-every"),
          QStringLiteral("100000"), QStringLiteral("--timeout"), QString::number(kFaultTimeoutSeconds)};
}

} // namespace

class TestDistributed : public QObject {
  Q_OBJECT

private Q_SLOTS:
  void twoProcessesTrainAsOneWithTheWholeBatch() {
    QTemporaryDir dir;
    QVERIFY(dir.isValid());
    const Runs runs(dir);
    const QString one = runs.folder(QStringLiteral("one"));
    const QString two = runs.folder(QStringLiteral("two"));
    // The reference: one process, micro-batches of 2 accumulated into the preset's batch of 4.
    runs.train(one, {QStringLiteral("--max-steps"), QStringLiteral("4")});
    // Two processes, each on its 2 samples of every batch of 4, then one process resuming that run.
    runs.train(two, {QStringLiteral("--max-steps"), QStringLiteral("2"), QStringLiteral("--nproc"), QStringLiteral("2")});
    compare_checkpoints(checkpoint_at(two, 2), checkpoint_at(one, 2));
    runs.train(two, {QStringLiteral("--max-steps"), QStringLiteral("4"), QStringLiteral("--resume")});
    compare_checkpoints(checkpoint_at(two, 4), checkpoint_at(one, 4));
    compare_losses(two, one, 4);
  }

  // Validation P2 and FID at the same step of a 1- and a 2-process run: each rank evaluates its
  // share (6 of 3 batches × 4 validation images, straddling a batch; 2 or 3 of 5 FID samples) with
  // the single process's draws, and the reduced results equal the single process's up to the
  // rounding of weights trained in another order.
  void evaluationsSplitOverRanksMatchOneProcess() {
    T2I_REQUIRE_SHARED_DATA("fid/inception-random/fid_inception_random_legacy.pth");
    QTemporaryDir dir;
    QVERIFY(dir.isValid());
    const Runs runs(dir, {{"eval_val_steps", 3}});
    const QStringList options{QStringLiteral("--max-steps"), QStringLiteral("2"), QStringLiteral("--inception"),
                              t2i::test::sharedData(QStringLiteral("fid/inception-random/fid_inception_random_legacy.pth")),
                              QStringLiteral("--fid-samples"), QStringLiteral("5")};
    const QString one = runs.folder(QStringLiteral("one"));
    const QString two = runs.folder(QStringLiteral("two"));
    runs.train(one, options);
    runs.train(two, options + QStringList{QStringLiteral("--nproc"), QStringLiteral("2")});
    const auto single = t2i::train::read_history(one.toStdString()).evals;
    const auto split = t2i::train::read_history(two.toStdString()).evals;
    QCOMPARE(split.size(), std::size_t{1});
    QCOMPARE(single.size(), std::size_t{1});
    QCOMPARE(split[0].step, single[0].step);
    qInfo("val P2: 1 process %.9g, 2 processes %.9g; FID: %.9g, %.9g", single[0].val_p2, split[0].val_p2,
          single[0].fid.value_or(-1), split[0].fid.value_or(-1));
    QVERIFY(std::abs(split[0].val_p2 - single[0].val_p2) <= kRelativeTolerance * std::abs(single[0].val_p2));
    QVERIFY(single[0].fid && split[0].fid);
    QVERIFY(std::abs(*split[0].fid - *single[0].fid) <= kRelativeTolerance * std::abs(*single[0].fid));
    // Rank 0's metrics carry every rank's throughput; a single process has no ranks to list.
    for (const auto& step : t2i::train::read_history(two.toStdString()).steps) {
      QCOMPARE(step.rank_images_per_second.size(), std::size_t{2});
      for (const double rate : step.rank_images_per_second) QVERIFY(rate > 0 && std::isfinite(rate));
    }
    for (const auto& step : t2i::train::read_history(one.toStdString()).steps) QVERIFY(step.rank_images_per_second.empty());
  }

  // The probe gallery of a 2-process run: rank 0 samples it alone, once per evaluation (step 0
  // included), and it shows what one process's gallery shows, up to the rounding of weights
  // trained in another order.
  void probeGalleryIsRankZerosAlone() {
    QTemporaryDir dir;
    QVERIFY(dir.isValid());
    const Runs runs(dir);
    const QString one = runs.folder(QStringLiteral("one"));
    const QString two = runs.folder(QStringLiteral("two"));
    const QStringList steps{QStringLiteral("--max-steps"), QStringLiteral("4")};
    runs.train(one, steps, /*probes=*/true);
    runs.train(two, steps + QStringList{QStringLiteral("--nproc"), QStringLiteral("2")}, /*probes=*/true);
    const auto single = t2i::train::read_probe_gallery(one.toStdString());
    const auto split = t2i::train::read_probe_gallery(two.toStdString());
    QVERIFY(single && split);
    std::vector<std::int64_t> evaluated;
    for (const auto& evaluation : split->evaluations) evaluated.push_back(evaluation.step);
    QVERIFY(evaluated == (std::vector<std::int64_t>{0, 2, 4}));
    QCOMPARE(single->evaluations.size(), split->evaluations.size());
    for (std::size_t e = 0; e < split->evaluations.size(); ++e) {
      const t2i::Image a = t2i::train::read_probe_sheet(*single, e);
      const t2i::Image b = t2i::train::read_probe_sheet(*split, e);
      QCOMPARE(a.width, b.width);
      QCOMPARE(a.height, b.height);
      double total = 0;
      for (std::size_t i = 0; i < a.rgb.size(); ++i) total += std::abs(int{a.rgb[i]} - int{b.rgb[i]});
      const double mean = total / static_cast<double>(a.rgb.size());
      qInfo("evaluation at step %lld: mean difference %.4f of 255", static_cast<long long>(evaluated[e]), mean);
      QVERIFY2(mean < 1.0, "the 2-process gallery shows another model than the 1-process one");
    }
  }

  void oneProcessCheckpointResumesOnTwo() {
    QTemporaryDir dir;
    QVERIFY(dir.isValid());
    const Runs runs(dir);
    const QString one = runs.folder(QStringLiteral("one"));
    const QString resumed = runs.folder(QStringLiteral("resumed"));
    runs.train(one, {QStringLiteral("--max-steps"), QStringLiteral("4")});
    runs.train(resumed, {QStringLiteral("--max-steps"), QStringLiteral("2")});
    runs.train(resumed, {QStringLiteral("--max-steps"), QStringLiteral("4"), QStringLiteral("--resume"),
                         QStringLiteral("--nproc"), QStringLiteral("2")});
    compare_checkpoints(checkpoint_at(resumed, 4), checkpoint_at(one, 4));
    compare_losses(resumed, one, 4);
  }

  void environmentLaunchTrainsAsNproc() {
    QTemporaryDir dir;
    QVERIFY(dir.isValid());
    const Runs runs(dir);
    const QString launched = runs.folder(QStringLiteral("nproc"));
    const QString by_hand = runs.folder(QStringLiteral("env"));
    const QStringList steps{QStringLiteral("--max-steps"), QStringLiteral("2")};
    runs.train(launched, steps + QStringList{QStringLiteral("--nproc"), QStringLiteral("2")});
    const int port = free_port();
    QVERIFY(port > 0);
    const auto rank0 = runs.start_worker(0, 2, port, by_hand, steps);
    const auto rank1 = runs.start_worker(1, 2, port, by_hand, steps);
    for (int rank = 0; rank < 2; ++rank) {
      QProcess& worker = rank == 0 ? *rank0 : *rank1;
      QVERIFY(worker.waitForFinished(kRunTimeoutMs));
      QVERIFY2(worker.exitStatus() == QProcess::NormalExit && worker.exitCode() == 0, qPrintable(text_of(runs.log(by_hand, rank))));
    }
    // The same processes doing the same sums in the same order: equal to the bit.
    compare_checkpoints(checkpoint_at(by_hand, 2), checkpoint_at(launched, 2), 0.0);
  }

  // torchrun's static rendezvous: its agent hosts the store on MASTER_PORT before the workers
  // start and tells them so (TORCHELASTIC_USE_AGENT_STORE=True). Rank 0 then joins that store
  // instead of listening on the taken port, and the workers train what --nproc trains.
  void workersJoinTorchrunsAgentStore() {
    QTemporaryDir dir;
    QVERIFY(dir.isValid());
    const Runs runs(dir);
    const QString launched = runs.folder(QStringLiteral("nproc"));
    const QString under_agent = runs.folder(QStringLiteral("agent"));
    const QStringList steps{QStringLiteral("--max-steps"), QStringLiteral("2")};
    runs.train(launched, steps + QStringList{QStringLiteral("--nproc"), QStringLiteral("2")});
    const int port = free_port();
    QVERIFY(port > 0);
    c10d::TCPStoreOptions agent;
    agent.port = static_cast<std::uint16_t>(port);
    agent.isServer = true;
    agent.waitWorkers = false;
    const auto store = c10::make_intrusive<c10d::TCPStore>("127.0.0.1", agent);
    const QMap<QString, QString> torchrun{{QStringLiteral("TORCHELASTIC_USE_AGENT_STORE"), QStringLiteral("True")},
                                          {QStringLiteral("TORCHELASTIC_RESTART_COUNT"), QStringLiteral("0")}};
    const auto rank0 = runs.start_worker(0, 2, port, under_agent, steps, torchrun);
    const auto rank1 = runs.start_worker(1, 2, port, under_agent, steps, torchrun);
    for (int rank = 0; rank < 2; ++rank) {
      QProcess& worker = rank == 0 ? *rank0 : *rank1;
      QVERIFY(worker.waitForFinished(kRunTimeoutMs));
      QVERIFY2(worker.exitStatus() == QProcess::NormalExit && worker.exitCode() == 0,
               qPrintable(text_of(runs.log(under_agent, rank))));
    }
    compare_checkpoints(checkpoint_at(under_agent, 2), checkpoint_at(launched, 2), 0.0);
  }

  // The reducer on a group of one (the mean is the gradient itself): with buckets of one layer,
  // every bucket of the used layers starts inside the armed backward, none in the others, and the
  // gradients accumulated over micro-batches come out unchanged; a parameter no micro-batch used
  // keeps no gradient, and its bucket (with those after it) starts only in finish().
  void reducerStartsBucketsDuringTheLastBackward() {
    t2i::distributed::Environment environment;
    environment.master_port = free_port();
    environment.timeout = std::chrono::seconds(30);
    t2i::distributed::ProcessGroup group(environment, torch::Device(torch::kCPU));
    torch::manual_seed(3);
    torch::nn::Linear first(8, 16), second(16, 16), unused(16, 16), last(16, 4);
    const auto forward = [&](const torch::Tensor& x) { return last(torch::tanh(second(torch::tanh(first(x))))).pow(2).sum(); };
    std::vector<torch::Tensor> parameters;
    for (auto* layer : {&first, &second, &unused, &last})
      for (const torch::Tensor& p : (*layer)->parameters()) parameters.push_back(p);
    const torch::Tensor x = torch::randn({6, 8});
    forward(x.slice(0, 0, 3)).backward();
    forward(x.slice(0, 3, 6)).backward();
    const std::vector<torch::Tensor> expected = gradients_of(parameters);

    for (const bool overlap : {true, false}) {
      // One layer a bucket: `last` fills the first one, each 16×16 layer one of the others.
      const std::int64_t last_bytes = (16 * 4 + 4) * 4;
      t2i::distributed::GradientReducer reducer(group, parameters, overlap, (16 * 16 + 16) * 4, last_bytes);
      clear_gradients(parameters);
      forward(x.slice(0, 0, 3)).backward();
      reducer.arm();
      forward(x.slice(0, 3, 6)).backward();
      const auto bytes = reducer.finish();
      std::int64_t all = 0;
      for (const torch::Tensor& p : parameters) all += p.numel() * 4;
      QCOMPARE(bytes.total, all);
      // Backward order: last, unused, second, first. Only `last`'s bucket precedes the unused one.
      QCOMPARE(bytes.overlapped, overlap ? last_bytes : std::int64_t{0});
      const std::vector<torch::Tensor> reduced = gradients_of(parameters);
      for (std::size_t i = 0; i < parameters.size(); ++i) {
        QCOMPARE(reduced[i].defined(), expected[i].defined());
        if (expected[i].defined()) QVERIFY(torch::equal(reduced[i], expected[i]));
      }
    }
  }

  // The wrapper hands the backend what it takes (Gloo: dense CPU tensors) and puts each result
  // back into the caller's tensor. Two ranks, threads of this process, sum and broadcast strided
  // views of larger buffers: each view holds the result in its own storage, and the buffer's
  // elements between them keep their values (handed whole to Gloo, the buffer's first elements
  // would have been summed instead). Collectives on CUDA tensors, NCCL's, need a CUDA LibTorch:
  // this build can only check that the group communicates on the device it names.
  void collectivesPutResultsIntoTheCallersTensors() {
    t2i::distributed::Environment environment;
    environment.world_size = 2;
    environment.master_port = free_port();
    environment.timeout = std::chrono::seconds(60);
    QVERIFY(environment.master_port > 0);
    struct Rank {
      torch::Tensor summed_buffer, summed, broadcast_buffer, broadcast;
      std::string device, error;
    };
    Rank ranks[2];
    const auto work = [&](int rank) {
      Rank& r = ranks[rank];
      try {
        t2i::distributed::Environment own = environment;
        own.rank = own.local_rank = rank;
        t2i::distributed::ProcessGroup group(own, torch::Device(torch::kCPU));
        r.device = group.device().str();
        r.summed_buffer = torch::arange(8, torch::kFloat64) * (rank + 1);
        r.summed = r.summed_buffer.slice(0, 1, 8, 2);  // elements 1, 3, 5, 7
        r.broadcast_buffer = torch::arange(12, torch::kInt64).view({3, 4}) + 100 * rank;
        r.broadcast = r.broadcast_buffer.slice(1, 0, 4, 2).t();  // columns 0 and 2, transposed
        std::vector<torch::Tensor> sums{r.summed};
        group.allreduce_sum(sums);
        std::vector<torch::Tensor> roots{r.broadcast};
        group.broadcast(roots, 0);
        group.barrier();
      } catch (const std::exception& error) {
        r.error = error.what();
      }
    };
    std::thread other(work, 1);
    work(0);
    other.join();
    const torch::Tensor base = torch::arange(8, torch::kFloat64);
    for (int rank = 0; rank < 2; ++rank) {
      const Rank& r = ranks[rank];
      QVERIFY2(r.error.empty(), r.error.c_str());
      QCOMPARE(QString::fromStdString(r.device), QStringLiteral("cpu"));
      QVERIFY(torch::equal(r.summed, base.slice(0, 1, 8, 2) * 3));                      // 1× + 2×
      QVERIFY(torch::equal(r.summed_buffer.slice(0, 0, 8, 2), base.slice(0, 0, 8, 2) * (rank + 1)));
      const torch::Tensor root = torch::arange(12, torch::kInt64).view({3, 4});
      QVERIFY(torch::equal(r.broadcast, root.slice(1, 0, 4, 2).t()));
      QVERIFY(torch::equal(r.broadcast_buffer.slice(1, 1, 4, 2), root.slice(1, 1, 4, 2) + 100 * rank));
    }
  }

  // One GPU per local process: a CUDA device without an index narrows to the local rank's; NCCL
  // is refused, with the way out named, for a run that does not train on CUDA.
  void ranksTrainOnTheirOwnDevice() {
    using t2i::distributed::rank_device;
    QCOMPARE(rank_device(torch::Device(torch::kCUDA), 1), torch::Device(torch::kCUDA, 1));
    QCOMPARE(rank_device(torch::Device(torch::kCUDA, 0), 1), torch::Device(torch::kCUDA, 0));
    QCOMPARE(rank_device(torch::Device(torch::kCPU), 1), torch::Device(torch::kCPU));
    t2i::distributed::Environment environment;
    environment.world_size = 2;
    environment.backend = "nccl";
    environment.master_port = free_port();
    try {
      t2i::distributed::ProcessGroup group(environment, torch::Device(torch::kCPU));
      QFAIL("NCCL accepted a CPU run");
    } catch (const std::runtime_error& error) {
      QVERIFY2(std::string(error.what()).find("T2I_DIST_BACKEND=gloo") != std::string::npos, error.what());
    }
  }

  // `t2i bench train --nproc 2`: a 1-process and a 2-process run, each measured from its metrics;
  // only the 2-process one all-reduces, every trained float once per step.
  void benchComparesOneAndTwoProcesses() {
    QTemporaryDir dir;
    QVERIFY(dir.isValid());
    const QString preset = QString::fromStdString(t2i::test::write_preset(dir, t2i::test::tiny_preset_json()));
    const CliRun run = t2i::test::runCli({QStringLiteral("bench"), QStringLiteral("train"), QStringLiteral("--nproc"),
                                          QStringLiteral("2"), QStringLiteral("--preset"), preset, QStringLiteral("--steps"),
                                          QStringLiteral("3"), QStringLiteral("--demo-images"), QStringLiteral("24"),
                                          QStringLiteral("--threads"), QStringLiteral("1")},
                                         kRunTimeoutMs);
    QVERIFY2(run.exitCode == 0, qPrintable(run.err));
    const nlohmann::json bench = nlohmann::json::parse(run.out.toStdString());
    QCOMPARE(bench.at("benchmark").get<std::string>(), std::string("train_data_parallel"));
    const nlohmann::json& runs = bench.at("runs");
    QCOMPARE(runs.size(), std::size_t{2});
    QCOMPARE(runs[0].at("nproc").get<int>(), 1);
    QCOMPARE(runs[1].at("nproc").get<int>(), 2);
    QCOMPARE(runs[0].at("allreduce_bytes_per_step").get<std::int64_t>(), std::int64_t{0});
    const auto bytes = runs[1].at("allreduce_bytes_per_step").get<std::int64_t>();
    QVERIFY(bytes > 0);
    QCOMPARE(bytes % 4, std::int64_t{0});
    QCOMPARE(runs[0].at("steps_measured").get<int>(), 2);
    const double one = runs[0].at("images_per_second").get<double>();
    const double two = runs[1].at("images_per_second").get<double>();
    QVERIFY(one > 0 && two > 0);
    QCOMPARE(runs[1].at("scaling_efficiency").get<double>(), two / (2 * one));
  }

  void killedWorkerStopsEveryRank() {
    QTemporaryDir dir;
    QVERIFY(dir.isValid());
    const Runs runs(dir);
    const QString out = runs.folder(QStringLiteral("run"));
    const int port = free_port();
    QVERIFY(port > 0);
    const auto rank0 = runs.start_worker(0, 2, port, out, long_run());
    const auto rank1 = runs.start_worker(1, 2, port, out, long_run());
    QVERIFY2(reaches_step(out, 2), qPrintable(text_of(runs.log(out, 0))));
    rank1->kill();
    QVERIFY(rank1->waitForFinished(kStopBoundMs));
    verify_fails(*rank0, runs.log(out, 0));
    QVERIFY2(text_of(runs.log(out, 0)).contains(QStringLiteral("rank 1 stopped answering")), qPrintable(text_of(runs.log(out, 0))));
    verify_last_checkpoint_loads(out);
  }

  void hungWorkerStopsEveryRank() {
    QTemporaryDir dir;
    QVERIFY(dir.isValid());
    const Runs runs(dir);
    const QString out = runs.folder(QStringLiteral("run"));
    const int port = free_port();
    QVERIFY(port > 0);
    const auto rank0 = runs.start_worker(0, 2, port, out, long_run());
    const auto rank1 = runs.start_worker(1, 2, port, out, long_run());
    QVERIFY2(reaches_step(out, 2), qPrintable(text_of(runs.log(out, 0))));
    ::kill(static_cast<pid_t>(rank1->processId()), SIGSTOP);
    verify_fails(*rank0, runs.log(out, 0));
    rank1->kill();
    QVERIFY(rank1->waitForFinished(kStopBoundMs));
    QVERIFY2(text_of(runs.log(out, 0)).contains(QStringLiteral("rank 1 stopped answering")), qPrintable(text_of(runs.log(out, 0))));
    verify_last_checkpoint_loads(out);
  }

  void killedWorkerOfNprocStopsTheRun() {
    QTemporaryDir dir;
    QVERIFY(dir.isValid());
    const Runs runs(dir);
    const QString out = runs.folder(QStringLiteral("run"));
    const auto launcher = runs.start_launcher(2, out, long_run());
    QVERIFY2(reaches_step(out, 2), qPrintable(text_of(runs.log(out, -1))));
    const pid_t worker = worker_of(launcher->processId(), 1);
    QVERIFY(worker > 0);
    ::kill(worker, SIGKILL);
    // The launcher waits for every worker before it exits: all have stopped once it has.
    verify_fails(*launcher, runs.log(out, -1));
    QVERIFY2(text_of(runs.log(out, -1)).contains(QStringLiteral("worker rank 1 was killed by signal 9")),
             qPrintable(text_of(runs.log(out, -1))));
    verify_last_checkpoint_loads(out);
  }
};

QTEST_GUILESS_MAIN(TestDistributed)
#include "test_distributed.moc"
