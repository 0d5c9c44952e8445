// SPDX-License-Identifier: Apache-2.0
// From-scratch checksum verification and hexdump diff for BPF fixtures.
#include "checksum.h"

#include <cstdio>
#include <sstream>

namespace lb::test {

uint32_t csumPartial(const uint8_t* data, size_t len, uint32_t sum) {
  for (size_t i = 0; i + 1 < len; i += 2) sum += uint32_t(data[i] << 8 | data[i + 1]);
  if (len & 1) sum += uint32_t(data[len - 1] << 8);
  return sum;
}

uint16_t csumFold(uint32_t sum) {
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return uint16_t(sum);
}

namespace {

// Sum over the packet with a pseudo-header; a correct checksum makes it 0xffff.
bool l4Ok(const uint8_t* l4, size_t len, const uint8_t* addrs, size_t addrLen, uint8_t proto) {
  uint32_t sum = csumPartial(addrs, addrLen);
  sum += proto;
  sum += uint32_t(len);
  return csumFold(csumPartial(l4, len, sum)) == 0xffff;
}

void checkL4(const uint8_t* l4, size_t len, const uint8_t* addrs, size_t addrLen, uint8_t proto,
             const std::string& where, std::ostringstream& err) {
  const char* name = proto == 6 ? "TCP" : proto == 17 ? "UDP" : proto == 58 ? "ICMPv6" : "L4";
  if (proto == 1) {
    if (csumFold(csumPartial(l4, len)) != 0xffff) err << where << "ICMP checksum wrong\n";
    return;
  }
  if (proto != 6 && proto != 17 && proto != 58) return;
  if (!l4Ok(l4, len, addrs, addrLen, proto)) err << where << name << " checksum wrong\n";
}

// Checks an IPv4/IPv6 packet at p (len bytes available). quoted: inside an ICMP error, where
// the L4 segment is checked only if fully present.
void checkIp(const uint8_t* p, size_t len, bool quoted, std::ostringstream& err) {
  std::string where = quoted ? "quoted " : "";
  if (len < 1) return;
  int ver = p[0] >> 4;
  if (ver == 4) {
    if (len < 20) return;
    size_t hl = (p[0] & 0xf) * 4, tot = size_t(p[2] << 8 | p[3]);
    if (hl < 20 || hl > len) return;
    if (csumFold(csumPartial(p, hl)) != 0xffff) err << where << "IPv4 header checksum wrong\n";
    bool frag = (p[6] & 0x3f) || p[7];
    if (frag || tot > len || tot < hl) return;
    checkL4(p + hl, tot - hl, p + 12, 8, p[9], where, err);
    if (p[9] == 1 && !quoted && tot - hl >= 8 && (p[hl] == 3 || p[hl] == 11))
      checkIp(p + hl + 8, tot - hl - 8, true, err);
  } else if (ver == 6) {
    if (len < 40) return;
    size_t pl = size_t(p[4] << 8 | p[5]);
    if (40 + pl > len) return;
    checkL4(p + 40, pl, p + 8, 32, p[6], where, err);
    if (p[6] == 58 && !quoted && pl >= 8 && p[40] >= 1 && p[40] <= 3)
      checkIp(p + 48, pl - 8, true, err);
  }
}

}  // namespace

std::string verifyChecksums(const Bytes& f) {
  std::ostringstream err;
  if (f.size() < 14) return "";
  uint16_t type = be16At(f, 12);
  if (type == 0x0800 || type == 0x86dd) checkIp(f.data() + 14, f.size() - 14, false, err);
  return err.str();
}

std::string hexDiff(const Bytes& got, const Bytes& want) {
  std::ostringstream o;
  o << "got " << got.size() << " bytes, want " << want.size() << " bytes\n";
  size_t n = std::max(got.size(), want.size());
  auto row = [](const Bytes& b, size_t at) {
    std::string s;
    char buf[4];
    for (size_t i = at; i < at + 16; i++) {
      if (i < b.size()) {
        snprintf(buf, sizeof(buf), "%02x ", b[i]);
        s += buf;
      } else {
        s += "   ";
      }
    }
    return s;
  };
  for (size_t at = 0; at < n; at += 16) {
    bool same = true;
    for (size_t i = at; i < at + 16 && i < n; i++)
      if (i >= got.size() || i >= want.size() || got[i] != want[i]) same = false;
    char head[32];
    snprintf(head, sizeof(head), "%c%04zx  ", same ? ' ' : '!', at);
    o << head << row(got, at) << " | " << row(want, at) << "\n";
  }
  return o.str();
}

}  // namespace lb::test
