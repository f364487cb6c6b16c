// How the remote commands show coordinator objects to people: job details and tables, failure
// reports, checkpoints and sweeps. (Scripts get the protos as JSON instead: ProtoJson.)
#pragma once

#include <cstdio>
#include <string>
#include <utility>
#include <vector>

#include "hearth/v1/coordinator.pb.h"

namespace hearth::cli {

using MetricList = std::vector<std::pair<std::string, double>>;

// The metrics with `prefix` added to names that do not have it yet (loss -> val_loss).
MetricList PrefixedMetrics(const google::protobuf::RepeatedPtrField<v1::Metric>& metrics,
                           const std::string& prefix);
// "loss=0.0123 mse=0.0123" (names as given).
std::string JoinMetrics(const MetricList& metrics);

// "epoch 2/3 step 20/30" (what is known of it).
std::string JobProgress(const v1::Job& job);
// "rank 1: <error> (exit code 137)" or "<error>" when no rank is to blame.
std::string FailureSummary(const v1::FailureReport& failure);
// The failure's log tail, each line indented, after a title line; "" when there is none.
std::string FailureLogTail(const v1::FailureReport& failure, const std::string& job_id);

void PrintJobDetail(std::FILE* out, const v1::Job& job);
void PrintJobTable(std::FILE* out, const google::protobuf::RepeatedPtrField<v1::Job>& jobs);
void PrintCheckpointTable(
    std::FILE* out, const google::protobuf::RepeatedPtrField<v1::CheckpointInfo>& checkpoints);
// A sweep's state, its trials as a table (the best one marked '*'), and the best trial.
void PrintSweep(std::FILE* out, const v1::Sweep& sweep);
// The sweep's metric name and whether it is minimised.
std::string SweepMetricName(const v1::SweepSpec& spec);
// "trial 3 (j-000012, optimizer.lr=0.01)".
std::string TrialName(const v1::Sweep& sweep, int index);

}  // namespace hearth::cli
