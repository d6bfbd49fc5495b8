#include "bgp/speaker.h"

#include <spdlog/spdlog.h>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <map>

#include "bgp/peer.h"
#include "bgp/tcp_md5.h"

namespace svpc::bgp {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

struct Speaker::Impl : std::enable_shared_from_this<Impl> {
  Impl(asio::io_context& io, SpeakerConfig config, Callbacks callbacks)
      : io(io),
        config(std::move(config)),
        sink(std::make_shared<CallbackSink>(CallbackSink{std::move(callbacks), true})),
        accept_retry_timer(io) {}

  bool Start(std::string* error);
  void Stop(uint8_t cease_subcode, const std::string& reason);
  bool OpenListener(std::string* error);
  std::string InstallMd5Keys(const std::vector<PeerConfig>& old_peers);
  void AcceptNext();
  void OnAccepted(const boost::system::error_code& ec, tcp::socket socket);
  std::shared_ptr<Peer> MakePeer(const PeerConfig& peer_config);
  bool Reconfigure(SpeakerConfig next, std::string* error);

  asio::io_context& io;
  SpeakerConfig config;
  std::shared_ptr<CallbackSink> sink;
  std::optional<tcp::acceptor> acceptor;
  asio::steady_timer accept_retry_timer;
  std::map<std::string, std::shared_ptr<Peer>> peers;  // by name, while running
  // The consumer's last SetAdvertised per peer name: survives Stop/Start and peer restarts.
  std::map<std::string, std::vector<AdvertisedRoute>> advertised;
  bool running = false;
};

namespace {

bool Fail(std::string* error, const std::string& text) {
  spdlog::error("bgp: {}", text);
  if (error) *error = text;
  return false;
}

std::string Join(const std::vector<std::string>& parts) {
  std::string out;
  for (const auto& p : parts) out += (out.empty() ? "" : "; ") + p;
  return out;
}

// Changes that a running session can take without a reset.
bool OnlyLiveSettingsDiffer(PeerConfig a, const PeerConfig& b) {
  a.enabled = b.enabled;
  a.passive = b.passive;
  a.peer_port = b.peer_port;
  a.max_learned_prefixes = b.max_learned_prefixes;
  return a == b;
}

}  // namespace

std::shared_ptr<Peer> Speaker::Impl::MakePeer(const PeerConfig& peer_config) {
  auto peer = std::make_shared<Peer>(io, config.local_asn, config.router_id, peer_config, sink);
  auto it = advertised.find(peer_config.name);
  if (it != advertised.end()) peer->SetAdvertised(it->second);
  return peer;
}

bool Speaker::Impl::OpenListener(std::string* error) {
  tcp::endpoint endpoint(asio::ip::address_v4(config.listen_address), config.listen_port);
  std::string where =
      "listen on " + FormatIpv4(config.listen_address) + ":" + std::to_string(config.listen_port);
  boost::system::error_code ec;
  tcp::acceptor a(io);
  a.open(tcp::v4(), ec);
  if (!ec) a.set_option(tcp::acceptor::reuse_address(true), ec);
  if (!ec) a.bind(endpoint, ec);
  if (!ec) a.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) return Fail(error, where + ": " + ec.message());
  acceptor.emplace(std::move(a));
  std::string md5_error = InstallMd5Keys({});
  if (!md5_error.empty()) {
    acceptor.reset();
    return Fail(error, where + ": " + md5_error);
  }
  spdlog::info("bgp: AS {} router id {} listening on {}:{}", config.local_asn,
               FormatIpv4(config.router_id), FormatIpv4(config.listen_address),
               acceptor->local_endpoint().port());
  return true;
}

// Keys on the listening socket, inherited by the connections it accepts; keys of peers that
// went away or lost their password are removed.
std::string Speaker::Impl::InstallMd5Keys(const std::vector<PeerConfig>& old_peers) {
  if (!acceptor) return {};
  int fd = acceptor->native_handle();
  for (const auto& old : old_peers) {
    if (!old.md5_password.empty()) SetTcpMd5Key(fd, old.peer_address, "");
  }
  for (const auto& peer : config.peers) {
    if (peer.md5_password.empty()) continue;
    std::string problem = SetTcpMd5Key(fd, peer.peer_address, peer.md5_password);
    if (!problem.empty()) return "peer " + peer.name + ": " + problem;
  }
  return {};
}

