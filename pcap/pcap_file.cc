#include "pcap/pcap_file.h"

#include <pcap/pcap.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <utility>

namespace svpc::pcap {
namespace {

constexpr uint64_t kNsPerSec = 1'000'000'000;

std::string LinkTypeName(int dlt) {
  const char* name = pcap_datalink_val_to_name(dlt);
  return (name != nullptr ? std::string(name) : std::string("unknown")) + " (" +
         std::to_string(dlt) + ")";
}

}  // namespace

PcapReader::PcapReader(pcap_t* handle, std::string path)
    : handle_(handle), path_(std::move(path)) {}

PcapReader::~PcapReader() { pcap_close(handle_); }

std::unique_ptr<PcapReader> PcapReader::Open(const std::string& path, std::string* error) {
  char errbuf[PCAP_ERRBUF_SIZE] = {};
  pcap_t* handle =
      pcap_open_offline_with_tstamp_precision(path.c_str(), PCAP_TSTAMP_PRECISION_NANO, errbuf);
  if (handle == nullptr) {
    if (error != nullptr) *error = "cannot read capture '" + path + "': " + errbuf;
    return nullptr;
  }
  int dlt = pcap_datalink(handle);
  if (dlt != DLT_EN10MB) {
    pcap_close(handle);
    if (error != nullptr) {
      *error = "capture '" + path + "' has link type " + LinkTypeName(dlt) +
               "; only EN10MB (Ethernet) is supported";
    }
    return nullptr;
  }
  return std::unique_ptr<PcapReader>(new PcapReader(handle, path));
}

bool PcapReader::Next(Packet& out) {
  if (done_) return false;
  pcap_pkthdr* header = nullptr;
  const u_char* data = nullptr;
  int rc = pcap_next_ex(handle_, &header, &data);
  if (rc == 1) {
    // At nanosecond precision libpcap puts nanoseconds in tv_usec.
    out.ts_ns = static_cast<uint64_t>(header->ts.tv_sec) * kNsPerSec +
                static_cast<uint64_t>(header->ts.tv_usec);
    out.orig_len = header->len;
    out.bytes.assign(data, data + header->caplen);
    return true;
  }
  done_ = true;
  if (rc == PCAP_ERROR_BREAK) return false;  // End of file.
  error_ = "capture '" + path_ + "' is damaged: " + pcap_geterr(handle_);
  return false;
}

std::vector<Packet> ReadAll(const std::string& path, std::string* error) {
  std::vector<Packet> packets;
  std::string local_error;
  std::string& err = error != nullptr ? *error : local_error;
  err.clear();
  auto reader = PcapReader::Open(path, &err);
  if (reader == nullptr) return packets;
  Packet packet;
  while (reader->Next(packet)) packets.push_back(std::move(packet));
  err = reader->error();
  return packets;
}

PcapWriter::PcapWriter(pcap_t* handle, pcap_dumper_t* dumper, std::string path)
    : handle_(handle), dumper_(dumper), path_(std::move(path)) {}

PcapWriter::~PcapWriter() { Close(); }

std::unique_ptr<PcapWriter> PcapWriter::Open(const std::string& path, std::string* error) {
  pcap_t* handle =
      pcap_open_dead_with_tstamp_precision(DLT_EN10MB, kSnapLen, PCAP_TSTAMP_PRECISION_NANO);
  if (handle == nullptr) {
    if (error != nullptr) *error = "cannot create capture '" + path + "': out of memory";
    return nullptr;
  }
  pcap_dumper_t* dumper = pcap_dump_open(handle, path.c_str());
  if (dumper == nullptr) {
    if (error != nullptr) *error = "cannot create capture '" + path + "': " + pcap_geterr(handle);
    pcap_close(handle);
    return nullptr;
  }
  return std::unique_ptr<PcapWriter>(new PcapWriter(handle, dumper, path));
}

void PcapWriter::Write(uint64_t ts_ns, const uint8_t* data, uint32_t len) {
  if (dumper_ == nullptr) return;
  pcap_pkthdr header{};
  header.ts.tv_sec = static_cast<time_t>(ts_ns / kNsPerSec);
  header.ts.tv_usec = static_cast<suseconds_t>(ts_ns % kNsPerSec);  // Nanoseconds, see Open().
  header.caplen = len < kSnapLen ? len : kSnapLen;
  header.len = len;
  pcap_dump(reinterpret_cast<u_char*>(dumper_), &header, data);
}

bool PcapWriter::Close() {
  if (dumper_ == nullptr) return error_.empty();
  // pcap_dump() reports nothing; a failed write shows up in the stream's error flag or the flush.
  errno = 0;
  if (pcap_dump_flush(dumper_) != 0 || std::ferror(pcap_dump_file(dumper_)) != 0) {
    error_ = "cannot write capture '" + path_ + "'";
    if (errno != 0) error_ += std::string(": ") + std::strerror(errno);
  }
  pcap_dump_close(dumper_);
  pcap_close(handle_);
  dumper_ = nullptr;
  handle_ = nullptr;
  return error_.empty();
}

}  // namespace svpc::pcap
