// Summaries and pictures of training timelines.
#include "train/timeline_summary.h"

#include <algorithm>
#include <cmath>
#include <map>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "core/json.h"
#include "hearth/metrics.h"
#include "hearth/timeline.h"
#include "train/svg_plot.h"

namespace hearth {
namespace {

// The training thread's phases within a step, in the order they happen.
const char* const kStepPhases[] = {"forward",
                                   "backward",
                                   "allreduce all gradients",
                                   "wait for gradients",
                                   "tree allreduce",
                                   "wait for step stats",
                                   "optimizer",
                                   "checkpoint"};

double Median(std::vector<double> v) {
  if (v.empty()) return 0;
  const size_t mid = v.size() / 2;
  std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(mid), v.end());
  const double upper = v[mid];
  if (v.size() % 2 == 1) return upper;
  return (upper + *std::max_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(mid))) / 2;
}

double Mean(const std::vector<double>& v) {
  return MeanAndPopulationStd(v).mean;
}

bool Number(const json::Value* v, double* out) {
  return v != nullptr && v->AsDouble(out);
}

// Each rank's events, and its "step" events in order.
struct RankEvents {
  std::vector<const TimelineEvent*> all;
  std::vector<const TimelineEvent*> steps;
};

std::map<int, RankEvents> ByRank(const std::vector<TimelineEvent>& events) {
  std::map<int, RankEvents> ranks;
  for (const TimelineEvent& e : events) {
    RankEvents& r = ranks[e.rank];
    r.all.push_back(&e);
    if (e.row == Timeline::kTraining && e.name == "step" && e.dur_us >= 0) r.steps.push_back(&e);
  }
  for (auto& [rank, r] : ranks) {
    auto by_start = [](const TimelineEvent* a, const TimelineEvent* b) {
      return a->ts_us < b->ts_us;
    };
    std::sort(r.all.begin(), r.all.end(), by_start);
    std::sort(r.steps.begin(), r.steps.end(), by_start);
  }
  return ranks;
}

bool Within(const TimelineEvent& e, const TimelineEvent& step) {
  return e.ts_us >= step.ts_us && e.ts_us < step.ts_us + step.dur_us;
}

}  // namespace

StatusOr<std::vector<TimelineEvent>> ParseTimeline(const std::string& text,
                                                   const std::string& source) {
  StatusOr<json::Value> doc = json::Parse(text);
  if (!doc.ok())
    return absl::InvalidArgumentError(
        absl::StrFormat("%s:%s: not a trace (a timeline written with HEARTH_TIMELINE=FILE)", source,
                        doc.status().message()));
  const json::Value* array = &*doc;
  // The object form {"traceEvents": [...]} too, as other tools write it.
  if (doc->is_object()) array = doc->Find("traceEvents");
  if (array == nullptr || !array->is_array())
    return absl::InvalidArgumentError(
        absl::StrFormat("%s: expected a JSON array of trace events", source));
  std::vector<TimelineEvent> events;
  for (const json::Value& v : array->array) {
    const json::Value* ph = v.is_object() ? v.Find("ph") : nullptr;
    const json::Value* name = v.is_object() ? v.Find("name") : nullptr;
    if (ph == nullptr || !ph->is_string() || name == nullptr || !name->is_string())
      return absl::InvalidArgumentError(
          absl::StrFormat("%s:%d:%d: expected a trace event with \"name\" and \"ph\"", source,
                          v.pos.line, v.pos.column));
    if (ph->text == "M") continue;
    TimelineEvent e;
    e.name = name->text;
    double pid = 0, tid = 0, arg = -1;
    if (!Number(v.Find("ts"), &e.ts_us) || !Number(v.Find("pid"), &pid) ||
        !Number(v.Find("tid"), &tid))
      return absl::InvalidArgumentError(
          absl::StrFormat("%s:%d:%d: event \"%s\" needs numbers \"ts\", \"pid\" and \"tid\"",
                          source, v.pos.line, v.pos.column, e.name));
    // A crafted file may hold any number: pid and tid become ints, times stay finite.
    constexpr double kMaxId = 1 << 20;
    if (!(pid >= 0 && pid <= kMaxId && tid >= 0 && tid <= kMaxId) || !std::isfinite(e.ts_us))
      return absl::InvalidArgumentError(
          absl::StrFormat("%s:%d:%d: event \"%s\": expected pid and tid in [0, %d] and a finite ts",
                          source, v.pos.line, v.pos.column, e.name, static_cast<int>(kMaxId)));
    e.rank = static_cast<int>(pid);
    e.row = static_cast<int>(tid);
    if (ph->text == "X" &&
        !(Number(v.Find("dur"), &e.dur_us) && e.dur_us >= 0 && std::isfinite(e.dur_us)))
      return absl::InvalidArgumentError(
          absl::StrFormat("%s:%d:%d: complete event \"%s\" needs a finite \"dur\" >= 0", source,
                          v.pos.line, v.pos.column, e.name));
    if (const json::Value* args = v.Find("args"); args != nullptr && args->is_object())
      if (Number(args->Find("value"), &arg) && arg >= 0 && arg < 9e18)
        e.arg = static_cast<int64_t>(arg);
    events.push_back(std::move(e));
  }
  return events;
}

