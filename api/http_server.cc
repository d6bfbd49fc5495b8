#include "api/http_server.h"

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <algorithm>
#include <array>
#include <chrono>

namespace svpc::api {
namespace {

namespace beast = boost::beast;
namespace http = beast::http;
using tcp = boost::asio::ip::tcp;

constexpr size_t kHeaderLimit = 16 * 1024;

class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(tcp::socket socket, const HttpServerOptions& options, const HttpHandler& handler,
          std::shared_ptr<size_t> live)
      : stream_(std::move(socket)),
        ready_timer_(stream_.get_executor()),
        options_(options),
        handler_(handler),
        live_(std::move(live)) {
    ++*live_;
    boost::system::error_code ec;
    tcp::endpoint remote = stream_.socket().remote_endpoint(ec);
    if (!ec) peer_ = remote.address().to_string() + ":" + std::to_string(remote.port());
  }
  ~Session() { --*live_; }

  void Start() { ReadRequest(); }

 private:
  // Every socket operation is asynchronous and runs under a deadline of the tcp_stream, so one
  // slow or stuck client only ever holds its own session: the request (headers and body) within
  // request_timeout_s, each response within write_timeout_s, the lingering drain within
  // linger_timeout_s.
  void ReadRequest() {
    parser_.emplace();
    parser_->header_limit(kHeaderLimit);
    parser_->body_limit(options_.body_limit);
    request_deadline_ =
        std::chrono::steady_clock::now() + std::chrono::seconds(options_.request_timeout_s);
    stream_.expires_at(request_deadline_);
    http::async_read_header(
        stream_, buffer_, *parser_,
        [self = shared_from_this()](beast::error_code ec, size_t) { self->OnHeader(ec); });
  }

  void OnHeader(beast::error_code ec) {
    if (ec) {
      OnRead(ec);
      return;
    }
    const auto& header = parser_->get();
    // RFC 9112 section 3.2: a server MUST answer 400 to an HTTP/1.1 request without exactly one
    // Host header. HTTP/1.0 requests need none.
    if (header.version() >= 11 && header.count(http::field::host) != 1) {
      Refuse(header.count(http::field::host) == 0 ? "HTTP/1.1 request without a Host header"
                                                  : "HTTP/1.1 request with several Host headers");
      return;
    }
    stream_.expires_at(request_deadline_);
    http::async_read(
        stream_, buffer_, *parser_,
        [self = shared_from_this()](beast::error_code ec, size_t) { self->OnRead(ec); });
  }

  void OnRead(beast::error_code ec) {
    if (ec == http::error::end_of_stream || ec == beast::error::timeout ||
        ec == boost::asio::error::operation_aborted || ec == boost::asio::error::connection_reset ||
        ec == boost::asio::error::eof) {
      Close();
      return;
    }
    if (ec) {
      // Malformed HTTP or a body over the limit: answer 400 and close (the rest of the stream
      // cannot be trusted to be framed).
      Refuse(ec == http::error::body_limit ? "Request body larger than the limit of " +
                                                 std::to_string(options_.body_limit) + " bytes"
                                           : "Malformed HTTP request: " + ec.message());
      return;
    }
    const auto& message = parser_->get();
    HttpRequest request;
    request.method = std::string(message.method_string());
    request.target = std::string(message.target());
    request.authorization = std::string(message[http::field::authorization]);
    request.body = std::move(parser_->get().body());
    request.peer = peer_;
    HttpResponse response;
    try {
      response = handler_(request);
    } catch (const std::exception& e) {
      response = options_.error_body
                     ? options_.error_body(500, std::string("internal error: ") + e.what())
                     : HttpResponse{500, "internal error", "text/plain"};
    }
    if (response.ready && !response.ready()) {
      WaitReady(std::make_shared<HttpResponse>(std::move(response)), message.keep_alive(),
                message.version(), std::chrono::milliseconds(1));
      return;
    }
    Send(response, message.keep_alive(), message.version());
  }

  // A response that waits (HttpResponse::ready): polled on a timer, so the io_context keeps
  // serving the other connections meanwhile.
  void WaitReady(std::shared_ptr<HttpResponse> response, bool keep_alive, unsigned version,
                 std::chrono::milliseconds interval) {
    ready_timer_.expires_after(interval);
    ready_timer_.async_wait(
        [self = shared_from_this(), response, keep_alive, version, interval](beast::error_code ec) {
          if (ec) {
            self->Close();
          } else if (!response->ready()) {
            self->WaitReady(response, keep_alive, version,
                            std::min(interval * 2, std::chrono::milliseconds(20)));
          } else {
            self->Send(*response, keep_alive, version);
          }
        });
  }

