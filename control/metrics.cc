#include "control/metrics.h"

#include <sstream>

#include "bgp/fsm.h"

namespace svpc::control {

// The configuration model's types (config/) read unqualified here.
using namespace svpc::config;
namespace {

// Label values escape backslash, double quote and newline (the exposition format's rule).
std::string Escape(const std::string& value) {
  std::string out;
  for (char c : value) {
    if (c == '\\' || c == '"') {
      out += '\\';
      out += c;
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

class Writer {
 public:
  void Family(const char* name, const char* type, const char* help) {
    out_ << "# HELP " << name << ' ' << help << "\n# TYPE " << name << ' ' << type << '\n';
  }
  void Sample(const char* name, std::initializer_list<std::pair<const char*, std::string>> labels,
              uint64_t value) {
    out_ << name;
    if (labels.size() > 0) {
      out_ << '{';
      bool first = true;
      for (const auto& [key, label] : labels) {
        out_ << (first ? "" : ",") << key << "=\"" << Escape(label) << '"';
        first = false;
      }
      out_ << '}';
    }
    out_ << ' ' << value << '\n';
  }
  std::string str() const { return out_.str(); }

 private:
  std::ostringstream out_;
};

// The engine's counters by family, as dataplane::VisitCounters walks them.
struct CounterSamples {
  using Samples = std::vector<std::pair<std::string, uint64_t>>;
  Samples rx, tx, verdicts, drops, routed;
  void Port(const std::string& name, uint64_t r, uint64_t t) {
    rx.emplace_back(name, r);
    tx.emplace_back(name, t);
  }
  void Verdict(const char* name, uint64_t n) { verdicts.emplace_back(name, n); }
  void Drop(const char* cause, uint64_t n) { drops.emplace_back(cause, n); }
  void Routed(const char* kind, uint64_t n) { routed.emplace_back(kind, n); }
};

}  // namespace

std::string PrometheusText(const MetricsInput& in) {
  const dataplane::Counters& c = *in.counters;
  const dataplane::Snapshot& snap = *in.snap;
  Writer w;
  CounterSamples samples;
  dataplane::VisitCounters(c, snap.port_names, samples);
  auto family = [&](const char* name, const char* help, const char* label,
                    const CounterSamples::Samples& values) {
    w.Family(name, "counter", help);
    for (const auto& [value, n] : values) w.Sample(name, {{label, value}}, n);
  };
  family("svpc_port_received_packets_total", "Packets received on a testbed port.", "port",
         samples.rx);
  family("svpc_port_transmitted_packets_total", "Packets transmitted on a testbed port.", "port",
         samples.tx);
  family("svpc_packets_total", "Packets by verdict (DELIVER, FORWARD, LOCAL, DROP).", "verdict",
         samples.verdicts);
  family("svpc_dropped_packets_total", "Dropped packets by cause.", "cause", samples.drops);
  family("svpc_routed_packets_total",
         "Delivered or forwarded packets by the kind of route that carried them.", "kind",
         samples.routed);
  w.Family("svpc_firewall_rule_hits_total", "counter",
           "Decisions (new connections, denied packets) made by a VPC firewall rule.");
  for (const dataplane::NetworkInfo& net : snap.networks) {
    for (uint32_t r = 0; r < net.firewall.size(); ++r) {
      w.Sample("svpc_firewall_rule_hits_total",
               {{"network", net.name}, {"rule", net.firewall.rule(r).name}},
               snap.RuleHits(net.rule_hit_base + r));
    }
  }
  w.Family("svpc_firewall_policy_rule_hits_total", "counter",
           "Decisions made by a firewall policy rule.");
  for (uint32_t p = 0; p < snap.policies.size(); ++p) {
    const firewall::Policy& policy = snap.policies.policy(p);
    for (uint32_t r = 0; r < policy.rules.size(); ++r) {
      w.Sample(
          "svpc_firewall_policy_rule_hits_total",
          {{"policy", snap.policy_refs[p]}, {"priority", std::to_string(policy.rules[r].priority)}},
          snap.RuleHits(snap.policy_rule_hit_base[p] + r));
    }
  }
  w.Family("svpc_conntrack_entries", "gauge", "Tracked connections, every worker.");
  w.Sample("svpc_conntrack_entries", {}, in.conntrack_entries);
  w.Family("svpc_conntrack_capacity_entries", "gauge", "Connection table capacity.");
  w.Sample("svpc_conntrack_capacity_entries", {}, in.conntrack_capacity);
  w.Family("svpc_workers", "gauge", "Worker cores.");
  w.Sample("svpc_workers", {}, in.workers);
  w.Family("svpc_bgp_session_up", "gauge", "1 when the Cloud Router's BGP session is Established.");
  for (const PeerReport& r : in.bgp) {
    w.Sample("svpc_bgp_session_up", {{"router", r.router}, {"peer", r.status.name}},
             r.status.state == bgp::SessionState::kEstablished ? 1 : 0);
  }
  w.Family("svpc_bgp_learned_prefixes", "gauge", "Prefixes learned from a BGP peer.");
  for (const PeerReport& r : in.bgp) {
    w.Sample("svpc_bgp_learned_prefixes", {{"router", r.router}, {"peer", r.status.name}},
             r.status.prefixes_received);
  }
  static constexpr const char* kKinds[dataplane::kEgressKindCount] = {
      "to_instances", "to_internet", "via_vpn_gateway", "via_interconnect"};
  w.Family("svpc_billing_egress_packets_total", "counter",
           "Egress packets attributed to a project (Shared VPC billing).");
  for (uint32_t p = 0; p < snap.billing_projects.size(); ++p) {
    for (uint32_t k = 0; k < dataplane::kEgressKindCount; ++k) {
      w.Sample("svpc_billing_egress_packets_total",
               {{"project", snap.billing_projects[p]}, {"kind", kKinds[k]}},
               snap.BillingTotal(p, static_cast<dataplane::EgressKind>(k)).packets);
    }
  }
  w.Family("svpc_billing_egress_bytes_total", "counter",
           "Egress bytes (IPv4 total length) attributed to a project (Shared VPC billing).");
  for (uint32_t p = 0; p < snap.billing_projects.size(); ++p) {
    for (uint32_t k = 0; k < dataplane::kEgressKindCount; ++k) {
      w.Sample("svpc_billing_egress_bytes_total",
               {{"project", snap.billing_projects[p]}, {"kind", kKinds[k]}},
               snap.BillingTotal(p, static_cast<dataplane::EgressKind>(k)).bytes);
    }
  }
  w.Family("svpc_configuration_generation", "gauge", "The published configuration generation.");
  w.Sample("svpc_configuration_generation", {}, snap.generation);
  return w.str();
}

}  // namespace svpc::control