StatusOr<std::vector<RankTimeline>> SummariseTimeline(const std::vector<TimelineEvent>& events,
                                                      int skip_steps) {
  std::vector<RankTimeline> out;
  for (const auto& [rank, r] : ByRank(events)) {
    if (static_cast<int>(r.steps.size()) <= skip_steps) continue;
    RankTimeline t;
    t.rank = rank;
    std::map<std::string, std::vector<double>> per_phase;
    std::vector<double> step_us, data_us, other_us;
    std::map<int64_t, std::vector<double>> bucket_us;
    size_t cursor = 0;  // into r.all, moving forward with the steps
    const TimelineEvent* last_data = nullptr;
    for (size_t s = 0; s < r.steps.size(); ++s) {
      const TimelineEvent& step = *r.steps[s];
      std::map<std::string, double> in_step;
      double data = 0;
      for (; cursor < r.all.size() && r.all[cursor]->ts_us < step.ts_us + step.dur_us; ++cursor) {
        const TimelineEvent& e = *r.all[cursor];
        if (e.row == Timeline::kTraining && e.name == "data" && e.ts_us < step.ts_us)
          last_data = &e;
        if (!Within(e, step) || e.dur_us < 0) continue;
        if (e.row == Timeline::kTraining && e.name != "step") in_step[e.name] += e.dur_us;
        if (e.row >= Timeline::kBucketRows && e.name == "allreduce" &&
            static_cast<int>(s) >= skip_steps)
          bucket_us[e.row - Timeline::kBucketRows].push_back(e.dur_us);
      }
      if (last_data != nullptr) data = last_data->dur_us;
      last_data = nullptr;
      if (static_cast<int>(s) < skip_steps) continue;
      step_us.push_back(step.dur_us);
      data_us.push_back(data);
      double accounted = 0;
      for (const char* phase : kStepPhases) {
        const double us = in_step.count(phase) ? in_step[phase] : 0;
        per_phase[phase].push_back(us);
        accounted += us;
      }
      other_us.push_back(step.dur_us - accounted);
    }
    t.steps = static_cast<int64_t>(step_us.size());
    t.step_mean_us = Mean(step_us);
    t.step_median_us = Median(step_us);
    t.data_mean_us = Mean(data_us);
    auto add = [&](const std::string& name, const std::vector<double>& v) {
      const double mean = Mean(v);
      if (mean == 0) return;  // a phase this step strategy does not have
      t.phases.push_back({name, mean, Median(v), t.step_mean_us > 0 ? mean / t.step_mean_us : 0});
    };
    for (const char* phase : kStepPhases) add(phase, per_phase[phase]);
    add("other", other_us);
    for (const auto& [bucket, v] : bucket_us) t.bucket_allreduce_median_us.push_back(Median(v));
    out.push_back(std::move(t));
  }
  if (out.empty())
    return absl::FailedPreconditionError(absl::StrFormat(
        "the timeline has no training steps past the first %d: record a longer run, or lower "
        "--skip",
        skip_steps));
  return out;
}

