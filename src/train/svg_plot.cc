// Training curves as a self-contained SVG: metrics.jsonl records become panels of line series,
// drawn with our own axis arithmetic (no plotting dependency), and written atomically.
#include "train/svg_plot.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <set>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "hearth/report.h"
#include "train/report_text.h"

namespace hearth {
namespace plot {
Ticks NiceTicks(double lo, double hi, int max_intervals, bool integer) {
  // Past about 1e307 the range itself overflows; such data is broken anyway.
  if (!std::isfinite(hi - lo)) lo = 0, hi = 1;
  if (lo > hi) std::swap(lo, hi);
  // A constant series has no range to divide; give it one around the value.
  if (hi - lo <= std::max(std::fabs(lo), std::fabs(hi)) * 1e-12) {
    const double pad = integer ? 1 : lo == 0 ? 1 : std::fabs(lo) * 0.1;
    lo -= pad;
    hi += pad;
  }
  // Two intervals always suffice (a step beyond |lo| and |hi|), so the search below ends.
  max_intervals = std::max(max_intervals, 2);
  // The smallest 1/2/5 x 10^k step that needs no more than max_intervals: the axis then ends
  // close to the data instead of at the next power of ten.
  const auto intervals = [&](double step) {
    return std::ceil(hi / step - 1e-9) - std::floor(lo / step + 1e-9);
  };
  double step = 0;
  for (double e = std::pow(10.0, std::floor(std::log10((hi - lo) / max_intervals))); step == 0;
       e *= 10) {
    for (const double m : {1.0, 2.0, 5.0}) {
      if ((!integer || m * e >= 1) && intervals(m * e) <= max_intervals) {
        step = m * e;
        break;
      }
    }
  }
  Ticks t;
  t.step = step;
  t.lo = std::floor(lo / step + 1e-9) * step;
  t.hi = std::ceil(hi / step - 1e-9) * step;
  const auto n = static_cast<int>(std::llround((t.hi - t.lo) / step));
  for (int i = 0; i <= n; ++i) {
    const double v = t.lo + i * step;
    // Accumulated rounding leaves 1e-17 where 0 belongs.
    t.values.push_back(std::fabs(v) < step * 1e-9 ? 0.0 : v);
  }
  return t;
}

Ticks LogTicks(double lo, double hi) {
  if (!(lo > 0) || !std::isfinite(lo)) lo = 1;
  if (!(hi > 0) || !std::isfinite(hi)) hi = lo;
  if (lo > hi) std::swap(lo, hi);
  int k0 = static_cast<int>(std::floor(std::log10(lo)));
  int k1 = static_cast<int>(std::ceil(std::log10(hi)));
  if (k1 <= k0) k1 = k0 + 1;
  // At most about 8 labelled decades.
  const int stride = (k1 - k0 + 7) / 8;
  k0 = static_cast<int>(std::floor(static_cast<double>(k0) / stride)) * stride;
  k1 = k0 + (k1 - k0 + stride - 1) / stride * stride;
  Ticks t;
  t.step = stride;
  t.lo = std::pow(10.0, k0);
  t.hi = std::pow(10.0, k1);
  for (int k = k0; k <= k1; k += stride) t.values.push_back(std::pow(10.0, k));
  return t;
}

std::string FormatTick(double v, double step, double max_abs) {
  if (std::fabs(v) < step * 1e-9) return "0";
  // Enough decimals to tell neighbouring ticks apart: 0.05 needs 2, 2.5 needs 1.
  const auto decimals = [](double d) {
    for (int n = 0; n < 9; ++n, d *= 10)
      if (std::fabs(d - std::round(d)) < 1e-6 * d) return n;
    return 9;
  };
  if (max_abs >= 1e4 && step >= 1) {
    const double unit = max_abs >= 1e9 ? 1e9 : max_abs >= 1e6 ? 1e6 : 1e3;
    const char* suffix = unit == 1e9 ? "G" : unit == 1e6 ? "M" : "k";
    return absl::StrFormat("%.*f%s", decimals(step / unit), v / unit, suffix);
  }
  if (step < 1e-4) return absl::StrFormat("%g", v);
  return absl::StrFormat("%.*f", decimals(step), v);
}

std::string FormatLogTick(int k) {
  if (k >= -3 && k <= 4) return absl::StrFormat("%g", std::pow(10.0, k));
  return absl::StrCat("1e", k);
}

std::string XmlEscape(std::string_view s) {
  std::string out;
  for (const char c : report::SanitizeUtf8(s)) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&apos;";
        break;
      default:
        out += static_cast<unsigned char>(c) < 0x20 ? '?' : c;
    }
  }
  return out;
}

}  // namespace plot

