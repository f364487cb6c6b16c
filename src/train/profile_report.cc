// FormatProfile, ProfileJson and ProfileHtml.
#include "train/profile_report.h"

#include <algorithm>
#include <cmath>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "core/json.h"
#include "train/svg_plot.h"

namespace hearth {
namespace {

bool HasNumbers(const ColumnProfile& c) {
  return c.numbers > 0 && c.kind != ColumnKind::kCategorical && c.kind != ColumnKind::kIdLike;
}

bool AllExact(const TableProfile& p) {
  if (!p.duplicates_exact) return false;
  for (const auto& c : p.column)
    if (!c.distinct_exact || !c.quantiles_exact || !c.top_exact) return false;
  return true;
}

std::string Short(double v) {
  if (!std::isfinite(v)) return "-";
  return absl::StrFormat("%.4g", v);
}

std::string Distinct(const ColumnProfile& c) {
  return absl::StrCat(c.distinct_exact ? "" : "~", c.distinct);
}

std::string LabelLine(const TableProfile& p) {
  if (p.label < 0) return "no label (clustering, or pass --label COLUMN)";
  const ColumnProfile& label = p.column[static_cast<size_t>(p.label)];
  if (p.class_counts.empty()) {
    return absl::StrFormat("label `%s`: a %s quantity (regression), mean %s, std %s", label.name,
                           ColumnKindName(label.kind), Short(label.mean), Short(label.std));
  }
  std::string classes;
  for (size_t i = 0; i < p.class_counts.size() && i < 10; ++i) {
    absl::StrAppend(&classes, i ? ", " : "", p.class_counts[i].value, " ", p.class_counts[i].count);
  }
  if (p.class_counts.size() > 10) absl::StrAppend(&classes, ", ...");
  return absl::StrFormat("label `%s`: %d classes (classification), largest/smallest %.1f:1 (%s)",
                         label.name, p.class_counts.size(), p.imbalance_ratio, classes);
}

std::string TopLine(const ColumnProfile& c, size_t n) {
  std::string s;
  for (size_t i = 0; i < c.top.size() && i < n; ++i)
    absl::StrAppend(&s, i ? ", " : "", c.top[i].value, " ", c.top[i].count);
  return s;
}

void AppendJsonString(std::string& out, std::string_view key, std::string_view value) {
  json::AppendString(out, key);
  out += ':';
  json::AppendString(out, value);
}

// Numbers as JSON allows them (null for NaN and infinities).
std::string JsonNumber(double v) {
  return std::isfinite(v) ? absl::StrFormat("%.10g", v) : std::string("null");
}

void AppendCounts(std::string& out, const std::vector<CategoryCount>& counts) {
  out += '[';
  for (size_t i = 0; i < counts.size(); ++i) {
    if (i) out += ',';
    out += '{';
    AppendJsonString(out, "value", counts[i].value);
    absl::StrAppend(&out, ",\"count\":", counts[i].count, "}");
  }
  out += ']';
}

std::string HtmlEscape(std::string_view s) {
  return plot::XmlEscape(s);
}

// A bar chart of one histogram, 280 x 90, with the range and the tallest bar labelled.
std::string HistogramSvg(const ColumnProfile& c) {
  constexpr double kWidth = 280, kHeight = 90, kBottom = 72, kTop = 8;
  int64_t tallest = 1;
  for (const auto& bin : c.histogram) tallest = std::max(tallest, bin.count);
  std::string svg = absl::StrFormat(
      "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%g\" height=\"%g\" role=\"img\" "
      "aria-label=\"histogram of %s\">",
      kWidth, kHeight, HtmlEscape(c.name));
  const double bar = kWidth / static_cast<double>(std::max<size_t>(1, c.histogram.size()));
  for (size_t i = 0; i < c.histogram.size(); ++i) {
    const auto& bin = c.histogram[i];
    const double h =
        (kBottom - kTop) * static_cast<double>(bin.count) / static_cast<double>(tallest);
    absl::StrAppend(
        &svg, "<rect x=\"", plot::Num(static_cast<double>(i) * bar), "\" y=\"",
        plot::Num(kBottom - h), "\" width=\"", plot::Num(std::max(1.0, bar - 1)), "\" height=\"",
        plot::Num(h), "\" fill=\"", plot::PaletteColor(0), "\"><title>",
        HtmlEscape(absl::StrFormat("[%s, %s): %d", Short(bin.lower), Short(bin.upper), bin.count)),
        "</title></rect>");
  }
  plot::AppendText(svg, 0, kHeight - 4, Short(c.min), "font-size=\"11\"");
  plot::AppendText(svg, kWidth, kHeight - 4, Short(c.max), "font-size=\"11\" text-anchor=\"end\"");
  plot::AppendText(svg, kWidth, kTop + 4, absl::StrCat("max ", tallest),
                   "font-size=\"10\" text-anchor=\"end\" fill=\"#555\"");
  return svg + "</svg>";
}

}  // namespace

std::string FormatProfile(const ProfileReport& r) {
  const TableProfile& p = r.profile;
  std::string out = absl::StrFormat("%s: %d rows, %d columns, %d duplicate rows%s\n%s\n", p.source,
                                    p.rows, p.columns, p.duplicate_rows,
                                    p.duplicates_exact ? "" : " (estimated)", LabelLine(p));
  if (!r.alerts.empty()) {
    absl::StrAppend(&out, "\nalerts (", r.alerts.size(), "):\n");
    for (const auto& a : r.alerts) absl::StrAppend(&out, "  ! ", a.message, "\n");
  } else {
    absl::StrAppend(&out, "\nno alerts: nothing in the data calls for a step\n");
  }
  absl::StrAppend(&out, "\ncolumns:\n",
                  absl::StrFormat("  %-3s %-18s %-11s %7s %8s %10s %10s %10s %10s %10s %6s  %s\n",
                                  "#", "name", "kind", "missing", "distinct", "mean", "std", "min",
                                  "median", "max", "outl.", "with label"));
  for (const auto& c : p.column) {
    const bool numbers = HasNumbers(c);
    std::string assoc = c.index == p.label ? "(the label)" : "";
    if (!c.association.statistic.empty())
      assoc = absl::StrFormat("%s %.3f", c.association.statistic, c.association.value);
    absl::StrAppend(
        &out, absl::StrFormat(
                  "  %-3d %-18s %-11s %7d %8s %10s %10s %10s %10s %10s %6s  %s\n", c.index,
                  c.name.size() > 18 ? c.name.substr(0, 17) + "~" : c.name, ColumnKindName(c.kind),
                  c.missing, Distinct(c), numbers ? Short(c.mean) : "", numbers ? Short(c.std) : "",
                  numbers ? Short(c.min) : "", numbers ? Short(c.p50) : "",
                  numbers ? Short(c.max) : "", numbers ? absl::StrCat(c.outliers) : "", assoc));
  }
  bool any_top = false;
  for (const auto& c : p.column) {
    if (c.kind != ColumnKind::kCategorical && c.kind != ColumnKind::kBoolean) continue;
    if (!any_top) absl::StrAppend(&out, "\ntop values:\n");
    any_top = true;
    absl::StrAppend(&out, "  ", c.name, ": ", TopLine(c, 6), c.top_exact ? "" : " (approximate)",
                    "\n");
  }
  if (!r.shift.empty()) {
    absl::StrAppend(&out, "\nshift against ", r.against, ":\n",
                    absl::StrFormat("  %-18s %-5s %8s %9s %9s\n", "column", "stat", "value",
                                    "missing", "missing'"));
    for (const auto& s : r.shift) {
      if (s.statistic.empty()) continue;
      absl::StrAppend(
          &out, absl::StrFormat("  %-18s %-5s %8.3f %8.1f%% %8.1f%% %s\n", s.name, s.statistic,
                                s.value, 100 * s.missing_rate, 100 * s.other_missing_rate,
                                s.shifted ? "SHIFTED" : ""));
    }
  }
  if (!AllExact(p)) {
    absl::StrAppend(&out,
                    "\nestimated (the file is large): ~ counts, and quantiles, histograms and "
                    "outliers within 1.6% of the value (docs/data.md#profiling-a-dataset)\n");
  }
  return out;
}

std::string ProfileJson(const ProfileReport& r) {
  const TableProfile& p = r.profile;
  std::string out = "{";
  AppendJsonString(out, "source", p.source);
  absl::StrAppend(&out, ",\"rows\":", p.rows, ",\"columns\":", p.columns, ",\"bytes\":", p.bytes,
                  ",\"duplicate_rows\":", p.duplicate_rows,
                  ",\"duplicates_exact\":", p.duplicates_exact ? "true" : "false", ",\"label\":");
  if (p.label >= 0) {
    json::AppendString(out, p.column[static_cast<size_t>(p.label)].name);
    absl::StrAppend(&out, ",\"task\":\"", p.class_counts.empty() ? "regression" : "classification",
                    "\",\"class_counts\":");
    AppendCounts(out, p.class_counts);
    absl::StrAppend(&out, ",\"imbalance_ratio\":", JsonNumber(p.imbalance_ratio));
  } else {
    out += "null";
  }
  out += ",\"alerts\":[";
  for (size_t i = 0; i < r.alerts.size(); ++i) {
    out += i ? ",{" : "{";
    AppendJsonString(out, "column", r.alerts[i].column);
    out += ',';
    AppendJsonString(out, "message", r.alerts[i].message);
    out += '}';
  }
  out += "],\"column_profiles\":[";
  for (size_t j = 0; j < p.column.size(); ++j) {
    const ColumnProfile& c = p.column[j];
    out += j ? ",{" : "{";
    AppendJsonString(out, "name", c.name);
    absl::StrAppend(&out, ",\"index\":", c.index, ",\"kind\":\"", ColumnKindName(c.kind),
                    "\",\"count\":", c.count, ",\"missing\":", c.missing,
                    ",\"numbers\":", c.numbers, ",\"distinct\":", c.distinct,
                    ",\"distinct_exact\":", c.distinct_exact ? "true" : "false");
    if (c.numbers > 0) {
      absl::StrAppend(
          &out, ",\"min\":", JsonNumber(c.min), ",\"max\":", JsonNumber(c.max),
          ",\"mean\":", JsonNumber(c.mean), ",\"std\":", JsonNumber(c.std),
          ",\"skewness\":", JsonNumber(c.skewness),
          ",\"quantiles_exact\":", c.quantiles_exact ? "true" : "false",
          ",\"quantiles\":{\"0.05\":", JsonNumber(c.p05), ",\"0.25\":", JsonNumber(c.p25),
          ",\"0.5\":", JsonNumber(c.p50), ",\"0.75\":", JsonNumber(c.p75),
          ",\"0.95\":", JsonNumber(c.p95), "},\"outliers\":", c.outliers, ",\"outlier_fences\":[",
          JsonNumber(c.outlier_low), ",", JsonNumber(c.outlier_high), "],\"histogram\":[");
      for (size_t b = 0; b < c.histogram.size(); ++b) {
        absl::StrAppend(&out, b ? "," : "", "[", JsonNumber(c.histogram[b].lower), ",",
                        JsonNumber(c.histogram[b].upper), ",", c.histogram[b].count, "]");
      }
      out += ']';
    }
    if (!c.top.empty()) {
      out += ",\"top\":";
      AppendCounts(out, c.top);
      absl::StrAppend(&out, ",\"top_exact\":", c.top_exact ? "true" : "false");
    }
    if (!c.association.statistic.empty()) {
      absl::StrAppend(&out, ",\"association\":{\"statistic\":\"", c.association.statistic,
                      "\",\"value\":", JsonNumber(c.association.value));
      if (c.association.single_feature_accuracy >= 0) {
        absl::StrAppend(&out, ",\"single_feature_accuracy\":",
                        JsonNumber(c.association.single_feature_accuracy));
      }
      out += '}';
    }
    out += '}';
  }
  out += ']';
  if (!r.against.empty()) {
    out += ',';
    AppendJsonString(out, "against", r.against);
    out += ",\"shift\":[";
    for (size_t i = 0; i < r.shift.size(); ++i) {
      const ColumnShift& s = r.shift[i];
      out += i ? ",{" : "{";
      AppendJsonString(out, "column", s.name);
      absl::StrAppend(&out, ",\"statistic\":\"", s.statistic, "\",\"value\":", JsonNumber(s.value),
                      ",\"missing_rate\":", JsonNumber(s.missing_rate),
                      ",\"other_missing_rate\":", JsonNumber(s.other_missing_rate),
                      ",\"shifted\":", s.shifted ? "true" : "false", "}");
    }
    out += ']';
  }
  return out + "}";
}

std::string ProfileHtml(const ProfileReport& r) {
  const TableProfile& p = r.profile;
  std::string out = absl::StrCat(
      "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
      "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
      "<title>Profile of ",
      HtmlEscape(p.source),
      "</title><style>"
      "body{font:14px system-ui,sans-serif;margin:1.5em;color:#222;max-width:1100px}"
      "table{border-collapse:collapse;margin:.5em 0}td,th{padding:3px 8px;text-align:right;"
      "border-bottom:1px solid #ddd}th{background:#f4f4f4}td.l,th.l{text-align:left}"
      ".alert{background:#fff4e5;border-left:4px solid #f0a020;padding:6px 10px;margin:4px 0}"
      ".col{display:inline-block;vertical-align:top;border:1px solid #ddd;border-radius:6px;"
      "padding:8px 12px;margin:6px;width:300px}.col h3{margin:0 0 4px;font-size:15px}"
      ".kind{color:#666;font-weight:normal}.shifted{color:#b00;font-weight:bold}"
      "</style></head><body>\n<h1>",
      HtmlEscape(p.source), "</h1>\n<p>",
      absl::StrFormat("%d rows, %d columns, %d duplicate rows%s", p.rows, p.columns,
                      p.duplicate_rows, p.duplicates_exact ? "" : " (estimated)"),
      "<br>", HtmlEscape(LabelLine(p)), "</p>\n<h2>Alerts</h2>\n");
  if (r.alerts.empty()) absl::StrAppend(&out, "<p>None: nothing in the data calls for a step.</p>");
  for (const auto& a : r.alerts)
    absl::StrAppend(&out, "<div class=\"alert\">", HtmlEscape(a.message), "</div>\n");
  absl::StrAppend(&out, "<h2>Columns</h2>\n");
  for (const auto& c : p.column) {
    absl::StrAppend(&out, "<div class=\"col\"><h3>", HtmlEscape(c.name), " <span class=\"kind\">",
                    ColumnKindName(c.kind), c.index == p.label ? ", the label" : "",
                    "</span></h3>\n<table>");
    const auto row = [&](const char* name, const std::string& value) {
      absl::StrAppend(&out, "<tr><td class=\"l\">", name, "</td><td>", HtmlEscape(value),
                      "</td></tr>");
    };
    row("present", absl::StrCat(c.count));
    row("missing", absl::StrCat(c.missing));
    row("distinct", Distinct(c));
    if (HasNumbers(c)) {
      row("mean / std", absl::StrCat(Short(c.mean), " / ", Short(c.std)));
      row("min / max", absl::StrCat(Short(c.min), " / ", Short(c.max)));
      row("p25 / p50 / p75", absl::StrCat(Short(c.p25), " / ", Short(c.p50), " / ", Short(c.p75)));
      row("outliers (IQR)", absl::StrCat(c.outliers));
    }
    if (!c.association.statistic.empty()) {
      row("with the label",
          absl::StrFormat("%s %.3f", c.association.statistic, c.association.value));
    }
    if (!c.top.empty()) row("top", TopLine(c, 5));
    absl::StrAppend(&out, "</table>\n");
    if (HasNumbers(c)) absl::StrAppend(&out, HistogramSvg(c), "\n");
    absl::StrAppend(&out, "</div>\n");
  }
  if (!r.shift.empty()) {
    absl::StrAppend(&out, "<h2>Shift against ", HtmlEscape(r.against),
                    "</h2>\n<table><tr><th class=\"l\">column</th><th>statistic</th><th>value</th>"
                    "<th>missing</th><th>missing there</th></tr>\n");
    for (const auto& s : r.shift) {
      if (s.statistic.empty()) continue;
      absl::StrAppend(&out, "<tr", s.shifted ? " class=\"shifted\"" : "", "><td class=\"l\">",
                      HtmlEscape(s.name), "</td><td>",
                      s.statistic == "ks" ? "Kolmogorov-Smirnov D" : "PSI", "</td><td>",
                      absl::StrFormat("%.3f", s.value), "</td><td>",
                      absl::StrFormat("%.1f%%", 100 * s.missing_rate), "</td><td>",
                      absl::StrFormat("%.1f%%", 100 * s.other_missing_rate), "</td></tr>\n");
    }
    absl::StrAppend(&out, "</table>\n");
  }
  absl::StrAppend(&out,
                  AllExact(p) ? "<p><small>Every figure is exact. "
                              : "<p><small>Estimated (the file is large): ~ counts, and "
                                "quantiles, histograms and outliers within 1.6% of the value. ",
                  "Made by <code>hearth profile</code>.</small></p>"
                  "\n</body></html>\n");
  return out;
}

}  // namespace hearth
