// `hearth serve`: the home model server (src/serve/), standalone, with no coordinator.
#include "absl/strings/str_split.h"
#include "cli/commands.h"
#include "cli/remote_client.h"
#include "serve/run_server.h"

namespace hearth::cli {
namespace {

StatusOr<serve::ServeOptions> ReadOptions(const ParsedArgs& args) {
  serve::ServeOptions o;
  for (const std::string& model : args.positionals)
    o.models.push_back(serve::ParseModelSource(model));
  o.http.listen = args.Get("listen", "127.0.0.1:8080");
  o.token_file = args.Get("token-file");
  o.http.tls_cert = args.Get("tls-cert");
  o.http.tls_key = args.Get("tls-key");
  o.insecure = args.Has("insecure");
  o.http.cors_origin = args.Get("cors-origin");
  o.http.access_log = !args.Has("quiet");
  HEARTH_ASSIGN_OR_RETURN(const int64_t body_kb,
                          PositiveIntFlag(args, "max-body-kb", 16384, 1 << 21));
  o.http.max_body_bytes = body_kb << 10;
  HEARTH_ASSIGN_OR_RETURN(const int64_t connections,
                          PositiveIntFlag(args, "max-connections", 256, 1 << 16));
  o.http.max_connections = static_cast<int>(connections);
  HEARTH_ASSIGN_OR_RETURN(const int64_t timeout, PositiveIntFlag(args, "timeout", 30, 3600));
  o.http.timeout_seconds = static_cast<int>(timeout);
  HEARTH_ASSIGN_OR_RETURN(const int64_t keep_alive, PositiveIntFlag(args, "keep-alive", 60, 3600));
  o.http.keep_alive_seconds = static_cast<int>(keep_alive);
  HEARTH_ASSIGN_OR_RETURN(o.max_rows, PositiveIntFlag(args, "max-rows", 1024, 1 << 24));
  HEARTH_ASSIGN_OR_RETURN(o.registry.batching.max_batch_size,
                          PositiveIntFlag(args, "max-batch-size", 64, 1 << 16));
  HEARTH_ASSIGN_OR_RETURN(o.registry.batching.max_queue_delay_us,
                          NonNegativeIntFlag(args, "max-queue-delay-us", 0, 1000000));
  HEARTH_ASSIGN_OR_RETURN(o.registry.batching.max_queued_rows,
                          PositiveIntFlag(args, "max-queued-rows", 4096, 1 << 24));
  HEARTH_ASSIGN_OR_RETURN(o.registry.max_versions, PositiveIntFlag(args, "max-versions", 3, 1000));
  HEARTH_ASSIGN_OR_RETURN(const int64_t poll, NonNegativeIntFlag(args, "poll-seconds", 2, 86400));
  o.poll_seconds = static_cast<int>(poll);
  HEARTH_ASSIGN_OR_RETURN(const int64_t drain, NonNegativeIntFlag(args, "drain-seconds", 10, 3600));
  o.drain_seconds = static_cast<int>(drain);
  HEARTH_ASSIGN_OR_RETURN(const int64_t io, PositiveIntFlag(args, "io-threads", 1, 64));
  o.io_threads = static_cast<int>(io);
  return o;
}

int Run(const ParsedArgs& args) {
  StatusOr<serve::ServeOptions> options = ReadOptions(args);
  if (!options.ok()) return Fail(ServeCommand().spec, options.status());
  return serve::RunServer(*std::move(options));
}

StatusOr<ParsedArgs> ParseServe(const CommandSpec& spec, int argc, char** argv) {
  return ParseWithExtras(spec, argc, argv, ParseExtras{.variadic_last = true});
}

}  // namespace

const Command& ServeCommand() {
  static const Command command{
      {"serve",
       "hearth serve MODEL... [--listen 127.0.0.1:8080] [flags]",
       "serve models over HTTP/JSON (KServe v2, TF Serving REST)",
       "Serves trained models to applications over HTTP/JSON: the Open Inference Protocol v2\n"
       "(KServe) under /v2 and TensorFlow Serving's REST API under /v1, with Prometheus\n"
       "metrics at /metrics. Rows may be lists in feature order or objects keyed by the\n"
       "training CSV's column names. Concurrent requests are merged into one forward pass.\n"
       "MODEL is a checkpoint file, a run directory (its best checkpoint), NAME=PATH, or a\n"
       "model repository laid out as NAME/VERSION/model.safetensors (with an optional\n"
       "NAME/aliases.json such as {\"production\": 3}). New versions are picked up every\n"
       "--poll-seconds, on SIGHUP and on POST /v2/repository/reload; a version that does not\n"
       "load is refused and the old one keeps serving. SIGTERM drains. See docs/serving.md.",
       {"MODEL"},
       {{"listen", "HOST:PORT", "address to serve on (default 127.0.0.1:8080; port 0: any)"},
        {"token-file", "FILE", "require `Authorization: Bearer <token>` (health stays open)"},
        {"tls-cert", "FILE", "serve HTTPS with this certificate chain (PEM)"},
        {"tls-key", "FILE", "... and this private key (PEM)"},
        {"insecure", "", "allow a non-loopback --listen without a token, or a token without TLS"},
        {"cors-origin", "ORIGIN", "let a browser app from ORIGIN call the server (default: none)"},
        {"max-body-kb", "N", "largest request body, else 413 (default 16384)"},
        {"max-rows", "N", "rows per request, else 413 (default 1024)"},
        {"max-connections", "N", "open connections, else 503 (default 256)"},
        {"timeout", "SECONDS", "to read a request or write a reply (default 30)"},
        {"keep-alive", "SECONDS", "an idle connection closes after this (default 60)"},
        {"max-batch-size", "N", "rows merged into one forward pass (default 64)"},
        {"max-queue-delay-us", "N", "wait this long for more rows to batch (default 0)"},
        {"max-queued-rows", "N", "rows waiting per model, else 503 (default 4096)"},
        {"max-versions", "N", "newest versions served per model directory (default 3)"},
        {"poll-seconds", "N", "look for new versions this often; 0: never (default 2)"},
        {"drain-seconds", "N", "on SIGTERM, let requests finish this long (default 10)"},
        {"io-threads", "N", "threads serving connections (default 1)"},
        {"quiet", "", "no access log line per request"}}},
      Run,
      ParseServe};
  return command;
}

}  // namespace hearth::cli
