/**
 * Which network addresses a receipt download may connect to. Pleo's `files[].url` is data from
 * the network, so a URL naming (or a host name resolving to) this machine, the local network or a
 * cloud metadata service would turn the exporter into a proxy into places only it can reach
 * (issue 17, finding 2: an internal secret was saved as a receipt).
 *
 * {@link blockedRange} classifies an address already in canonical form (what `dns.lookup` returns
 * and what the WHATWG URL parser makes of `0x7f000001`, `2130706433`, `017700000001` or `127.1`);
 * {@link parseIPv4} also reads those odd spellings itself, so a host string from anywhere can be
 * checked. IPv6 forms that embed an IPv4 address (mapped, compatible, NAT64, 6to4) are judged by
 * the embedded address.
 */
import { isIPv6 } from 'node:net';

interface Range4 {
  base: number;
  bits: number;
  name: string;
}

const v4 = (text: string, bits: number, name: string): Range4 => {
  const base = parseIPv4(text);
  if (base === null) throw new Error(`bad range ${text}`);
  return { base, bits, name };
};

/** IPv4 ranges that are not the public internet (RFC 6890 and friends). */
const BLOCKED_V4: readonly Range4[] = [
  v4('0.0.0.0', 8, 'unspecified ("this network")'),
  v4('10.0.0.0', 8, 'private'),
  v4('100.64.0.0', 10, 'carrier-grade NAT'),
  v4('127.0.0.0', 8, 'loopback'),
  v4('169.254.0.0', 16, 'link-local (cloud metadata)'),
  v4('172.16.0.0', 12, 'private'),
  v4('192.0.0.0', 24, 'IETF protocol assignments'),
  v4('192.0.2.0', 24, 'documentation'),
  v4('192.88.99.0', 24, '6to4 relay'),
  v4('192.168.0.0', 16, 'private'),
  v4('198.18.0.0', 15, 'benchmarking'),
  v4('198.51.100.0', 24, 'documentation'),
  v4('203.0.113.0', 24, 'documentation'),
  v4('224.0.0.0', 4, 'multicast'),
  v4('240.0.0.0', 4, 'reserved (and broadcast)'),
];

/**
 * Reads an IPv4 address in any spelling `inet_aton` and the WHATWG URL parser accept: one to four
 * parts, each decimal, octal (`0` prefix) or hex (`0x`), the last part filling the remaining bytes
 * (`127.1`, `2130706433`, `0x7f000001`, `017700000001`). `null` when it is not one.
 */
export function parseIPv4(text: string): number | null {
  const parts = text.endsWith('.') ? text.slice(0, -1).split('.') : text.split('.');
  if (parts.length === 0 || parts.length > 4) return null;
  const numbers: number[] = [];
  for (const part of parts) {
    let value: number;
    if (/^0x[0-9a-f]*$/i.test(part)) value = part.length === 2 ? 0 : parseInt(part.slice(2), 16);
    else if (/^0[0-7]+$/.test(part)) value = parseInt(part.slice(1), 8);
    else if (/^(0|[1-9][0-9]*)$/.test(part)) value = Number(part);
    else return null;
    if (!Number.isSafeInteger(value)) return null;
    numbers.push(value);
  }
  const last = numbers.pop() ?? 0;
  if (numbers.some((n) => n > 255)) return null;
  if (last >= 256 ** (4 - numbers.length)) return null;
  let out = last;
  numbers.forEach((n, i) => {
    out += n * 256 ** (3 - i);
  });
  return out;
}

/** The 8 groups of an IPv6 address (no brackets; a `%zone` is ignored), or `null`. */
export function parseIPv6(text: string): number[] | null {
  const plain = text.replace(/%.*$/, '');
  if (!isIPv6(plain)) return null;
  let head = plain;
  let tail4: number[] = [];
  const dotted = /^(.*:)(\d+\.\d+\.\d+\.\d+)$/.exec(plain);
  if (dotted) {
    const value = parseIPv4Strict(dotted[2] ?? '');
    if (value === null) return null;
    tail4 = [Math.floor(value / 65536), value % 65536];
    head = (dotted[1] ?? '').endsWith('::') ? (dotted[1] ?? '') : (dotted[1] ?? '').slice(0, -1);
  }
  const [left = '', right] = head.split('::');
  const groups = (s: string): number[] => (s === '' ? [] : s.split(':').map((g) => parseInt(g, 16)));
  const l = groups(left);
  const r = right === undefined ? [] : groups(right);
  const fill = 8 - l.length - r.length - tail4.length;
  if (fill < 0 || (right === undefined && fill !== 0)) return null;
  return [...l, ...new Array<number>(fill).fill(0), ...r, ...tail4];
}

