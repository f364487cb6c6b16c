// Text helpers shared by the reporting files (metrics.jsonl and the SVG curves): UTF-8 repair and
// the JSON number format. Defined in metrics_log.cc.
#pragma once

#include <string>
#include <string_view>

namespace hearth::report {

// `s` with every byte that is not part of a valid UTF-8 sequence replaced by U+FFFD, so names
// from anywhere can go into JSON and XML, which must be valid UTF-8.
std::string SanitizeUtf8(std::string_view s);

// Appends `v` as a JSON number: the shortest text that reads back as the same value, as a
// float32 when `v` is exactly a float32, else as a double; always with a '.' or an exponent, so a
// reader can tell it from an integer. Non-finite values append null.
void AppendJsonNumber(std::string& out, double v);

}  // namespace hearth::report
