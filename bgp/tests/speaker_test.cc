// Speakers over real TCP on 127.0.0.0/8 (ports chosen by the OS): two of ours talking to each
// other, and a scripted peer (RawPeer) that sends exactly the bytes a test needs.

#include "bgp/speaker.h"

#include <gtest/gtest.h>
#include <spdlog/spdlog.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/write.hpp>
#include <chrono>
#include <deque>
#include <functional>
#include <map>
#include <unordered_map>

namespace svpc::bgp {
namespace {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using namespace std::chrono_literals;
using Bytes = std::vector<uint8_t>;

Ipv4 A(const char* text) { return ParseIpv4(text).value_or(0); }
Prefix P(const char* text) { return ParsePrefix(text).value_or(Prefix{}); }
uint64_t Key(const Prefix& p) { return uint64_t{p.addr} << 8 | p.len; }

// Runs `io` until `done` or `timeout`; true if done.
bool RunUntil(asio::io_context& io, const std::function<bool()>& done,
              std::chrono::milliseconds timeout = 10s) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!done()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    io.restart();
    io.run_for(5ms);
  }
  return true;
}

void RunFor(asio::io_context& io, std::chrono::milliseconds duration) {
  RunUntil(
      io, [] { return false; }, duration);
}

// What a speaker's callbacks reported: the routes currently learned per peer.
struct Recorder {
  std::map<std::string, std::unordered_map<uint64_t, LearnedRoute>> routes;
  size_t updates = 0;
  size_t announced = 0;
  size_t withdrawn = 0;
  size_t session_downs = 0;
  std::vector<SessionState> states;

  Callbacks Make() {
    Callbacks cb;
    cb.on_update = [this](const std::string& peer, std::vector<LearnedRoute> in,
                          std::vector<Prefix> out) {
      ++updates;
      announced += in.size();
      withdrawn += out.size();
      for (const auto& p : out) routes[peer].erase(Key(p));
      for (auto& r : in) routes[peer][Key(r.prefix)] = std::move(r);
    };
    cb.on_session_down = [this](const std::string& peer) {
      ++session_downs;
      routes[peer].clear();
    };
    cb.on_state = [this](const std::string&, SessionState s) { states.push_back(s); };
    return cb;
  }
  size_t Count(const std::string& peer) { return routes[peer].size(); }
  const LearnedRoute* Find(const std::string& peer, const char* prefix) {
    auto it = routes[peer].find(Key(P(prefix)));
    return it == routes[peer].end() ? nullptr : &it->second;
  }
};

PeerStatus StatusOf(const Speaker& speaker, const std::string& peer) {
  for (auto& s : speaker.Status()) {
    if (s.name == peer) return s;
  }
  ADD_FAILURE() << "no status for " << peer;
  return {};
}

PeerConfig Peer(const char* name, const char* local, const char* address, uint32_t asn,
                uint16_t port) {
  PeerConfig p;
  p.name = name;
  p.local_address = A(local);
  p.peer_address = A(address);
  p.peer_asn = asn;
  p.peer_port = port;
  p.keepalive_seconds = 3;
  p.hold_seconds = 9;
  p.connect_retry_seconds = 1;
  return p;
}

SpeakerConfig Config(uint32_t asn, const char* router_id, const char* listen) {
  SpeakerConfig c;
  c.local_asn = asn;
  c.router_id = A(router_id);
  c.listen_address = A(listen);
  c.listen_port = 0;  // the OS picks
  return c;
}

