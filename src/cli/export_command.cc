// `hearth export`: a checkpoint as a file another runtime can run (src/export/onnx_export.h).
#include <cstdio>
#include <filesystem>

#include "absl/strings/str_format.h"
#include "cli/commands.h"
#include "cli/remote_client.h"
#include "export/onnx_export.h"
#include "hearth/env.h"

namespace hearth::cli {
namespace {

// model.safetensors -> model.onnx, beside it.
std::string DefaultOutput(const std::string& checkpoint) {
  return std::filesystem::path(checkpoint).replace_extension(".onnx").string();
}

int Run(const ParsedArgs& args) {
  const CommandSpec& spec = ExportCommand().spec;
  const std::string format = args.Get("format", "onnx");
  if (format != "onnx")
    return Fail(spec, absl::InvalidArgumentError(absl::StrFormat(
                          "--format: \"%s\" is not a format Hearth exports; use onnx", format)));
  const std::string& checkpoint = args.positionals[0];
  const std::string output = args.Get("output", DefaultOutput(checkpoint));
  StatusOr<std::string> bytes = onnx_export::ExportOnnx(checkpoint);
  if (!bytes.ok()) return Fail(spec, bytes.status());
  if (Status s = Env::Default().WriteFileAtomically(output, *bytes); !s.ok())
    return Fail(spec, absl::Status(s.code(), absl::StrFormat("cannot write %s: %s (check the "
                                                             "directory exists and is writable)",
                                                             output, s.message())));
  std::printf(
      "wrote %s (ONNX opset %d, %s): input float32 [N, features], raw as `hearth "
      "predict` reads them\n",
      output.c_str(), onnx_export::kOpset,
      FormatBytes(static_cast<int64_t>(bytes->size())).c_str());
  return 0;
}

}  // namespace

const Command& ExportCommand() {
  static const Command command{
      {"export",
       "hearth export CHECKPOINT [--format onnx] [-o FILE]",
       "export a checkpoint for another runtime (ONNX)",
       "Writes a trained checkpoint as an ONNX model (opset 13) that includes its\n"
       "preprocessing, so an ONNX runtime given the raw features gets Hearth's outputs:\n"
       "probabilities and class_id (classification), values (regression), or distances,\n"
       "class_id and distance (k-means). Class and feature names are in the model's\n"
       "metadata. A model with a part that has no ONNX form yet is refused, naming it.\n"
       "See docs/serving.md.",
       {"CHECKPOINT"},
       {{"format", "FORMAT", "the file format: onnx (the default and, so far, the only one)"},
        {"output", "FILE", "also -o: where to write (default: CHECKPOINT with .onnx)"}}},
      Run,
      [](const CommandSpec& spec, int argc, char** argv) {
        return ParseWithExtras(spec, argc, argv, {.aliases = {{"-o", "output"}}});
      }};
  return command;
}

}  // namespace hearth::cli
