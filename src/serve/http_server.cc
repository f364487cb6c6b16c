#include "serve/http_server.h"

#include <array>
#include <atomic>
#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <chrono>
#include <cstdio>
#include <mutex>
#include <optional>
#include <set>
#include <thread>
#include <type_traits>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_format.h"

namespace hearth::serve {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;
using Clock = std::chrono::steady_clock;

constexpr size_t kMaxHeaderBytes = 16 << 10;
// A refused request's remaining body is read and dropped for at most this long and this much.
constexpr int kLingerSeconds = 5;
constexpr size_t kMaxLingerBytes = size_t{256} << 20;

// "HOST:PORT" or "[V6]:PORT".
StatusOr<tcp::endpoint> ParseListen(const std::string& listen) {
  const size_t colon = listen.rfind(':');
  int port = -1;
  if (colon == std::string::npos || !absl::SimpleAtoi(listen.substr(colon + 1), &port) ||
      port < 0 || port > 65535)
    return absl::InvalidArgumentError(
        absl::StrFormat("--listen %s: expected HOST:PORT, e.g. 127.0.0.1:8080", listen));
  std::string host = listen.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']')
    host = host.substr(1, host.size() - 2);
  if (host == "localhost") host = "127.0.0.1";
  boost::system::error_code ec;
  const asio::ip::address address = asio::ip::make_address(host.empty() ? "0.0.0.0" : host, ec);
  if (ec)
    return absl::InvalidArgumentError(absl::StrFormat(
        "--listen %s: `%s` is not an IP address (use 127.0.0.1, 0.0.0.0 or [::1])", listen, host));
  return tcp::endpoint(address, static_cast<unsigned short>(port));
}

class Connection {
 public:
  virtual ~Connection() = default;
  // Closes the connection if it waits for a request; one in the middle of a request finishes it.
  virtual void CloseIfIdle() = 0;
};

}  // namespace

struct HttpServer::Impl {
  Impl(ServingApi& api, HttpOptions options) : api(api), options(std::move(options)) {}

  void Accept();
  template <bool kTls>
  void StartSession(tcp::socket socket, bool reject);
  void Forget(Connection* c) {
    std::lock_guard<std::mutex> lock(mu);
    live.erase(c);
  }

  ServingApi& api;
  const HttpOptions options;
  asio::io_context io;
  std::optional<ssl::context> tls;
  tcp::acceptor acceptor{io};
  std::atomic<int> connections{0};
  std::atomic<bool> stopping{false};
  std::mutex mu;
  std::set<Connection*> live;  // guarded by mu; for Stop to reach the idle ones
  std::mutex log_mu;           // access-log lines whole
};

namespace {

template <bool kTls>
class Session final : public Connection, public std::enable_shared_from_this<Session<kTls>> {
  using Stream = std::conditional_t<kTls, beast::ssl_stream<beast::tcp_stream>, beast::tcp_stream>;

 public:
  Session(tcp::socket socket, HttpServer::Impl& server, bool reject)
      : server_(server), stream_(MakeStream(std::move(socket), server)), reject_(reject) {
    boost::system::error_code ec;
    const tcp::endpoint peer = beast::get_lowest_layer(stream_).socket().remote_endpoint(ec);
    if (!ec) remote_ = peer.address().to_string();
    ++server_.connections;
  }
  ~Session() override {
    --server_.connections;
    server_.Forget(this);
  }

  void Start() {
    asio::dispatch(stream_.get_executor(), [self = this->shared_from_this()] {
      if constexpr (kTls) {
        self->Lowest().expires_after(std::chrono::seconds(self->server_.options.timeout_seconds));
        self->stream_.async_handshake(ssl::stream_base::server, [self](beast::error_code ec) {
          if (!ec) self->Read();
        });
      } else {
        self->Read();
      }
    });
  }

  void CloseIfIdle() override {
    // Called under the server's lock, maybe while the last reference is being dropped.
    std::shared_ptr<Session> self = this->weak_from_this().lock();
    if (!self) return;
    asio::post(stream_.get_executor(), [self] {
      if (!self->busy_) self->Lowest().cancel();
    });
  }

 private:
  static Stream MakeStream(tcp::socket socket, HttpServer::Impl& server) {
    if constexpr (kTls)
      return Stream(std::move(socket), *server.tls);
    else
      return Stream(std::move(socket));
  }
  beast::tcp_stream& Lowest() { return beast::get_lowest_layer(stream_); }

  void Read() {
    busy_ = false;
    if (server_.stopping) return Close();
    parser_.emplace();
    parser_->header_limit(kMaxHeaderBytes);
    parser_->body_limit(server_.options.max_body_bytes);
    Lowest().expires_after(std::chrono::seconds(server_.options.keep_alive_seconds));
    http::async_read_header(
        stream_, buffer_, *parser_,
        [self = this->shared_from_this()](beast::error_code ec, size_t) { self->OnHeader(ec); });
  }