// Two of our speakers: A (AS 65001, 127.0.0.1) and B (AS 65002, 127.0.0.2), both connecting to
// each other (so connection collisions happen for real).
class SpeakerPair {
 public:
  explicit SpeakerPair(asio::io_context& io,
                       std::function<void(PeerConfig& a_to_b, PeerConfig& b_to_a)> tweak = {})
      : io_(io) {
    a_config_ = Config(65001, "10.0.0.1", "127.0.0.1");
    b_config_ = Config(65002, "10.0.0.2", "127.0.0.2");
    PeerConfig a_to_b = Peer("b", "127.0.0.1", "127.0.0.2", 65002, 179);
    PeerConfig b_to_a = Peer("a", "127.0.0.2", "127.0.0.1", 65001, 179);
    if (tweak) tweak(a_to_b, b_to_a);
    // A starts passive (B's port is not known yet), then connects too once B listens.
    bool a_passive = a_to_b.passive;
    a_to_b.passive = true;
    a_config_.peers = {a_to_b};
    a_ = std::make_unique<Speaker>(io, a_config_, a_rec.Make());
    std::string error;
    EXPECT_TRUE(a_->Start(&error)) << error;
    b_to_a.peer_port = a_->listening_port();
    b_config_.peers = {b_to_a};
    b_ = std::make_unique<Speaker>(io, b_config_, b_rec.Make());
    EXPECT_TRUE(b_->Start(&error)) << error;
    a_config_.peers[0].passive = a_passive;
    a_config_.peers[0].peer_port = b_->listening_port();
    EXPECT_TRUE(a_->Reconfigure(a_config_, &error)) << error;
  }

  bool Established() {
    return StatusOf(*a_, "b").state == SessionState::kEstablished &&
           StatusOf(*b_, "a").state == SessionState::kEstablished;
  }

  Speaker& a() { return *a_; }
  Speaker& b() { return *b_; }
  SpeakerConfig& a_config() { return a_config_; }
  SpeakerConfig& b_config() { return b_config_; }
  Recorder a_rec, b_rec;

 private:
  asio::io_context& io_;
  SpeakerConfig a_config_, b_config_;
  std::unique_ptr<Speaker> a_, b_;
};

// A scripted BGP peer on a blocking socket of its own: the test decides every byte it sends.
class RawPeer {
 public:
  RawPeer(const char* local, const char* remote, uint16_t port) : socket_(io_) {
    socket_.open(tcp::v4());
    socket_.bind(tcp::endpoint(asio::ip::make_address_v4(local), 0));
    socket_.connect(tcp::endpoint(asio::ip::make_address_v4(remote), port));
    socket_.non_blocking(true);
  }
  void Send(const Message& message, const EncodeContext& context = {}) {
    SendRaw(EncodeMessage(message, context));
  }
  void SendRaw(const Bytes& bytes) {
    socket_.non_blocking(false);
    asio::write(socket_, asio::buffer(bytes));
    socket_.non_blocking(true);
  }
  // Reads what has arrived, without blocking, into the inbox of decoded messages.
  void Poll() {
    uint8_t chunk[8192];
    for (;;) {
      boost::system::error_code ec;
      size_t n = socket_.read_some(asio::buffer(chunk), ec);
      if (ec == asio::error::would_block) break;
      if (ec) {
        closed_ = true;
        break;
      }
      buffer_.insert(buffer_.end(), chunk, chunk + n);
    }
    for (;;) {
      auto check = CheckFrame(buffer_);
      if (check.error || check.length == 0 || check.length > buffer_.size()) break;
      auto r = DecodeMessage(std::span(buffer_).first(check.length), decode_context_);
      if (r.message) inbox_.push_back(*r.message);
      buffer_.erase(buffer_.begin(), buffer_.begin() + check.length);
    }
  }
  std::deque<Message>& inbox() { return inbox_; }
  // How to read UPDATEs (a 2-octet AS session decodes AS_PATH differently).
  void set_decode_context(const DecodeContext& context) { decode_context_ = context; }
  bool closed() const { return closed_; }

 private:
  asio::io_context io_;
  tcp::socket socket_;
  Bytes buffer_;
  std::deque<Message> inbox_;
  DecodeContext decode_context_{true, false, 0};
  bool closed_ = false;
};

// Runs the speaker's io_context until the raw peer's next message of type T; the messages
// before it are moved to `skipped` (if given), the ones after it stay in the inbox.
template <typename T>
std::optional<T> Expect(asio::io_context& io, RawPeer& raw, std::vector<Message>* skipped = nullptr,
                        std::chrono::milliseconds timeout = 5s) {
  std::optional<T> found;
  RunUntil(
      io,
      [&] {
        raw.Poll();
        auto& inbox = raw.inbox();
        while (!found && !inbox.empty()) {
          if (const auto* match = std::get_if<T>(&inbox.front())) {
            found = *match;
          } else if (skipped) {
            skipped->push_back(inbox.front());
          }
          inbox.pop_front();
        }
        return found.has_value();
      },
      timeout);
  return found;
}

