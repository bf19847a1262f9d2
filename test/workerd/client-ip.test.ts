/**
 * The client address as a per-address key (worker/client-ip.ts): IPv4 addresses alone, IPv6 addresses by
 * their /64 in RFC 5952 form, every spelling of one address the same key, IPv4-mapped IPv6 as its IPv4.
 */
import { describe, expect, it } from "vitest";
import { clientIpKey, formatIpv6, parseIp, UNKNOWN_CLIENT } from "../../worker/client-ip.ts";

describe("clientIpKey", () => {
  it("keeps an IPv4 address whole", () => {
    expect(clientIpKey("203.0.113.7")).toBe("203.0.113.7");
    expect(clientIpKey(" 198.51.100.250 ")).toBe("198.51.100.250");
    expect(clientIpKey("0.0.0.0")).toBe("0.0.0.0");
  });

  it("buckets IPv6 by /64, whatever the spelling: compressed, full, leading zeros, upper case, zone, brackets", () => {
    const key = "2001:db8:85a3:8d3::/64";
    for (const spelling of [
      "2001:db8:85a3:8d3:1319:8a2e:370:7348",
      "2001:0DB8:85A3:08D3:1319:8A2E:0370:7348",
      "2001:db8:85a3:8d3::1",
      "2001:db8:85a3:8d3:ffff:ffff:ffff:ffff",
      "[2001:db8:85a3:8d3::abcd]",
      "2001:db8:85a3:8d3::2%eth0",
      "2001:db8:85a3:8d3:0:0:192.0.2.1",
    ]) {
      expect(clientIpKey(spelling), spelling).toBe(key);
    }
    expect(clientIpKey("2001:db8:85a3:8d4::1")).toBe("2001:db8:85a3:8d4::/64");
  });

  it("writes the /64 in RFC 5952 form: the longest zero run compressed, a single zero group not", () => {
    expect(clientIpKey("2001:db8::1")).toBe("2001:db8::/64");
    expect(clientIpKey("2001:0:0:1::1")).toBe("2001:0:0:1::/64");
    expect(clientIpKey("2001:db8:0:1:2:3:4:5")).toBe("2001:db8:0:1::/64");
    expect(clientIpKey("::1")).toBe("::/64");
    expect(clientIpKey("::")).toBe("::/64");
    expect(formatIpv6([0x2001, 0xdb8, 0, 0, 1, 0, 0, 1])).toBe("2001:db8::1:0:0:1");
    expect(formatIpv6([0x2001, 0xdb8, 0, 1, 1, 1, 1, 1])).toBe("2001:db8:0:1:1:1:1:1");
    expect(formatIpv6([1, 0, 0, 2, 0, 0, 0, 3])).toBe("1:0:0:2::3");
  });

  it("counts an IPv4-mapped IPv6 address as the IPv4 address it carries", () => {
    expect(clientIpKey("::ffff:203.0.113.7")).toBe("203.0.113.7");
    expect(clientIpKey("::FFFF:cb00:7107")).toBe("203.0.113.7");
    expect(clientIpKey("0:0:0:0:0:ffff:203.0.113.7")).toBe("203.0.113.7");
    // Not mapped: another /96 prefix stays IPv6.
    expect(clientIpKey("64:ff9b::203.0.113.7")).toBe("64:ff9b::/64");
  });

  it("gives one shared key to a missing or malformed address", () => {
    for (const bad of [
      undefined,
      null,
      "",
      "unknown",
      "203.0.113",
      "203.0.113.256",
      "203.0.113.07",
      "1.2.3.4.5",
      "2001:db8::1::2",
      "2001:db8:1:2:3:4:5:6:7",
      "2001:db8:1:2:3:4:5",
      ":2001:db8::1",
      "2001:db8:::1",
      "12345::1",
      "2001:db8::g",
      "::ffff:1.2.3",
      "1.2.3.4::",
    ]) {
      expect(clientIpKey(bad), String(bad)).toBe(UNKNOWN_CLIENT);
    }
  });
});

describe("parseIp", () => {
  it("expands :: to the missing zero groups, anywhere", () => {
    expect(parseIp("1::")).toEqual({ version: 6, groups: [1, 0, 0, 0, 0, 0, 0, 0] });
    expect(parseIp("1::8")).toEqual({ version: 6, groups: [1, 0, 0, 0, 0, 0, 0, 8] });
    expect(parseIp("1:2:3:4:5:6:7::")).toEqual({ version: 6, groups: [1, 2, 3, 4, 5, 6, 7, 0] });
    expect(parseIp("::2:3:4:5:6:7:8")).toEqual({ version: 6, groups: [0, 2, 3, 4, 5, 6, 7, 8] });
    expect(parseIp("::1.2.3.4")).toEqual({ version: 6, groups: [0, 0, 0, 0, 0, 0, 0x102, 0x304] });
    expect(parseIp("10.0.0.1")).toEqual({ version: 4, octets: [10, 0, 0, 1] });
  });
});
