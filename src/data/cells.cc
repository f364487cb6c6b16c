// Cell parsing on std::from_chars: exact, locale-free and without allocation.
#include "data/cells.h"

#include <algorithm>
#include <charconv>
#include <cmath>

namespace hearth::data_internal {
namespace {

// from_chars takes no leading '+'; a cell may have one ("+1.5", but not "+-1").
std::string_view NumberText(std::string_view text) {
  text = TrimSpaces(text);
  if (text.size() > 1 && text[0] == '+' && text[1] != '-') text.remove_prefix(1);
  return text;
}

template <typename T>
bool ParseWhole(std::string_view text, T* value) {
  const char* end = text.data() + text.size();
  const auto [ptr, ec] = std::from_chars(text.data(), end, *value);
  return ec == std::errc() && ptr == end;
}

}  // namespace

std::string_view TrimSpaces(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
  return text;
}

bool ParseFloat(std::string_view text, float* value) {
  return ParseWhole(NumberText(text), value);
}

bool ParseDouble(std::string_view text, double* value) {
  return ParseWhole(NumberText(text), value);
}

bool ParseInteger(std::string_view text, int64_t* value) {
  text = NumberText(text);
  if (ParseWhole(text, value)) return true;
  double d = 0;
  if (!ParseWhole(text, &d) || !std::isfinite(d) || std::floor(d) != d || std::fabs(d) > 9.0e15)
    return false;
  *value = static_cast<int64_t>(d);
  return true;
}

bool IsMissingCell(std::string_view cell, const std::vector<std::string>& tokens) {
  const std::string_view trimmed = TrimSpaces(cell);
  return trimmed.empty() || std::find(tokens.begin(), tokens.end(), trimmed) != tokens.end();
}

}  // namespace hearth::data_internal
