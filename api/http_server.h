#pragma once
// A small HTTP/1.1 server (Boost.Beast) on an io_context the caller runs: one coroutine-free
// async session per connection, keep-alive, a body size limit and a per-request deadline. Every
// request is handed to one synchronous handler on the io_context's thread, so handlers may touch
// the daemon's state without locks. A handler must not wait for anything slow: what its response
// waits for (a change reaching the workers) it says in `ready`, polled by the server meanwhile
// serving the other connections.

#include <boost/asio/io_context.hpp>

#include <cstddef>
#include <functional>
#include <memory>
#include <string>

namespace svpc::api {

struct HttpRequest {
  std::string method;  // GET, POST, ...
  std::string target;  // path and query as received
  std::string authorization;
  std::string body;
  std::string peer;  // remote address, for the audit log
};

struct HttpResponse {
  int status = 200;
  std::string body;
  std::string content_type = "application/json; charset=UTF-8";
  // When set, the response is sent once this returns true (polled on the io_context, at most
  // every 20 ms); until then the connection reads no further request.
  std::function<bool()> ready = nullptr;
};

using HttpHandler = std::function<HttpResponse(const HttpRequest&)>;

struct HttpServerOptions {
  std::string address = "127.0.0.1";
  uint16_t port = 9180;
  size_t body_limit = 1 << 20;  // larger bodies get 413 without being read
  // A request not received in full within this many seconds ends the connection (slow clients
  // must not hold sessions forever).
  unsigned request_timeout_s = 30;
  // A response the client does not read within this many seconds (full TCP window) ends the
  // connection; so does a refused request's lingering drain after linger_timeout_s in all.
  unsigned write_timeout_s = 30;
  unsigned linger_timeout_s = 5;
  // Connections over this many are closed at once (each costs a descriptor and buffers).
  size_t max_connections = 512;
  // Builds the body of a 400/413 the server answers itself (malformed HTTP, body too large),
  // so they read like the handler's errors.
  std::function<HttpResponse(int status, const std::string& message)> error_body;
};

class HttpServer {
 public:
  // Binds and listens; nullptr with `error` when the address cannot be bound.
  static std::unique_ptr<HttpServer> Start(boost::asio::io_context& io,
                                           const HttpServerOptions& options, HttpHandler handler,
                                           std::string* error);
  virtual ~HttpServer() = default;
  virtual uint16_t port() const = 0;  // the bound port (options.port 0 picks one)
  virtual void Stop() = 0;
};

// True for 127.0.0.0/8, ::1 and "localhost".
bool IsLoopbackAddress(const std::string& address);

}  // namespace svpc::api
