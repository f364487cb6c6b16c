// The .npy header: the Python dict literal that describes an array, parsed and written.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "hearth/status.h"

namespace hearth::data_internal {

struct NpyHeaderDict {
  std::string descr;
  bool fortran_order = false;
  std::vector<int64_t> shape;
};

// Parses e.g. "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }". Messages say what
// was expected and at which character of the dict, without a file name (the caller adds it).
StatusOr<NpyHeaderDict> ParseNpyHeaderDict(std::string_view text);

// The complete header (magic, version, length, dict, padding) for a C-order array: version 1.0,
// or 2.0 when the dict does not fit a 16-bit length. Its size is a multiple of 64 bytes, as numpy
// writes it, so the data that follows stays aligned.
std::string FormatNpyHeader(const std::string& descr, const std::vector<int64_t>& shape);

}  // namespace hearth::data_internal
