// The HTTP/1.1 transport of the model server, on Boost.Beast (asio): keep-alive connections
// served asynchronously by a few I/O threads, so a thousand idle clients cost no threads and
// an infer request waits for its batch without holding one. Every connection is bounded: the
// header and body sizes (413 past --max-body-kb), a deadline per read and write, and the number
// of connections (503 and close past --max-connections). `Expect: 100-continue` is answered.
// TLS with --tls-cert/--tls-key. CORS headers only for the --cors-origin given.
//
// Stop() drains: the listener closes, idle connections close, and a connection in the middle of
// a request answers it (with `Connection: close`) before it closes.
//
// Thread-safety: Run may be called from several threads (each becomes an I/O thread); Stop from
// any thread. Each connection's state is touched only on its own strand.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "hearth/status.h"
#include "serve/serving_api.h"

namespace hearth::serve {

struct HttpOptions {
  std::string listen = "127.0.0.1:8080";  // HOST:PORT; port 0 picks a free one
  std::string tls_cert, tls_key;          // PEM files; both or neither
  std::string cors_origin;                // empty: no CORS headers
  int64_t max_body_bytes = 16 << 20;
  int max_connections = 256;
  int timeout_seconds = 30;     // to read a request or write a reply
  int keep_alive_seconds = 60;  // an idle connection closes after this
  bool access_log = true;       // one line per request on stderr
};

class HttpServer {
 public:
  HttpServer(ServingApi& api, HttpOptions options);
  ~HttpServer();

  // Binds and listens; INVALID_ARGUMENT or UNAVAILABLE naming the address on failure.
  Status Start();
  int port() const;  // after Start
  // Serves until Stop, on this thread plus `threads - 1` more.
  void Run(int threads);
  void Stop();

  struct Impl;  // the asio state, shared with the connections (http_server.cc)

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace hearth::serve