OpenMessage RawOpen(uint32_t asn, uint16_t hold, const char* id) {
  OpenMessage open;
  open.asn = asn;
  open.hold_time = hold;
  open.bgp_identifier = A(id);
  open.multiprotocol = {{kAfiIpv4, kSafiUnicast}};
  open.route_refresh = true;
  open.four_octet_as = true;
  return open;
}

UpdateMessage Announce(std::vector<Prefix> prefixes, std::vector<uint32_t> path, uint32_t med,
                       const char* next_hop = "127.0.0.1") {
  UpdateMessage u;
  u.attributes.origin = Origin::kIgp;
  u.attributes.as_path = std::vector<AsPathSegment>{{AsPathSegmentType::kAsSequence, path}};
  u.attributes.next_hop = A(next_hop);
  u.attributes.med = med;
  u.nlri = std::move(prefixes);
  return u;
}

struct RawSessionOptions {
  uint16_t hold = 9;
  uint32_t local_asn = 65001;
  bool raw_four_octet_as = true;  // false: the raw peer is a 2-octet AS speaker
};

// Our speaker S (AS 65001, 127.0.0.3, passive towards "raw") and a RawPeer (AS 65002 from
// 127.0.0.1) that completed the OPEN exchange.
class RawSession {
 public:
  explicit RawSession(asio::io_context& io, RawSessionOptions options = {}) : io_(io) {
    SpeakerConfig config = Config(options.local_asn, "10.0.0.3", "127.0.0.3");
    PeerConfig peer = Peer("raw", "127.0.0.3", "127.0.0.1", 65002, 179);
    peer.passive = true;
    peer.hold_seconds = options.hold;
    peer.keepalive_seconds = std::max(1, options.hold / 3);
    config.peers = {peer};
    speaker = std::make_unique<Speaker>(io, config, rec.Make());
    std::string error;
    EXPECT_TRUE(speaker->Start(&error)) << error;
    raw = std::make_unique<RawPeer>("127.0.0.1", "127.0.0.3", speaker->listening_port());
    raw->set_decode_context({options.raw_four_octet_as, false, 0});
    OpenMessage open = RawOpen(65002, options.hold, "10.0.0.9");
    open.four_octet_as = options.raw_four_octet_as;
    raw->Send(open);
    our_open = Expect<OpenMessage>(io, *raw);
    EXPECT_TRUE(our_open);
    EXPECT_TRUE(Expect<KeepaliveMessage>(io, *raw));
    raw->Send(KeepaliveMessage{});
    EXPECT_TRUE(RunUntil(io, [&] { return State() == SessionState::kEstablished; }));
  }
  SessionState State() { return StatusOf(*speaker, "raw").state; }

  Recorder rec;
  std::unique_ptr<Speaker> speaker;
  std::unique_ptr<RawPeer> raw;
  std::optional<OpenMessage> our_open;

 private:
  asio::io_context& io_;
};

// ---------------------------------------------------------------------------------------------