bool Speaker::Impl::Start(std::string* error) {
  if (running) return true;
  auto problems = ValidateSpeakerConfig(config);
  if (!problems.empty()) return Fail(error, "invalid configuration: " + Join(problems));
  if (!OpenListener(error)) return false;
  running = true;
  AcceptNext();
  for (const auto& peer_config : config.peers) {
    auto peer = MakePeer(peer_config);
    peers[peer_config.name] = peer;
    if (peer_config.enabled) peer->Start();
  }
  return true;
}

void Speaker::Impl::Stop(uint8_t cease_subcode, const std::string& reason) {
  if (!running) return;
  running = false;
  boost::system::error_code ignored;
  accept_retry_timer.cancel();
  if (acceptor) acceptor->close(ignored);
  acceptor.reset();
  auto stopping = std::move(peers);
  peers.clear();
  for (auto& [name, peer] : stopping) peer->Stop(cease_subcode, reason);
}

void Speaker::Impl::AcceptNext() {
  if (!running || !acceptor) return;
  acceptor->async_accept(
      [weak = weak_from_this()](const boost::system::error_code& ec, tcp::socket socket) {
        try {
          if (auto self = weak.lock()) self->OnAccepted(ec, std::move(socket));
        } catch (const std::exception& e) {
          spdlog::error("bgp: exception while accepting a connection: {}", e.what());
        }
      });
}

void Speaker::Impl::OnAccepted(const boost::system::error_code& ec, tcp::socket socket) {
  if (ec == asio::error::operation_aborted || !running) return;
  if (ec) {
    // E.g. out of file descriptors: do not spin, try again shortly.
    spdlog::error("bgp: accept failed: {}; retrying in 1 s", ec.message());
    accept_retry_timer.expires_after(std::chrono::seconds(1));
    accept_retry_timer.async_wait([weak = weak_from_this()](const boost::system::error_code& e) {
      if (e) return;
      if (auto self = weak.lock()) self->AcceptNext();
    });
    return;
  }
  boost::system::error_code remote_ec;
  auto remote = socket.remote_endpoint(remote_ec);
  if (remote_ec || !remote.address().is_v4()) {
    AcceptNext();
    return;
  }
  Ipv4 address = remote.address().to_v4().to_uint();
  std::shared_ptr<Peer> match;
  for (const auto& [name, peer] : peers) {
    if (peer->config().peer_address == address) match = peer;
  }
  if (!match) {
    spdlog::warn("bgp: connection from {}:{} refused: not a configured peer", FormatIpv4(address),
                 remote.port());
  } else if (!match->config().enabled) {
    spdlog::info("bgp: connection from {} refused: peer {} is disabled", FormatIpv4(address),
                 match->config().name);
  } else {
    match->Accept(std::move(socket));
  }
  AcceptNext();  // a refused socket closes when it goes out of scope
}