  // A 400 the server answers itself; the connection closes after it.
  void Refuse(const std::string& message) {
    HttpResponse response = options_.error_body ? options_.error_body(400, message)
                                                : HttpResponse{400, message, "text/plain"};
    Send(response, /*keep_alive=*/false, 11);
  }

  void Send(const HttpResponse& response, bool keep_alive, unsigned version) {
    auto reply = std::make_shared<http::response<http::string_body>>(
        static_cast<http::status>(response.status), version);
    reply->set(http::field::server, "svpcd");
    reply->set(http::field::content_type, response.content_type);
    reply->keep_alive(keep_alive);
    reply->body() = response.body;
    reply->prepare_payload();
    stream_.expires_after(std::chrono::seconds(options_.write_timeout_s));
    http::async_write(stream_, *reply,
                      [self = shared_from_this(), reply, keep_alive](beast::error_code ec, size_t) {
                        if (ec) {
                          self->Close();
                        } else if (!keep_alive) {
                          self->LingeringClose();
                        } else {
                          self->ReadRequest();
                        }
                      });
  }

  // After refusing a request whose body is still arriving (over the limit), the client would get
  // a reset instead of the 400 if the socket closed now: stop sending, then read and discard
  // what it still sends until it closes, for linger_timeout_s at most in all (one deadline, not
  // one per read: a client trickling bytes cannot keep the session).
  void LingeringClose() {
    beast::error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
    stream_.expires_after(std::chrono::seconds(options_.linger_timeout_s));
    Discard();
  }

  void Discard() {
    stream_.async_read_some(boost::asio::buffer(discard_),
                            [self = shared_from_this()](beast::error_code ec, size_t) {
                              if (ec) {
                                self->stream_.close();
                                return;
                              }
                              self->Discard();
                            });
  }

  void Close() {
    beast::error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
    stream_.close();
  }

  beast::tcp_stream stream_;
  boost::asio::steady_timer ready_timer_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  const HttpServerOptions& options_;
  const HttpHandler& handler_;
  std::shared_ptr<size_t> live_;  // the server's count of open sessions
  std::chrono::steady_clock::time_point request_deadline_;
  std::string peer_;
  std::array<char, 16384> discard_;
};

class Server : public HttpServer {
 public:
  Server(boost::asio::io_context& io, HttpServerOptions options, HttpHandler handler)
      : acceptor_(io), options_(std::move(options)), handler_(std::move(handler)) {}

  bool Listen(std::string* error) {
    boost::system::error_code ec;
    auto address = boost::asio::ip::make_address(
        options_.address == "localhost" ? "127.0.0.1" : options_.address, ec);
    if (ec) {
      *error = "--api: " + options_.address + " is not an IP address";
      return false;
    }
    tcp::endpoint endpoint(address, options_.port);
    acceptor_.open(endpoint.protocol(), ec);
    if (!ec) acceptor_.set_option(tcp::acceptor::reuse_address(true), ec);
    if (!ec) acceptor_.bind(endpoint, ec);
    if (!ec) acceptor_.listen(boost::asio::socket_base::max_listen_connections, ec);
    if (ec) {
      *error = "cannot listen on " + options_.address + ":" + std::to_string(options_.port) + ": " +
               ec.message();
      return false;
    }
    Accept();
    return true;
  }

  uint16_t port() const override {
    boost::system::error_code ec;
    return acceptor_.local_endpoint(ec).port();
  }

  void Stop() override {
    boost::system::error_code ec;
    acceptor_.close(ec);
  }

 private:
  void Accept() {
    acceptor_.async_accept([this](boost::system::error_code ec, tcp::socket socket) {
      if (ec == boost::asio::error::operation_aborted) return;
      if (!ec) {
        if (*live_ >= options_.max_connections) {
          boost::system::error_code ignored;
          socket.close(ignored);
        } else {
          std::make_shared<Session>(std::move(socket), options_, handler_, live_)->Start();
        }
      }
      Accept();
    });
  }

  tcp::acceptor acceptor_;
  HttpServerOptions options_;
  HttpHandler handler_;
  std::shared_ptr<size_t> live_ = std::make_shared<size_t>(0);
};

}  // namespace

std::unique_ptr<HttpServer> HttpServer::Start(boost::asio::io_context& io,
                                              const HttpServerOptions& options, HttpHandler handler,
                                              std::string* error) {
  auto server = std::make_unique<Server>(io, options, std::move(handler));
  if (!server->Listen(error)) return nullptr;
  return server;
}

bool IsLoopbackAddress(const std::string& address) {
  if (address == "localhost") return true;
  boost::system::error_code ec;
  auto parsed = boost::asio::ip::make_address(address, ec);
  return !ec && parsed.is_loopback();
}

}  // namespace svpc::api
