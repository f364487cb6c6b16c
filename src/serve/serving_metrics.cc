#include "serve/serving_metrics.h"

#include <algorithm>

#include "absl/strings/str_format.h"

namespace hearth::serve {
namespace {

const std::vector<double> kLatencyBounds = {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01,
                                            0.025,  0.05,    0.1,    0.25,  0.5,    1,     2.5};
const std::vector<double> kBatchBounds = {1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024};

// A label value: backslash, quote and newline escaped.
std::string Label(const std::string& v) {
  std::string out;
  for (char c : v) {
    if (c == '\\' || c == '"') out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out += c;
  }
  return out;
}

}  // namespace

void ServingMetrics::Histogram::Add(double v) {
  const size_t bucket = std::lower_bound(bounds->begin(), bounds->end(), v) - bounds->begin();
  if (bucket < counts.size()) ++counts[bucket];
  sum += v;
  ++count;
}

void ServingMetrics::RecordRequest(const std::string& model, const std::string& protocol,
                                   int status, double seconds) {
  std::lock_guard<std::mutex> lock(mu_);
  ++requests_[{model, protocol, status}];
  if (model.empty()) return;
  auto it = latency_.try_emplace(model, &kLatencyBounds).first;
  it->second.Add(seconds);
}

void ServingMetrics::RecordBatch(const std::string& model, int64_t rows) {
  std::lock_guard<std::mutex> lock(mu_);
  batches_.try_emplace(model, &kBatchBounds).first->second.Add(static_cast<double>(rows));
}

uint64_t ServingMetrics::Batches(const std::string& model) const {
  std::lock_guard<std::mutex> lock(mu_);
  const auto it = batches_.find(model);
  return it == batches_.end() ? 0 : it->second.count;
}

uint64_t ServingMetrics::MergedBatches(const std::string& model) const {
  std::lock_guard<std::mutex> lock(mu_);
  const auto it = batches_.find(model);
  return it == batches_.end() ? 0 : it->second.count - it->second.counts[0];  // bucket le=1
}

void ServingMetrics::AppendHistogram(std::string& out, const std::string& name,
                                     const std::string& model, const Histogram& h) {
  uint64_t cumulative = 0;
  for (size_t i = 0; i < h.counts.size(); ++i) {
    cumulative += h.counts[i];
    out += absl::StrFormat("%s_bucket{model=\"%s\",le=\"%g\"} %d\n", name, Label(model),
                           (*h.bounds)[i], cumulative);
  }
  out += absl::StrFormat("%s_bucket{model=\"%s\",le=\"+Inf\"} %d\n", name, Label(model), h.count);
  out += absl::StrFormat("%s_sum{model=\"%s\"} %.9g\n", name, Label(model), h.sum);
  out += absl::StrFormat("%s_count{model=\"%s\"} %d\n", name, Label(model), h.count);
}

std::string ServingMetrics::Prometheus(const std::vector<ModelStatus>& models) const {
  std::string out;
  out +=
      "# HELP hearth_serve_requests_total HTTP requests by model, protocol and status code.\n"
      "# TYPE hearth_serve_requests_total counter\n";
  std::lock_guard<std::mutex> lock(mu_);
  for (const auto& [key, n] : requests_) {
    const auto& [model, protocol, code] = key;
    out += absl::StrFormat(
        "hearth_serve_requests_total{model=\"%s\",protocol=\"%s\",code=\"%d\"} %d\n", Label(model),
        protocol, code, n);
  }
  out +=
      "# HELP hearth_serve_request_errors_total Requests answered with a 4xx or 5xx status.\n"
      "# TYPE hearth_serve_request_errors_total counter\n";
  std::map<std::string, uint64_t> errors;
  for (const auto& [key, n] : requests_)
    if (std::get<2>(key) >= 400) errors[std::get<0>(key)] += n;
  for (const auto& [model, n] : errors)
    out += absl::StrFormat("hearth_serve_request_errors_total{model=\"%s\"} %d\n", Label(model), n);
  out +=
      "# HELP hearth_serve_request_seconds Time from a request's arrival to its reply.\n"
      "# TYPE hearth_serve_request_seconds histogram\n";
  for (const auto& [model, h] : latency_)
    AppendHistogram(out, "hearth_serve_request_seconds", model, h);
  out +=
      "# HELP hearth_serve_batch_rows Rows per forward pass (the dynamic batcher's merges).\n"
      "# TYPE hearth_serve_batch_rows histogram\n";
  for (const auto& [model, h] : batches_) AppendHistogram(out, "hearth_serve_batch_rows", model, h);
  out +=
      "# HELP hearth_serve_queued_rows Rows waiting for a forward pass.\n"
      "# TYPE hearth_serve_queued_rows gauge\n";
  for (const ModelStatus& m : models)
    out += absl::StrFormat("hearth_serve_queued_rows{model=\"%s\"} %d\n", Label(m.name),
                           m.queued_rows);
  out +=
      "# HELP hearth_serve_model_version_loaded 1 for each model version being served.\n"
      "# TYPE hearth_serve_model_version_loaded gauge\n";
  for (const ModelStatus& m : models)
    for (int64_t v : m.versions)
      out += absl::StrFormat("hearth_serve_model_version_loaded{model=\"%s\",version=\"%d\"} 1\n",
                             Label(m.name), v);
  return out;
}

}  // namespace hearth::serve