bool Speaker::Impl::Reconfigure(SpeakerConfig next, std::string* error) {
  auto problems = ValidateSpeakerConfig(next);
  if (!problems.empty()) return Fail(error, "invalid configuration: " + Join(problems));
  if (!running) {
    for (auto it = advertised.begin(); it != advertised.end();) {
      bool kept = false;
      for (const auto& p : next.peers) kept |= p.name == it->first;
      it = kept ? std::next(it) : advertised.erase(it);
    }
    config = std::move(next);
    return true;
  }
  bool identity_changed =
      next.local_asn != config.local_asn || next.router_id != config.router_id ||
      next.listen_address != config.listen_address || next.listen_port != config.listen_port;
  if (identity_changed) {
    spdlog::info("bgp: local AS, router id or listening address changed: restarting every session");
    Stop(cease::kOtherConfigurationChange, "configuration changed");
    config = std::move(next);
    return Start(error);
  }
  std::vector<PeerConfig> old_peers = config.peers;
  std::map<std::string, const PeerConfig*> wanted;
  for (const auto& p : next.peers) wanted[p.name] = &p;
  // Removed peers.
  for (auto it = peers.begin(); it != peers.end();) {
    if (!wanted.count(it->first)) {
      spdlog::info("bgp peer {}: removed from the configuration", it->first);
      auto peer = it->second;
      advertised.erase(it->first);
      it = peers.erase(it);
      peer->Stop(cease::kPeerDeconfigured, "peer removed from the configuration");
    } else {
      ++it;
    }
  }
  config = std::move(next);
  std::string md5_error = InstallMd5Keys(old_peers);
  if (!md5_error.empty()) spdlog::error("bgp: {}", md5_error);
  for (const auto& peer_config : config.peers) {
    auto it = peers.find(peer_config.name);
    if (it == peers.end()) {
      auto peer = MakePeer(peer_config);
      peers[peer_config.name] = peer;
      if (peer_config.enabled) peer->Start();
      continue;
    }
    auto peer = it->second;
    const PeerConfig& current = peer->config();
    if (current == peer_config) continue;
    if (!OnlyLiveSettingsDiffer(current, peer_config)) {
      spdlog::info("bgp peer {}: session settings changed: restarting it", peer_config.name);
      peer->Stop(cease::kOtherConfigurationChange, "peer configuration changed");
      auto replacement = MakePeer(peer_config);  // keeps the consumer's advertisements
      peers[peer_config.name] = replacement;
      if (peer_config.enabled) replacement->Start();
      continue;
    }
    bool was_enabled = current.enabled;
    peer->SetPeerPort(peer_config.peer_port);
    peer->SetPassive(peer_config.passive);
    peer->SetMaxLearnedPrefixes(peer_config.max_learned_prefixes);
    peer->SetEnabled(peer_config.enabled);
    if (was_enabled && !peer_config.enabled) {
      peer->Stop(cease::kAdministrativeShutdown, "peer disabled");
    } else if (!was_enabled && peer_config.enabled) {
      peer->Start();
    }
  }
  return true;
}

// ---------------------------------------------------------------------------------------------

Speaker::Speaker(asio::io_context& io, SpeakerConfig config, Callbacks callbacks)
    : impl_(std::make_shared<Impl>(io, std::move(config), std::move(callbacks))) {}

Speaker::~Speaker() {
  impl_->sink->enabled = false;
  impl_->Stop(cease::kAdministrativeShutdown, "speaker shut down");
}

bool Speaker::Start(std::string* error) { return impl_->Start(error); }

void Speaker::Stop() { impl_->Stop(cease::kAdministrativeShutdown, "speaker stopped"); }

bool Speaker::SetAdvertised(const std::string& peer, std::vector<AdvertisedRoute> routes) {
  bool configured = false;
  for (const auto& p : impl_->config.peers) configured |= p.name == peer;
  if (!configured) {
    spdlog::warn("bgp: SetAdvertised for unknown peer {}", peer);
    return false;
  }
  auto it = impl_->peers.find(peer);
  if (it != impl_->peers.end()) it->second->SetAdvertised(routes);
  impl_->advertised[peer] = std::move(routes);
  return true;
}

std::vector<PeerStatus> Speaker::Status() const {
  std::vector<PeerStatus> statuses;
  for (const auto& peer_config : impl_->config.peers) {
    auto it = impl_->peers.find(peer_config.name);
    if (it != impl_->peers.end()) {
      statuses.push_back(it->second->Status());
    } else {
      PeerStatus s;
      s.name = peer_config.name;
      s.peer_address = peer_config.peer_address;
      s.enabled = peer_config.enabled;
      statuses.push_back(std::move(s));
    }
  }
  return statuses;
}

bool Speaker::Reconfigure(SpeakerConfig config, std::string* error) {
  return impl_->Reconfigure(std::move(config), error);
}

uint16_t Speaker::listening_port() const {
  if (!impl_->acceptor) return 0;
  boost::system::error_code ec;
  auto endpoint = impl_->acceptor->local_endpoint(ec);
  return ec ? 0 : endpoint.port();
}

}  // namespace svpc::bgp
