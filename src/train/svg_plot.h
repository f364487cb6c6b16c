// The axis arithmetic and XML text rules behind RenderTrainingCurves, exposed so tests can check
// them without parsing an image. Defined in svg_plot.cc.
#pragma once

#include <string>
#include <string_view>
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

}  // namespace hearth::plot
