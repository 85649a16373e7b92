/** Identifiers, secrets and encodings shared by the simulator's modules. */
import { createHash, createHmac, randomBytes } from 'node:crypto';

/** A UUID (version 4 layout) derived from `parts`, so a seed reproduces the same ids. */
export function deterministicUuid(...parts: (string | number)[]): string {
  const h = createHash('sha256').update(parts.join('\u0000')).digest();
  h[6] = (h[6]! & 0x0f) | 0x40;
  h[8] = (h[8]! & 0x3f) | 0x80;
  const x = h.toString('hex', 0, 16);
  return `${x.slice(0, 8)}-${x.slice(8, 12)}-${x.slice(12, 16)}-${x.slice(16, 20)}-${x.slice(20, 32)}`;
}

export function randomToken(bytes = 32): string {
  return randomBytes(bytes).toString('base64url');
}

/** Truncated HMAC-SHA256, base64url: for tamper-evident values the simulator hands out. */
export function tag(secret: string, value: string, bytes = 12): string {
  return createHmac('sha256', secret).update(value).digest().subarray(0, bytes).toString('base64url');
}

export const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
const DECODE = new Int8Array(128).fill(-1);
for (let i = 0; i < ALPHABET.length; i++) DECODE[ALPHABET.charCodeAt(i)] = i;

/** RFC 4648 base32 with `=` padding (the alphabet of the spec's cursor pattern). */
export function base32Encode(buf: Uint8Array): string {
  let out = '';
  let bits = 0;
  let value = 0;
  for (const byte of buf) {
    value = (value << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      out += ALPHABET[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  if (bits > 0) out += ALPHABET[(value << (5 - bits)) & 31];
  while (out.length % 8 !== 0) out += '=';
  return out;
}

/** Inverse of {@link base32Encode}; `null` for anything that is not canonical base32. */
export function base32Decode(text: string): Uint8Array | null {
  if (text.length === 0 || text.length % 8 !== 0) return null;
  const body = text.replace(/=+$/, '');
  const out: number[] = [];
  let bits = 0;
  let value = 0;
  for (let i = 0; i < body.length; i++) {
    const code = body.charCodeAt(i);
    const v = code < 128 ? DECODE[code]! : -1;
    if (v < 0) return null;
    value = ((value << 5) | v) & 0xffff;
    bits += 5;
    if (bits >= 8) {
      out.push((value >>> (bits - 8)) & 0xff);
      bits -= 8;
    }
  }
  const bytes = Uint8Array.from(out);
  return base32Encode(bytes) === text ? bytes : null;
}
