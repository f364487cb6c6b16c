// The pure pieces of the progress display (text formatting, ETA, terminal detection), apart from
// ProgressReporter's state so tests can pin them down directly.
#pragma once

#include <cstdint>
#include <string>

#include "hearth/report.h"

namespace hearth::progress {

// "MM:SS" below an hour, "H:MM:SS" above; "--:--" for a negative or non-finite time.
std::string FormatDuration(double seconds);

// A loss or metric value for people: 4 significant digits ("0.4213", "1.235e-05"), "nan", "inf".
std::string FormatValue(double v);

// Seconds left at the average speed so far: elapsed / steps_done * steps_left. NaN when there
// is no speed yet (no step done or no time passed) or steps_left is negative.
double EstimateRemainingSeconds(int64_t steps_done, double elapsed_seconds, int64_t steps_left);

// "[####......]" exactly `width` characters wide (brackets included; width >= 2), with
// `fraction` (clamped to [0, 1]) of the inside filled. `fill_on`/`fill_off` wrap the filled part
// (colour escapes; empty for none) and do not count towards the width.
std::string RenderBar(double fraction, int width, const std::string& fill_on = "",
                      const std::string& fill_off = "");

// How a reporter displays, once ProgressOptions' kAuto values meet the real output. `term` and
// `no_color` are the values of $TERM and $NO_COLOR (nullptr when unset).
struct Display {
  bool line = false;   // redraw one line (kLine)
  bool color = false;  // colour escapes in that line
};
Display ResolveDisplay(ProgressOptions::Mode mode, ProgressOptions::Color color, bool is_tty,
                       const char* term, const char* no_color);

// The redrawn line's layout: "<prefix>[bar]<suffix>", with the bar as wide as fits in `columns`
// (leaving the last column free, since writing there makes some terminals wrap), between 10 and
// 30 characters; without a bar when fewer than 10 fit; cut to the width when even that is too
// long. `fraction` < 0 means unknown: no bar.
std::string LayoutLine(const std::string& prefix, double fraction, const std::string& suffix,
                       int columns, bool color);

}  // namespace hearth::progress
