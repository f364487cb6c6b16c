// Counters for /metrics in the Prometheus text format: requests by model, protocol and status
// code, a latency histogram and a batch-size histogram per model, and the versions loaded.
//
// Thread-safety: every method may be called from any thread; mu_ guards all counters.
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <tuple>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "serve/model_registry.h"

namespace hearth::serve {

class ServingMetrics {
 public:
  // `model` is empty for requests that name none (health, metadata of the server).
  void RecordRequest(const std::string& model, const std::string& protocol, int status,
                     double seconds);
  void RecordBatch(const std::string& model, int64_t rows);
  std::string Prometheus(const std::vector<ModelStatus>& models) const;

  // Forward passes of `model` so far, and those that merged more than one row.
  uint64_t Batches(const std::string& model) const;
  uint64_t MergedBatches(const std::string& model) const;

 private:
  struct Histogram {
    explicit Histogram(const std::vector<double>* bounds = nullptr)
        : bounds(bounds), counts(bounds ? bounds->size() : 0, 0) {}
    void Add(double v);
    const std::vector<double>* bounds;
    std::vector<uint64_t> counts;  // per bucket, not cumulative
    double sum = 0;
    uint64_t count = 0;
  };
  static void AppendHistogram(std::string& out, const std::string& name, const std::string& model,
                              const Histogram& h);

  mutable std::mutex mu_;
  std::map<std::tuple<std::string, std::string, int>, uint64_t> requests_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, Histogram> latency_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, Histogram> batches_ ABSL_GUARDED_BY(mu_);
};

}  // namespace hearth::serve