TEST(Speaker, TwoSpeakersExchangeRoutesWithMed) {
  asio::io_context io;
  SpeakerPair pair(io);
  pair.a().SetAdvertised(
      "b", {{P("10.1.0.0/24"), A("127.0.0.1"), 100}, {P("10.2.0.0/16"), A("127.0.0.1"), 200}});
  pair.b().SetAdvertised("a", {{P("192.168.1.0/24"), A("127.0.0.2"), 5}});
  ASSERT_TRUE(RunUntil(io, [&] {
    return pair.Established() && pair.b_rec.Count("a") == 2 && pair.a_rec.Count("b") == 1;
  }));
  const LearnedRoute* r = pair.b_rec.Find("a", "10.1.0.0/24");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->next_hop, A("127.0.0.1"));
  EXPECT_TRUE(r->has_med);
  EXPECT_EQ(r->med, 100u);
  EXPECT_EQ(r->as_path, std::vector<uint32_t>{65001});
  EXPECT_EQ(pair.b_rec.Find("a", "10.2.0.0/16")->med, 200u);
  EXPECT_EQ(pair.a_rec.Find("b", "192.168.1.0/24")->med, 5u);

  auto status = StatusOf(pair.a(), "b");
  EXPECT_EQ(status.prefixes_received, 1u);
  EXPECT_EQ(status.prefixes_advertised, 2u);
  EXPECT_EQ(status.hold_time_seconds, 9u);
  EXPECT_EQ(status.keepalive_seconds, 3u);

  // Only the difference goes out: one changed MED, one new prefix, one withdrawal.
  size_t announced_before = pair.b_rec.announced;
  pair.a().SetAdvertised(
      "b", {{P("10.1.0.0/24"), A("127.0.0.1"), 150}, {P("10.3.0.0/24"), A("127.0.0.1"), 100}});
  ASSERT_TRUE(RunUntil(io, [&] {
    return pair.b_rec.Find("a", "10.3.0.0/24") && !pair.b_rec.Find("a", "10.2.0.0/16");
  }));
  RunFor(io, 200ms);
  EXPECT_EQ(pair.b_rec.announced - announced_before, 2u);
  EXPECT_EQ(pair.b_rec.withdrawn, 1u);
  EXPECT_EQ(pair.b_rec.Find("a", "10.1.0.0/24")->med, 150u);

  // The same set again sends nothing.
  size_t updates_before = pair.b_rec.updates;
  pair.a().SetAdvertised(
      "b", {{P("10.3.0.0/24"), A("127.0.0.1"), 100}, {P("10.1.0.0/24"), A("127.0.0.1"), 150}});
  RunFor(io, 300ms);
  EXPECT_EQ(pair.b_rec.updates, updates_before);
}

TEST(Speaker, StopTakesTheSessionDownOnBothSides) {
  asio::io_context io;
  SpeakerPair pair(io);
  pair.b().SetAdvertised("a", {{P("192.168.1.0/24"), A("127.0.0.2"), 5}});
  ASSERT_TRUE(RunUntil(io, [&] { return pair.a_rec.Count("b") == 1; }));
  pair.b().Stop();
  EXPECT_EQ(pair.b_rec.session_downs, 1u);  // called from Stop itself
  ASSERT_TRUE(RunUntil(io, [&] { return pair.a_rec.session_downs == 1; }));
  EXPECT_EQ(pair.a_rec.Count("b"), 0u);
  auto status = StatusOf(pair.a(), "b");
  EXPECT_NE(status.state, SessionState::kEstablished);
  EXPECT_EQ(status.prefixes_received, 0u);
  EXPECT_EQ(status.last_error, "NOTIFICATION received: cease/administrative shutdown");
  // Started again, B re-advertises what it was told before the stop.
  ASSERT_TRUE(pair.b().Start());
  ASSERT_TRUE(RunUntil(
      io, [&] { return pair.a_rec.Count("b") == 1; }, 15s));
}

TEST(Speaker, DisabledPeerStaysIdleUntilEnabled) {
  asio::io_context io;
  SpeakerPair pair(io, [](PeerConfig&, PeerConfig& b_to_a) { b_to_a.enabled = false; });
  RunFor(io, 1500ms);  // A keeps trying; B refuses
  EXPECT_EQ(StatusOf(pair.b(), "a").state, SessionState::kIdle);
  EXPECT_FALSE(StatusOf(pair.b(), "a").enabled);
  EXPECT_NE(StatusOf(pair.a(), "b").state, SessionState::kEstablished);
  pair.b_config().peers[0].enabled = true;
  ASSERT_TRUE(pair.b().Reconfigure(pair.b_config()));
  ASSERT_TRUE(RunUntil(io, [&] { return pair.Established(); }));
  // And disabled again: Cease/administrative shutdown, session down on both sides.
  pair.b_config().peers[0].enabled = false;
  ASSERT_TRUE(pair.b().Reconfigure(pair.b_config()));
  ASSERT_TRUE(RunUntil(io, [&] { return pair.a_rec.session_downs == 1; }));
  EXPECT_EQ(StatusOf(pair.b(), "a").state, SessionState::kIdle);
  EXPECT_EQ(pair.b_rec.session_downs, 1u);
}

