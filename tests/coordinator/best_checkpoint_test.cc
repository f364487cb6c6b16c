// Which way "best" points for a job's checkpoints on the coordinator: the job's checkpoint.mode,
// else inferred from the monitored name, the same rule as CheckpointManager's in a run directory.
#include <gtest/gtest.h>

#include "coordinator/coordinator_service.h"

namespace hearth::coordinator {
namespace {

v1::JobSpec Monitoring(const std::string& monitor, v1::MonitorMode mode) {
  v1::JobSpec spec;
  spec.mutable_checkpoint()->set_monitor(monitor);
  spec.mutable_checkpoint()->set_mode(mode);
  return spec;
}

TEST(BestCheckpointTest, TheJobsModeDecidesAndTheNameOnlyWhenItIsUnset) {
  EXPECT_FALSE(MaximizesMonitor(Monitoring("val_loss", v1::MONITOR_MODE_UNSPECIFIED)));
  EXPECT_TRUE(MaximizesMonitor(Monitoring("val_accuracy", v1::MONITOR_MODE_UNSPECIFIED)));
  // An explicit mode wins over the name (a custom metric whose name misleads).
  EXPECT_TRUE(MaximizesMonitor(Monitoring("val_loss", v1::MAX)));
  EXPECT_FALSE(MaximizesMonitor(Monitoring("val_accuracy", v1::MIN)));
}

}  // namespace
}  // namespace hearth::coordinator
