// Rendering the evaluation report: text, JSON and SVG figures.
#include "run/report_files.h"

#include <algorithm>
#include <cmath>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "google/protobuf/util/json_util.h"
#include "train/svg_plot.h"

namespace hearth::run {
namespace {

constexpr double kWidth = 640, kHeight = 560;

std::string Shorten(const std::string& s, size_t n) {
  return s.size() <= n ? s : absl::StrCat(s.substr(0, n - 1), "~");
}

plot::Panel UnitPanel(std::string title, std::string x_label, std::string y_label) {
  plot::Panel panel;
  panel.title = std::move(title);
  panel.x_label = std::move(x_label);
  panel.y_label = std::move(y_label);
  panel.integer_x = false;
  panel.x_min = panel.y_min = 0;
  panel.x_max = panel.y_max = 1;
  return panel;
}

std::string Document(std::string_view title, const plot::Panel& panel) {
  std::string svg = plot::BeginSvg(title, kWidth, kHeight);
  plot::AppendPanel(svg, panel, 0, 52, kWidth, kHeight - 60);
  return svg + "</svg>\n";
}

std::string CurvesFigure(std::string_view title, const v1::EvaluationReport& report,
                         const google::protobuf::RepeatedPtrField<v1::Curve>& curves,
                         std::string x_label, std::string y_label, bool diagonal) {
  const std::string subtitle =
      absl::StrFormat("%d examples%s", report.examples(),
                      curves.size() > 1 ? "; one curve per class, against the rest" : "");
  plot::Panel panel = UnitPanel(subtitle, std::move(x_label), std::move(y_label));
  for (const v1::Curve& c : curves) {
    plot::Series s;
    s.name = absl::StrFormat("%s (area %.3f)", Shorten(c.name(), 24), c.area());
    for (int i = 0; i < c.x_size(); ++i) s.points.emplace_back(c.x(i), c.y(i));
    panel.series.push_back(std::move(s));
  }
  if (diagonal) {
    plot::Series chance{"chance", {{0, 0}, {1, 1}}, plot::Series::Style::kDashed};
    panel.series.push_back(std::move(chance));
  }
  return Document(title, panel);
}

std::string ReliabilityFigure(const v1::EvaluationReport& report) {
  const bool binary = report.classes_size() == 2;
  plot::Panel panel =
      UnitPanel(absl::StrFormat("%d examples in 10 equal-width bins", report.examples()),
                absl::StrCat("mean ", report.reliability_of()),
                binary ? "fraction positive" : "fraction correct");
  plot::Series model{"model", {}, plot::Series::Style::kLineMarkers};
  for (const v1::ReliabilityBin& b : report.reliability())
    model.points.emplace_back(b.mean_predicted(), b.fraction_positive());
  panel.series.push_back(std::move(model));
  panel.series.push_back({"perfectly calibrated", {{0, 0}, {1, 1}}, plot::Series::Style::kDashed});
  return Document("Reliability diagram", panel);
}

std::string ResidualFigure(const v1::EvaluationReport& report) {
  plot::Panel panel;
  panel.title = absl::StrFormat("%d points", report.residuals_size());
  panel.x_label = "predicted";
  panel.y_label = "actual - predicted";
  panel.integer_x = false;
  int columns = 0;
  for (const v1::ResidualPoint& p : report.residuals()) columns = std::max(columns, p.column() + 1);
  for (int c = 0; c < columns; ++c) {
    plot::Series s{columns == 1 ? std::string("examples") : absl::StrCat("target ", c),
                   {},
                   plot::Series::Style::kDots};
    for (const v1::ResidualPoint& p : report.residuals())
      if (p.column() == c) s.points.emplace_back(p.predicted(), p.actual() - p.predicted());
    panel.series.push_back(std::move(s));
  }
  double lo = INFINITY, hi = -INFINITY;
  for (const v1::ResidualPoint& p : report.residuals()) {
    lo = std::min(lo, p.predicted());
    hi = std::max(hi, p.predicted());
  }
  if (std::isfinite(lo))
    panel.series.push_back({"zero", {{lo, 0}, {hi, 0}}, plot::Series::Style::kDashed});
  return Document("Residuals", panel);
}

// Rows are true classes, columns predicted; each row shaded by its share of the row (recall on the
// diagonal), the count written in the cell.
std::string ConfusionFigure(const v1::EvaluationReport& report) {
  const v1::ConfusionMatrix& m = report.confusion_matrix();
  const int c = m.classes();
  const double left = 130, top = 110, side = std::min(kWidth - left - 30, 420.0);
  const double cell = side / std::max(c, 1);
  const double height = top + side + 70;
  std::string svg = plot::BeginSvg("Confusion matrix", kWidth, height);
  plot::AppendText(svg, left + side / 2, top - 40, "predicted class",
                   "font-size=\"13\" text-anchor=\"middle\" fill=\"#222\"");
  plot::AppendText(svg, 18, top + side / 2, "true class",
                   absl::StrCat("font-size=\"13\" text-anchor=\"middle\" fill=\"#222\" "
                                "transform=\"rotate(-90 18 ",
                                plot::Num(top + side / 2), ")\""));
  const bool labels = cell >= 14;
  for (int i = 0; i < c; ++i) {
    double row_total = 0;
    for (int j = 0; j < c; ++j) row_total += static_cast<double>(m.counts(i * c + j));
    if (labels) {
      const std::string name =
          Shorten(report.class_names_size() > i ? report.class_names(i) : std::to_string(i), 14);
      plot::AppendText(svg, left - 8, top + (i + 0.5) * cell + 4, name,
                       "font-size=\"12\" text-anchor=\"end\" fill=\"#444\"");
      plot::AppendText(svg, left + (i + 0.5) * cell, top - 10, name,
                       "font-size=\"12\" text-anchor=\"middle\" fill=\"#444\"");
    }
    for (int j = 0; j < c; ++j) {
      const double count = static_cast<double>(m.counts(i * c + j));
      const double share = row_total > 0 ? count / row_total : 0;
      // White to Tableau blue (31, 119, 180).
      const auto mix = [&](int to) {
        return static_cast<int>(std::lround(255 + (to - 255) * share));
      };
      absl::StrAppend(&svg, "<rect x=\"", plot::Num(left + j * cell), "\" y=\"",
                      plot::Num(top + i * cell), "\" width=\"", plot::Num(cell), "\" height=\"",
                      plot::Num(cell), "\" fill=\"rgb(", mix(31), ",", mix(119), ",", mix(180),
                      ")\" stroke=\"#ddd\"><title>true ", i, ", predicted ", j, ": ",
                      static_cast<int64_t>(count), "</title></rect>\n");
      if (cell >= 22)
        plot::AppendText(
            svg, left + (j + 0.5) * cell, top + (i + 0.5) * cell + 4,
            absl::StrCat(static_cast<int64_t>(count)),
            absl::StrCat("font-size=\"", cell >= 40 ? 13 : 10, "\" text-anchor=\"middle\" fill=\"",
                         share > 0.55 ? "#fff" : "#222", "\""));
    }
  }
  plot::AppendText(svg, left + side / 2, top + side + 34,
                   "shade: share of the true class's examples (recall on the diagonal)",
                   "font-size=\"12\" text-anchor=\"middle\" fill=\"#666\"");
  return svg + "</svg>\n";
}

}  // namespace

std::string ReportJson(const v1::EvaluationReport& report, bool indent) {
  google::protobuf::util::JsonPrintOptions options;
  options.add_whitespace = indent;
  options.preserve_proto_field_names = true;
  options.always_print_primitive_fields = true;
  std::string json;
  // Printing a valid message cannot fail: every message has a JSON form.
  const auto status = google::protobuf::util::MessageToJsonString(report, &json, options);
  HEARTH_CHECK_MSG(status.ok(), std::string(status.message()));
  return json;
}

std::string FormatReport(const v1::EvaluationReport& report) {
  std::string out = absl::StrFormat("%d examples\n", report.examples());
  for (const v1::Metric& m : report.metrics())
    absl::StrAppendFormat(&out, "  %-22s %.6f\n", m.name(), m.value());
  if (report.classes_size() > 0) {
    size_t name_width = 5;
    for (const v1::ClassScores& c : report.classes())
      name_width = std::max(name_width, std::min<size_t>(c.name().size(), 24));
    const int w = static_cast<int>(name_width);
    absl::StrAppendFormat(&out, "\nper class:\n  %-*s %9s %9s %9s %9s %9s %9s\n", w, "class",
                          "precision", "recall", "f1", "support", "roc_auc", "pr_auc");
    for (const v1::ClassScores& c : report.classes()) {
      const auto optional = [](bool has, double v) {
        return has ? absl::StrFormat("%9.4f", v) : absl::StrFormat("%9s", "-");
      };
      absl::StrAppendFormat(&out, "  %-*s %9.4f %9.4f %9.4f %9d %s %s\n", w, Shorten(c.name(), 24),
                            c.precision(), c.recall(), c.f1(), c.support(),
                            optional(c.has_roc_auc(), c.roc_auc()),
                            optional(c.has_pr_auc(), c.pr_auc()));
    }
    const v1::ConfusionMatrix& m = report.confusion_matrix();
    if (m.classes() <= 20) {
      int64_t widest = 1;
      for (int64_t v : m.counts()) widest = std::max<int64_t>(widest, std::to_string(v).size());
      const int cw = static_cast<int>(std::max<int64_t>(widest, 3));
      absl::StrAppendFormat(
          &out, "\nconfusion matrix (rows: true class, columns: predicted):\n  %-*s", w, "");
      for (int j = 0; j < m.classes(); ++j)
        absl::StrAppendFormat(&out, " %*s", cw, Shorten(report.classes(j).name(), cw));
      out += "\n";
      for (int i = 0; i < m.classes(); ++i) {
        absl::StrAppendFormat(&out, "  %-*s", w, Shorten(report.classes(i).name(), 24));
        for (int j = 0; j < m.classes(); ++j)
          absl::StrAppendFormat(&out, " %*d", cw, m.counts(i * m.classes() + j));
        out += "\n";
      }
    }
  }
  if (report.notes_size() > 0) {
    out += "\nnotes:\n";
    for (const std::string& note : report.notes()) absl::StrAppend(&out, "  ", note, "\n");
  }
  return out;
}

std::vector<std::pair<std::string, std::string>> RenderReportFigures(
    const v1::EvaluationReport& report) {
  std::vector<std::pair<std::string, std::string>> figures;
  if (report.task() == v1::CLASSIFICATION && report.confusion_matrix().classes() > 0) {
    figures.emplace_back("confusion_matrix.svg", ConfusionFigure(report));
    if (report.roc_curves_size() > 0)
      figures.emplace_back("roc.svg", CurvesFigure("ROC curve", report, report.roc_curves(),
                                                   "false positive rate", "true positive rate",
                                                   /*diagonal=*/true));
    if (report.pr_curves_size() > 0)
      figures.emplace_back(
          "pr.svg", CurvesFigure("Precision-recall curve", report, report.pr_curves(), "recall",
                                 "precision", /*diagonal=*/false));
    if (report.reliability_size() > 0)
      figures.emplace_back("reliability.svg", ReliabilityFigure(report));
  }
  if (report.task() == v1::REGRESSION && report.residuals_size() > 0)
    figures.emplace_back("residuals.svg", ResidualFigure(report));
  return figures;
}

StatusOr<std::vector<std::string>> WriteReportFiles(const v1::EvaluationReport& report,
                                                    const std::string& dir, Env& env) {
  HEARTH_RETURN_IF_ERROR(env.CreateDirs(dir));
  std::vector<std::string> written;
  const std::string json_path = JoinPath(dir, "report.json");
  HEARTH_RETURN_IF_ERROR(env.WriteFileAtomically(json_path, ReportJson(report)));
  written.push_back(json_path);
  for (const auto& [name, svg] : RenderReportFigures(report)) {
    const std::string path = JoinPath(dir, name);
    HEARTH_RETURN_IF_ERROR(env.WriteFileAtomically(path, svg));
    written.push_back(path);
  }
  return written;
}

}  // namespace hearth::run