std::string RenderTimelineSvg(const std::vector<TimelineEvent>& events, int first_step, int steps,
                              const std::string& title) {
  const std::map<int, RankEvents> ranks = ByRank(events);
  // The window: from the first chosen step's start on rank 0 (or the first rank) to the end of
  // the last chosen step on any rank.
  double t0 = -1, t1 = -1;
  for (const auto& [rank, r] : ranks) {
    if (r.steps.empty()) continue;
    const int first = std::min<int>(first_step, static_cast<int>(r.steps.size()) - 1);
    const int last = std::min<int>(first + steps, static_cast<int>(r.steps.size())) - 1;
    const double begin = r.steps[static_cast<size_t>(first)]->ts_us;
    const double end =
        r.steps[static_cast<size_t>(last)]->ts_us + r.steps[static_cast<size_t>(last)]->dur_us;
    if (t0 < 0 || begin < t0) t0 = begin;
    t1 = std::max(t1, end);
  }
  // Lanes: each rank's training thread, then its bucket rows that have events in the window.
  struct Lane {
    int rank, row;
  };
  std::vector<Lane> lanes;
  for (const auto& [rank, r] : ranks) {
    lanes.push_back({rank, Timeline::kTraining});
    std::vector<int> rows;
    for (const TimelineEvent* e : r.all)
      if (e->row >= Timeline::kBucketRows && e->ts_us < t1 && e->ts_us >= t0 &&
          std::find(rows.begin(), rows.end(), e->row) == rows.end())
        rows.push_back(e->row);
    std::sort(rows.begin(), rows.end());
    for (int row : rows) lanes.push_back({rank, row});
  }
  constexpr double kLeft = 170, kRight = 30, kLane = 34, kTop = 70, kWidth = 1100;
  const double height = kTop + kLane * static_cast<double>(lanes.size()) + 110;
  std::string svg = plot::BeginSvg(title, kWidth, height);
  if (t0 < 0 || t1 <= t0) {
    plot::AppendText(svg, kWidth / 2, kTop + 20, "no steps recorded", "text-anchor=\"middle\"");
    return svg + "</svg>\n";
  }
  const double span = t1 - t0;
  const plot::Ticks ticks = plot::NiceTicks(0, span, 10, false);
  auto x_of = [&](double us) { return kLeft + (us - t0) / span * (kWidth - kLeft - kRight); };
  const double bottom = kTop + kLane * static_cast<double>(lanes.size());
  for (double tick : ticks.values) {
    if (tick > span) break;
    const double x = x_of(t0 + tick);
    absl::StrAppend(&svg, "<line x1=\"", plot::Num(x), "\" y1=\"", plot::Num(kTop), "\" x2=\"",
                    plot::Num(x), "\" y2=\"", plot::Num(bottom), "\" stroke=\"#ddd\"/>\n");
    plot::AppendText(svg, x, bottom + 16, plot::FormatTick(tick, ticks.step, span),
                     "font-size=\"11\" text-anchor=\"middle\" fill=\"#444\"");
  }
  plot::AppendText(svg, (kLeft + kWidth - kRight) / 2, bottom + 34, "microseconds",
                   "font-size=\"12\" text-anchor=\"middle\" fill=\"#444\"");
  // One colour per event name, the same in every picture for the phases Hearth records (others
  // after them, in order of appearance); the legend below the axis lists those drawn.
  static const char* const kKnown[] = {"data",
                                       "forward",
                                       "backward",
                                       "allreduce",
                                       "wait for gradients",
                                       "wait for step stats",
                                       "optimizer",
                                       "checkpoint",
                                       "allreduce all gradients",
                                       "tree allreduce"};
  std::vector<std::string> names;  // drawn, in legend order
  std::vector<std::string> others;
  auto colour_index = [&](const std::string& name) -> size_t {
    for (size_t i = 0; i < std::size(kKnown); ++i)
      if (name == kKnown[i]) return i;
    auto it = std::find(others.begin(), others.end(), name);
    if (it == others.end()) it = others.insert(others.end(), name);
    return std::size(kKnown) + static_cast<size_t>(it - others.begin());
  };
  auto colour = [&](const std::string& name) {
    if (std::find(names.begin(), names.end(), name) == names.end()) names.push_back(name);
    return plot::PaletteColor(colour_index(name));
  };
  for (size_t l = 0; l < lanes.size(); ++l) {
    const double y = kTop + kLane * static_cast<double>(l);
    const Lane& lane = lanes[l];
    const std::string label =
        lane.row == Timeline::kTraining
            ? absl::StrFormat("rank %d training", lane.rank)
            : absl::StrFormat("rank %d bucket %d", lane.rank, lane.row - Timeline::kBucketRows + 1);
    plot::AppendText(svg, kLeft - 8, y + kLane / 2 + 4, label,
                     "font-size=\"12\" text-anchor=\"end\" fill=\"#222\"");
    for (const TimelineEvent* e : ranks.at(lane.rank).all) {
      if (e->row != lane.row || e->ts_us >= t1 ||
          (e->dur_us >= 0 ? e->ts_us + e->dur_us : e->ts_us) < t0)
        continue;
      if (e->dur_us < 0) {  // an instant: a tick mark
        const double x = x_of(e->ts_us);
        absl::StrAppend(&svg, "<line x1=\"", plot::Num(x), "\" y1=\"", plot::Num(y + 2), "\" x2=\"",
                        plot::Num(x), "\" y2=\"", plot::Num(y + kLane - 2),
                        "\" stroke=\"#111\" stroke-width=\"1\"><title>", plot::XmlEscape(e->name),
                        "</title></line>\n");
        continue;
      }
      // Steps frame their phases: drawn as an outline behind them.
      const bool frame = e->name == "step";
      const double x = x_of(std::max(e->ts_us, t0));
      const double w = std::max(0.5, x_of(std::min(e->ts_us + e->dur_us, t1)) - x);
      absl::StrAppend(
          &svg, "<rect x=\"", plot::Num(x), "\" y=\"", plot::Num(y + (frame ? 1 : 6)),
          "\" width=\"", plot::Num(w), "\" height=\"", plot::Num(kLane - (frame ? 2 : 12)), "\" ",
          frame ? "fill=\"none\" stroke=\"#888\"" : absl::StrCat("fill=\"", colour(e->name), "\""),
          "><title>", plot::XmlEscape(absl::StrFormat("%s: %.1f us", e->name, e->dur_us)),
          "</title></rect>\n");
    }
  }
  double x = kLeft;
  const double legend_y = bottom + 62;
  for (size_t i = 0; i < names.size(); ++i) {
    absl::StrAppend(&svg, "<rect x=\"", plot::Num(x), "\" y=\"", plot::Num(legend_y - 10),
                    "\" width=\"12\" height=\"12\" fill=\"",
                    plot::PaletteColor(colour_index(names[i])), "\"/>\n");
    plot::AppendText(svg, x + 16, legend_y, names[i], "font-size=\"12\" fill=\"#222\"");
    x += 24 + 7.5 * static_cast<double>(names[i].size());
  }
  return svg + "</svg>\n";
}

}  // namespace hearth
