// Job-spec JSON: parsing (positions, repeated keys, the protobuf mapping), validation with field
// paths, and the shape and size inference every submitted spec goes through.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "hearth/job.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  hearth::StatusOr<hearth::v1::JobSpec> spec = hearth::ParseJobSpec(text, "fuzz.json");
  if (!spec.ok()) return 0;
  (void)hearth::JobSpecErrors(*spec);
  if (!hearth::ValidateJobSpec(*spec).ok()) return 0;
  (void)hearth::ParseJobSpec(hearth::JobSpecToJson(*spec), "round trip");
  if (spec->model().layers().empty()) return 0;
  for (const hearth::Shape& example :
       {hearth::Shape{4}, hearth::Shape{1, 28, 28}, hearth::Shape{3, 8, 8}}) {
    hearth::StatusOr<hearth::Shape> input = hearth::ResolveInputShape(*spec, example);
    if (!input.ok()) continue;
    (void)hearth::InferOutputShape(*spec, *input);
    (void)hearth::CountModelParameters(*spec, *input);
  }
  return 0;
}