TEST(Speaker, PrefixLimitTearsTheSessionDown) {
  asio::io_context io;
  SpeakerPair pair(io, [](PeerConfig&, PeerConfig& b_to_a) { b_to_a.max_learned_prefixes = 10; });
  std::vector<AdvertisedRoute> routes;
  for (uint32_t i = 0; i < 5; ++i)
    routes.push_back({Prefix{(10u << 24) | (i << 8), 24}, A("127.0.0.1"), 1});
  pair.a().SetAdvertised("b", routes);
  ASSERT_TRUE(RunUntil(io, [&] { return pair.b_rec.Count("a") == 5; }));
  for (uint32_t i = 5; i < 20; ++i)
    routes.push_back({Prefix{(10u << 24) | (i << 8), 24}, A("127.0.0.1"), 1});
  pair.a().SetAdvertised("b", routes);
  ASSERT_TRUE(RunUntil(io, [&] { return pair.b_rec.session_downs == 1; }));
  EXPECT_EQ(pair.b_rec.Count("a"), 0u);
  EXPECT_EQ(StatusOf(pair.b(), "a").last_error, "prefix limit 10 exceeded");
  ASSERT_TRUE(RunUntil(io, [&] { return pair.a_rec.session_downs == 1; }));
  EXPECT_EQ(StatusOf(pair.a(), "b").last_error,
            "NOTIFICATION received: cease/maximum number of prefixes reached");
  // B holds off (kIdleHoldAfterPrefixLimit) instead of taking the same routes again at once.
  RunFor(io, 2s);
  EXPECT_FALSE(pair.Established());
}

TEST(Speaker, Md5AuthenticatedSession) {
  asio::io_context io;
  SpeakerPair pair(io, [](PeerConfig& a_to_b, PeerConfig& b_to_a) {
    a_to_b.md5_password = "cloud-router-secret";
    b_to_a.md5_password = "cloud-router-secret";
  });
  ASSERT_TRUE(RunUntil(io, [&] { return pair.Established(); }))
      << StatusOf(pair.a(), "b").last_error;
}

TEST(Speaker, Md5MismatchKeepsTheSessionDown) {
  for (const char* b_password : {"another-secret", ""}) {
    SCOPED_TRACE(b_password);
    asio::io_context io;
    SpeakerPair pair(io, [&](PeerConfig& a_to_b, PeerConfig& b_to_a) {
      a_to_b.md5_password = "cloud-router-secret";
      b_to_a.md5_password = b_password;
    });
    // The kernel drops unsigned or wrongly signed segments: not even TCP comes up.
    RunFor(io, 3s);
    EXPECT_NE(StatusOf(pair.a(), "b").state, SessionState::kEstablished);
    EXPECT_NE(StatusOf(pair.b(), "a").state, SessionState::kEstablished);
    // Neither side ever got an OPEN exchange going.
    for (auto s : pair.a_rec.states) EXPECT_LT(s, SessionState::kOpenSent);
    for (auto s : pair.b_rec.states) EXPECT_LT(s, SessionState::kOpenSent);
  }
}

