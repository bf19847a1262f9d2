/**
 * The client address as a key for per-address limits (the rate limits of worker/rate-limit.ts and the
 * concurrent-session cap of worker/session-start.ts): an IPv4 address counts alone, an IPv6 address counts
 * with its whole /64, because one IPv6 subscriber routinely holds a /64 (often a /56 or /48) and can pick any
 * address in it (RFC 4941 temporary addresses; RFC 6177 end-site assignments). An IPv4-mapped IPv6 address
 * (`::ffff:a.b.c.d`, RFC 4291 §2.5.5.2) counts as the IPv4 address it carries, so one client cannot hold a slot
 * in each form. The text is normalised first (RFC 4291 §2.2 input forms: `::` compression, leading zeros,
 * case, an embedded dotted quad; a zone id `%…` or `[…]` brackets are dropped), and the key is written in
 * RFC 5952 canonical form, so that every spelling of one address gives the same key.
 *
 * Cloudflare sets `CF-Connecting-IP` to the address that connected to it; with "Pseudo IPv4" in its
 * "Overwrite Headers" mode it puts a Class E IPv4 derived from the IPv6 address there instead, which defeats
 * the /64 bucketing (docs/edge.md, "Configuration").
 * See docs/architecture.md, "Security model".
 */

/** The prefix length an IPv6 client is counted by. */
export const IPV6_PREFIX_BITS = 64;

/** The key of a request without a usable client address (only local runs without Cloudflare in front). */
export const UNKNOWN_CLIENT = "unknown";

/** A parsed address: four octets, or eight 16-bit groups. */
export type ParsedIp = { version: 4; octets: number[] } | { version: 6; groups: number[] };

/**
 * Parses a dotted-quad IPv4 address. Each part is a decimal 0–255 without leading zeros (a leading zero
 * reads as octal in some parsers, so such a form is refused rather than guessed).
 * @returns the four octets, or null when `text` is not one
 */
function parseIpv4(text: string): number[] | null {
  const parts = text.split(".");
  if (parts.length !== 4) return null;
  const octets: number[] = [];
  for (const part of parts) {
    if (!/^(0|[1-9]\d{0,2})$/.test(part)) return null;
    const n = Number(part);
    if (n > 255) return null;
    octets.push(n);
  }
  return octets;
}

/** Parses 16-bit hex groups (`1`–`4` hex digits each); an empty list for empty text. */
function parseGroups(text: string): number[] | null {
  if (text === "") return [];
  const groups: number[] = [];
  for (const part of text.split(":")) {
    if (!/^[0-9a-fA-F]{1,4}$/.test(part)) return null;
    groups.push(parseInt(part, 16));
  }
  return groups;
}

/**
 * Parses an IPv6 address in any RFC 4291 §2.2 text form: full, `::`-compressed, or with a trailing dotted quad.
 * @returns the eight groups, or null when `text` is not an IPv6 address
 */
function parseIpv6(text: string): number[] | null {
  let body = text;
  let tail: number[] = [];
  const lastColon = body.lastIndexOf(":");
  if (body.slice(lastColon + 1).includes(".")) {
    const v4 = parseIpv4(body.slice(lastColon + 1));
    if (!v4) return null;
    tail = [(v4[0]! << 8) | v4[1]!, (v4[2]! << 8) | v4[3]!];
    // Keep the separator: "::1.2.3.4" → "::", "a::b:1.2.3.4" → "a::b:"; then drop a lone trailing colon.
    body = body.slice(0, lastColon + 1);
    if (body.endsWith(":") && !body.endsWith("::")) body = body.slice(0, -1);
  }
  const halves = body.split("::");
  if (halves.length > 2) return null;
  const head = parseGroups(halves[0]!);
  const rest = halves.length === 2 ? parseGroups(halves[1]!) : [];
  if (!head || !rest) return null;
  const given = [...head, ...rest, ...tail];
  if (halves.length === 1) return given.length === 8 ? given : null;
  // "::" stands for one or more zero groups.
  if (given.length > 7) return null;
  return [...head, ...Array<number>(8 - given.length).fill(0), ...rest, ...tail];
}

/**
 * Parses a client address as Cloudflare (or a local runtime) reports it. Surrounding whitespace, `[…]`
 * brackets and an IPv6 zone id (`%eth0`) are ignored.
 * @returns the parsed address, or null when `text` is no IPv4 or IPv6 address
 */
export function parseIp(text: string): ParsedIp | null {
  let s = text.trim();
  if (s.startsWith("[") && s.endsWith("]")) s = s.slice(1, -1);
  if (s.includes(":")) {
    const zone = s.indexOf("%");
    if (zone !== -1) s = s.slice(0, zone);
    const groups = parseIpv6(s);
    return groups ? { version: 6, groups } : null;
  }
  const octets = parseIpv4(s);
  return octets ? { version: 4, octets } : null;
}

/** RFC 5952 §4 text of eight groups: lower-case hex, no leading zeros, the longest run (≥ 2) of zeros as `::`. */
export function formatIpv6(groups: readonly number[]): string {
  let bestStart = -1;
  let bestLength = 1; // a single zero group is never compressed (§4.2.2)
  for (let i = 0; i < groups.length;) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < groups.length && groups[j] === 0) j++;
    if (j - i > bestLength) [bestStart, bestLength] = [i, j - i]; // the first of equal runs wins (§4.2.3)
    i = j;
  }
  const hex = (g: readonly number[]) => g.map((n) => n.toString(16)).join(":");
  if (bestStart === -1) return hex(groups);
  return `${hex(groups.slice(0, bestStart))}::${hex(groups.slice(bestStart + bestLength))}`;
}

/**
 * The key a client address is counted by: the IPv4 address (`203.0.113.7`), the IPv4 address an IPv4-mapped
 * IPv6 address carries, or the IPv6 address's /64 in canonical form (`2001:db8:1:2::/64`).
 * @param address `CF-Connecting-IP` (undefined or null when the request has none)
 * @returns the key; {@link UNKNOWN_CLIENT} when there is no address or it cannot be parsed (then every such
 *   request shares one key: the limits still apply, together)
 */
export function clientIpKey(address: string | null | undefined): string {
  const ip = address ? parseIp(address) : null;
  if (!ip) return UNKNOWN_CLIENT;
  if (ip.version === 4) return ip.octets.join(".");
  const g = ip.groups;
  if (g.slice(0, 5).every((n) => n === 0) && g[5] === 0xffff) {
    return [g[6]! >> 8, g[6]! & 0xff, g[7]! >> 8, g[7]! & 0xff].join(".");
  }
  const keep = IPV6_PREFIX_BITS / 16;
  const prefix = g.map((n, i) => (i < keep ? n : 0));
  return `${formatIpv6(prefix)}/${IPV6_PREFIX_BITS}`;
}
