#pragma once
// One configured BGP neighbour: its FSM (PeerFsm), its TCP connections, its Adj-RIB-In (the
// prefixes it announced that we accepted) and Adj-RIB-Out (what we advertise to it).
//
// Everything runs on the io_context's thread. Callbacks to the consumer are made from here;
// actions produced while a callback runs are queued and executed in order afterwards.

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "bgp/connection.h"
#include "bgp/fsm.h"
#include "bgp/speaker_config.h"

namespace svpc::bgp {

// The consumer's callbacks, switched off once the Speaker is being destroyed.
struct CallbackSink {
  Callbacks callbacks;
  bool enabled = true;
};

class Peer : public ConnectionOwner, public std::enable_shared_from_this<Peer> {
 public:
  Peer(boost::asio::io_context& io, uint32_t local_asn, Ipv4 router_id, PeerConfig config,
       std::shared_ptr<CallbackSink> sink);
  ~Peer() override;

  void Start();
  // Stops the session with Cease/`cease_subcode`; the peer stays Idle until Start().
  void Stop(uint8_t cease_subcode, const std::string& reason);
  // An inbound connection whose remote address is this peer's.
  void Accept(boost::asio::ip::tcp::socket socket);
  // Replaces the Adj-RIB-Out; on an established session only the difference is sent.
  void SetAdvertised(const std::vector<AdvertisedRoute>& routes);
  PeerStatus Status() const;
  const PeerConfig& config() const { return config_; }
  // Settings that apply without resetting the session.
  void SetPeerPort(uint16_t port) { config_.peer_port = port; }
  void SetEnabled(bool enabled) { config_.enabled = enabled; }
  void SetPassive(bool passive);
  void SetMaxLearnedPrefixes(uint32_t limit);

  // ConnectionOwner.
  void OnConnected(ConnectionId id) override;
  void OnConnectFailed(ConnectionId id, const std::string& error) override;
  void OnFrame(ConnectionId id, std::span<const uint8_t> frame) override;
  void OnFramingError(ConnectionId id, const DecodeResult& error) override;
  void OnClosed(ConnectionId id, const std::string& reason) override;

 private:
  using PrefixKey = uint64_t;  // address << 8 | length
  static PrefixKey KeyOf(const Prefix& p) { return uint64_t{p.addr} << 8 | p.len; }
  static Prefix PrefixOf(PrefixKey key) {
    return Prefix{static_cast<Ipv4>(key >> 8), static_cast<uint8_t>(key & 0xff)};
  }

  // Queues actions and, unless already doing so, executes the queue (reentrancy-safe: a
  // callback may cause more actions). `update` is the UPDATE a ProcessUpdateAction refers to.
  void Apply(FsmActions actions, const DecodeResult* update = nullptr);
  void Execute(FsmAction& action, const DecodeResult* update);
  void ArmTimer();
  void OnTimer();

  void ProcessUpdate(const DecodeResult& decoded);
  bool UsableNextHop(Ipv4 next_hop) const;
  void EnforcePrefixLimit();
  void SendAdjRibOut(const std::vector<AdvertisedRoute>& routes,
                     const std::vector<Prefix>& withdrawn);
  PathAttributes AttributesFor(Ipv4 next_hop, uint32_t med) const;

  std::string Label() const;  // "peer NAME (ADDRESS)" for logs
  template <typename F>
  void Notify(const char* what, F&& call);

  boost::asio::io_context& io_;
  uint32_t local_asn_;
  PeerConfig config_;
  std::shared_ptr<CallbackSink> sink_;
  PeerFsm fsm_;
  boost::asio::steady_timer timer_;
  std::optional<TimePoint> timer_armed_for_;
  std::map<ConnectionId, std::shared_ptr<Connection>> connections_;
  std::deque<std::pair<FsmAction, const DecodeResult*>> pending_;
  bool applying_ = false;
  bool stopped_for_good_ = false;  // destructor path: no more callbacks or timers

  std::unordered_set<PrefixKey> adj_rib_in_;
  std::unordered_map<PrefixKey, AdvertisedRoute> adj_rib_out_;
  std::optional<TimePoint> established_since_;
  std::string last_connect_error_;  // to log each distinct connect failure once
};

}  // namespace svpc::bgp