namespace {

using plot::XmlEscape;
using Point = std::pair<double, double>;  // x, y; a NaN y is a gap

// Tableau 10: distinguishable, and readable for the common forms of colour blindness.
constexpr const char* kPalette[] = {"#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
                                    "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"};
constexpr double kCharWidth = 7.0;  // rough width of a 12px sans-serif character, for layout
constexpr double kLeft = 76, kRight = 28, kTitleHeight = 52, kAxisHeight = 46;

using plot::Panel;
using plot::Series;

bool Plottable(double y, bool log_y) {
  return std::isfinite(y) && (!log_y || y > 0);
}

// Points of one field keyed by x, so a step logged twice (a resumed run) keeps its last value.
using Column = std::map<double, double>;

Series MakeSeries(std::string name, const Column& column, bool markers) {
  Series s{std::move(name), {}, markers ? Series::Style::kLineMarkers : Series::Style::kLine};
  s.points.assign(column.begin(), column.end());
  return s;
}

bool HasFinite(const Series& s) {
  return std::any_of(s.points.begin(), s.points.end(),
                     [](const Point& p) { return std::isfinite(p.second); });
}

// True for epoch-record fields that are bookkeeping rather than something to plot.
bool IsBookkeeping(const std::string& key) {
  static const std::set<std::string> kKeys = {"type", "epoch", "step",
                                              "time", "lr",    "examples_per_second"};
  return kKeys.count(key) > 0;
}

bool EndsWithLoss(const std::string& key) {
  return key.size() >= 4 && key.compare(key.size() - 4, 4, "loss") == 0;
}

std::vector<Panel> BuildPanels(std::span<const MetricsRecord> records,
                               const CurvesOptions& options) {
  Column step_loss, step_lr;
  std::vector<std::string> epoch_keys;  // numeric epoch fields in order of first appearance
  std::map<std::string, Column> by_step, by_epoch;
  for (const MetricsRecord& r : records) {
    const std::string type = r.type();
    if (type == "step") {
      const double step = r.Number("step");
      if (!std::isfinite(step)) continue;
      step_loss[step] = r.Number("loss");
      if (r.Find("lr") != nullptr) step_lr[step] = r.Number("lr");
    } else if (type == "epoch") {
      const double step = r.Number("step"), epoch = r.Number("epoch");
      for (const auto& [key, value] : r.fields()) {
        const bool numeric = std::holds_alternative<double>(value) ||
                             std::holds_alternative<int64_t>(value) ||
                             std::holds_alternative<std::monostate>(value);
        if (!numeric || IsBookkeeping(key)) continue;
        if (std::find(epoch_keys.begin(), epoch_keys.end(), key) == epoch_keys.end())
          epoch_keys.push_back(key);
        if (EndsWithLoss(key)) {
          if (std::isfinite(step)) by_step[key][step] = r.Number(key);
        } else if (std::isfinite(epoch)) {
          by_epoch[key][epoch] = r.Number(key);
        }
      }
    }
  }

  std::vector<Panel> panels;
  Panel loss;
  loss.title = "Loss";
  loss.x_label = "step";
  loss.y_label = "loss";
  loss.series.push_back(MakeSeries("loss", step_loss, false));
  Panel metrics;
  metrics.title = "Metrics per epoch";
  metrics.x_label = "epoch";
  metrics.y_label = "value";
  for (const std::string& key : epoch_keys) {
    if (EndsWithLoss(key))
      loss.series.push_back(MakeSeries(key, by_step[key], true));
    else
      metrics.series.push_back(MakeSeries(key, by_epoch[key], true));
  }
  std::erase_if(loss.series, [](const Series& s) { return !HasFinite(s); });
  std::erase_if(metrics.series, [](const Series& s) { return !HasFinite(s); });

  if (!loss.series.empty()) {
    double lo = INFINITY, hi = -INFINITY;
    bool all_positive = true;
    for (const Series& s : loss.series) {
      for (const auto& [x, y] : s.points) {
        if (!std::isfinite(y)) continue;
        all_positive = all_positive && y > 0;
        lo = std::min(lo, y);
        hi = std::max(hi, y);
      }
    }
    switch (options.loss_log_scale) {
      case CurvesOptions::LogScale::kAuto:
        loss.log_y = all_positive && hi > lo * 100;
        break;
      case CurvesOptions::LogScale::kOn:
        // A loss of 0 or below has no logarithm; those points become gaps, but one must remain.
        loss.log_y = hi > 0;
        break;
      case CurvesOptions::LogScale::kOff:
        break;
    }
    if (loss.log_y) loss.y_label = "loss (log scale)";
    panels.push_back(std::move(loss));
  }
  if (!metrics.series.empty()) panels.push_back(std::move(metrics));

  Series lr = MakeSeries("lr", step_lr, false);
  double lr_lo = INFINITY, lr_hi = -INFINITY;
  for (const auto& [x, y] : lr.points) {
    if (!std::isfinite(y)) continue;
    lr_lo = std::min(lr_lo, y);
    lr_hi = std::max(lr_hi, y);
  }
  // A constant learning rate is one number, not a curve worth a panel.
  if (lr_hi > lr_lo) {
    Panel panel;
    panel.title = "Learning rate";
    panel.x_label = "step";
    panel.y_label = "lr";
    panel.series.push_back(std::move(lr));
    panels.push_back(std::move(panel));
  }
  return panels;
}

// Keeps at most the first, lowest, highest and last point of each pixel column (and a gap if the
// column has one), so a million-step run makes a small file that still shows every spike.
std::vector<Point> Thin(const std::vector<Point>& points, double x_lo, double x_hi, double pixels) {
  if (points.size() <= static_cast<size_t>(4 * pixels) || !(x_hi > x_lo)) return points;
  const auto column = [&](double x) {
    return static_cast<int64_t>((x - x_lo) / (x_hi - x_lo) * pixels);
  };
  std::vector<Point> out;
  size_t i = 0;
  while (i < points.size()) {
    const int64_t c = column(points[i].first);
    size_t end = i;
    size_t lo = points.size(), hi = points.size(), gap = points.size(), last = points.size();
    size_t first = points.size();
    for (; end < points.size() && column(points[end].first) == c; ++end) {
      const double y = points[end].second;
      if (!std::isfinite(y)) {
        if (gap == points.size()) gap = end;
        continue;
      }
      if (first == points.size()) first = end;
      if (lo == points.size() || y < points[lo].second) lo = end;
      if (hi == points.size() || y > points[hi].second) hi = end;
      last = end;
    }
    std::set<size_t> keep = {first, lo, hi, last, gap};
    keep.erase(points.size());
    for (const size_t k : keep) out.push_back(points[k]);
    i = end;
  }
  return out;
}

struct Axis {
  double lo = 0, hi = 1;  // data values at the two ends (log10 of them on a log axis)
  double px_lo = 0, px_hi = 1;
  bool log = false;
  double Map(double v) const {
    const double t = ((log ? std::log10(v) : v) - lo) / (hi - lo);
    return px_lo + t * (px_hi - px_lo);
  }
};

double TextWidth(std::string_view text) {
  return kCharWidth * static_cast<double>(text.size());
}

// The smaller (larger) of a fixed end and the data's, for an axis range.
double FixedOr(double fixed, double data) {
  return std::isnan(fixed) ? data : fixed;
}

}  // namespace

