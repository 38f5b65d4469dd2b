#include "status_panel.h"

#include "t2i/runtime.h"

#include <QHBoxLayout>
#include <QLabel>
#include <QLocale>
#include <QTimer>

namespace t2i::ui {
namespace {
constexpr int kRefreshMilliseconds = 2000;

QString gib(std::uint64_t bytes) { return QLocale().toString(static_cast<double>(bytes) / (1u << 30), 'f', 1); }
} // namespace

StatusPanel::StatusPanel(QWidget* parent)
    : QWidget(parent), device_(new QLabel(this)), threads_(new QLabel(this)), memory_(new QLabel(this)),
      timer_(new QTimer(this)) {
  auto* layout = new QHBoxLayout(this);
  layout->setContentsMargins(0, 0, 0, 0);
  for (QLabel* label : {device_, threads_, memory_}) layout->addWidget(label);
  device_->setObjectName(QStringLiteral("statusDevice"));
  threads_->setObjectName(QStringLiteral("statusThreads"));
  memory_->setObjectName(QStringLiteral("statusMemory"));

  const runtime::Report report = runtime::report();
  QStringList devices;
  for (const auto& device : report.devices) devices << QString::fromStdString(device);
  device_->setText(tr("Device: %1").arg(devices.join(QStringLiteral(", "))));
  device_->setToolTip(QString::fromStdString(runtime::to_text(report)));
  threads_->setText(tr("Threads: %1 of %2").arg(report.intra_op_threads).arg(report.cpu_cores));
  threads_->setToolTip(tr("BLAS: %1").arg(QString::fromStdString(report.blas)));

  connect(timer_, &QTimer::timeout, this, &StatusPanel::refresh);
  timer_->start(kRefreshMilliseconds);
  refresh();
}

QString StatusPanel::deviceText() const { return device_->text(); }
QString StatusPanel::threadsText() const { return threads_->text(); }
QString StatusPanel::memoryText() const { return memory_->text(); }

void StatusPanel::refresh() {
  const runtime::Memory m = runtime::memory();
  memory_->setText(tr("Memory: %1 GiB used, %2 GiB free of %3 GiB")
                       .arg(gib(m.resident_bytes), gib(m.available_bytes), gib(m.total_bytes)));
  memory_->setToolTip(tr("Peak for this process: %1 GiB").arg(gib(m.peak_resident_bytes)));
}

} // namespace t2i::ui