TEST(Speaker, HoldTimerExpiryTakesTheSessionDown) {
  asio::io_context io;
  RawSession session(io, {.hold = 3});
  EXPECT_EQ(session.our_open->hold_time, 3);
  session.raw->Send(Announce({P("10.8.0.0/16")}, {65002}, 7));
  ASSERT_TRUE(RunUntil(io, [&] { return session.rec.Count("raw") == 1; }));
  // From now on the raw peer stays silent (it does not even answer keepalives).
  auto silent_since = std::chrono::steady_clock::now();
  ASSERT_TRUE(RunUntil(
      io, [&] { return session.rec.session_downs == 1; }, 6s));
  auto waited = std::chrono::steady_clock::now() - silent_since;
  EXPECT_GE(waited, 2500ms);
  EXPECT_LE(waited, 4500ms);
  EXPECT_EQ(session.rec.Count("raw"), 0u);
  auto status = StatusOf(*session.speaker, "raw");
  EXPECT_EQ(status.last_error, "hold timer expired");
  EXPECT_EQ(status.prefixes_received, 0u);
  auto notification = Expect<NotificationMessage>(io, *session.raw);
  ASSERT_TRUE(notification);
  EXPECT_EQ(notification->code, static_cast<uint8_t>(ErrorCode::kHoldTimerExpired));
}

TEST(Speaker, RouteWithOwnAsInThePathIsRejected) {
  asio::io_context io;
  RawSession session(io);
  session.raw->Send(Announce({P("10.8.0.0/16"), P("10.9.0.0/16")}, {65002}, 7));
  ASSERT_TRUE(RunUntil(io, [&] { return session.rec.Count("raw") == 2; }));
  // The same prefix again through our own AS: a loop; the earlier route is gone too.
  session.raw->Send(Announce({P("10.8.0.0/16"), P("10.10.0.0/16")}, {65002, 65001, 65010}, 7));
  ASSERT_TRUE(RunUntil(io, [&] { return session.rec.Count("raw") == 1; }));
  RunFor(io, 100ms);
  EXPECT_TRUE(session.rec.Find("raw", "10.9.0.0/16"));
  EXPECT_FALSE(session.rec.Find("raw", "10.10.0.0/16"));
  EXPECT_EQ(StatusOf(*session.speaker, "raw").prefixes_received, 1u);
  EXPECT_EQ(session.State(), SessionState::kEstablished);
}

TEST(Speaker, MalformedAttributeWithdrawsButKeepsTheSession) {
  asio::io_context io;
  RawSession session(io);
  session.raw->Send(Announce({P("10.8.0.0/16"), P("10.9.0.0/16")}, {65002}, 7));
  ASSERT_TRUE(RunUntil(io, [&] { return session.rec.Count("raw") == 2; }));
  // The same announcement with a 3-octet MED: treat-as-withdraw (RFC 7606 §7.4).
  auto bytes = EncodeMessage(Announce({P("10.8.0.0/16")}, {65002}, 7));
  Bytes med = {0x80, 4, 4, 0, 0, 0, 7};
  auto at = std::search(bytes.begin(), bytes.end(), med.begin(), med.end());
  ASSERT_NE(at, bytes.end());
  at[2] = 3;
  bytes.erase(at + 3);
  bytes[17] -= 1;               // message length
  bytes[kHeaderSize + 3] -= 1;  // total path attribute length
  session.raw->SendRaw(bytes);
  ASSERT_TRUE(RunUntil(io, [&] { return session.rec.Count("raw") == 1; }));
  EXPECT_FALSE(session.rec.Find("raw", "10.8.0.0/16"));
  EXPECT_EQ(session.State(), SessionState::kEstablished);
  EXPECT_EQ(session.rec.session_downs, 0u);
}

TEST(Speaker, UnparsableNlriResetsTheSession) {
  asio::io_context io;
  RawSession session(io);
  session.raw->Send(Announce({P("10.8.0.0/16")}, {65002}, 7));
  ASSERT_TRUE(RunUntil(io, [&] { return session.rec.Count("raw") == 1; }));
  auto bytes = EncodeMessage(Announce({P("10.9.0.0/16")}, {65002}, 7));
  bytes[bytes.size() - 3] = 40;  // prefix length 40
  session.raw->SendRaw(bytes);
  auto notification = Expect<NotificationMessage>(io, *session.raw);
  ASSERT_TRUE(notification);
  EXPECT_EQ(notification->code, static_cast<uint8_t>(ErrorCode::kUpdateMessage));
  EXPECT_EQ(notification->subcode, update_error::kInvalidNetworkField);
  ASSERT_TRUE(RunUntil(io, [&] { return session.rec.session_downs == 1; }));
  EXPECT_NE(StatusOf(*session.speaker, "raw").last_error.find("malformed UPDATE received"),
            std::string::npos);
}

