// Reading one CSV cell: numbers as Hearth's readers take them, and missing-value tokens. Shared
// by the CSV reader and the profiler, so both agree on what a number and a missing cell are.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace hearth::data_internal {

// Spaces and tabs a quoted cell kept (" 4 ") are not part of its value.
std::string_view TrimSpaces(std::string_view text);

// A whole cell as a number ("+1.5", "-2e3", "inf"; not "1.5x", not empty).
bool ParseFloat(std::string_view text, float* value);
bool ParseDouble(std::string_view text, double* value);

// A whole cell as an integer; integral floats ("3.0", as pandas writes integer columns that once
// held a NaN) count too.
bool ParseInteger(std::string_view text, int64_t* value);

// Whether a cell is missing: empty after trimming, or one of `tokens` (compared after trimming).
bool IsMissingCell(std::string_view cell, const std::vector<std::string>& tokens);

}  // namespace hearth::data_internal
