#pragma once
// Cloud Router's BGP speaker: eBGP sessions (IPv4 unicast) with configured peers over TCP on a
// Boost.Asio io_context. It listens on one address/port and also connects to each peer, learns
// their routes (reported through Callbacks) and advertises what SetAdvertised says.
//
// Threading: everything, callbacks included, runs on the io_context given to the constructor;
// call the methods from that thread (or before it runs). Nothing here throws into Asio.

#include <boost/asio/io_context.hpp>
#include <memory>
#include <string>
#include <vector>

#include "bgp/speaker_config.h"

namespace svpc::bgp {

class Speaker {
 public:
  Speaker(boost::asio::io_context& io, SpeakerConfig config, Callbacks callbacks);
  // Stops every session (Cease NOTIFICATIONs are queued; they leave if the io_context keeps
  // running) without calling any callback.
  ~Speaker();
  Speaker(const Speaker&) = delete;
  Speaker& operator=(const Speaker&) = delete;

  // Validates the configuration, opens the listening socket (with the peers' TCP MD5 keys) and
  // starts every enabled peer. On failure nothing is started and `error` says why.
  bool Start(std::string* error = nullptr);
  // Stops every session (Cease/Administrative Shutdown) and the listener. on_session_down is
  // called for each established session.
  void Stop();
  // Replaces what is advertised to `peer` (sent now if Established, else when it comes up; only
  // the difference is sent). False if there is no such peer.
  bool SetAdvertised(const std::string& peer, std::vector<AdvertisedRoute> routes);
  std::vector<PeerStatus> Status() const;
  // Applies a new configuration without disturbing what did not change: peers are matched by
  // name; added ones start, removed ones stop (Cease/Peer De-configured); a peer whose
  // addresses, ASN, timers or password changed restarts (Cease/Other Configuration Change);
  // enabled, passive, peer_port and max_learned_prefixes apply in place. A new local ASN,
  // router id or listening address/port restarts everything. Advertised routes are kept for
  // peers that stay.
  bool Reconfigure(SpeakerConfig config, std::string* error = nullptr);
  // The listening port (the chosen one when listen_port is 0); 0 when not listening.
  uint16_t listening_port() const;

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace svpc::bgp