TEST(Speaker, RouteRefreshResendsTheAdjRibOut) {
  asio::io_context io;
  RawSession session(io);
  std::vector<Message> seen;
  session.speaker->SetAdvertised("raw", {{P("10.20.0.0/16"), A("127.0.0.3"), 42}});
  auto first = Expect<UpdateMessage>(io, *session.raw, &seen);
  ASSERT_TRUE(first);
  EXPECT_EQ(first->nlri, std::vector<Prefix>{P("10.20.0.0/16")});
  EXPECT_EQ(first->attributes.med, 42u);
  EXPECT_EQ(first->attributes.origin, kAdvertisedOrigin);
  EXPECT_EQ(first->attributes.next_hop, A("127.0.0.3"));
  EXPECT_EQ(FlattenAsPath(*first->attributes.as_path), std::vector<uint32_t>{65001});
  session.raw->Send(RouteRefreshMessage{});
  auto again = Expect<UpdateMessage>(io, *session.raw, &seen);
  ASSERT_TRUE(again);
  EXPECT_EQ(*again, *first);
}

TEST(Speaker, MultiprotocolAnnouncementsAreLearned) {
  asio::io_context io;
  RawSession session(io);
  UpdateMessage u;
  u.attributes.origin = Origin::kIgp;
  u.attributes.as_path = std::vector<AsPathSegment>{{AsPathSegmentType::kAsSequence, {65002}}};
  u.mp_next_hop = A("127.0.0.1");
  u.mp_reach_nlri = {P("10.30.0.0/16")};
  session.raw->Send(u);
  ASSERT_TRUE(RunUntil(io, [&] { return session.rec.Count("raw") == 1; }));
  EXPECT_FALSE(session.rec.Find("raw", "10.30.0.0/16")->has_med);
  UpdateMessage w;
  w.mp_unreach_nlri = {P("10.30.0.0/16")};
  session.raw->Send(w);
  ASSERT_TRUE(RunUntil(io, [&] { return session.rec.Count("raw") == 0; }));
}

TEST(Speaker, UnknownAddressIsRefused) {
  asio::io_context io;
  RawSession session(io);  // the configured peer is 127.0.0.1
  RawPeer stranger("127.0.0.9", "127.0.0.3", session.speaker->listening_port());
  ASSERT_TRUE(RunUntil(io, [&] {
    stranger.Poll();
    return stranger.closed();
  }));
}

TEST(Speaker, InvalidConfigurationIsRejected) {
  asio::io_context io;
  SpeakerConfig config = Config(65001, "10.0.0.1", "127.0.0.1");
  PeerConfig p = Peer("x", "127.0.0.1", "127.0.0.2", 65002, 179);
  p.hold_seconds = 2;
  config.peers = {p, p};
  Speaker speaker(io, config, {});
  std::string error;
  EXPECT_FALSE(speaker.Start(&error));
  EXPECT_NE(error.find("hold_seconds 2"), std::string::npos) << error;
  EXPECT_NE(error.find("name used twice"), std::string::npos) << error;
  EXPECT_EQ(speaker.listening_port(), 0);
}

