#pragma once
// One TCP connection of a BGP peer on Boost.Asio: connects (or adopts an accepted socket),
// splits the byte stream into whole messages, and writes queued messages in order.
//
// Contract: owner callbacks run on the io_context, never from inside a call into Connection,
// and never after Close(). Handlers catch everything: no exception reaches Asio.

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <deque>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "bgp/fsm.h"
#include "bgp/message.h"
#include "common/net_types.h"

namespace svpc::bgp {

class ConnectionOwner {
 public:
  virtual ~ConnectionOwner() = default;
  virtual void OnConnected(ConnectionId id) = 0;
  virtual void OnConnectFailed(ConnectionId id, const std::string& error) = 0;
  // One whole message whose header is valid (CheckFrame).
  virtual void OnFrame(ConnectionId id, std::span<const uint8_t> frame) = 0;
  // A bad message header: the stream cannot be read further.
  virtual void OnFramingError(ConnectionId id, const DecodeResult& error) = 0;
  virtual void OnClosed(ConnectionId id, const std::string& reason) = 0;
};

class Connection : public std::enable_shared_from_this<Connection> {
 public:
  Connection(boost::asio::io_context& io, ConnectionId id, std::weak_ptr<ConnectionOwner> owner);

  // Opens an outbound connection from `local` (0: any) to remote:port, with a TCP MD5 key when
  // `md5_key` is not empty. Reports OnConnected or OnConnectFailed.
  void Connect(Ipv4 local, Ipv4 remote, uint16_t port, const std::string& md5_key);
  // Takes an accepted socket and starts reading.
  void Adopt(boost::asio::ip::tcp::socket socket);
  void Send(std::vector<uint8_t> bytes);
  // Stops reading, flushes what was queued (for at most kCloseLinger), then closes.
  void Close();

  ConnectionId id() const { return id_; }

 private:
  static constexpr std::chrono::seconds kCloseLinger{2};
  static constexpr size_t kReadChunk = 64 * 1024;

  void StartReading();
  void OnRead(const boost::system::error_code& ec, size_t bytes);
  void ProcessFrames();
  void WriteQueued();
  void FinishClose();
  void ReportClosed(const std::string& reason);

  boost::asio::io_context& io_;
  ConnectionId id_;
  std::weak_ptr<ConnectionOwner> owner_;
  boost::asio::ip::tcp::socket socket_;
  boost::asio::steady_timer linger_timer_;
  std::vector<uint8_t> rx_;  // [rx_begin_, rx_end_) holds unprocessed bytes
  size_t rx_begin_ = 0;
  size_t rx_end_ = 0;
  std::deque<std::vector<uint8_t>> tx_queue_;
  size_t tx_in_flight_ = 0;  // messages at the queue's front being written
  bool closing_ = false;     // Close() called or the stream failed: no more owner callbacks
  bool closed_ = false;
};

}  // namespace svpc::bgp