  void OnHeader(beast::error_code ec) {
    if (ec) return OnReadError(ec);
    busy_ = true;
    Lowest().expires_after(std::chrono::seconds(server_.options.timeout_seconds));
    const auto& req = parser_->get();
    if (reject_) return Refuse();  // before its body: a refused body is drained, never buffered
    if (beast::iequals(req[http::field::expect], "100-continue")) {
      // curl sends large bodies only after this (else it waits a second).
      auto go_on = std::make_shared<http::response<http::empty_body>>(http::status::continue_, 11);
      http::async_write(stream_, *go_on,
                        [self = this->shared_from_this(), go_on](beast::error_code ec, size_t) {
                          if (ec) return self->Close();
                          self->ReadBody();
                        });
      return;
    }
    ReadBody();
  }

  // Past --max-connections: 503 and close, the request's body read and dropped (Linger).
  void Refuse() {
    NoteRequestLine();
    close_after_ = true;
    Write(ErrorReply(absl::UnavailableError(
        absl::StrFormat("the server is at its connection limit (%d, --max-connections); retry",
                        server_.options.max_connections))));
  }

  // The method and path (without the query) for the API and the access log; the clock starts.
  void NoteRequestLine() {
    const auto& req = parser_->get();
    started_ = Clock::now();
    method_ = std::string(req.method_string());
    const std::string_view target(req.target().data(), req.target().size());
    path_ = std::string(target.substr(0, target.find('?')));
  }

  void ReadBody() {
    http::async_read(
        stream_, buffer_, *parser_,
        [self = this->shared_from_this()](beast::error_code ec, size_t) { self->OnRead(ec); });
  }

  void OnReadError(beast::error_code ec) {
    if (ec == http::error::body_limit) {
      close_after_ = true;
      return Write(ErrorReply(absl::ResourceExhaustedError(absl::StrFormat(
          "the request body is larger than this server takes (%d KiB); raise --max-body-kb",
          server_.options.max_body_bytes >> 10))));
    }
    if (ec == http::error::header_limit) {
      close_after_ = true;
      return Write(ErrorReply(absl::ResourceExhaustedError(
          absl::StrFormat("the request headers are larger than %d KiB", kMaxHeaderBytes >> 10))));
    }
    if (busy_ && ec != beast::error::timeout && ec != asio::error::operation_aborted &&
        ec != http::error::end_of_stream && ec != asio::error::eof) {
      close_after_ = true;  // a malformed request: say so, then hang up (the stream is lost)
      return Write(ErrorReply(
          absl::InvalidArgumentError(absl::StrFormat("malformed HTTP request: %s", ec.message()))));
    }
    Close();
  }

  void OnRead(beast::error_code ec) {
    if (ec) return OnReadError(ec);
    NoteRequestLine();
    auto& req = parser_->get();
    keep_alive_ = req.keep_alive();
    origin_ = std::string(req[http::field::origin]);
    if (req.method() == http::verb::options && !server_.options.cors_origin.empty()) {
      HttpReply preflight{204, "", ""};
      return Write(std::move(preflight));
    }
    HttpRequest request;
    request.method = method_;
    request.path = path_;
    if (auto it = req.find(http::field::authorization); it != req.end())
      request.authorization = std::string(it->value());
    request.body = std::move(req.body());
    // The reply may come from a batcher's thread: hop back onto this connection's strand.
    server_.api.Handle(std::move(request), [self = this->shared_from_this()](HttpReply reply) {
      asio::post(self->stream_.get_executor(),
                 [self, reply = std::move(reply)]() mutable { self->Write(std::move(reply)); });
    });
  }

  void Write(HttpReply reply) {
    res_ = {};
    res_.version(11);
    res_.result(static_cast<unsigned>(reply.status));
    if (!reply.content_type.empty()) res_.set(http::field::content_type, reply.content_type);
    res_.set(http::field::server, "hearth");
    if (reply.status == 401) res_.set(http::field::www_authenticate, "Bearer");
    const std::string& allowed = server_.options.cors_origin;
    if (!allowed.empty() && (allowed == "*" || origin_ == allowed)) {
      res_.set(http::field::access_control_allow_origin, allowed);
      res_.set(http::field::vary, "Origin");
      if (reply.status == 204) {
        res_.set(http::field::access_control_allow_methods, "GET, POST, OPTIONS");
        res_.set(http::field::access_control_allow_headers, "Authorization, Content-Type");
        res_.set(http::field::access_control_max_age, "600");
      }
    }
    const size_t bytes = reply.body.size();
    res_.body() = std::move(reply.body);
    const bool keep = keep_alive_ && !close_after_ && !server_.stopping;
    res_.keep_alive(keep);
    res_.prepare_payload();
    if (server_.options.access_log) Log(bytes);
    Lowest().expires_after(std::chrono::seconds(server_.options.timeout_seconds));
    http::async_write(stream_, res_,
                      [self = this->shared_from_this(), keep](beast::error_code ec, size_t) {
                        if (!ec && self->close_after_) return self->Linger();
                        if (ec || !keep) return self->Close();
                        self->Read();
                      });
  }

