#include "bgp/connection.h"

#include <spdlog/spdlog.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>

#include "bgp/tcp_md5.h"

namespace svpc::bgp {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

namespace {

// Runs a handler body; an exception (allocation failure, a throwing consumer callback further
// down) is logged instead of unwinding into Asio.
template <typename F>
void Guarded(const char* where, F&& body) {
  try {
    body();
  } catch (const std::exception& e) {
    spdlog::error("bgp: exception in {}: {}", where, e.what());
  } catch (...) {
    spdlog::error("bgp: unknown exception in {}", where);
  }
}

}  // namespace

Connection::Connection(asio::io_context& io, ConnectionId id, std::weak_ptr<ConnectionOwner> owner)
    : io_(io), id_(id), owner_(std::move(owner)), socket_(io), linger_timer_(io) {}

void Connection::Connect(Ipv4 local, Ipv4 remote, uint16_t port, const std::string& md5_key) {
  boost::system::error_code ec;
  std::string failure;
  socket_.open(tcp::v4(), ec);
  if (ec) failure = "socket: " + ec.message();
  if (failure.empty() && !md5_key.empty()) {
    failure = SetTcpMd5Key(socket_.native_handle(), remote, md5_key);
  }
  if (failure.empty() && local != 0) {
    socket_.bind(tcp::endpoint(asio::ip::address_v4(local), 0), ec);
    if (ec) failure = "bind " + FormatIpv4(local) + ": " + ec.message();
  }
  auto self = shared_from_this();
  if (!failure.empty()) {
    // Reported asynchronously: the owner is in the middle of executing its actions.
    asio::post(io_, [self, failure] {
      Guarded("connect failure report", [&] {
        if (self->closing_) return;
        self->closing_ = true;
        self->FinishClose();
        if (auto owner = self->owner_.lock()) owner->OnConnectFailed(self->id_, failure);
      });
    });
    return;
  }
  tcp::endpoint endpoint(asio::ip::address_v4(remote), port);
  socket_.async_connect(endpoint, [self, endpoint](const boost::system::error_code& error) {
    Guarded("connect", [&] {
      if (self->closing_) return;
      if (error) {
        self->closing_ = true;
        self->FinishClose();
        std::string text = "connect to " + endpoint.address().to_string() + ":" +
                           std::to_string(endpoint.port()) + ": " + error.message();
        if (auto owner = self->owner_.lock()) owner->OnConnectFailed(self->id_, text);
        return;
      }
      boost::system::error_code ignored;
      self->socket_.set_option(tcp::no_delay(true), ignored);
      self->StartReading();
      if (auto owner = self->owner_.lock()) owner->OnConnected(self->id_);
    });
  });
}

void Connection::Adopt(tcp::socket socket) {
  socket_ = std::move(socket);
  boost::system::error_code ignored;
  socket_.set_option(tcp::no_delay(true), ignored);
  StartReading();
}

void Connection::StartReading() {
  if (closing_) return;
  if (rx_.size() < rx_end_ + kReadChunk) rx_.resize(rx_end_ + kReadChunk);
  auto self = shared_from_this();
  socket_.async_read_some(asio::buffer(rx_.data() + rx_end_, rx_.size() - rx_end_),
                          [self](const boost::system::error_code& ec, size_t bytes) {
                            Guarded("read", [&] { self->OnRead(ec, bytes); });
                          });
}

void Connection::OnRead(const boost::system::error_code& ec, size_t bytes) {
  if (closing_) return;
  if (ec) {
    ReportClosed(ec == asio::error::eof ? "TCP connection closed by the peer"
                                        : "TCP connection error: " + ec.message());
    return;
  }
  rx_end_ += bytes;
  ProcessFrames();
  if (closing_) return;
  // Keep the unprocessed tail at the front so the buffer does not grow.
  if (rx_begin_ > 0) {
    std::copy(rx_.begin() + rx_begin_, rx_.begin() + rx_end_, rx_.begin());
    rx_end_ -= rx_begin_;
    rx_begin_ = 0;
  }
  StartReading();
}

void Connection::ProcessFrames() {
  auto owner = owner_.lock();
  if (!owner) {
    closing_ = true;
    FinishClose();
    return;
  }
  while (!closing_) {
    std::span<const uint8_t> pending(rx_.data() + rx_begin_, rx_end_ - rx_begin_);
    FrameCheck check = CheckFrame(pending);
    if (check.error) {
      // Nothing after a bad header can be trusted; the owner answers with a NOTIFICATION and
      // closes us.
      owner->OnFramingError(id_, *check.error);
      if (!closing_) Close();
      return;
    }
    if (check.length == 0 || check.length > pending.size()) return;  // need more bytes
    rx_begin_ += check.length;
    owner->OnFrame(id_, pending.first(check.length));
  }
}

void Connection::Send(std::vector<uint8_t> bytes) {
  if (closed_) return;
  tx_queue_.push_back(std::move(bytes));
  if (tx_in_flight_ == 0) WriteQueued();
}

void Connection::WriteQueued() {
  if (tx_queue_.empty() || closed_) {
    if (closing_ && !closed_) FinishClose();
    return;
  }
  // One gather write for everything queued: a table dump goes out in few system calls.
  std::vector<asio::const_buffer> buffers;
  buffers.reserve(tx_queue_.size());
  for (const auto& message : tx_queue_) buffers.emplace_back(asio::buffer(message));
  tx_in_flight_ = tx_queue_.size();
  auto self = shared_from_this();
  asio::async_write(socket_, buffers, [self](const boost::system::error_code& ec, size_t) {
    Guarded("write", [&] {
      for (size_t i = 0; i < self->tx_in_flight_ && !self->tx_queue_.empty(); ++i) {
        self->tx_queue_.pop_front();
      }
      self->tx_in_flight_ = 0;
      if (ec) {
        self->tx_queue_.clear();
        if (!self->closing_) {
          self->ReportClosed("TCP write failed: " + ec.message());
        } else {
          self->FinishClose();
        }
        return;
      }
      self->WriteQueued();
    });
  });
}

void Connection::Close() {
  if (closing_) return;
  closing_ = true;
  if (tx_in_flight_ == 0 && tx_queue_.empty()) {
    FinishClose();
    return;
  }
  // Give the last messages (a NOTIFICATION, typically) a moment to leave.
  auto self = shared_from_this();
  linger_timer_.expires_after(kCloseLinger);
  linger_timer_.async_wait([self](const boost::system::error_code& ec) {
    Guarded("close linger", [&] {
      if (!ec) self->FinishClose();
    });
  });
}

void Connection::FinishClose() {
  if (closed_) return;
  closed_ = true;
  boost::system::error_code ignored;
  linger_timer_.cancel();
  socket_.shutdown(tcp::socket::shutdown_both, ignored);
  socket_.close(ignored);
}

void Connection::ReportClosed(const std::string& reason) {
  closing_ = true;
  FinishClose();
  if (auto owner = owner_.lock()) owner->OnClosed(id_, reason);
}

}  // namespace svpc::bgp