namespace plot {

std::string Num(double v) {
  return absl::StrFormat("%.2f", v);
}

void AppendText(std::string& svg, double x, double y, std::string_view text,
                std::string_view attrs) {
  absl::StrAppend(&svg, "<text x=\"", Num(x), "\" y=\"", Num(y), "\" ",
                  absl::string_view(attrs.data(), attrs.size()), ">", XmlEscape(text), "</text>\n");
}

const char* PaletteColor(size_t i) {
  return kPalette[i % std::size(kPalette)];
}

std::string BeginSvg(std::string_view title, double width, double height) {
  std::string svg = absl::StrCat(
      "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n", "<svg xmlns=\"http://www.w3.org/2000/svg\" ",
      "width=\"", Num(width), "\" height=\"", Num(height), "\" viewBox=\"0 0 ", Num(width), " ",
      Num(height), "\" font-family=\"DejaVu Sans, Helvetica, Arial, sans-serif\">\n");
  absl::StrAppend(&svg, "<title>", XmlEscape(title), "</title>\n");
  absl::StrAppend(&svg, "<rect width=\"100%\" height=\"100%\" fill=\"#ffffff\"/>\n");
  AppendText(svg, width / 2, 32, title,
             "font-size=\"20\" font-weight=\"bold\" text-anchor=\"middle\" fill=\"#111\"");
  return svg;
}

void AppendPanel(std::string& svg, const Panel& panel, int index, double top, double width,
                 double height) {
  const double plot_left = kLeft, plot_right = width - kRight;

  // Legend entries flow left to right under the title, wrapping when the row is full.
  struct Entry {
    double x, y;
  };
  std::vector<Entry> entries;
  double lx = plot_left, ly = top + 40;
  for (const Series& s : panel.series) {
    const double w = 28 + TextWidth(s.name) + 18;
    if (lx + w > plot_right && lx > plot_left) {
      lx = plot_left;
      ly += 18;
    }
    entries.push_back({lx, ly});
    lx += w;
  }
  const double plot_top = ly + 14;
  const double plot_bottom = std::max(plot_top + 60, top + height - kAxisHeight);

  // Ranges.
  double x_min = INFINITY, x_max = -INFINITY, y_min = INFINITY, y_max = -INFINITY;
  for (const Series& s : panel.series) {
    for (const auto& [x, y] : s.points) {
      x_min = std::min(x_min, x);
      x_max = std::max(x_max, x);
      if (!Plottable(y, panel.log_y)) continue;
      y_min = std::min(y_min, y);
      y_max = std::max(y_max, y);
    }
  }
  x_min = FixedOr(panel.x_min, x_min);
  x_max = FixedOr(panel.x_max, x_max);
  y_min = FixedOr(panel.y_min, y_min);
  y_max = FixedOr(panel.y_max, y_max);
  const plot::Ticks xt = plot::NiceTicks(
      x_min, x_max, std::max(2, static_cast<int>((plot_right - plot_left) / 80)), panel.integer_x);
  const plot::Ticks yt =
      panel.log_y ? plot::LogTicks(y_min, y_max)
                  : plot::NiceTicks(y_min, y_max,
                                    std::max(2, static_cast<int>((plot_bottom - plot_top) / 40)),
                                    /*integer=*/false);
  // The axes end a few pixels inside the frame, so points at the ends are not cut by it.
  constexpr double kInset = 6;
  const Axis xa{xt.lo, xt.hi, plot_left + kInset, plot_right - kInset, false};
  const Axis ya{panel.log_y ? std::log10(yt.lo) : yt.lo, panel.log_y ? std::log10(yt.hi) : yt.hi,
                plot_bottom - kInset, plot_top + kInset, panel.log_y};

  absl::StrAppend(&svg, "<g class=\"panel\" id=\"panel-", index, "\">\n");
  AppendText(svg, plot_left, top + 20, panel.title,
             "font-size=\"15\" font-weight=\"bold\" fill=\"#222\"");
  absl::StrAppend(&svg, "<rect x=\"", Num(plot_left), "\" y=\"", Num(plot_top), "\" width=\"",
                  Num(plot_right - plot_left), "\" height=\"", Num(plot_bottom - plot_top),
                  "\" fill=\"#fcfcfc\" stroke=\"none\"/>\n");

  // Gridlines and tick labels.
  absl::StrAppend(&svg, "<g class=\"grid\" stroke=\"#e3e3e3\" stroke-width=\"1\">\n");
  if (panel.log_y && yt.step == 1) {
    // Minor lines at 2..9 x 10^k show that the axis is logarithmic at a glance.
    for (double decade = yt.lo; decade < yt.hi; decade *= 10) {
      for (int m = 2; m <= 9; ++m) {
        const double y = ya.Map(decade * m);
        absl::StrAppend(&svg, "<line x1=\"", Num(plot_left), "\" y1=\"", Num(y), "\" x2=\"",
                        Num(plot_right), "\" y2=\"", Num(y), "\" stroke=\"#f0f0f0\"/>\n");
      }
    }
  }
  for (const double v : yt.values) {
    const double y = ya.Map(v);
    absl::StrAppend(&svg, "<line x1=\"", Num(plot_left), "\" y1=\"", Num(y), "\" x2=\"",
                    Num(plot_right), "\" y2=\"", Num(y), "\"/>\n");
  }
  for (const double v : xt.values) {
    const double x = xa.Map(v);
    absl::StrAppend(&svg, "<line x1=\"", Num(x), "\" y1=\"", Num(plot_top), "\" x2=\"", Num(x),
                    "\" y2=\"", Num(plot_bottom), "\"/>\n");
  }
  absl::StrAppend(&svg, "</g>\n");
  double y_abs_max = 0, x_abs_max = 0;
  for (const double v : yt.values) y_abs_max = std::max(y_abs_max, std::fabs(v));
  for (const double v : xt.values) x_abs_max = std::max(x_abs_max, std::fabs(v));
  for (const double v : yt.values) {
    const std::string label =
        panel.log_y ? plot::FormatLogTick(static_cast<int>(std::lround(std::log10(v))))
                    : plot::FormatTick(v, yt.step, y_abs_max);
    AppendText(svg, plot_left - 8, ya.Map(v) + 4, label,
               "font-size=\"12\" text-anchor=\"end\" fill=\"#444\"");
  }
  for (const double v : xt.values) {
    AppendText(svg, xa.Map(v), plot_bottom + 18, plot::FormatTick(v, xt.step, x_abs_max),
               "font-size=\"12\" text-anchor=\"middle\" fill=\"#444\"");
  }
  AppendText(svg, (plot_left + plot_right) / 2, plot_bottom + 38, panel.x_label,
             "font-size=\"13\" text-anchor=\"middle\" fill=\"#222\"");
  const double label_y = (plot_top + plot_bottom) / 2;
  AppendText(svg, 18, label_y, panel.y_label,
             absl::StrCat("font-size=\"13\" text-anchor=\"middle\" fill=\"#222\" "
                          "transform=\"rotate(-90 18 ",
                          Num(label_y), ")\""));
  absl::StrAppend(&svg, "<rect x=\"", Num(plot_left), "\" y=\"", Num(plot_top), "\" width=\"",
                  Num(plot_right - plot_left), "\" height=\"", Num(plot_bottom - plot_top),
                  "\" fill=\"none\" stroke=\"#999\" stroke-width=\"1\"/>\n");

  // The series, clipped to the plot area.
  absl::StrAppend(&svg, "<clipPath id=\"clip-", index, "\"><rect x=\"", Num(plot_left - 4),
                  "\" y=\"", Num(plot_top - 4), "\" width=\"", Num(plot_right - plot_left + 8),
                  "\" height=\"", Num(plot_bottom - plot_top + 8), "\"/></clipPath>\n");
  absl::StrAppend(&svg, "<g clip-path=\"url(#clip-", index, ")\">\n");
  for (size_t si = 0; si < panel.series.size(); ++si) {
    const Series& s = panel.series[si];
    const char* color = PaletteColor(si);
    const bool markers = s.style == Series::Style::kLineMarkers || s.style == Series::Style::kDots;
    const std::vector<Point> points = s.style == Series::Style::kDots
                                          ? s.points
                                          : Thin(s.points, xt.lo, xt.hi, plot_right - plot_left);
    std::string d;
    std::vector<Point> dots;  // markers, and points with no neighbour to draw a line to
    size_t run = 0;           // plottable points in the current unbroken run
    for (size_t i = 0; i < points.size(); ++i) {
      const auto [x, y] = points[i];
      if (!Plottable(y, panel.log_y)) {
        run = 0;
        continue;
      }
      const Point p{xa.Map(x), ya.Map(y)};
      absl::StrAppend(&d, run == 0 ? "M" : "L", Num(p.first), " ", Num(p.second), " ");
      const bool next_plottable =
          i + 1 < points.size() && Plottable(points[i + 1].second, panel.log_y);
      if (markers || (run == 0 && !next_plottable)) dots.push_back(p);
      ++run;
    }
    absl::StrAppend(&svg, "<g class=\"series\" data-name=\"", XmlEscape(s.name), "\">\n");
    if (!d.empty() && s.style != Series::Style::kDots) {
      d.pop_back();
      absl::StrAppend(&svg, "<path d=\"", d, "\" fill=\"none\" stroke=\"", color,
                      "\" stroke-width=\"", markers ? "2" : "1.5", "\"",
                      s.style == Series::Style::kDashed ? " stroke-dasharray=\"6 4\"" : "",
                      " stroke-linejoin=\"round\" stroke-linecap=\"round\"/>\n");
    }
    const bool small = s.style == Series::Style::kDots;
    for (const auto& [x, y] : dots) {
      absl::StrAppend(&svg, "<circle cx=\"", Num(x), "\" cy=\"", Num(y), "\" r=\"",
                      small ? "2" : "3.5", "\" fill=\"", color, "\"",
                      small ? " fill-opacity=\"0.55\"" : " stroke=\"#fff\" stroke-width=\"1\"",
                      "/>\n");
    }
    absl::StrAppend(&svg, "</g>\n");
  }
  absl::StrAppend(&svg, "</g>\n");

  // Legend.
  for (size_t si = 0; si < panel.series.size(); ++si) {
    const char* color = PaletteColor(si);
    const auto [x, y] = entries[si];
    absl::StrAppend(&svg, "<line x1=\"", Num(x), "\" y1=\"", Num(y - 4), "\" x2=\"", Num(x + 22),
                    "\" y2=\"", Num(y - 4), "\" stroke=\"", color, "\" stroke-width=\"2.5\"/>\n");
    if (panel.series[si].style == Series::Style::kLineMarkers ||
        panel.series[si].style == Series::Style::kDots) {
      absl::StrAppend(&svg, "<circle cx=\"", Num(x + 11), "\" cy=\"", Num(y - 4),
                      "\" r=\"3.5\" fill=\"", color, "\"/>\n");
    }
    AppendText(svg, x + 28, y, panel.series[si].name, "font-size=\"12\" fill=\"#222\"");
  }
  absl::StrAppend(&svg, "</g>\n");
}

}  // namespace plot

