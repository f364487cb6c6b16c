// The charts behind RenderTrainingCurves and the evaluation report's figures: panels of line,
// marker or dot series with our own axis arithmetic and XML text rules (exposed so tests can check
// them without parsing an image). Defined in svg_plot.cc.
#pragma once

#include <cmath>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace hearth::plot {

// Tick marks for one axis. The axis runs from `lo` to `hi`, which are themselves ticks.
struct Ticks {
  double lo = 0;
  double hi = 1;
  double step = 1;  // between neighbouring ticks; for a log axis, in decades
  std::vector<double> values;
};

// Ticks 1, 2 or 5 x 10^k apart covering [lo, hi]: the smallest such step that needs at most
// `max_intervals` intervals. `integer` forces a step of at least 1 (steps, epochs). A single value
// (lo == hi) is widened around itself; non-finite input gives the range [0, 1].
Ticks NiceTicks(double lo, double hi, int max_intervals, bool integer);

// Ticks at powers of ten covering [lo, hi] (both > 0); `values` are the powers themselves and
// lo/hi their logarithms' range ends as powers too. Every decade, or every 2nd, 3rd... when the
// range spans many of them.
Ticks LogTicks(double lo, double hi);

// A tick label: "0", "0.25", "1200", "12.5k" (k/M/G once the axis reaches 10000), "1e-05".
// `step` is the tick spacing and `max_abs` the largest |tick| on the axis.
std::string FormatTick(double v, double step, double max_abs);
// A log-axis label for 10^k: "0.001" ... "1000", otherwise "1e-5", "1e6".
std::string FormatLogTick(int k);

// `s` made safe as SVG text or attribute content: invalid UTF-8 repaired, & < > " ' escaped and
// the control characters XML 1.0 forbids replaced by '?'.
std::string XmlEscape(std::string_view s);

struct Series {
  enum class Style {
    kLine,         // a line through the points (thinned to the pixels it covers)
    kLineMarkers,  // a line with a marker on every point: few points, each one meaningful
    kDots,         // small translucent dots, no line: a scatter plot
    kDashed,       // a dashed line: a reference (the diagonal of a ROC or reliability plot)
  };
  std::string name;
  std::vector<std::pair<double, double>> points;  // sorted by x unless kDots; a NaN y is a gap
  Style style = Style::kLine;
};

struct Panel {
  std::string title, x_label, y_label;
  bool log_y = false;
  // Ticks at whole numbers only (steps, epochs).
  bool integer_x = true;
  // Fixed axis ends; NaN: from the data.
  double x_min = NAN, x_max = NAN, y_min = NAN, y_max = NAN;
  std::vector<Series> series;
};

// "12.35": coordinates as the SVGs print them.
std::string Num(double v);
// A <text> element with `attrs` (already escaped), its text escaped.
void AppendText(std::string& svg, double x, double y, std::string_view text,
                std::string_view attrs);
// Colour i of the Tableau 10 palette (wrapping).
const char* PaletteColor(size_t i);
// The opening of a standalone SVG document: the <svg> element, <title>, white background and the
// title drawn at the top (52 px). Close it with "</svg>\n".
std::string BeginSvg(std::string_view title, double width, double height);
// One panel (title, legend, gridlines with tick labels, axis labels and the series) occupying
// [top, top + height) of an image `width` wide. `index` makes its element ids unique.
void AppendPanel(std::string& svg, const Panel& panel, int index, double top, double width,
                 double height);

}  // namespace hearth::plot
