// Hyperparameter sweeps: grid or random search over numeric job-spec fields. Each trial is an
// ordinary job (Job.sweep_id set) run by the scheduler within its slots; a monitor thread follows
// the trials' validation metrics, stops trials that lag the median of the others at the same
// epoch (median stopping rule, after grace_epochs), starts pending trials as parallelism allows,
// and names the best trial.
//
// Thread-safety: Submit and Get may be called from any thread (gRPC handlers) while the monitor
// runs; mu_ serialises every read-modify-write of a sweep (Refresh), so two refreshes never
// start the same pending trial twice.
#pragma once

#include <mutex>

#include <thread>
#include "absl/base/thread_annotations.h"

#include "coordinator/data_roots.h"
#include "coordinator/event_hub.h"
#include "coordinator/job_store.h"
#include "coordinator/scheduler.h"

namespace hearth::coordinator {

class SweepManager {
 public:
  SweepManager(JobStore& store, Scheduler& scheduler, EventHub& hub, const DataRoots& roots);
  ~SweepManager();
  void Start();

  // Validates the sweep (base spec, parameter paths and ranges, every trial's spec) and creates
  // its trials. INVALID_ARGUMENT names the field, e.g. "parameters[1].path: ...".
  StatusOr<v1::Sweep> Submit(v1::SweepSpec spec);
  // The sweep with its trials' current state and the best trial so far.
  StatusOr<v1::Sweep> Get(const std::string& id);

 private:
  Status Refresh(v1::Sweep& sweep) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  Status StartTrial(v1::Sweep& sweep, int index) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void Loop();

  JobStore& store_;
  Scheduler& scheduler_;
  EventHub& hub_;
  const DataRoots& roots_;
  std::mutex mu_;
  bool quit_ ABSL_GUARDED_BY(mu_) = false;
  std::thread thread_;
};

// Whether a smaller value of `metric` is better (losses and errors), given the sweep's direction.
bool Minimize(const std::string& metric, v1::SweepSpec::MetricDirection direction);

}  // namespace hearth::coordinator