function parseIPv4Strict(text: string): number | null {
  const parts = text.split('.');
  if (parts.length !== 4 || parts.some((p) => !/^\d{1,3}$/.test(p) || Number(p) > 255)) return null;
  return parts.reduce((acc, p) => acc * 256 + Number(p), 0);
}

function inRange4(address: number, range: Range4): boolean {
  const size = 2 ** (32 - range.bits);
  return Math.floor(address / size) === Math.floor(range.base / size);
}

function blocked4(address: number): string | null {
  return BLOCKED_V4.find((range) => inRange4(address, range))?.name ?? null;
}

function embedded4(g: number[], at: number): number {
  return (g[at] ?? 0) * 65536 + (g[at + 1] ?? 0);
}

function blocked6(g: number[]): string | null {
  const [a = 0, b = 0, c = 0, d = 0, e = 0, f = 0, , h = 0] = g;
  const zeroTo = (n: number): boolean => g.slice(0, n).every((x) => x === 0);
  if (zeroTo(8)) return 'unspecified';
  if (zeroTo(7) && h === 1) return 'loopback';
  // ::ffff:a.b.c.d (mapped) and ::a.b.c.d (the deprecated compatible form): the IPv4 address rules.
  if (zeroTo(5) && f === 0xffff) return blocked4(embedded4(g, 6));
  if (zeroTo(6)) return blocked4(embedded4(g, 6)) ?? 'IPv4-compatible';
  // NAT64 (64:ff9b::/96): reaches the embedded IPv4 address; 64:ff9b:1::/48 is local-use NAT64.
  if (a === 0x64 && b === 0xff9b && c === 0 && d === 0 && e === 0 && f === 0)
    return blocked4(embedded4(g, 6));
  if (a === 0x64 && b === 0xff9b && c === 1) return 'local NAT64';
  if (a === 0x2002) return blocked4(b * 65536 + c); // 6to4 embeds the IPv4 address after 2002:
  if (a === 0x100 && b === 0 && c === 0 && d === 0) return 'discard-only';
  if (a === 0x2001 && b === 0) return 'Teredo';
  if (a === 0x2001 && b === 0xdb8) return 'documentation';
  if ((a & 0xfe00) === 0xfc00) return 'unique-local';
  if ((a & 0xffc0) === 0xfe80) return 'link-local';
  if ((a & 0xffc0) === 0xfec0) return 'site-local';
  if ((a & 0xff00) === 0xff00) return 'multicast';
  return null;
}

/**
 * Why an IP address is not on the public internet (`'loopback'`, `'private'`, …), or `null` when
 * it is. Accepts IPv4 in any spelling and IPv6 with or without brackets. A string that is not an
 * IP address at all is `'not an IP address'` (so a caller can never mistake it for public).
 *
 * @example
 * blockedRange('169.254.169.254'); // 'link-local (cloud metadata)'
 * blockedRange('::ffff:127.0.0.1'); // 'loopback'
 */
export function blockedRange(address: string): string | null {
  const bare = address.startsWith('[') && address.endsWith(']') ? address.slice(1, -1) : address;
  const groups = parseIPv6(bare);
  if (groups !== null) return blocked6(groups);
  const value = parseIPv4(bare);
  if (value !== null) return blocked4(value);
  return 'not an IP address';
}

/** True when `host` (no port; IPv6 with or without brackets) is an IP literal in any spelling. */
export function isIpLiteral(host: string): boolean {
  const bare = host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
  return parseIPv6(bare) !== null || parseIPv4(bare) !== null;
}