std::string RenderTrainingCurves(std::span<const MetricsRecord> records,
                                 const CurvesOptions& options) {
  const std::vector<Panel> panels = BuildPanels(records, options);
  const double width = std::max(options.width, 320);
  const double panel_height = std::max(options.panel_height, 200);
  const double height =
      kTitleHeight + panel_height * static_cast<double>(std::max<size_t>(panels.size(), 1)) + 8;

  std::string svg = plot::BeginSvg(options.title, width, height);
  if (panels.empty()) {
    plot::AppendText(
        svg, width / 2, kTitleHeight + panel_height / 2,
        "No data to plot: the metrics log has no step or epoch records with numbers yet.",
        "font-size=\"14\" text-anchor=\"middle\" fill=\"#666\"");
  }
  for (size_t i = 0; i < panels.size(); ++i) {
    plot::AppendPanel(svg, panels[i], static_cast<int>(i),
                      kTitleHeight + panel_height * static_cast<double>(i), width, panel_height);
  }
  absl::StrAppend(&svg, "</svg>\n");
  return svg;
}

Status WriteTrainingCurves(std::span<const MetricsRecord> records, const std::string& path,
                           const CurvesOptions& options, Env& env) {
  const std::string svg = RenderTrainingCurves(records, options);
  const Status s = env.WriteFileAtomically(path, svg);
  if (!s.ok()) return Status(s.code(), absl::StrCat("writing the training curves: ", s.message()));
  return absl::OkStatus();
}

}  // namespace hearth
