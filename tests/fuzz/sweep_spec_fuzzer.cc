// Sweep-spec JSON as hearthd's SubmitSweep receives it: the protobuf JSON mapping, then the whole
// plan (base spec, parameter paths, grid size before the grid, trial specs and names).
#include <google/protobuf/util/json_util.h>

#include <cstddef>
#include <cstdint>
#include <string>

#include "coordinator/sweep_plan.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  hearth::v1::SweepSpec spec;
  google::protobuf::util::JsonParseOptions options;
  options.ignore_unknown_fields = false;
  if (!google::protobuf::util::JsonStringToMessage(text, &spec, options).ok()) return 0;
  (void)hearth::coordinator::PlanSweep(spec);
  return 0;
}