  void Log(size_t bytes) {
    const double ms =
        started_ == Clock::time_point{}
            ? 0.0
            : std::chrono::duration<double, std::milli>(Clock::now() - started_).count();
    std::lock_guard<std::mutex> lock(server_.log_mu);
    std::fprintf(stderr, "%s \"%s %s\" %d %zuB %.3fms\n", remote_.c_str(), method_.c_str(),
                 path_.substr(0, 200).c_str(), res_.result_int(), bytes, ms);
  }

  // After refusing a request whose body may still be arriving (413, 503): stop sending, then read
  // and drop what the client still sends before closing, so that the close does not reset the
  // connection under the client before it has read the refusal (nginx's lingering close).
  void Linger() {
    beast::error_code ignored;
    Lowest().socket().shutdown(tcp::socket::shutdown_send, ignored);
    Lowest().expires_after(std::chrono::seconds(kLingerSeconds));
    Drain();
  }
  void Drain() {
    Lowest().socket().async_read_some(
        asio::buffer(scratch_), [self = this->shared_from_this()](beast::error_code ec, size_t n) {
          self->drained_ += n;
          if (ec || self->drained_ > kMaxLingerBytes) {
            beast::error_code ignored;
            self->Lowest().socket().close(ignored);
            return;
          }
          self->Drain();
        });
  }

  void Close() {
    busy_ = false;
    beast::error_code ignored;
    if constexpr (kTls) {
      Lowest().expires_after(std::chrono::seconds(2));
      stream_.async_shutdown([self = this->shared_from_this()](beast::error_code) {
        beast::error_code ignored;
        self->Lowest().socket().close(ignored);
      });
    } else {
      Lowest().socket().shutdown(tcp::socket::shutdown_send, ignored);
      Lowest().socket().close(ignored);
    }
  }

  HttpServer::Impl& server_;
  Stream stream_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  http::response<http::string_body> res_;
  const bool reject_;
  bool busy_ = false;
  bool keep_alive_ = true;
  bool close_after_ = false;
  std::string remote_, method_, path_, origin_;
  Clock::time_point started_{};
  std::array<char, 16 << 10> scratch_;  // Drain's
  size_t drained_ = 0;
};

}  // namespace

template <bool kTls>
void HttpServer::Impl::StartSession(tcp::socket socket, bool reject) {
  auto session = std::make_shared<Session<kTls>>(std::move(socket), *this, reject);
  {
    std::lock_guard<std::mutex> lock(mu);
    live.insert(session.get());
  }
  session->Start();
}

void HttpServer::Impl::Accept() {
  acceptor.async_accept(asio::make_strand(io), [this](beast::error_code ec, tcp::socket socket) {
    if (stopping) return;
    if (!ec) {
      boost::system::error_code ignored;
      socket.set_option(tcp::no_delay(true), ignored);
      const bool reject = connections.load() >= options.max_connections;
      if (tls)
        StartSession<true>(std::move(socket), reject);
      else
        StartSession<false>(std::move(socket), reject);
    }
    Accept();
  });
}

HttpServer::HttpServer(ServingApi& api, HttpOptions options)
    : impl_(std::make_unique<Impl>(api, std::move(options))) {}

HttpServer::~HttpServer() = default;

Status HttpServer::Start() {
  Impl& s = *impl_;
  HEARTH_ASSIGN_OR_RETURN(const tcp::endpoint endpoint, ParseListen(s.options.listen));
  if (!s.options.tls_cert.empty()) {
    s.tls.emplace(ssl::context::tls_server);
    boost::system::error_code ec;
    s.tls->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                       ssl::context::no_sslv3 | ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1);
    s.tls->use_certificate_chain_file(s.options.tls_cert, ec);
    if (ec)
      return absl::InvalidArgumentError(
          absl::StrFormat("--tls-cert %s: %s", s.options.tls_cert, ec.message()));
    s.tls->use_private_key_file(s.options.tls_key, ssl::context::pem, ec);
    if (ec)
      return absl::InvalidArgumentError(
          absl::StrFormat("--tls-key %s: %s", s.options.tls_key, ec.message()));
  }
  boost::system::error_code ec;
  s.acceptor.open(endpoint.protocol(), ec);
  if (!ec) s.acceptor.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) s.acceptor.bind(endpoint, ec);
  if (!ec) s.acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec)
    return absl::UnavailableError(
        absl::StrFormat("cannot listen on %s: %s", s.options.listen, ec.message()));
  s.Accept();
  return absl::OkStatus();
}

int HttpServer::port() const {
  boost::system::error_code ec;
  return impl_->acceptor.local_endpoint(ec).port();
}

void HttpServer::Run(int threads) {
  std::vector<std::thread> more;
  for (int i = 1; i < threads; ++i) more.emplace_back([this] { impl_->io.run(); });
  impl_->io.run();
  for (std::thread& t : more) t.join();
}

void HttpServer::Stop() {
  Impl& s = *impl_;
  if (s.stopping.exchange(true)) return;
  asio::post(s.io, [&s] {
    boost::system::error_code ignored;
    s.acceptor.close(ignored);
    std::lock_guard<std::mutex> lock(s.mu);
    for (Connection* c : s.live) c->CloseIfIdle();
  });
}

}  // namespace hearth::serve