TEST(Speaker, ReconfigureRemovesAndRestartsPeers) {
  asio::io_context io;
  SpeakerPair pair(io);
  pair.a().SetAdvertised("b", {{P("10.1.0.0/24"), A("127.0.0.1"), 100}});
  ASSERT_TRUE(RunUntil(io, [&] { return pair.b_rec.Count("a") == 1; }));
  // A new hold time restarts the session (Cease/Other Configuration Change) and keeps what A
  // advertises.
  pair.a_config().peers[0].hold_seconds = 6;
  pair.a_config().peers[0].keepalive_seconds = 2;
  ASSERT_TRUE(pair.a().Reconfigure(pair.a_config()));
  EXPECT_EQ(pair.a_rec.session_downs, 1u);
  ASSERT_TRUE(RunUntil(io, [&] {
    return pair.Established() && StatusOf(pair.b(), "a").hold_time_seconds == 6 &&
           pair.b_rec.Count("a") == 1;
  }));
  EXPECT_EQ(StatusOf(pair.b(), "a").last_error,
            "NOTIFICATION received: cease/other configuration change");
  // Removing the peer: Cease/Peer De-configured.
  SpeakerConfig without_peers = pair.a_config();
  without_peers.peers.clear();
  ASSERT_TRUE(pair.a().Reconfigure(without_peers));
  EXPECT_TRUE(pair.a().Status().empty());
  EXPECT_FALSE(pair.a().SetAdvertised("b", {}));
  ASSERT_TRUE(RunUntil(io, [&] { return pair.b_rec.session_downs == 2; }));
  EXPECT_EQ(StatusOf(pair.b(), "a").last_error, "NOTIFICATION received: cease/peer de-configured");
}

TEST(Speaker, FourOctetLocalAsnUsesAsTransInOpen) {
  asio::io_context io;
  RawSession session(io, {.local_asn = 4200000001u});
  EXPECT_EQ(session.our_open->asn, 4200000001u);
  EXPECT_EQ(session.our_open->my_as_field, kAsTrans);
  session.speaker->SetAdvertised("raw", {{P("10.20.0.0/16"), A("127.0.0.3"), 1}});
  auto update = Expect<UpdateMessage>(io, *session.raw);
  ASSERT_TRUE(update);
  EXPECT_EQ(FlattenAsPath(*update->attributes.as_path), std::vector<uint32_t>{4200000001u});
}

TEST(Speaker, TwoOctetPeerGetsAsTransAndAs4Path) {
  asio::io_context io;
  RawSession session(io, {.local_asn = 4200000001u, .raw_four_octet_as = false});
  session.speaker->SetAdvertised("raw", {{P("10.20.0.0/16"), A("127.0.0.3"), 1}});
  auto update = Expect<UpdateMessage>(io, *session.raw);
  ASSERT_TRUE(update);
  // Read as a 2-octet speaker (with RFC 6793's merge): the real path comes from AS4_PATH.
  EXPECT_EQ(FlattenAsPath(*update->attributes.as_path), std::vector<uint32_t>{4200000001u});
  // And what a 2-octet speaker sends us is read with 2-octet ASNs.
  session.raw->Send(Announce({P("10.8.0.0/16")}, {65002, 3356}, 7), EncodeContext{false});
  ASSERT_TRUE(RunUntil(io, [&] { return session.rec.Count("raw") == 1; }));
  EXPECT_EQ(session.rec.Find("raw", "10.8.0.0/16")->as_path, (std::vector<uint32_t>{65002, 3356}));
}

// The receive path at scale: 100,000 prefixes from one speaker to the other. The figure is in
// bgp/README.md ("Costs").
TEST(Speaker, HundredThousandPrefixes) {
  spdlog::level::level_enum level = spdlog::get_level();
  asio::io_context io;
  SpeakerPair pair(io);
  ASSERT_TRUE(RunUntil(io, [&] { return pair.Established(); }));
  std::vector<AdvertisedRoute> routes;
  constexpr uint32_t kCount = 100000;
  for (uint32_t i = 0; i < kCount; ++i) {
    routes.push_back({Prefix{(10u << 24) | (i << 8), 24}, A("127.0.0.1"), i % 7});
  }
  auto start = std::chrono::steady_clock::now();
  pair.a().SetAdvertised("b", routes);
  ASSERT_TRUE(RunUntil(
      io, [&] { return pair.b_rec.Count("a") == kCount; }, 30s));
  auto elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf("100000 prefixes advertised and learned in %.3f s (%zu on_update calls)\n", elapsed,
              pair.b_rec.updates);
  EXPECT_LT(elapsed, 2.0);
  EXPECT_EQ(pair.b_rec.Find("a", "10.1.134.0/24")->med, (0x186u) % 7);
  spdlog::set_level(level);
}

}  // namespace
}  // namespace svpc::bgp
